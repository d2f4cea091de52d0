"""api.views.uploads and api.parsers: POST /api/v1/rooms/{id}/uploads, then posting the upload
in a message; every bad upload of issue 20 gets the API's error shape and leaves nothing."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.test import Client, RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from rest_framework.request import Request

from accounts.models import User
from api.parsers import MULTIPART_OVERHEAD, LimitedMultiPartParser
from chat.models import Attachment, Message, Room
from tests.api.conftest import API, as_user, error_of, token_for
from tests.factories import make_room
from tests.files import HTML, PDF, SVG, gif, jpeg_with_gps, media_root, png_bomb, upload
from tests.files import stored_files as files_in

pytestmark = pytest.mark.django_db
__all__ = ["media_root"]


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


@pytest.fixture
def temp_dir(settings: Any, tmp_path: Path) -> Path:
    """Django's temporary upload files go here, and every file over 1 KiB goes to one."""
    path = tmp_path / "incoming"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    return path


def send(user: User, room: Room, name: str, data: bytes, content_type: str = "") -> Any:
    """A multipart upload of one file, with a token."""
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    return Client(headers=headers).post(
        f"{API}/rooms/{room.public_id}/uploads",
        {"file": upload(name, data, content_type or "application/octet-stream")},
    )


def raw_post(user: User, room: Room, body: bytes, **extra: Any) -> Any:
    """A multipart body exactly as given (which may lie or be cut short)."""
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    return Client(headers=headers).generic(
        "POST", f"{API}/rooms/{room.public_id}/uploads", body, MULTIPART_CONTENT, **extra
    )


def nothing_kept(media: Path, temp: Path | None = None) -> bool:
    return (
        not Attachment.objects.exists()
        and files_in(media) == []
        and (temp is None or list(temp.iterdir()) == [])
    )


def test_an_upload_answers_201_with_the_attachment(alice, room, media_root) -> None:
    response = send(alice, room, "photo.jpg", jpeg_with_gps(), "image/jpeg")

    assert response.status_code == 201
    data = response.json()
    attachment = Attachment.objects.get()
    assert data == {
        "id": str(attachment.public_id),
        "name": "photo.jpg",
        "size": attachment.size,
        "content_type": "image/jpeg",
        "kind": "image",
        "width": 40,
        "height": 60,
        "url": f"/files/{attachment.public_id}/photo.jpg",
        "thumbnail_url": f"/files/{attachment.public_id}/thumbnail",
    }


def test_a_session_upload_needs_the_csrf_token(alice, room, media_root) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/")  # the page sets the CSRF cookie
    url = f"{API}/rooms/{room.public_id}/uploads"

    refused = client.post(url, {"file": upload("a.pdf", PDF)})
    accepted = client.post(
        url,
        {"file": upload("a.pdf", PDF)},
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 201


def test_anonymous_uploads_are_refused(room, media_root) -> None:
    response = Client().post(
        f"{API}/rooms/{room.public_id}/uploads", {"file": upload("a.pdf", PDF)}
    )

    assert response.status_code in (401, 403)
    assert nothing_kept(media_root)


# Too large: refused early, never in memory


def test_a_body_larger_than_the_limit_is_413_before_it_is_parsed(
    alice, room, media_root, temp_dir, settings
) -> None:
    settings.PARLEY_UPLOAD_MAX_BYTES = 1000

    response = send(alice, room, "big.txt", b"a" * (1000 + MULTIPART_OVERHEAD + 1))

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "file_too_large"
    assert error["details"] == {"max_bytes": 1000}
    assert nothing_kept(media_root, temp_dir)


def test_a_2_gb_upload_is_refused_on_its_content_length_without_reading_it(
    alice, room, media_root, temp_dir
) -> None:
    """The test client's body raises if more is read than it holds: the 413 comes from the
    Content-Length alone (the default 10 MiB limit)."""
    body = encode_multipart(BOUNDARY, {"file": upload("huge.zip", b"PK\x03\x04" + bytes(100))})

    response = raw_post(alice, room, body, CONTENT_LENGTH=str(2 * 1024**3))

    assert response.status_code == 413
    assert error_of(response)["code"] == "file_too_large"
    assert nothing_kept(media_root, temp_dir)


def test_a_file_that_passes_the_limit_while_streaming_is_stopped(
    alice, room, media_root, temp_dir, settings
) -> None:
    """Within the Content-Length allowance (a lying or missing length looks like this): the
    upload handler counts the bytes and stops, and its temporary file is deleted."""
    settings.PARLEY_UPLOAD_MAX_BYTES = 4000

    response = send(alice, room, "big.txt", b"a" * 4001)

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "file_too_large"
    # The parser's words: the service, which would say how large the file was, never saw it.
    assert error["message"] == "A file may be at most 4000 bytes."
    assert nothing_kept(media_root, temp_dir)


def test_files_over_the_memory_size_are_streamed_to_a_temporary_file(temp_dir) -> None:
    django_request = RequestFactory().post(
        "/upload", {"file": upload("a.txt", b"x" * 5000)}, headers={}
    )
    request = Request(django_request, parsers=[LimitedMultiPartParser()])

    received = request.data["file"]

    assert isinstance(received, TemporaryUploadedFile)
    assert Path(received.temporary_file_path()).parent == temp_dir
    received.close()
    assert list(temp_dir.iterdir()) == []


# Interrupted


def test_an_upload_cut_off_half_way_keeps_nothing(alice, room, media_root, temp_dir) -> None:
    whole = encode_multipart(BOUNDARY, {"file": upload("a.pdf", PDF + b"x" * 5000)})

    response = raw_post(alice, room, whole[: len(whole) // 2])

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "file" in error["details"]
    assert nothing_kept(media_root, temp_dir)


def test_a_client_that_disconnects_mid_body_leaves_nothing(alice, room, media_root) -> None:
    """Over ASGI (as Parley runs): Django reads the body before any view, and a disconnect
    ends the request there."""
    body = encode_multipart(BOUNDARY, {"file": upload("a.pdf", PDF + b"x" * 5000)})
    events = [
        {"type": "http.request", "body": body[:3000], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return events.pop(0)

    async def send_event(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"{API}/rooms/{room.public_id}/uploads",
        "headers": [
            (b"content-type", MULTIPART_CONTENT.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token_for(alice)}".encode()),
        ],
        "query_string": b"",
        "server": ("testserver", 80),
    }

    asyncio.run(get_asgi_application()(scope, receive, send_event))

    assert sent == []  # no answer to a client that is gone, and no view ran
    assert nothing_kept(media_root)


# Refused types and limits: the API's error shape, and nothing kept


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("page.html", HTML, "text/html"),
        ("page.png", HTML, "image/png"),
        ("drawing.svg", SVG, "image/svg+xml"),
    ],
)
def test_html_and_svg_are_415(alice, room, media_root, name, data, content_type) -> None:
    response = send(alice, room, name, data, content_type)

    assert response.status_code == 415
    assert error_of(response)["code"] == "file_type_not_allowed"
    assert nothing_kept(media_root)


def test_an_image_bomb_is_413(alice, room, media_root) -> None:
    response = send(alice, room, "bomb.png", png_bomb(50_000, 50_000), "image/png")

    assert response.status_code == 413
    assert error_of(response)["code"] == "image_too_large"
    assert nothing_kept(media_root)


def test_a_gif_polyglot_is_stored_as_image_gif(alice, room, media_root) -> None:
    response = send(alice, room, "cat.gif", gif() + HTML, "text/html")

    assert response.status_code == 201
    assert response.json()["content_type"] == "image/gif"


def test_over_the_daily_quota_is_429(alice, room, media_root, settings) -> None:
    settings.PARLEY_UPLOAD_DAILY_BYTES = len(PDF) + 10
    assert send(alice, room, "a.pdf", PDF).status_code == 201

    response = send(alice, room, "b.pdf", PDF)

    assert response.status_code == 429
    assert error_of(response)["code"] == "upload_quota_exceeded"
    assert Attachment.objects.count() == 1


def test_a_room_the_user_is_not_in_is_refused(alice, room, media_root) -> None:
    secret = make_room(visibility=Room.Visibility.INVITE)

    hidden = send(alice, secret, "a.pdf", PDF)

    assert hidden.status_code == 404
    assert error_of(hidden)["code"] == "room_not_found"
    assert nothing_kept(media_root)


def test_no_file_two_files_or_json_are_refused(alice, room, media_root) -> None:
    api = as_user(alice)
    url = f"{API}/rooms/{room.public_id}/uploads"
    client = Client(headers={"Authorization": f"Bearer {token_for(alice)}"})

    missing = client.post(url, {"other": "x"})
    two = client.post(url, {"file": [upload("a.pdf", PDF), upload("b.pdf", PDF)]})
    as_json = api.post(f"/rooms/{room.public_id}/uploads", {"file": "x"})

    assert missing.status_code == 400
    assert two.status_code == 400
    assert error_of(two)["details"] == {"field": "file"}
    assert as_json.status_code == 415
    assert error_of(as_json)["code"] == "unsupported_media_type"
    assert nothing_kept(media_root)


# Posting uploads in a message


def upload_id(user: User, room: Room, name: str = "a.pdf") -> str:
    response = send(user, room, name, PDF)
    assert response.status_code == 201
    return response.json()["id"]


def test_a_message_posts_uploads_and_the_history_shows_them(alice, bob, room, media_root):
    first, second = upload_id(alice, room, "one.pdf"), upload_id(alice, room, "two.pdf")

    response = as_user(alice).post(
        f"/rooms/{room.public_id}/messages", {"attachments": [first, second]}
    )

    assert response.status_code == 201
    message = response.json()["message"]
    assert message["body"] == ""
    assert [item["id"] for item in message["attachments"]] == [first, second]
    history = as_user(bob).get(f"/rooms/{room.public_id}/messages").json()["messages"]
    assert history[-1]["attachments"] == message["attachments"]
    assert all(entry["attachments"] == [] for entry in history[:-1])


def test_someone_elses_upload_in_a_message_is_400_and_nothing_is_posted(
    alice, bob, room, media_root
) -> None:
    theirs = upload_id(bob, room)
    room.refresh_from_db()

    response = as_user(alice).post(
        f"/rooms/{room.public_id}/messages", {"body": "mine", "attachments": [theirs]}
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["details"] == {"field": "attachments", "ids": [theirs]}
    assert not Message.objects.filter(body="mine").exists()
    assert Room.objects.get(pk=room.pk).last_seq == room.last_seq
    assert Attachment.objects.get(public_id=theirs).message is None


def test_attachments_must_be_a_list_of_strings(alice, room) -> None:
    response = as_user(alice).post(
        f"/rooms/{room.public_id}/messages", {"body": "x", "attachments": [1]}
    )

    assert response.status_code == 400
    assert "attachments" in error_of(response)["details"]

"""chat.downloads: files only for members who may see the room, with headers that keep any
file from running in Parley's origin."""

from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.storage import InMemoryStorage
from django.test import Client

from accounts.tokens import token_create
from chat import wire
from chat.models import Attachment, Room
from chat.services.attachments import attachment_upload
from chat.services.messages import message_post
from chat.services.rooms import room_leave
from tests.factories import UserFactory, make_room
from tests.files import HTML, PDF, gif, media_root, png, upload

pytestmark = pytest.mark.django_db
__all__ = ["media_root"]


@pytest.fixture
def room(alice, bob) -> Room:
    return make_room(members=[alice, bob], visibility=Room.Visibility.INVITE)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def posted(user, room: Room, name: str, data: bytes) -> dict[str, Any]:
    """The wire form of a file `user` uploaded and posted in `room`."""
    attachment = attachment_upload(user, room_id=room.public_id, upload=upload(name, data))
    message = message_post(
        user, room_id=room.public_id, body="", attachments=[str(attachment.public_id)]
    )
    [data_out] = wire.message_data(message)["attachments"]
    return data_out


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_member_downloads_a_file_as_an_attachment_with_safe_headers(
    alice, bob, room, media_root
) -> None:
    file = posted(alice, room, "résumé final.pdf", PDF)

    response = client_of(bob).get(file["url"])

    assert response.status_code == 200
    assert body_of(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"r_sum_ final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_text_is_a_download_too(alice, bob, room, media_root) -> None:
    file = posted(alice, room, "notes.txt", b"1 < 2, and <b>this</b> is not a page\n")

    response = client_of(bob).get(file["url"])

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")


def test_images_and_their_thumbnails_are_shown_inline(alice, bob, room, media_root) -> None:
    file = posted(alice, room, "cat.png", png(900, 300))

    image = client_of(bob).get(file["url"])
    thumbnail = client_of(bob).get(file["thumbnail_url"])

    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"].startswith('inline; filename="cat.png"')
    assert thumbnail["Content-Type"] == "image/webp"
    assert thumbnail["Content-Disposition"].startswith('inline; filename="cat-thumbnail.webp"')
    for response in (image, thumbnail):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_gif_polyglot_is_served_as_image_gif_with_nosniff_and_without_the_html(
    alice, bob, room, media_root
) -> None:
    file = posted(alice, room, "funny.gif", gif() + HTML)

    response = client_of(bob).get(file["url"])

    assert response["Content-Type"] == "image/gif"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"<script" not in body_of(response)


def test_the_name_in_the_url_is_only_for_the_browser(alice, bob, room, media_root) -> None:
    file = posted(alice, room, "a.pdf", PDF)

    response = client_of(bob).get(f"/files/{file['id']}/other-name.html")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="a.pdf"' in response["Content-Disposition"]


def test_a_file_without_a_thumbnail_has_no_thumbnail_url(alice, bob, room, media_root) -> None:
    file = posted(alice, room, "a.pdf", PDF)

    assert file["thumbnail_url"] is None
    assert client_of(bob).get(f"/files/{file['id']}/thumbnail").status_code == 404


def test_a_bearer_token_works_as_well_as_a_session(alice, bob, room, media_root) -> None:
    file = posted(alice, room, "a.pdf", PDF)
    plain = token_create(bob, name="downloads")[1]

    response = Client(headers={"Authorization": f"Bearer {plain}"}).get(file["url"])
    forged = Client(headers={"Authorization": "Bearer nope"}).get(file["url"])

    assert response.status_code == 200
    assert forged.status_code == 404


def test_missing_and_forbidden_files_get_the_same_404(alice, bob, room, media_root) -> None:
    """Another room's member, a non-member of a public room, a former member, an anonymous
    visitor and a made-up id all get the same answer."""
    file = posted(alice, room, "secret.pdf", PDF)
    public = make_room(members=[alice])
    public_file = posted(alice, public, "public.pdf", PDF)
    stranger = UserFactory()
    make_room(members=[stranger])  # a member of a room, just not this one
    leaver = UserFactory()
    room_in = make_room(members=[leaver], visibility=Room.Visibility.PUBLIC)
    leaver_file = posted(leaver, room_in, "gone.pdf", PDF)
    room_leave(leaver, room_id=room_in.public_id)

    cases = [
        (client_of(stranger), file["url"]),
        (client_of(stranger), file["thumbnail_url"] or f"/files/{file['id']}/thumbnail"),
        (client_of(stranger), public_file["url"]),  # public room, but not a member
        (client_of(leaver), leaver_file["url"]),
        (Client(), file["url"]),
        (client_of(bob), "/files/00000000-0000-0000-0000-000000000000/secret.pdf"),
    ]
    answers = [client.get(url) for client, url in cases]

    assert {response.status_code for response in answers} == {404}
    assert len({response.content for response in answers}) == 1
    assert client_of(bob).get(file["url"]).status_code == 200


def test_an_unposted_upload_is_only_its_uploaders(alice, bob, room, media_root) -> None:
    attachment = attachment_upload(alice, room_id=room.public_id, upload=upload("d.pdf", PDF))
    url = wire.attachment_data(attachment)["url"]

    assert client_of(alice).get(url).status_code == 200
    assert client_of(bob).get(url).status_code == 404


def test_only_get_and_head(alice, room, media_root) -> None:
    file = posted(alice, room, "a.pdf", PDF)

    assert client_of(alice).post(file["url"]).status_code == 405
    assert client_of(alice).head(file["url"]).status_code == 200


class SigningStorage(InMemoryStorage):
    """A storage with URLs of its own, like django-storages' S3Storage."""

    def url(self, name: str | None, parameters: dict[str, str] | None = None) -> str:
        query = "&".join(f"{key}={quote(value)}" for key, value in (parameters or {}).items())
        return f"https://bucket.example/{name}?signature=s&{query}"


def test_a_storage_with_its_own_urls_gets_a_redirect_to_a_signed_one(
    alice, bob, room, settings
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.SigningStorage"},
    }
    file = posted(alice, room, "a.pdf", PDF)
    stored = Attachment.objects.get(public_id=file["id"]).file.name

    response = client_of(bob).get(file["url"])

    assert response.status_code == 302
    assert response["Location"].startswith(f"https://bucket.example/{stored}?signature=s&")
    assert "ResponseContentType=application/pdf" in response["Location"]
    assert "ResponseContentDisposition=attachment%3B" in response["Location"]
    assert response["Cache-Control"] == "private, no-store"
    assert client_of(UserFactory()).get(file["url"]).status_code == 404


def test_a_plain_storage_with_urls_gets_a_redirect_to_its_url(alice, bob, room, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.InMemoryStorage",
            "OPTIONS": {"base_url": "https://files.example/"},
        },
    }
    file = posted(alice, room, "a.pdf", PDF)

    response = client_of(bob).get(file["url"])

    assert response.status_code == 302
    assert response["Location"].startswith("https://files.example/uploads/")

"""accounts.avatars and the profile page's picture: uploads become small square WebPs without
metadata, served to logged-in users only; anything else is refused and nothing is kept."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts.avatars import AVATAR_SIZE
from accounts.models import User
from chat import wire
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the old file goes after commit

GPS_TAG = 0x8825


@pytest.fixture(autouse=True)
def media(tmp_path: Path, settings) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file())


def picture(kind: str = "PNG", size: tuple[int, int] = (640, 480), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[GPS_TAG] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
        image.save(out, kind, exif=exif)
    else:
        image.save(out, kind)
    return out.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with almost no pixel data: an image bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, content: bytes, name: str = "me.png", content_type: str = "image/png"):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(reverse("profile"), {"avatar": file, "avatar_upload": "1"})


def test_an_uploaded_picture_becomes_a_square_webp_others_can_see(media: Path) -> None:
    alice, bob = UserFactory(), UserFactory()

    response = upload(logged_in(alice), picture(size=(900, 300)))

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.avatar.name.endswith(".webp")
    served = logged_in(bob).get(alice.avatar_url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in served["Cache-Control"]
    with Image.open(io.BytesIO(b"".join(served.streaming_content))) as shown:
        assert shown.format == "WEBP"
        assert shown.size == (AVATAR_SIZE, AVATAR_SIZE)


def test_the_location_in_a_photo_is_not_kept(media: Path) -> None:
    alice = UserFactory()
    with Image.open(io.BytesIO(picture("JPEG", gps=True))) as original:
        assert GPS_TAG in original.getexif(), "the test photo carries a location"

    upload(
        logged_in(alice), picture("JPEG", gps=True), name="holiday.jpg", content_type="image/jpeg"
    )

    alice.refresh_from_db()
    with alice.avatar.open("rb") as kept, Image.open(kept) as stored:
        assert not stored.getexif()
        assert "exif" not in stored.info


@pytest.mark.parametrize(
    ("content", "name", "content_type", "says"),
    [
        (b"<html><script>alert(1)</script></html>", "me.png", "image/png", "not a picture"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "me.svg",
            "image/svg+xml",
            "not a picture",
        ),
        (huge_png(50_000, 50_000), "bomb.png", "image/png", "too many pixels"),
        (b"", "empty.png", "image/png", "not a picture"),
    ],
    ids=["html-named-png", "svg-with-script", "image-bomb", "empty"],
)
def test_what_is_not_a_usable_picture_is_refused_and_nothing_is_kept(
    media: Path, content: bytes, name: str, content_type: str, says: str
) -> None:
    alice = UserFactory()

    response = upload(logged_in(alice), content, name=name, content_type=content_type)

    assert response.status_code == 400
    assert says in response.content.decode()
    alice.refresh_from_db()
    assert not alice.avatar
    assert stored_files(media) == []


def test_a_picture_over_the_size_limit_is_refused(media: Path, settings) -> None:
    settings.PARLEY_AVATAR_MAX_BYTES = 10_000
    alice = UserFactory()

    response = upload(logged_in(alice), picture(size=(2000, 2000)) + b"\0" * 20_000)

    assert response.status_code == 400
    assert "at most" in response.content.decode()
    assert stored_files(media) == []


def test_a_new_picture_replaces_the_old_file_and_removing_goes_back_to_initials(
    media: Path,
) -> None:
    alice = UserFactory()
    client = logged_in(alice)
    upload(client, picture())
    first = stored_files(media)
    upload(client, picture("JPEG"), name="b.jpg", content_type="image/jpeg")

    second = stored_files(media)
    assert len(first) == len(second) == 1 and first != second

    client.post(reverse("profile"), {"avatar_remove": "1"})
    alice.refresh_from_db()
    assert not alice.avatar
    assert stored_files(media) == []


def test_the_wire_names_a_picture_only_when_there_is_one(media: Path) -> None:
    alice = UserFactory(username="alice", display_name="Alice")
    assert wire.user_data(alice) == {"username": "alice", "display_name": "Alice"}

    upload(logged_in(alice), picture())
    alice.refresh_from_db()

    assert wire.user_data(alice) == {
        "username": "alice",
        "display_name": "Alice",
        "avatar": alice.avatar_url,
    }


def test_pictures_are_for_logged_in_users_and_unknown_names_are_404(media: Path) -> None:
    alice = UserFactory()
    upload(logged_in(alice), picture())
    alice.refresh_from_db()

    assert Client().get(alice.avatar_url).status_code == 302  # to the log-in page
    viewer = logged_in(UserFactory())
    assert viewer.get(reverse("avatar", args=["0" * 32 + ".webp"])).status_code == 404
    assert viewer.get("/accounts/avatars/..%2F..%2Fsettings.py").status_code == 404

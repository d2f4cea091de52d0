"""chat.services.attachments (and chat.services.uploaded_files): uploads checked by their
bytes, images cleaned, limits, access, and what is left of a refused upload (nothing)."""

import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from chat.models import Attachment, Room
from chat.services.attachments import attachment_upload
from chat.services.rooms import room_update
from core.errors import (
    FileInvalid,
    FileTooLarge,
    FileTypeNotAllowed,
    ImageTooLarge,
    InvalidInput,
    NotMember,
    RoomArchived,
    RoomNotFound,
    UploadQuotaExceeded,
)
from tests.factories import UserFactory, make_room
from tests.files import (
    GPS_IFD,
    HTML,
    PDF,
    SCRIPT,
    SVG,
    gif,
    jpeg_with_gps,
    media_root,
    png,
    png_bomb,
    stored_files,
    upload,
    zip_bomb,
)

pytestmark = pytest.mark.django_db
__all__ = ["media_root"]  # the fixture, used by name

STORED_NAME = re.compile(r"uploads/\d{4}/\d{2}/[0-9a-f]{32}")


@pytest.fixture
def room(alice: object) -> Room:
    return make_room(members=[alice])


def refused_and_nothing_kept(media_root: Path, error: type[Exception], *args, **kwargs):
    """The upload is refused with `error`, and neither a row nor a file is left of it."""
    with pytest.raises(error) as raised:
        attachment_upload(*args, **kwargs)
    assert Attachment.objects.count() == 0
    assert stored_files(media_root) == []
    return raised.value


# What is stored


def test_a_png_is_stored_under_a_random_name_with_its_size_and_a_thumbnail(
    alice, room, media_root
) -> None:
    attachment = attachment_upload(
        alice, room_id=room.public_id, upload=upload("Holiday photo.png", png(800, 600))
    )

    assert attachment.content_type == "image/png"
    assert attachment.kind == "image"
    assert (attachment.width, attachment.height) == (800, 600)
    assert attachment.name == "Holiday photo.png"
    assert STORED_NAME.fullmatch(attachment.file.name)
    assert "Holiday" not in attachment.file.name
    assert attachment.size == attachment.file.size
    assert attachment.message is None
    assert attachment.uploader == alice
    with Image.open(attachment.thumbnail.path) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (480, 360)
    assert len(stored_files(media_root)) == 2


def test_exif_location_and_camera_are_stripped_and_the_photo_turned_upright(
    alice, room, media_root
) -> None:
    original = jpeg_with_gps(width=60, height=40)
    with Image.open(io.BytesIO(original)) as sent:
        assert sent.getexif().get_ifd(GPS_IFD)  # the test's own photo does say where

    attachment = attachment_upload(
        alice, room_id=room.public_id, upload=upload("IMG_0001.jpg", original)
    )

    stored = Path(attachment.file.path).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert not image.getexif().get_ifd(GPS_IFD)
        assert "exif" not in image.info
        assert "comment" not in image.info
        assert image.size == (40, 60)  # orientation 6 applied: on its side no more
    assert b"Spy Camera" not in stored
    assert b"secret comment" not in stored
    assert (attachment.width, attachment.height) == (40, 60)


def test_a_png_sent_as_text_html_is_stored_as_image_png(alice, room, media_root) -> None:
    attachment = attachment_upload(
        alice, room_id=room.public_id, upload=upload("a.png", png(), content_type="text/html")
    )

    assert attachment.content_type == "image/png"


def test_text_is_stored_byte_for_byte_as_text_plain(alice, room, media_root) -> None:
    text = "Grüße, 世界\nline two\n".encode()

    attachment = attachment_upload(alice, room_id=room.public_id, upload=upload("notes.txt", text))

    assert attachment.content_type == "text/plain"
    assert attachment.kind == "file"
    assert attachment.width is None
    assert not attachment.thumbnail
    assert Path(attachment.file.path).read_bytes() == text


def test_a_pdf_is_recognised_by_its_bytes_whatever_its_name(alice, room, media_root) -> None:
    attachment = attachment_upload(alice, room_id=room.public_id, upload=upload("report", PDF))

    assert attachment.content_type == "application/pdf"
    assert attachment.name == "report.pdf"


def test_a_zip_bomb_is_stored_as_an_opaque_zip_and_never_unpacked(alice, room, media_root) -> None:
    bomb = zip_bomb(inflated=64 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # 64 MiB inside, far less than 1 MiB as sent

    attachment = attachment_upload(alice, room_id=room.public_id, upload=upload("bomb.zip", bomb))

    assert attachment.content_type == "application/zip"
    assert attachment.size == len(bomb)
    assert Path(attachment.file.path).read_bytes() == bomb
    assert stored_files(media_root) == [Path(attachment.file.path)]


def test_an_opendocument_file_is_told_by_its_first_entry(alice, room, media_root) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")

    attachment = attachment_upload(
        alice, room_id=room.public_id, upload=upload("letter", out.getvalue())
    )

    assert attachment.content_type == "application/vnd.oasis.opendocument.text"
    assert attachment.name == "letter.odt"


def test_a_gif_with_html_appended_is_stored_as_a_clean_gif(alice, room, media_root) -> None:
    polyglot = gif() + HTML

    attachment = attachment_upload(
        alice, room_id=room.public_id, upload=upload("cat.gif", polyglot, "image/gif")
    )

    assert attachment.content_type == "image/gif"
    stored = Path(attachment.file.path).read_bytes()
    assert SCRIPT not in stored
    assert b"<html" not in stored


def test_an_animated_gif_keeps_its_frames(alice, room, media_root) -> None:
    attachment = attachment_upload(
        alice, room_id=room.public_id, upload=upload("dance.gif", gif(frames=3))
    )

    with Image.open(attachment.file.path) as image:
        assert image.n_frames == 3


# Names


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/var/www/index.txt", "index.txt"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        ("a\x00b.txt", "ab.txt"),
        ("invoice\u202etxt.exe", "invoicetxt.exe.txt"),
        ("page.html", "page.html.txt"),
        ("...", "file.txt"),
        (" .txt", "txt.txt"),
        ("x" * 500 + ".txt", "x" * 196 + ".txt"),
    ],
)
def test_file_names_are_cleaned_and_never_reach_the_storage_path(
    alice, room, media_root, sent, shown
) -> None:
    attachment = attachment_upload(alice, room_id=room.public_id, upload=upload(sent, b"hello\n"))

    assert attachment.name == shown
    assert STORED_NAME.fullmatch(attachment.file.name)
    assert [path.relative_to(media_root).as_posix() for path in stored_files(media_root)] == [
        attachment.file.name
    ]


# Refusals: an error that says why, and nothing kept


def test_a_file_over_the_size_limit_is_refused(alice, room, media_root, settings) -> None:
    settings.PARLEY_UPLOAD_MAX_BYTES = 1000

    error = refused_and_nothing_kept(
        media_root,
        FileTooLarge,
        alice,
        room_id=room.public_id,
        upload=upload("big.txt", b"a" * 1001),
    )

    assert error.code == "file_too_large"
    assert error.details == {"max_bytes": 1000}


def test_an_empty_file_is_refused(alice, room, media_root) -> None:
    error = refused_and_nothing_kept(
        media_root, InvalidInput, alice, room_id=room.public_id, upload=upload("e.txt", b"")
    )

    assert error.details == {"field": "file"}


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (8000, 8000),  # 64 megapixels: past Parley's 40, short of Pillow's own limit
        (100_000, 100_000),  # 10 gigapixels: Pillow's own bomb check fires on opening
    ],
)
def test_an_image_bomb_is_refused_before_it_is_decoded(
    alice, room, media_root, width, height
) -> None:
    bomb = png_bomb(width, height)
    assert len(bomb) < 200

    error = refused_and_nothing_kept(
        media_root, ImageTooLarge, alice, room_id=room.public_id, upload=upload("b.png", bomb)
    )

    assert error.code == "image_too_large"
    assert error.details == {"max_pixels": 40_000_000}


def test_an_animation_counts_the_pixels_of_every_frame(alice, room, media_root, settings) -> None:
    settings.PARLEY_IMAGE_MAX_PIXELS = 20 * 10 * 2

    refused_and_nothing_kept(
        media_root,
        ImageTooLarge,
        alice,
        room_id=room.public_id,
        upload=upload("long.gif", gif(frames=3)),
    )


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("page.html", HTML, "text/html"),
        ("page.png", HTML, "image/png"),  # HTML that says it is a PNG
        ("  indented.txt", b"\n\n   <html><body>" + SCRIPT, "text/plain"),
        ("icon.svg", SVG, "image/svg+xml"),
        ("icon.png", SVG.split(b"\n", 1)[1], "image/png"),  # an SVG without its XML line
        ("data.xml", b'<?xml version="1.0"?><a/>', "text/xml"),
        ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)), "image/png"),
        ("latin1.txt", "café".encode("latin-1"), "text/plain"),
        ("nul.txt", b"abc\x00def", "text/plain"),
    ],
)
def test_markup_and_unknown_types_are_refused_whatever_they_claim(
    alice, room, media_root, name, data, content_type
) -> None:
    error = refused_and_nothing_kept(
        media_root,
        FileTypeNotAllowed,
        alice,
        room_id=room.public_id,
        upload=upload(name, data, content_type),
    )

    assert error.code == "file_type_not_allowed"


def test_html_is_refused_even_when_the_operator_allows_it(
    alice, room, media_root, settings
) -> None:
    settings.PARLEY_UPLOAD_TYPES = [*settings.PARLEY_UPLOAD_TYPES, "text/html", "image/svg+xml"]

    for name, data in (("a.html", HTML), ("b.svg", SVG)):
        refused_and_nothing_kept(
            media_root,
            FileTypeNotAllowed,
            alice,
            room_id=room.public_id,
            upload=upload(name, data),
        )


def test_a_type_left_out_of_the_allowlist_is_refused(alice, room, media_root, settings) -> None:
    settings.PARLEY_UPLOAD_TYPES = ["image/png"]

    error = refused_and_nothing_kept(
        media_root, FileTypeNotAllowed, alice, room_id=room.public_id, upload=upload("r.pdf", PDF)
    )

    assert error.details == {"content_type": "application/pdf"}


def test_a_gif_header_followed_by_html_is_refused_as_a_broken_image(
    alice, room, media_root
) -> None:
    polyglot = b"GIF89a" + HTML

    error = refused_and_nothing_kept(
        media_root, FileInvalid, alice, room_id=room.public_id, upload=upload("x.gif", polyglot)
    )

    assert error.code == "file_invalid"


def test_a_truncated_image_is_refused(alice, room, media_root) -> None:
    whole = png(300, 300)

    refused_and_nothing_kept(
        media_root,
        FileInvalid,
        alice,
        room_id=room.public_id,
        upload=upload("cut.png", whole[: len(whole) // 2]),
    )


def test_the_daily_quota_counts_the_last_24_hours(alice, room, media_root, settings) -> None:
    settings.PARLEY_UPLOAD_DAILY_BYTES = 25
    attachment_upload(alice, room_id=room.public_id, upload=upload("a.txt", b"x" * 10))
    old = attachment_upload(alice, room_id=room.public_id, upload=upload("b.txt", b"x" * 10))
    files_before = stored_files(media_root)

    with pytest.raises(UploadQuotaExceeded) as raised:
        attachment_upload(alice, room_id=room.public_id, upload=upload("c.txt", b"x" * 10))

    assert raised.value.code == "upload_quota_exceeded"
    assert raised.value.details == {"used_bytes": 20, "max_bytes": 25}
    assert stored_files(media_root) == files_before
    Attachment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    attachment_upload(alice, room_id=room.public_id, upload=upload("c.txt", b"x" * 10))


# Who may upload where


def test_only_members_may_upload(room, media_root) -> None:
    outsider = UserFactory()

    refused_and_nothing_kept(
        media_root, NotMember, outsider, room_id=room.public_id, upload=upload("a.txt", b"hi")
    )


def test_a_room_the_user_may_not_see_is_not_found(media_root) -> None:
    secret = make_room(visibility=Room.Visibility.INVITE)

    refused_and_nothing_kept(
        media_root,
        RoomNotFound,
        UserFactory(),
        room_id=secret.public_id,
        upload=upload("a.txt", b"hi"),
    )


def test_an_archived_room_takes_no_uploads(alice, room, media_root) -> None:
    room_update(UserFactory(is_staff=True), room=room, is_archived=True)

    refused_and_nothing_kept(
        media_root, RoomArchived, alice, room_id=room.public_id, upload=upload("a.txt", b"hi")
    )


# purge_uploads


def test_purge_uploads_removes_only_old_unposted_uploads_with_their_files(
    alice, room, media_root, django_capture_on_commit_callbacks
) -> None:
    from chat.services.messages import message_post

    old = attachment_upload(alice, room_id=room.public_id, upload=upload("old.png", png()))
    recent = attachment_upload(alice, room_id=room.public_id, upload=upload("new.txt", b"new"))
    posted = attachment_upload(alice, room_id=room.public_id, upload=upload("kept.txt", b"k"))
    message_post(alice, room_id=room.public_id, body="", attachments=[str(posted.public_id)])
    day_ago = timezone.now() - timedelta(hours=25)
    Attachment.objects.filter(pk__in=[old.pk, posted.pk]).update(created_at=day_ago)
    old_files = {Path(old.file.path), Path(old.thumbnail.path)}
    output = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_uploads", stdout=output)

    assert set(Attachment.objects.values_list("pk", flat=True)) == {recent.pk, posted.pk}
    assert old_files.isdisjoint(stored_files(media_root))
    assert len(stored_files(media_root)) == 2
    assert str(old.public_id) in output.getvalue()
    assert "'old.png'" in output.getvalue()
    assert "1 unposted uploads removed" in output.getvalue()

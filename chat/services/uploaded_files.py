"""What an uploaded file is, read from its bytes, and images made safe to show.

The name and Content-Type a client sends are not believed. Images are decoded, turned upright
and encoded again, which leaves behind their metadata (EXIF, GPS, XMP, comments) and anything
appended to them (a GIF followed by HTML), and get a thumbnail. Nothing else is opened beyond
its first bytes: an archive is never unpacked, so a zip bomb is only a small opaque file.
"""

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from PIL import Image, ImageOps, ImageSequence

from core.errors import FileInvalid, ImageTooLarge

# Text, but no extension a desktop would run or a browser render when the file is opened
# (html, svg, js, bat, ps1 ...): those get .txt added.
# fmt: off
_TEXT_EXTENSIONS = (
    "txt", "text", "log", "md", "markdown", "rst", "csv", "tsv", "json", "yaml", "yml", "toml",
    "ini", "cfg", "conf", "diff", "patch", "sql", "py", "c", "h", "cpp", "hpp", "java", "go",
    "rs", "rb", "ts", "css",
)
# fmt: on
# Each type Parley can recognise: the extensions a name of that type may end with (the first is
# added to a name that ends otherwise).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "application/pdf": ("pdf",),
    "text/plain": _TEXT_EXTENSIONS,
    "application/zip": ("zip",),
    "application/msword": ("doc",),
    "application/vnd.ms-excel": ("xls",),
    "application/vnd.ms-powerpoint": ("ppt",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    # Recognised to be refused: markup runs script when a browser renders it. Not offered even
    # when an operator lists them in PARLEY_UPLOAD_TYPES.
    "text/html": (),
    "image/svg+xml": (),
    "text/xml": (),
    "application/x-ole-storage": (),
}
NEVER_ALLOWED = frozenset({"text/html", "image/svg+xml", "text/xml"})
# Raster images that Parley decodes and shows inline; Pillow's name for each.
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
THUMBNAIL_TYPE = "image/webp"

# Zip containers told apart by their name (the bytes say only "zip"); OpenDocument files say
# what they are in their first entry, which is stored uncompressed.
_ZIP_BY_EXTENSION = {
    extensions[0]: content_type
    for content_type, extensions in EXTENSIONS.items()
    if "openxmlformats" in content_type
}
_OLE_BY_EXTENSION = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The WHATWG MIME sniffing standard's markup patterns (section 7.1): text that starts, after
# whitespace, with one of these is a web page to a browser that guesses.
_HTML_START = re.compile(
    rb"(<!doctype html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b"
    rb"|<body|<br|<p|<!--)[ \t\n\x0c\r>]"
)
_HEAD_BYTES = 4096
_TEXT_CONTROLS = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}


def sniff_type(upload: IO[bytes]) -> str | None:
    """The file's type as Parley reads it from its bytes; None for anything it does not know."""
    upload.seek(0)
    head = upload.read(_HEAD_BYTES)
    upload.seek(0)
    name = str(getattr(upload, "name", "") or "")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _opendocument_type(head) or _ZIP_BY_EXTENSION.get(extension, "application/zip")
    if head.startswith(_OLE_MAGIC):
        return _OLE_BY_EXTENSION.get(extension, "application/x-ole-storage")
    return _text_type(upload, head)


def _opendocument_type(head: bytes) -> str | None:
    """The type an OpenDocument file names in its first zip entry, `mimetype`, stored
    uncompressed; None for any other zip."""
    method = int.from_bytes(head[8:10], "little")
    size = int.from_bytes(head[18:22], "little")
    name_length = int.from_bytes(head[26:28], "little")
    extra_length = int.from_bytes(head[28:30], "little")
    if method != 0 or head[30 : 30 + name_length] != b"mimetype" or size > 100:
        return None
    start = 30 + name_length + extra_length
    named = head[start : start + size].decode("ascii", "replace")
    return named if named.startswith("application/vnd.oasis.opendocument.") else None


def _text_type(upload: IO[bytes], head: bytes) -> str | None:
    """text/plain for UTF-8 text without control characters; the markup types for text a
    browser would render; None for anything else."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\r\x0c").lower()
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "image/svg+xml"
    if start.startswith(b"<?xml"):
        return "text/xml"
    if _HTML_START.match(start):
        return "text/html"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in _chunks(upload):
            if _TEXT_CONTROLS.intersection(chunk):
                return None
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    finally:
        upload.seek(0)
    return "text/plain"


def _chunks(upload: IO[bytes]) -> Iterator[bytes]:
    upload.seek(0)
    while chunk := upload.read(64 * 1024):
        yield chunk


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int
    thumbnail: bytes


# What an image keeps of its own information when encoded again: how to show it (colours,
# transparency, animation), nothing about where, when or with what it was made.
_KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background")
_ANIMATED = ("GIF", "WEBP", "PNG")


def clean_image(upload: IO[bytes], image_format: str) -> CleanImage:
    """The image decoded, turned upright (its EXIF orientation applied) and encoded again in
    its own format without metadata, with a thumbnail; refused if it is not one, is broken or
    has more pixels than PARLEY_IMAGE_MAX_PIXELS."""
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            # A phone's JPEG may be an MPO (several pictures, the first the photo).
            if probe.format not in (image_format, "MPO" if image_format == "JPEG" else None):
                raise FileInvalid("The file is not the image it starts like.", field="file")
            _check_pixels(probe)
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            if image_format in _ANIMATED and getattr(image, "n_frames", 1) > 1:
                frames, data = _encode_animation(image, image_format)
                first = frames[0]
            else:
                image.load()
                first = ImageOps.exif_transpose(image)
                data = _encode(first, image_format, _kept_info(image))
            thumbnail = _thumbnail(first)
    except Image.DecompressionBombError:
        raise ImageTooLarge(**_pixel_details()) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Pillow reports broken data with any of these (UnidentifiedImageError is an OSError).
        raise FileInvalid("The image could not be read; it may be damaged.", field="file") from None
    finally:
        upload.seek(0)
    return CleanImage(data=data, width=first.width, height=first.height, thumbnail=thumbnail)


def _pixel_details() -> dict[str, Any]:
    return {"max_pixels": settings.PARLEY_IMAGE_MAX_PIXELS}


def _check_pixels(image: Image.Image) -> None:
    """Before anything is decoded: the pixels of every frame together, against the limit."""
    limit = settings.PARLEY_IMAGE_MAX_PIXELS
    frame = image.width * image.height
    frames = getattr(image, "n_frames", 1) if frame <= limit else 1
    if frame * frames > limit:
        shown = f"{frames} frames of " if frames > 1 else ""
        raise ImageTooLarge(
            f"The image is {shown}{image.width} x {image.height} pixels; at most {limit} "
            "pixels are taken.",
            **_pixel_details(),
        )


def _kept_info(image: Image.Image) -> dict[str, Any]:
    return {key: image.info[key] for key in _KEPT_INFO if key in image.info}


def _encode(image: Image.Image, image_format: str, info: dict[str, Any], **options: Any) -> bytes:
    """`image` in `image_format`, with only `info` of its metadata: no EXIF, XMP or comments."""
    image.info = {key: value for key, value in info.items()}
    out = io.BytesIO()
    extra: dict[str, Any] = {"quality": 90} if image_format in ("JPEG", "WEBP") else {}
    if image_format == "JPEG" and image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("RGB")
    icc = info.get("icc_profile")
    if icc:
        extra["icc_profile"] = icc
    image.save(out, image_format, **extra, **options)
    return out.getvalue()


def _encode_animation(image: Image.Image, image_format: str) -> tuple[list[Image.Image], bytes]:
    """Every frame of an animated GIF or WebP, and the animation encoded again."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100)))
        frames.append(frame.convert("RGBA"))
    data = _encode(
        frames[0],
        image_format,
        {"loop": image.info.get("loop", 0)},
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=image.info.get("loop", 0),
        disposal=2,
    )
    return frames, data


def _thumbnail(image: Image.Image) -> bytes:
    """At most PARLEY_THUMBNAIL_SIZE pixels wide and high, as WebP (any image's transparency
    kept)."""
    size = settings.PARLEY_THUMBNAIL_SIZE
    thumbnail = image.convert("RGBA" if _has_alpha(image) else "RGB")
    thumbnail.thumbnail((size, size))
    out = io.BytesIO()
    thumbnail.save(out, "WEBP", quality=80)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info

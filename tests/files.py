"""Files for the upload tests: images made with Pillow, hostile ones made by hand, and a
fixture that keeps uploads in a temporary MEDIA_ROOT."""

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Uploads go to a fresh directory, which each test can look into."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def png(width: int = 40, height: int = 30, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), "red" if mode == "RGB" else 128).save(out, "PNG")
    return out.getvalue()


def gif(width: int = 20, height: int = 10, frames: int = 1) -> bytes:
    colors = ["red", "green", "blue", "white", "black"]
    images = [Image.new("RGB", (width, height), colors[n % 5]) for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=frames > 1, append_images=images[1:], duration=50)
    return out.getvalue()


def jpeg_with_gps(width: int = 60, height: int = 40) -> bytes:
    """A JPEG that says where it was taken (GPS), by what camera, and that it is on its side
    (orientation 6: shown turned 90 degrees clockwise)."""
    image = Image.new("RGB", (width, height), "blue")
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Spy Camera Inc."  # Make
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 26.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG of under a hundred bytes that claims `width` x `height` pixels (an image bomb:
    decoding it would take width x height x 3 bytes of memory)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def zip_bomb(inflated: int = 64 * 1024 * 1024) -> bytes:
    """A small zip whose one entry inflates to `inflated` bytes of zeros."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as entry,
    ):
        block = b"\x00" * (1024 * 1024)
        for _ in range(inflated // len(block)):
            entry.write(block)
    return out.getvalue()


SCRIPT = b"<script>alert(document.cookie)</script>"
HTML = b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    + SCRIPT
    + b"</svg>"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

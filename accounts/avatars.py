"""Profile pictures: what a user uploads becomes a small square WebP with no metadata.

The uploaded file is never kept or served: Pillow decodes it (refusing what is not a raster
image, or is too large to decode safely), turns it upright (EXIF orientation), crops the
middle square, scales it to AVATAR_SIZE and encodes it again, which leaves EXIF (location
included) and anything else that rode along in the file behind.
"""

import uuid
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.models import User
from accounts.profiles import announce_profile_changed
from core.errors import InvalidInput

AVATAR_SIZE = 256
# Decoding cost grows with pixels, not bytes: a 100 KB PNG can claim 50,000 x 50,000.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})


def _refused(message: str) -> InvalidInput:
    return InvalidInput(message, field="avatar")


def _square_picture(upload: UploadedFile) -> bytes:
    limit = settings.PARLEY_AVATAR_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise _refused(f"A picture may be at most {limit // (1024 * 1024)} MB.")
    try:
        with Image.open(upload) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise _refused("Use a PNG, JPEG, GIF or WebP picture.")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _refused("That picture has too many pixels to be a profile picture.")
            image.seek(0)  # the first frame of an animation
            upright = ImageOps.exif_transpose(image).convert("RGBA")
    except Image.DecompressionBombError as error:  # Pillow's own, larger limit
        raise _refused("That picture has too many pixels to be a profile picture.") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise _refused("That file is not a picture Parley can read.") from error
    square = ImageOps.fit(upright, (AVATAR_SIZE, AVATAR_SIZE), method=Image.Resampling.LANCZOS)
    encoded = BytesIO()
    square.save(encoded, "WEBP", quality=85)
    return encoded.getvalue()


def avatar_set(user: User, *, upload: UploadedFile) -> User:
    """Give `user` the picture made from `upload`; the previous one is deleted after commit."""
    picture = _square_picture(upload)
    with transaction.atomic():
        previous = user.avatar.name
        user.avatar.save(f"{uuid.uuid4().hex}.webp", ContentFile(picture), save=False)
        user.save(update_fields=["avatar"])
        if previous:
            storage = user.avatar.storage
            transaction.on_commit(lambda: storage.delete(previous))
        announce_profile_changed(user)
    return user


def avatar_remove(user: User) -> User:
    """Back to initials; the picture is deleted after commit."""
    if not user.avatar:
        return user
    with transaction.atomic():
        previous, storage = user.avatar.name, user.avatar.storage
        user.avatar = ""
        user.save(update_fields=["avatar"])
        transaction.on_commit(lambda: storage.delete(previous))
        announce_profile_changed(user)
    return user

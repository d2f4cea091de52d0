"""Uploading files to a room, to be posted in a message (message_post), and removing uploads
that never were.

What a file is comes from its bytes (chat.services.uploaded_files): images are stored encoded
again without their metadata, with a thumbnail; every other file exactly as it came, offered
only as a download.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from chat import ratelimit
from chat.models import Attachment, Room
from chat.room_access import require_open
from chat.selectors.access import member_room
from chat.services.uploaded_files import (
    EXTENSIONS,
    IMAGE_FORMATS,
    NEVER_ALLOWED,
    clean_image,
    sniff_type,
)
from chat.services.validation import clean_file_name
from core.errors import FileTooLarge, FileTypeNotAllowed, InvalidInput, UploadQuotaExceeded


def attachment_upload(user: User, *, room_id: object, upload: File) -> Attachment:
    """Store `upload` as the user's file in a room they may post in, unattached until a message
    names it. Refused uploads leave nothing stored.

    Not for use inside a caller's transaction: files stored here stay if it rolls back.
    """
    ratelimit.take_write(user.pk)
    room = _postable_room(user, room_id)
    size = _checked_size(upload)
    _check_quota(user, size)
    content_type = sniff_type(upload)
    allowed = set(settings.PARLEY_UPLOAD_TYPES) - NEVER_ALLOWED
    if content_type not in allowed:
        raise FileTypeNotAllowed(
            f"Files of type {content_type or 'unknown'} cannot be shared here.",
            content_type=content_type,
        )
    name = clean_file_name(upload.name, extensions=EXTENSIONS.get(content_type, ()))
    attachment = Attachment(uploader=user, room=room, name=name, content_type=content_type)
    if content_type in IMAGE_FORMATS:
        image = clean_image(upload, IMAGE_FORMATS[content_type])
        attachment.width, attachment.height = image.width, image.height
        content: File = ContentFile(image.data)
        thumbnail: File | None = ContentFile(image.thumbnail)
    else:
        upload.seek(0)
        content, thumbnail = upload, None
    attachment.size = content.size
    return _store(user, room_id, attachment, content, thumbnail)


def _postable_room(user: User, room_id: object) -> Room:
    room = member_room(user, room_id).room
    require_open(room)
    return room


def _checked_size(upload: File) -> int:
    if not isinstance(upload, File):
        raise InvalidInput("Send the file as the multipart field 'file'.", field="file")
    limit = settings.PARLEY_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise FileTooLarge(
            f"The file is {upload.size} bytes; the limit is {limit}.", max_bytes=limit
        )
    if upload.size == 0:
        raise InvalidInput("The file is empty.", field="file")
    return upload.size


def _check_quota(user: User, size: int) -> None:
    """UploadQuotaExceeded if `size` more bytes would take the user past their daily quota: the
    bytes stored for their uploads of the last 24 hours (posted or not, not those deleted)."""
    limit = settings.PARLEY_UPLOAD_DAILY_BYTES
    since = timezone.now() - timedelta(days=1)
    used = (
        Attachment.objects.filter(uploader=user, created_at__gte=since).aggregate(
            total=Sum("size")
        )["total"]
        or 0
    )
    if used + size > limit:
        raise UploadQuotaExceeded(
            f"You have uploaded {used} bytes in the last 24 hours; the limit is {limit}.",
            used_bytes=used,
            max_bytes=limit,
        )


def _store(
    user: User, room_id: object, attachment: Attachment, content: File, thumbnail: File | None
) -> Attachment:
    stored: list[str] = []
    try:
        with transaction.atomic():
            # One upload of a user at a time, so two at once cannot both pass the quota.
            User.objects.select_for_update().filter(pk=user.pk).first()
            attachment.room = _postable_room(user, room_id)
            _check_quota(user, attachment.size)
            attachment.file.save("upload", content, save=False)
            stored.append(attachment.file.name)
            if thumbnail is not None:
                attachment.thumbnail.save("thumbnail", thumbnail, save=False)
                stored.append(attachment.thumbnail.name)
            attachment.save()
    except BaseException:
        for name in stored:
            attachment.file.storage.delete(name)
        raise
    return attachment


def attachment_purge_unattached(*, older_than: timedelta = timedelta(days=1)) -> list[Attachment]:
    """Delete the uploads never posted in a message and older than `older_than`, their files
    after the commit; the deleted rows, for a report."""
    cutoff = timezone.now() - older_than
    removed: list[Attachment] = []
    while True:
        with transaction.atomic():
            # Locked, so that a message posting one of them waits and then finds it gone.
            batch = list(
                Attachment.objects.select_for_update()
                .filter(message__isnull=True, created_at__lt=cutoff)
                .order_by("pk")[:500]
            )
            for attachment in batch:
                attachment.delete()
        removed.extend(batch)
        if len(batch) < 500:
            return removed

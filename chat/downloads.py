"""Serving uploaded files, only to members who may see the file's room.

Whatever a file holds, it cannot run in Parley's origin: every answer says `nosniff` and a
sandboxing Content-Security-Policy, and only raster images (which Parley decoded and encoded
again) are shown inline; anything else is a download (`Content-Disposition: attachment`).

Local files (FileSystemStorage) are streamed from here. A storage with URLs of its own
(django-storages' S3 and the like) gets a redirect to one, signed and expiring when the storage
is configured so (README, "Files"): the bytes then come from the storage's own origin.
"""

import inspect
import uuid
from typing import Any
from urllib.parse import quote

from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import FileSystemStorage, Storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.views.decorators.http import require_safe

from accounts.models import User
from accounts.tokens import bearer_token, user_for_token
from chat.models import Attachment
from chat.selectors.messages import attachment_for_user
from chat.services.uploaded_files import IMAGE_FORMATS, THUMBNAIL_TYPE
from core.errors import AttachmentNotFound, InvalidInput

# Shown in the page rather than downloaded: the raster images Parley decoded and encoded again.
INLINE_TYPES = frozenset(IMAGE_FORMATS)
# Nothing a file holds may run, load anything or reach Parley's origin, even if a browser
# renders it (sandbox: a unique origin, no scripts, no forms).
FILE_POLICY = "default-src 'none'; sandbox"


@require_safe
def attachment_download(request: HttpRequest, attachment_id: uuid.UUID, name: str) -> Any:
    """The file itself; `name` is only for the browser (the stored name is used)."""
    attachment = _attachment(request, attachment_id)
    return _serve(
        attachment.file.name,
        storage=attachment.file.storage,
        content_type=attachment.content_type,
        filename=attachment.name,
    )


@require_safe
def attachment_thumbnail(request: HttpRequest, attachment_id: uuid.UUID) -> Any:
    """An image's thumbnail (a WebP of at most PARLEY_THUMBNAIL_SIZE pixels a side)."""
    attachment = _attachment(request, attachment_id)
    if not attachment.thumbnail:
        raise Http404("No such file.")
    stem = attachment.name.rpartition(".")[0] or attachment.name
    return _serve(
        attachment.thumbnail.name,
        storage=attachment.thumbnail.storage,
        content_type=THUMBNAIL_TYPE,
        filename=f"{stem}-thumbnail.webp",
    )


def _requester(request: HttpRequest) -> User | AnonymousUser:
    """The session's user, or the owner of the request's `Authorization: Bearer` token."""
    if request.user.is_authenticated:
        return request.user
    try:
        plain = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
    except InvalidInput:
        return AnonymousUser()
    user = user_for_token(plain) if plain else None
    return user if user is not None else AnonymousUser()


def _attachment(request: HttpRequest, attachment_id: uuid.UUID) -> Attachment:
    """The file, or a 404 that is the same for a missing file and one not the user's to see."""
    try:
        return attachment_for_user(_requester(request), attachment_id=attachment_id)
    except AttachmentNotFound:
        raise Http404("No such file.") from None


def _serve(stored: str, *, storage: Storage, content_type: str, filename: str) -> Any:
    inline = content_type in INLINE_TYPES
    disposition = content_disposition(filename, inline=inline)
    redirect_to = (
        None
        if isinstance(storage, FileSystemStorage)
        else _storage_url(storage, stored, content_type=content_type, disposition=disposition)
    )
    response: HttpResponseBase
    if redirect_to is not None:
        response = HttpResponseRedirect(redirect_to)
        # The signed URL expires: neither it nor the redirect may be kept.
        response["Cache-Control"] = "private, no-store"
    else:
        charset = "; charset=utf-8" if content_type.startswith("text/") else ""
        response = FileResponse(storage.open(stored, "rb"), content_type=content_type + charset)
        response["Content-Disposition"] = disposition
        response["Cache-Control"] = "private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    # Other sites may not embed or read it, even with the user's cookies.
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Vary"] = "Cookie, Authorization"
    return response


def _storage_url(
    storage: Storage, stored: str, *, content_type: str, disposition: str
) -> str | None:
    """The storage's own URL of the file, asking it (S3) to answer with Parley's headers; None
    when the storage has no URLs."""
    try:
        if "parameters" in inspect.signature(storage.url).parameters:
            # django-storages' S3Storage: these become response-content-type and
            # response-content-disposition in the signed URL.
            return storage.url(  # type: ignore[call-arg]
                stored,
                parameters={
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition,
                },
            )
        return storage.url(stored)
    except NotImplementedError:
        return None


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII fallback for old clients, the exact name (RFC 5987) for the rest."""
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\%' else "_" for char in filename
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"

"""The API's parsers: JSON by the socket's rules (core.json_limits) with a size limit, and
multipart uploads with a limit on their files.

DRF's JSONParser lets json recurse without bound: a 2 KB body nested a thousand levels deep
raised RecursionError, a 500 with a traceback. Here it is a 400 `bad_json`, like any JSON the
API cannot take, and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 `too_large`
(api/errors.py) even when DRF hands the parser the request's own stream.

Django leaves the files of a multipart body out of DATA_UPLOAD_MAX_MEMORY_SIZE and would write
any size of file to a temporary file; LimitedMultiPartParser refuses a body that says it is
larger than PARLEY_UPLOAD_MAX_BYTES before reading it, and stops reading one that turns out to
be (no Content-Length, or a lying one) as soon as its files pass the limit.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, JSONParser, MultiPartParser

from core import json_limits
from core.errors import FileTooLarge, InvalidInput, ParleyError

# What a multipart body may carry besides the file: boundaries, the part's headers (its file
# name among them) and a few small fields.
MULTIPART_OVERHEAD = 64 * 1024


class LimitedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("The request body is too large.")
        try:
            # bytes.decode takes text encodings only: a bz2_codec charset, which would inflate a
            # small body into a large one, is a LookupError like an unknown name.
            text = raw.decode(encoding)
        except LookupError:
            raise ParseError(f"Unsupported charset {encoding!r} in Content-Type.") from None
        except ValueError as problem:
            raise ParseError(f"JSON parse error - {problem}") from None
        try:
            return json_limits.loads(text)
        except json_limits.JsonTooDeep as refusal:
            raise ParseError(str(refusal)) from None
        except ValueError as problem:
            raise ParseError(f"JSON parse error - {problem}") from None


def _too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(f"A file may be at most {limit} bytes.", max_bytes=limit)


class UploadLimit(FileUploadHandler):
    """The first upload handler: passes each chunk on to Django's own (memory up to
    FILE_UPLOAD_MAX_MEMORY_SIZE, then a temporary file) until the body holds more than one file
    or its files more than `max_bytes`, then stops reading; the other handlers' partial file is
    closed, which deletes it."""

    def __init__(self, request: Any = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.files = 0
        self.refusal: ParleyError | None = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        if self.files > 1:
            self.refusal = InvalidInput("Send one file per upload.", field="file")
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.refusal = _too_large(self.max_bytes)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class LimitedMultiPartParser(MultiPartParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> DataAndFiles:
        request = (parser_context or {})["request"]
        limit = settings.PARLEY_UPLOAD_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + MULTIPART_OVERHEAD:
            raise _too_large(limit)
        guard = UploadLimit(request, max_bytes=limit)
        request.upload_handlers.insert(0, guard)
        parsed = super().parse(stream, media_type, parser_context)
        if guard.refusal is not None:
            for _, uploads in parsed.files.lists():
                for uploaded in uploads:
                    uploaded.close()
            raise guard.refusal
        return parsed

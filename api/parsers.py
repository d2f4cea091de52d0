"""The API's JSON parser: the socket's rules for JSON (core.json_limits) and a size limit.

DRF's JSONParser lets json recurse without bound: a 2 KB body nested a thousand levels deep
raised RecursionError, a 500 with a traceback. Here it is a 400 `bad_json`, like any JSON the
API cannot take, and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 `too_large`
(api/errors.py) even when DRF hands the parser the request's own stream.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core import json_limits


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

"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Domain errors keep the codes the socket uses (chat/errors.py); DRF's own errors get codes here.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import OUTAGES, ParleyError, RateLimited, Unavailable, http_status_for

logger = logging.getLogger(__name__)

_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.ParseError, "bad_json"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.Throttled, "rate_limited"),
    (exceptions.ValidationError, "invalid"),
]


def error_response(code: str, message: str, status_code: int, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response({"error": body}, status=status_code)


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ParleyError):
        response = error_response(exc.code, exc.message, http_status_for(exc), exc.details)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
        return response
    if isinstance(exc, OUTAGES):
        # Like the socket: the database or Redis is down, not Parley broken; a retry later (with
        # the same client_id for a post) is safe.
        logger.warning("API request failed: database or Redis unavailable", exc_info=True)
        response = error_response(Unavailable.code, Unavailable.default_message, 503)
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            "too_large", "The request body is too large.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, Http404):
        return error_response("not_found", "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.APIException):
        code = next((code for cls, code in _DRF_CODES if isinstance(exc, cls)), "error")
        if isinstance(exc, exceptions.ValidationError):
            response = error_response(
                code, "The request is not valid.", exc.status_code, exc.detail
            )
        else:
            response = error_response(code, str(exc.detail), exc.status_code)
        # APIView.handle_exception sets it on NotAuthenticated and AuthenticationFailed.
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        if isinstance(exc, exceptions.Throttled):
            # Throttled.__init__ sets `wait`; djangorestframework-stubs omit the attribute.
            wait: float | None = exc.wait  # type: ignore[attr-defined]
            if wait:
                response["Retry-After"] = str(int(wait))
        return response
    return None

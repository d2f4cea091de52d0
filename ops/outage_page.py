"""A page that says "try again shortly" while the database or Redis cannot be reached.

Without it a page request during an outage was a bare 500 ("Server Error"), which reads as
Parley being broken and says nothing about coming back. The API (api/errors.py) and the socket
already answer such failures with `unavailable`.
"""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from core.errors import OUTAGES

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class OutagePage:
    """Answers a page whose view failed on an outage with 503 and Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OUTAGES):
            return None
        logger.warning("page failed: database or Redis unavailable", exc_info=True)
        # Rendered without the request: its user, session and flash messages need the database.
        response = HttpResponse(render_to_string("outage.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

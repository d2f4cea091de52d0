"""Filters for Django's own loggers (ops/logs.py has the formatter and uvicorn's filter)."""

import logging


class NotReadyIsNotAnError(logging.Filter):
    """Drops Django's `ERROR django.request` line for a 503 from /readyz.

    Django logs every 5xx answer as an error. For /readyz a 503 is the expected answer to a
    probe while a dependency is down, and ops/health.py has already logged why, once per outage:
    the error line, one per probe, only set off alerts and buried that reason.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request's documented extra context: status_code and request.
        request = getattr(record, "request", None)
        match = getattr(request, "resolver_match", None)
        readyz = match is not None and match.view_name == "readyz"
        return not (readyz and getattr(record, "status_code", None) == 503)

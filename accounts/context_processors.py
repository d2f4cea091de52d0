"""What every page's template may ask of accounts."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def sign_up(request: HttpRequest) -> dict[str, Any]:
    """Whether sign-up is open (PARLEY_SIGNUP_OPEN): closed, no page links to it."""
    return {"signup_open": settings.PARLEY_SIGNUP_OPEN}

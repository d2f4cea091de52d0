"""The API's request budget: every request spends one unit of its client's allowance.

The client is the authenticated user (a token and a session of the same user share one budget)
or, for anonymous requests, the client address as the log-in limits read it (REMOTE_ADDR, put
there by uvicorn's proxy headers only from FORWARDED_ALLOW_IPS; an IPv6 address by its /64).
Counted by core.ratelimit: shared by every process through Redis when REDIS_URL is set.
Each answer says what is left in the IETF httpapi rate-limit draft's headers.
"""

from django.conf import settings
from django.http import HttpResponseBase
from rest_framework.request import Request

from accounts.throttle import client_address
from core import ratelimit
from core.ratelimit import Allowance

LIMIT_HEADER = "RateLimit-Limit"
REMAINING_HEADER = "RateLimit-Remaining"
RESET_HEADER = "RateLimit-Reset"


def client_key(request: Request, *, authenticated: bool = True) -> str:
    """Whose budget a request spends: its user's, or (anonymous, or `authenticated` False while
    its authentication is unknown or failed) its client address's."""
    if authenticated:
        user = request.user
        if user is not None and user.is_authenticated:
            return f"api:user:{user.pk}"
    return f"api:address:{client_address(request.META.get('REMOTE_ADDR')) or 'unknown'}"


def spend(request: Request, *, authenticated: bool = True) -> Allowance:
    """Spend one unit of the request's budget; the answer says whether it was allowed."""
    return ratelimit.spend(
        client_key(request, authenticated=authenticated),
        rate=settings.PARLEY_API_RATE,
        burst=settings.PARLEY_API_BURST,
    )


def add_headers(response: HttpResponseBase, allowance: Allowance) -> None:
    """State the budget on an answer: the burst, whole requests left, seconds until full."""
    response[LIMIT_HEADER] = str(allowance.limit)
    response[REMAINING_HEADER] = str(allowance.remaining)
    response[RESET_HEADER] = str(allowance.reset_seconds)

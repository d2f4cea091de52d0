"""Logging a browser session in and out from a single-page client on the same origin.

Logging in goes through the log-in page's own form (accounts.forms.ThrottledAuthenticationForm):
one rule for passwords, inactive accounts and the guess limits. DRF checks CSRF only for a
logged-in session, so the log-in checks it itself: otherwise another site could log a visitor
in as the attacker (login CSRF).
"""

from collections.abc import Sequence
from typing import Any, cast

from django.contrib.auth import login, logout
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.forms import ThrottledAuthenticationForm
from accounts.throttle import retry_seconds
from api.errors import error_response
from api.serializers import ErrorOut, MeOut, SessionLoginIn
from api.views.account import MeView
from api.views.common import ERRORS, WRITE_ERRORS, AuthenticatedRequest, parse
from core.errors import InvalidInput, RateLimited

SESSION_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(ErrorOut, description="CSRF check failed (`forbidden`)"),
}


class SessionView(MeView):
    """GET answers as /api/v1/me does (MeView), for a session or a token; POST and DELETE are
    for browser sessions only."""

    http_request: HttpRequest

    def get_permissions(self) -> Sequence[Any]:
        # Logging in is for whoever is not logged in yet; the rest needs a login (401).
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # The log-in form counts guesses per client address, read from Django's own request,
        # which DRF's Request wraps without being one.
        self.http_request = request
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "GET":
            # Before authentication can refuse: a page asks who is logged in, and logs in with
            # this cookie's token when nobody is.
            get_token(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        responses={200: MeOut, **ERRORS},
        tags=["account"],
        summary="Who is logged in: the user, as /api/v1/me; 401 when nobody is",
        description="Always sets the `csrftoken` cookie, even with a 401, so that a page can "
        "read it and send it back as `X-CSRFToken` when it logs in.",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return super().get(request)

    @extend_schema(
        request=SessionLoginIn,
        responses={200: MeOut, **SESSION_ERRORS, 429: WRITE_ERRORS[429]},
        tags=["account"],
        summary="Log in: start a browser session with a username and password",
        description="The log-in page's rules: a wrong username or password, or an inactive "
        "account, is one 400 `invalid` that does not say which; guesses are limited per "
        "account and per client address (429 `rate_limited` with Retry-After). Needs the "
        "`csrftoken` cookie (from GET) sent back as the `X-CSRFToken` header, even before "
        "logging in (403 `forbidden` without). On success the session cookie is set and the "
        "CSRF token changes: read the cookie again before the next write. A request with an "
        "access token, or from a session already logged in, is refused with 400 `invalid`.",
    )
    @sensitive_variables("credentials")
    def post(self, request: Request) -> Response:
        # The body first, as on every endpoint: one that cannot be read is a 400 for anyone.
        credentials = parse(SessionLoginIn, request.data)
        if request.user.is_authenticated:
            # A session here passed DRF's own CSRF check; a token needs no log-in.
            raise InvalidInput(
                "You are already logged in: log out first (DELETE /api/v1/session)."
                if isinstance(request.successful_authenticator, SessionAuthentication)
                else "An access token needs no log-in: send it with each request."
            )
        SessionAuthentication().enforce_csrf(request)
        form = ThrottledAuthenticationForm(self.http_request, data=credentials)
        if not form.is_valid():
            if form.retry_after is not None:
                return too_many_attempts(str(form.non_field_errors()[0]), form.retry_after)
            raise refusal_of(form)
        login(request, form.get_user())
        return super().get(cast(AuthenticatedRequest, request))

    @extend_schema(
        request=None,
        responses={204: None, **SESSION_ERRORS},
        tags=["account"],
        summary="Log out: end this browser session",
        description="Needs the `X-CSRFToken` header, as every write with a session. An access "
        "token is refused with 400 `invalid`: revoke it with DELETE /api/v1/tokens/{id}.",
    )
    def delete(self, request: AuthenticatedRequest) -> Response:
        if not isinstance(request.successful_authenticator, SessionAuthentication):
            raise InvalidInput(
                "Only a browser session logs out here; "
                "revoke an access token with DELETE /api/v1/tokens/{id}."
            )
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def refusal_of(form: ThrottledAuthenticationForm) -> serializers.ValidationError | InvalidInput:
    """The error for a log-in the form refused (not over a guess limit): its fields' errors,
    or its own message, which never says whether the username exists."""
    fields = {
        name: [str(message) for message in messages]
        for name, messages in form.errors.items()
        if name != NON_FIELD_ERRORS
    }
    if fields:
        return serializers.ValidationError(fields)
    return InvalidInput(str(form.non_field_errors()[0]))


def too_many_attempts(message: str, retry_after: float) -> Response:
    """429 with Retry-After in whole seconds, rounded up, as the log-in page answers
    (accounts.views.refused_if_throttled) and as the form's message says."""
    response = error_response(RateLimited.code, message, status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(retry_seconds(retry_after))
    return response

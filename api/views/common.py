"""What every API view shares: the request type, input parsing and the documented errors."""

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from api import budget
from api.authentication import BearerTokenAuthentication
from api.serializers import ErrorOut
from core.errors import RateLimited
from core.ratelimit import Allowance

ERRORS = {
    400: OpenApiResponse(ErrorOut, description="Invalid input"),
    401: OpenApiResponse(ErrorOut, description="Not authenticated"),
    404: OpenApiResponse(ErrorOut, description="Not found (also: not yours to see)"),
    503: OpenApiResponse(ErrorOut, description="Database or Redis unreachable; retry later"),
}
WRITE_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(ErrorOut, description="Not allowed"),
    409: OpenApiResponse(ErrorOut, description="Conflicts with the current state"),
    429: OpenApiResponse(ErrorOut, description="Rate limited; see Retry-After"),
}


class AuthenticatedRequest(Request):
    """For the type checker only: the request of an API view, whose user is a User.

    The API's default permission is IsAuthenticated, so a view that keeps it annotates its
    request with this; no request is ever constructed as one.
    """

    user: User


def parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The validated input, or a ValidationError (400 in the API's error shape)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# The base of every API view: each request spends one unit of its client's API budget
# (api/budget.py), and every answer, errors included, says what is left. A comment, not a
# docstring: drf-spectacular would show a docstring as every undocumented view's description.
class ApiView(APIView):
    budget_spent: Allowance | None = None

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        # Here rather than in a DRF throttle: throttles run after the permission check, so
        # anonymous requests to the endpoints that need a user would never count.
        self.budget_spent = budget.spend(request)
        if not self.budget_spent.allowed:
            raise RateLimited(retry_after=self.budget_spent.retry_after)

    def handle_exception(self, exc: Exception) -> Response:
        if self.budget_spent is None:
            # Refused before its user was known (a bad token, content negotiation): it counts
            # as the anonymous client it is, and is refused as one when that budget is spent.
            self.budget_spent = budget.spend(self.request, authenticated=False)
            if not self.budget_spent.allowed:
                exc = RateLimited(retry_after=self.budget_spent.retry_after)
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.budget_spent is not None:
            budget.add_headers(response, self.budget_spent)
        return response


class _SessionWithoutCsrf(SessionAuthentication):
    """The session's user, without the CSRF check: for answers that change nothing."""

    def enforce_csrf(self, request: HttpRequest) -> None:
        return None


@extend_schema(exclude=True)
class EndpointNotFoundView(ApiView):
    """Any other path under /api/v1/: a 404 in the API's error shape rather than an HTML page.

    It changes nothing, so it needs neither CSRF protection nor authentication; it spends the
    budget like any other request, so probing for endpoints is not free.
    """

    authentication_classes = [BearerTokenAuthentication, _SessionWithoutCsrf]
    permission_classes = [AllowAny]

    # No method is handled, so DRF sends each one here, after authentication and the budget.
    http_method_names: list[str] = []

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound("No such API endpoint.")

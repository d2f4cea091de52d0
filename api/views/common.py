"""What every API view shares: the request type, input parsing and the documented errors."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

from accounts.models import User
from api.serializers import ErrorOut

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


@csrf_exempt
def endpoint_not_found(request: HttpRequest, path: str) -> JsonResponse:
    """Any other path under /api/v1/: a 404 in the API's error shape rather than an HTML page.

    It changes nothing, so it needs neither CSRF protection nor authentication.
    """
    return JsonResponse(
        {"error": {"code": "not_found", "message": "No such API endpoint."}}, status=404
    )

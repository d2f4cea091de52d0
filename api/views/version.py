"""Which Parley, REST API and socket protocol a server speaks, for clients that check first."""

from functools import cache
from importlib.metadata import version

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.serializers import ErrorOut, VersionOut
from api.views.common import ApiView
from chat.wire import PROTOCOL_VERSION

API_VERSION = "1"


@cache
def parley_version() -> str:
    """The installed package's version (pyproject.toml's)."""
    return version("parley")


class VersionView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: VersionOut,
            401: OpenApiResponse(ErrorOut, description="A token was sent and is not valid"),
        },
        tags=["meta"],
        summary="The server's versions: Parley, the REST API and the socket protocol",
        description="Needs no authentication. A token or session, when sent, is checked "
        "and its user's request budget spent; otherwise the client address's.",
    )
    def get(self, request: Request) -> Response:
        return Response(
            {"parley": parley_version(), "api": API_VERSION, "protocol": PROTOCOL_VERSION}
        )

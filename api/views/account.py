"""The current user and their personal access tokens."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AccessToken
from accounts.tokens import token_create, token_revoke, tokens_of_user
from api.serializers import MeOut, TokenCreatedOut, TokenCreateIn, TokenListOut, TokenOut
from api.views.common import ERRORS, WRITE_ERRORS, AuthenticatedRequest, parse


def token_data(token: AccessToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked": token.revoked_at is not None,
        "expires_at": token.expires_at,
        "active": token.is_active,
    }


class MeView(APIView):
    @extend_schema(responses={200: MeOut, **ERRORS}, tags=["account"])
    def get(self, request: AuthenticatedRequest) -> Response:
        user = request.user
        return Response(
            {"username": user.username, "display_name": user.shown_name, "is_staff": user.is_staff}
        )


class TokensView(APIView):
    @extend_schema(responses={200: TokenListOut, **ERRORS}, tags=["account"])
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response({"results": [token_data(t) for t in tokens_of_user(request.user)]})

    @extend_schema(
        request=TokenCreateIn, responses={201: TokenCreatedOut, **WRITE_ERRORS}, tags=["account"]
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(TokenCreateIn, request.data)
        token, plain = token_create(
            request.user, name=data["name"], expires_in_days=data.get("expires_in_days")
        )
        return Response({**token_data(token), "token": plain}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    @extend_schema(responses={200: TokenOut, **WRITE_ERRORS}, tags=["account"])
    def delete(self, request: AuthenticatedRequest, token_id: int) -> Response:
        return Response(token_data(token_revoke(request.user, token_id=token_id)))

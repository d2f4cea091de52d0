"""The current user, their personal access tokens, and logging out everywhere."""

from typing import Any

from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response

from accounts.models import AccessToken
from accounts.tokens import access_revoke_all, token_create, token_revoke, tokens_of_user
from api.serializers import (
    LogoutEverywhereIn,
    LogoutEverywhereOut,
    MeOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenListOut,
    TokenOut,
)
from api.views.common import ERRORS, WRITE_ERRORS, ApiView, AuthenticatedRequest, parse


def token_data(token: AccessToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked": token.revoked_at is not None,
        "expires_at": token.expires_at,
        "active": token.is_active,
        "created_via": token.created_via,
        "created_by": token.created_by_id,
    }


def origin_of(request: AuthenticatedRequest) -> AccessToken.Origin:
    """How the request authenticated, for the services that ask: anything but a session
    counts as a token, so an authentication added later cannot create tokens by default."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        return AccessToken.Origin.SESSION
    return AccessToken.Origin.TOKEN


class MeView(ApiView):
    @extend_schema(responses={200: MeOut, **ERRORS}, tags=["account"])
    def get(self, request: AuthenticatedRequest) -> Response:
        user = request.user
        return Response(
            {"username": user.username, "display_name": user.shown_name, "is_staff": user.is_staff}
        )


class TokensView(ApiView):
    @extend_schema(responses={200: TokenListOut, **ERRORS}, tags=["account"])
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response({"results": [token_data(t) for t in tokens_of_user(request.user)]})

    @extend_schema(
        request=TokenCreateIn,
        responses={201: TokenCreatedOut, **WRITE_ERRORS},
        tags=["account"],
        description="Only with a logged-in session and the password typed again: a request "
        "authenticated by a token is refused with 403 `session_required` (tokens cannot create "
        "tokens), a wrong password with 403 `password_incorrect`, a missing one with 400 "
        "`invalid`; a refused request creates nothing.",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(TokenCreateIn, request.data)
        token, plain = token_create(
            request.user,
            name=data["name"],
            expires_in_days=data.get("expires_in_days"),
            via=origin_of(request),
            password=data.get("password"),
        )
        return Response({**token_data(token), "token": plain}, status=status.HTTP_201_CREATED)


class TokenView(ApiView):
    @extend_schema(responses={200: TokenOut, **WRITE_ERRORS}, tags=["account"])
    def delete(self, request: AuthenticatedRequest, token_id: int) -> Response:
        return Response(token_data(token_revoke(request.user, token_id=token_id)))


class LogoutEverywhereView(ApiView):
    @extend_schema(
        request=LogoutEverywhereIn,
        responses={200: LogoutEverywhereOut, **WRITE_ERRORS},
        tags=["account"],
        description="Revoke every token of the user and end every other session, closing "
        "their sockets. Only with a logged-in session and the password typed again (403 "
        "`session_required` for a token, 403 `password_incorrect` for a wrong password). The "
        "calling session stays logged in, with a new session cookie.",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(LogoutEverywhereIn, request.data)
        revoked = access_revoke_all(
            request.user, via=origin_of(request), password=data.get("password")
        )
        update_session_auth_hash(request, request.user)
        return Response({"revoked_tokens": revoked})

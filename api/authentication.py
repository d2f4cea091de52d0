"""Personal access tokens for the REST API (`Authorization: Bearer <token>`)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.tokens import bearer_token, user_for_token
from core.errors import InvalidInput


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        try:
            plain = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        except InvalidInput as error:
            raise exceptions.AuthenticationFailed(error.message) from None
        if plain is None:
            return None
        user = user_for_token(plain)
        if user is None:
            raise exceptions.AuthenticationFailed("The token is not valid, or was revoked.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="parley"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A personal access token."}

"""Who is on the other end of a socket: a personal access token, or the browser session.

A token travels in the handshake's `Authorization: Bearer <token>` header, never in the URL,
so it does not end up in access logs. Token handshakes skip the Origin check: a web page
cannot set that header, so a foreign site cannot ride on a token the way it could on a
cookie. Session handshakes must come from an allowed origin.
"""

import logging
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from accounts.tokens import bearer_token, token_for_plain
from chat.db import in_thread
from core import metrics
from core.errors import InvalidInput

logger = logging.getLogger(__name__)


def _noting_refusal(send: Any) -> Any:
    """`send`, logging a close before accept: the origin check refused the handshake (403)."""
    accepted = False

    async def noting(message: dict[str, Any]) -> None:
        nonlocal accepted
        if message["type"] == "websocket.accept":
            accepted = True
        elif message["type"] == "websocket.close" and not accepted:
            metrics.SOCKETS_REFUSED.labels(reason="origin").inc()
            logger.info("socket refused: origin not allowed (HTTP 403)")
        await send(message)

    return noting


class TokenOrSessionAuth:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.session_app = AllowedHostsOriginValidator(AuthMiddlewareStack(app))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        header = dict(scope.get("headers", [])).get(b"authorization")
        if header is None:
            return await self.session_app(scope, receive, _noting_refusal(send))
        try:
            plain = bearer_token(header.decode("latin-1"))
        except InvalidInput:
            plain = None
        token = await in_thread(token_for_plain)(plain) if plain else None
        if token is None:
            return await self.app({**scope, "user": AnonymousUser()}, receive, send)
        # The socket closes when this token is revoked or expires.
        identity = {"user": token.user, "token_id": token.pk, "token_expires_at": token.expires_at}
        return await self.app({**scope, **identity}, receive, send)

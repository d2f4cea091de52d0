"""WebSocket handshakes per client address (PARLEY_HANDSHAKES_PER_MINUTE).

Checked before the login is, so a reconnect loop or a flood costs no database work. The count
is core.ratelimit's, shared by every process when REDIS_URL is set. The address is the ASGI
scope's `client`: behind the proxy, uvicorn's proxy headers (FORWARDED_ALLOW_IPS) have already
put the real client there. A refused handshake is accepted and closed with 4029, so the client
can tell it from a network failure; the opening of sockets per user is limited in the socket.
"""

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from core import metrics
from core.errors import RateLimited
from core.ratelimit import address_key, take

logger = logging.getLogger(__name__)

CLOSE_TOO_MANY_HANDSHAKES = 4029


def client_address(scope: dict[str, Any]) -> str | None:
    """The address handshakes are counted by (an IPv6 address by its /64); None when the
    server does not know it."""
    client = scope.get("client")
    if not client or not client[0]:
        return None
    return address_key(str(client[0]))


class HandshakeRateLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        per_minute = settings.PARLEY_HANDSHAKES_PER_MINUTE
        address = client_address(scope) if scope["type"] == "websocket" else None
        if per_minute > 0 and address is not None:
            try:
                # Off the event loop: with Redis this is a network round trip.
                await sync_to_async(take, thread_sensitive=False)(
                    f"handshake:{address}", rate=per_minute / 60, burst=per_minute
                )
            except RateLimited:
                metrics.SOCKETS_REFUSED.labels(reason="handshake_rate").inc()
                logger.info(
                    "socket refused: over %d handshakes a minute from %s (close %s)",
                    per_minute,
                    address,
                    CLOSE_TOO_MANY_HANDSHAKES,
                )
                return await _accept_and_close(receive, send, CLOSE_TOO_MANY_HANDSHAKES)
        return await self.app(scope, receive, send)


async def _accept_and_close(receive: Any, send: Any, code: int) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})

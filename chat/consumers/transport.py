"""Sending to one socket's client: send deadlines, clients that do not read, closed connections.

A client that stops reading makes a send wait, and its live events pile up in this process
meanwhile: past PARLEY_SOCKET_SEND_TIMEOUT it is closed (4008) and catches up when it
reconnects. A send or close to a connection that is gone already is dropped: its disconnect is
queued for the client reader, which does the cleanup.
"""

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import wire

logger = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008  # the client did not take its frames in time
# How long a socket dropped for being slow may take to accept its close frame.
CLOSE_WAIT = 10.0
# A send that takes longer than this waited for the client to read (a free one takes
# microseconds).
CLIENT_WAIT = 0.05


def connection_gone(error: Exception) -> bool:
    """Whether a send or close failed because the socket is closed already, its disconnect
    queued for the client reader, which does the cleanup: the connection was lost (uvicorn's
    ClientDisconnected, an OSError as ASGI says), or uvicorn closed it itself on a client that
    broke the protocol (1002, 1007) and refuses frames after that with a RuntimeError. Raised
    from a live event's handler, either ended the consumer before its disconnect ran, and the
    user stayed online."""
    return isinstance(error, OSError) or "after sending 'websocket.close'" in str(error)


class GuardedTransport(AsyncWebsocketConsumer):
    """`send` and `close` that never wait past the deadline nor fail on a closed connection."""

    # Set as soon as the client source yields `websocket.disconnect` (chat/consumers/loop.py).
    socket_closed = False
    closing = False
    waited_for_client_at = -math.inf

    async def release(self) -> None:
        """Stop serving the socket: leave presence and every group (the consumer's)."""
        raise NotImplementedError

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if self.closing or self.socket_closed:
            return  # the server refuses frames after a close, ours or its; the client resumes
        started = time.monotonic()
        try:
            async with asyncio.timeout(settings.PARLEY_SOCKET_SEND_TIMEOUT):
                await super().send(text_data, bytes_data, close)
        except TimeoutError:
            await self.drop_too_slow("a frame was not taken in time")
        except (OSError, RuntimeError) as error:
            if not connection_gone(error):
                raise
            self.socket_closed = True
        if time.monotonic() - started > CLIENT_WAIT:
            self.waited_for_client_at = time.monotonic()

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=wire.dumps(frame))

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closing or self.socket_closed:
            return  # closed already: the server would refuse a second close
        self.closing = True
        try:
            await super().close(code, reason)
        except (OSError, RuntimeError) as error:
            if not connection_gone(error):
                raise
            self.socket_closed = True

    def falling_behind(self, sent_at: float) -> bool:
        """A live event waited here longer than the send timeout, and the client, not this
        socket's own work (a busy sender's posts), is why: it made a send wait lately."""
        limit = settings.PARLEY_SOCKET_SEND_TIMEOUT
        client_slow = time.monotonic() - self.waited_for_client_at < limit
        return client_slow and time.time() - sent_at > limit

    async def drop_too_slow(self, reason: str) -> None:
        """Close a socket whose client does not keep up (4008) and stop serving it."""
        logger.warning("socket too slow (%s): user %s, closing", reason, self.scope["user"].pk)
        await self.close_and_stop(CLOSE_TOO_SLOW)

    async def close_and_stop(self, code: int) -> None:
        """Stop serving the socket, close it (waiting CLOSE_WAIT at most) and end the consumer."""
        await self.release()  # nothing more is queued for it from here on
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT):
                await self.close(code=code)
        raise StopConsumer()

"""A consumer's event loop: Channels' without a new task and an `asyncio.wait` per event.

Channels' `await_many_dispatch` starts a fresh task for the next receive of each source after
every event and waits on all of them with `asyncio.wait` (a future and callbacks on every
task). At fan-out each socket pays that for every event: profiled at 1,000 sockets in one room
it was about 30% of a process's busy time. Here each source (the client, the channel layer)
has one long-lived reader task that awaits its next message and dispatches it under one lock,
so that handlers still run one at a time, as in Channels, and each source in arrival order.

A third source, `local_events`, takes events handed over in this process (chat.realtime.fanout):
they are dispatched like the channel layer's.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer


class OneReaderPerSource:
    """Mixin for an `AsyncConsumer` (async only): replaces `__call__`'s dispatch loop."""

    channel_layer_alias: str
    if TYPE_CHECKING:
        # The consumer's own; declared only for the checker, so as not to shadow it at run time.
        async def dispatch(self, message: dict[str, Any]) -> None: ...

    # Set as soon as the client source yields `websocket.disconnect`, before it is dispatched.
    socket_closed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.one_at_a_time = asyncio.Lock()

    def idle(self) -> bool:
        """No handler is running or waiting to run, and no local event is queued."""
        return not self.one_at_a_time.locked() and self.local_events.empty()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive, self.local_events.get]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            sources.append(self.channel_receive)
        self.base_send = send
        one_at_a_time = self.one_at_a_time
        ended = False

        async def read(source: Callable[[], Awaitable[dict[str, Any]]]) -> None:
            nonlocal ended
            while True:
                message = await source()
                if message["type"] == "websocket.disconnect":
                    # The server has closed the socket (the client left, or broke the protocol:
                    # 1002, 1007) and refuses frames from now on, while the other source's
                    # handler may be running or waiting for the lock.
                    self.socket_closed = True
                async with one_at_a_time:
                    # A handler ended the consumer (StopConsumer after the disconnect, or an
                    # error): as in Channels' loop, nothing that waited meanwhile is dispatched.
                    if ended:
                        return
                    try:
                        await self.dispatch(message)
                    except BaseException:
                        ended = True
                        raise

        readers = [asyncio.ensure_future(read(source)) for source in sources]
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_EXCEPTION)
            for reader in done:
                error = reader.exception()
                if error is not None and not isinstance(error, StopConsumer):
                    raise error
        finally:
            for reader in readers:
                reader.cancel()
            # Collects what the readers ended with (cancelled, StopConsumer, the error raised).
            await asyncio.gather(*readers, return_exceptions=True)

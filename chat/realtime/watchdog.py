"""Catch-up after the channel layer's connection to Redis comes back.

channels_redis' pub/sub layer subscribes again by itself when its connection to Redis is
restored (redis-py's reconnect), but what was published while it was away is gone for good,
and a socket notices a missed entry only when a later entry of the same room arrives. So each
process watches its pub/sub connections (found by chat/realtime/redis_layer.py, the one module
that reads channels_redis' private names) and, after one reconnects, sends each of its sockets a
`layer.recovered` event: the socket then reads every room's missed entries from the database.
"""

import asyncio
import logging
import weakref
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from chat.realtime import redis_layer

logger = logging.getLogger(__name__)

# How often new pub/sub connections (a flushed or new layer) are looked for.
LOOK_INTERVAL = 1.0


class Watchdog:
    """One process's watch on its pub/sub connections (owned by chat/consumers/runtime.py)."""

    def __init__(self) -> None:
        self.sockets: set[str] = set()  # channel names of this loop's open sockets
        self.reconnected = asyncio.Event()
        self.watched: weakref.WeakSet[Any] = weakref.WeakSet()
        self.task: asyncio.Task | None = None

    def on_connect(self, connection: Any) -> None:
        # redis-py calls this on every reconnect of a watched connection, after the layer's
        # own callback has subscribed again; it keeps a weak reference to this bound method.
        self.reconnected.set()

    def watch_connections(self) -> None:
        for connection in redis_layer.pubsub_connections(get_channel_layer()):
            if connection not in self.watched:
                connection.register_connect_callback(self.on_connect)
                self.watched.add(connection)

    async def run(self) -> None:
        while True:
            try:
                self.watch_connections()
            except Exception:
                logger.exception("watchdog: could not look at the channel layer's connections")
            try:
                await asyncio.wait_for(self.reconnected.wait(), LOOK_INTERVAL)
            except TimeoutError:
                continue
            self.reconnected.clear()
            logger.warning("channel layer reconnected: %d sockets catch up", len(self.sockets))
            layer = get_channel_layer()
            for channel_name in list(self.sockets):
                try:
                    await layer.send(channel_name, {"type": "layer.recovered"})
                except Exception:
                    # Down again: its next reconnect starts another round.
                    logger.exception("watchdog: could not reach socket %s", channel_name)

    def watch(self, channel_name: str) -> None:
        """A socket opened: tell it when the layer reconnects (only with REDIS_URL)."""
        if not settings.REDIS_URL:
            return
        self.sockets.add(channel_name)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def forget(self, channel_name: str) -> None:
        self.sockets.discard(channel_name)

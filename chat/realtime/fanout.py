"""Live room events: received once per process, then handed to that room's sockets here.

Sockets do not join room groups themselves. Each process joins a room's group once, with a
channel of its own, while any of its sockets has the room open. channels_redis subscribes to a
group once per process either way, but then queues and decodes each event once per socket and
wakes each socket's reader for it; here an event is decoded once, its frame is built once
(`SharedFrame`), and each socket of the room is offered it in turn, synchronously
(`ParleySocket.offer`): a socket with nothing else to do writes it to its connection there and
then, and any other queues it for its own handler loop, which does the careful part (gaps,
catch-up, entries held back, clients that do not read).

A socket's own events (its user's group, its wake-ups) still come on its own channel.
"""

import asyncio
import logging
import time
from typing import Any, Protocol, cast

import redis
from channels.layers import get_channel_layer

from chat.realtime.groups import room_group
from chat.realtime.shared_frames import SharedFrame
from core import metrics

logger = logging.getLogger(__name__)


class Receiver(Protocol):
    def offer(self, event: dict[str, Any], frame: SharedFrame) -> bool:
        """Take a live event of one of its rooms; True if it delivered a timeline entry now."""
        ...


class Fanout:
    """One process's subscriptions to room groups and the sockets of each room.

    One per event loop, owned by the process runtime (chat/consumers/runtime.py).
    """

    def __init__(self) -> None:
        self.rooms: dict[str, set[Receiver]] = {}  # room id -> this process's sockets in it
        self.channel: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.starting = asyncio.Lock()

    async def start(self) -> None:
        async with self.starting:
            if self.task is not None and not self.task.done():
                return
            layer = get_channel_layer()
            if self.channel is None:
                self.channel = await layer.new_channel("fanout")
            self.task = asyncio.get_running_loop().create_task(self.run(layer, self.channel))

    async def run(self, layer: Any, channel: str) -> None:
        while True:
            try:
                event = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The layer lost Redis: it reconnects by itself, and the watchdog has every
                # socket catch up (chat/realtime/watchdog.py).
                logger.exception("fan-out: receiving from the channel layer failed")
                await asyncio.sleep(1)
                continue
            try:
                self.deliver(event)
            except Exception:
                logger.exception("fan-out: could not deliver a %s event", event.get("type"))

    def deliver(self, event: dict[str, Any]) -> None:
        sockets = self.rooms.get(event.get("room"))  # type: ignore[arg-type]
        if not sockets:
            return
        frame = SharedFrame(event["text"])
        delivered = 0
        for socket in tuple(sockets):  # an offer never awaits, but it may unsubscribe
            try:
                delivered += socket.offer(event, frame)
            except Exception:
                # That socket finds the entry missing with the room's next one (a gap) or the
                # next heartbeat; the others still get it.
                logger.exception("fan-out: a socket refused a %s event", event.get("type"))
        if delivered:
            metrics.DELIVERIES.inc(delivered)
            if "sent_at" in event:
                metrics.FANOUT_LATENCY.observe(max(0.0, time.time() - event["sent_at"]))

    async def subscribe(self, room_id: str, socket: Receiver) -> None:
        """Offer `socket` the room's live events from now on (once this returns, none is
        missed). Also renews the process's membership of the room's group (the in-memory
        layer forgets a membership after its group expiry)."""
        await self.start()
        self.rooms.setdefault(room_id, set()).add(socket)
        # The layer waits for a subscription under way, so this returns only once it is in
        # place.
        channel = cast(str, self.channel)  # named by start()
        await group_add(get_channel_layer(), room_group(room_id), channel)

    async def unsubscribe(self, room_id: str, socket: Receiver) -> None:
        """Stop offering the room's events to `socket`; the last socket out leaves the group."""
        sockets = self.rooms.get(room_id)
        if sockets is None or socket not in sockets:
            return
        sockets.discard(socket)
        if not sockets:
            del self.rooms[room_id]
            await get_channel_layer().group_discard(room_group(room_id), self.channel)


async def group_add(layer: Any, group: str, channel: str) -> None:
    """`layer.group_add`, tried once more on a fresh connection when the first try finds its
    connection to Redis dead. `layer` is the instance that made `channel`: a pub/sub layer adds
    only channels it made itself.

    When Redis restarted since the layer last used its pub/sub connection, the first command on
    it fails, and redis-py (Parley's connections have no retries) reconnects only as it raises:
    a socket opened as soon as /readyz says 200 again would be closed with 1013. Adding a
    channel to a group twice is harmless. If Redis is really down, the second try fails too and
    the caller treats it as the outage it is; a timeout is not retried, so as not to double it.
    """
    try:
        await layer.group_add(group, channel)
    except redis.ConnectionError:
        logger.info("channel layer: subscribing found a dead connection to Redis; once more")
        await layer.group_add(group, channel)

"""What this process does for all its sockets every few seconds, in one task.

- Presence: a socket's entry expires PARLEY_PRESENCE_TTL seconds after its last refresh, so
  that a process that dies takes its users offline. The entries of all sockets are refreshed
  every third of that, in one round trip to Redis per 500 sockets, instead of a task, a timer
  and a round trip per socket (1.4 KB and a wake-up for each of thousands of idle sockets).
- Lost publishes: an entry whose process died between its commit and its publish (or whose
  publish Redis lost) reaches a socket only when the room's next entry reveals the gap, and a
  quiet room may have none for hours. Rooms whose last seq did not move since the previous
  beat and that a socket is behind on are read from the database by that socket.
- The in-memory channel layer forgets group memberships older than its group expiry, so with
  it each socket is also asked to renew its groups.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from channels.layers import get_channel_layer

from chat.realtime import presence

logger = logging.getLogger(__name__)

BATCH = 500  # sockets refreshed per round trip


@dataclass(frozen=True)
class _Socket:
    user_id: int
    channel_name: str
    cursors: dict[str, int]  # the socket's own: room id -> last seq it has delivered
    # Called when the socket's entry had lapsed (the process was stalled past the expiry, or
    # Redis lost it): the user is announced online again.
    lapsed: Callable[[], Awaitable[None]]


# Reads each room's last seq from the database, by public id (chat.selectors).
HeadsReader = Callable[[Iterable[str]], Awaitable[dict[str, int]]]


class Heartbeats:
    """One process's heartbeat task and the sockets it looks after (chat/consumers/runtime.py)."""

    def __init__(self, read_heads: HeadsReader) -> None:
        self.read_heads = read_heads
        self.sockets: dict[str, _Socket] = {}
        self.task: asyncio.Task[None] | None = None
        self.heads: dict[str, int] = {}  # room id -> last seq, at the previous beat

    def keep(
        self,
        user_id: int,
        channel_name: str,
        cursors: dict[str, int],
        *,
        lapsed: Callable[[], Awaitable[None]],
    ) -> None:
        """Look after this socket from now on (its presence entry was claimed when it opened)."""
        self.sockets[channel_name] = _Socket(user_id, channel_name, cursors, lapsed)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def drop(self, channel_name: str) -> None:
        self.sockets.pop(channel_name, None)

    async def run(self) -> None:
        while True:
            layer = get_channel_layer()
            group_expiry = getattr(layer, "group_expiry", None)
            interval = presence.ttl_seconds() / 3
            if group_expiry:
                interval = min(interval, group_expiry / 3)
            await asyncio.sleep(interval)
            await self.beat(renew_groups=bool(group_expiry))

    async def beat(self, *, renew_groups: bool = False) -> None:
        sockets = list(self.sockets.values())
        for start in range(0, len(sockets), BATCH):
            part = sockets[start : start + BATCH]
            try:
                lapsed = await presence.store().touch_many(
                    [(socket.user_id, socket.channel_name) for socket in part]
                )
            except Exception:
                logger.exception("presence heartbeat failed for %d sockets", len(part))
                continue
            for socket, was_lapsed in zip(part, lapsed, strict=True):
                if was_lapsed and socket.channel_name in self.sockets:
                    await socket.lapsed()
        await self.find_lost_entries(sockets)
        if renew_groups:
            layer = get_channel_layer()
            for socket in sockets:
                try:
                    await layer.send(socket.channel_name, {"type": "groups.renew"})
                except Exception:
                    logger.exception("could not schedule the renewal of a socket's groups")

    async def find_lost_entries(self, sockets: list[_Socket]) -> None:
        rooms = {room_id for socket in sockets for room_id in socket.cursors}
        try:
            heads = await self.read_heads(rooms)
        except Exception:
            logger.warning("could not read the rooms' last seqs", exc_info=True)
            return
        # A room still moving reveals its gaps with its next entry; a quiet one never does.
        quiet = {room: seq for room, seq in heads.items() if self.heads.get(room) == seq}
        self.heads = heads
        layer = get_channel_layer()
        for socket in sockets:
            behind = [room for room, seq in quiet.items() if socket.cursors.get(room, seq) < seq]
            if behind:
                try:
                    await layer.send(socket.channel_name, {"type": "rooms.behind", "rooms": behind})
                except Exception:
                    logger.warning("could not tell a socket it is behind", exc_info=True)

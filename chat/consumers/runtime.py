"""What one process does for all its sockets, started once per event loop.

- the fan-out: one subscription per room group, each event offered to the room's sockets
  (chat/realtime/fanout.py);
- the heartbeats: presence entries refreshed, quiet rooms checked for lost publishes
  (chat/realtime/heartbeats.py);
- the watchdog: sockets catch up after the channel layer reconnects (chat/realtime/watchdog.py);
- the presence sweeper: users whose sockets all expired (their process died) are announced
  offline (chat/realtime/presence.py).

It wires the realtime pieces to the selectors they need, so that realtime imports none.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from chat.db import in_thread
from chat.realtime import presence, presence_notices
from chat.realtime.fanout import Fanout
from chat.realtime.heartbeats import Heartbeats
from chat.realtime.per_loop import PerLoop
from chat.realtime.watchdog import Watchdog
from chat.selectors.rooms import presence_audience, room_heads

logger = logging.getLogger(__name__)


class ProcessRuntime:
    def __init__(self) -> None:
        self.fanout = Fanout()
        self.heartbeats = Heartbeats(read_heads=in_thread(room_heads))
        self.watchdog = Watchdog()
        self.sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the tasks that are not running (once; again if one ended)."""
        if self.sweeper is None or self.sweeper.done():
            self.sweeper = asyncio.get_running_loop().create_task(
                presence.sweep_forever(announce_offline)
            )

    def watch(
        self,
        *,
        user_id: int,
        channel_name: str,
        cursors: dict[str, int],
        lapsed: Callable[[], Awaitable[None]],
    ) -> None:
        """Look after an open socket: heartbeats, and catch-up after a layer reconnect."""
        self.watchdog.watch(channel_name)
        self.heartbeats.keep(user_id, channel_name, cursors, lapsed=lapsed)

    def forget(self, channel_name: str) -> None:
        self.watchdog.forget(channel_name)
        self.heartbeats.drop(channel_name)


_runtimes = PerLoop(ProcessRuntime)


def runtime() -> ProcessRuntime:
    """This event loop's runtime, started."""
    process = _runtimes.get()
    process.start()
    return process


def existing() -> ProcessRuntime | None:
    """This event loop's runtime if a socket has started it (for tests)."""
    return _runtimes.existing()


async def announce_offline(user_ids: list[int]) -> None:
    """Users whose sockets all expired (their process died): tell their rooms."""
    for user_id, user_data, room_ids in await in_thread(presence_audience)(user_ids):
        await presence_notices.changed(user_id, user_data, room_ids, online=False)

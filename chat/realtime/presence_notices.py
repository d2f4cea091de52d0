"""Telling rooms who came online or went offline, a batch per room at a time.

Every member of a room hears about every other member's presence, so N people arriving in a
room of N cost N² frames when each change is a frame of its own: after a restart, when every
client reconnects at once, that was most of the CPU a connection cost (docs/benchmarks.md).
Changes therefore wait up to PARLEY_PRESENCE_BATCH seconds in the process that saw them and go
out as one `presence` frame per room listing each user once.

A batch states each user's presence as the store has it when the batch is sent, not the change
that queued them: a tab reloaded onto another process makes one process queue "offline" and the
other "online", and whichever batch goes last must not be the stale one.
"""

import asyncio
import logging
from typing import Any

from django.conf import settings

from chat import wire
from chat.realtime import presence
from chat.realtime.groups import room_group
from chat.realtime.per_loop import PerLoop
from chat.realtime.publish import send_now

logger = logging.getLogger(__name__)


class _Batch:
    """Changes this event loop saw and has not sent yet."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[int, dict[str, Any]]] = {}  # room -> user id -> user data
        self.online: dict[int, bool] = {}  # as queued: used when the store cannot be read
        self.sending: asyncio.Task[None] | None = None


_batches = PerLoop(_Batch)


async def changed(
    user_id: int, user_data: dict[str, Any], room_ids: list[str], *, online: bool
) -> None:
    """Queue a user's presence change for every room they are in."""
    if not room_ids:
        return
    batch = _batches.get()
    for room_id in room_ids:
        batch.rooms.setdefault(room_id, {})[user_id] = user_data
    batch.online[user_id] = online
    if batch.sending is None or batch.sending.done():
        batch.sending = asyncio.get_running_loop().create_task(_send_later(batch))


async def _send_later(batch: _Batch) -> None:
    await asyncio.sleep(settings.PARLEY_PRESENCE_BATCH)
    rooms, queued = batch.rooms, batch.online
    # Changes from here on start the next batch.
    batch.rooms, batch.online, batch.sending = {}, {}, None
    try:
        online = await presence.store().online(list(queued))
        states = {user_id: user_id in online for user_id in queued}
    except Exception:
        logger.warning("presence store unreadable: sending the changes as queued", exc_info=True)
        states = queued
    for room_id, users in rooms.items():
        frame = {
            "type": "presence",
            "room": room_id,
            "changes": [
                {"user": user_data, "online": states[user_id]}
                for user_id, user_data in users.items()
            ],
        }
        await send_now(
            room_group(room_id),
            {"type": "presence.changed", "room": room_id, "text": wire.dumps(frame)},
        )

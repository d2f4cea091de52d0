"""Scenario 7: a socket older than the channel layer's group expiry.

Channels' in-memory layer forgets a group membership `group_expiry` seconds after it was added
(a day by default; PARLEY_GROUP_EXPIRY, a few seconds here) and says nothing: a socket that
never renewed its groups would stay open and receive nothing more, with no gap to notice. The
pub/sub layer (REDIS_URL) has no expiry; the scenario checks that as well. The socket passes if
it still receives, or if it was closed and catches up after reconnecting.
"""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from tests.factories import make_room
from tests.faults.cluster import Cluster, people
from tests.faults.member import Member
from tests.faults.timeline import check, last_seqs

pytestmark = pytest.mark.django_db(transaction=True)

GROUP_EXPIRY = 3  # seconds
RECONNECT_CODES = {1001, 1006, 1011, 1012, 1013, 4008}


@database_sync_to_async
def public_room() -> str:
    return str(make_room(name="joined later").public_id)


async def test_socket_older_than_the_group_expiry_still_receives(
    tmp_path, private_redis, reliability
) -> None:
    (watcher, poster), rooms = await people(2, 1)
    later_room = await public_room()
    cluster = Cluster(
        tmp_path,
        redis_url=private_redis.url if private_redis else None,
        PARLEY_GROUP_EXPIRY=str(GROUP_EXPIRY),
    )
    server = await asyncio.to_thread(cluster.start)
    other = await asyncio.to_thread(cluster.start) if private_redis else server
    sent: set[str] = set()

    async def post(room: str, label: str) -> None:
        sent.add(label)
        await poster.post_until_acked(room, label, label, timeout=30)

    try:
        await watcher.connect(server)
        opened = time.monotonic()
        await watcher.request({"type": "ping"})
        reconnecting = asyncio.create_task(watcher.keep_connected(lambda: server))
        await poster.connect(other)
        assert (await poster.request({"type": "room.join", "room": later_room}))["type"] == "ack"
        await post(rooms[0], "before-expiry")
        assert await watcher.wait_caught_up(await last_seqs(rooms), timeout=10)
        await asyncio.sleep(GROUP_EXPIRY * 2 + 2)
        # The room's group: entries posted now must still reach the old socket.
        for n in range(3):
            await post(rooms[0], f"after-expiry-{n}")
        # The user's group: a room joined now (from another tab) must reach it too.
        joiner = await Member(f"{watcher.name}-tab", watcher.cookie).connect(server)
        joined = await joiner.request({"type": "room.join", "room": later_room})
        assert joined["type"] == "ack", joined
        await joiner.close()
        await _wait_for(lambda: later_room in watcher.start, timeout=10)
        await post(later_room, "in-the-joined-room")
        age = time.monotonic() - opened
        final = await last_seqs([*rooms, later_room])
        caught_up = await watcher.wait_caught_up(final, timeout=10)
        poster_caught_up = await poster.wait_caught_up(await last_seqs(rooms), timeout=10)
        await watcher.close()
        await poster.close()
        await asyncio.wait_for(reconnecting, 10)
    finally:
        cluster.stop()

    figures = await check([watcher, poster], sent)
    closes = [code for code in watcher.closes if code not in (1000, None)]
    figures.notes += [
        f"group expiry {GROUP_EXPIRY} s"
        + (" (the pub/sub layer has none)" if private_redis else ""),
        f"the socket was {age:.0f} s old",
        f"closed {len(closes)} times"
        + (f" ({closes})" if closes else "")
        + ("" if caught_up else "; DEAF: it neither received nor was closed"),
    ]
    reliability.record("7. older than the group expiry", figures, layer=cluster.layer)
    assert caught_up, f"silently deaf: {watcher.cursor} vs {final}, closes {watcher.closes}"
    assert poster_caught_up, "the poster's socket, as old, went deaf"
    assert set(closes) <= RECONNECT_CODES, closes
    assert not figures.problems(), figures
    assert figures.acked == figures.persisted == figures.sent


async def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True

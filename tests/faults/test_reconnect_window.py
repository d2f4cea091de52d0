"""The moment of reconnecting, in scenarios 1 and 10: a client that comes back while the room
is busy sends `resume` at once and must get every entry it missed exactly once, in seq order,
also those committed between the server's `hello` and its `resume`."""

import asyncio

import pytest

from tests.faults.cluster import Cluster, people
from tests.faults.report import scaled
from tests.faults.timeline import assert_caught_up, check

pytestmark = pytest.mark.django_db(transaction=True)


async def test_reconnecting_into_a_busy_room_gets_each_missed_entry_once(
    tmp_path, private_redis, reliability
) -> None:
    reconnects = int(scaled(15, 200))
    members, rooms = await people(3, 1)
    talker, returning, steady = members
    cluster = Cluster(tmp_path, redis_url=private_redis.url if private_redis else None)
    server = await asyncio.to_thread(cluster.start)
    other = await asyncio.to_thread(cluster.start) if private_redis else server
    sent: set[str] = set()
    stop = asyncio.Event()

    async def talk() -> None:
        n = 0
        while not stop.is_set():
            sent.add(f"busy-{n}")
            await talker.post_until_acked(rooms[0], f"busy {n}", f"busy-{n}")
            n += 1

    try:
        await talker.connect(server)
        await steady.connect(other)
        await returning.connect(other)
        talking = asyncio.create_task(talk())
        for n in range(reconnects):
            await returning.close()
            await asyncio.sleep(0.1)  # entries are committed while it is away
            await returning.connect(server if n % 2 else other)
            await asyncio.sleep(0.1)
        stop.set()
        await talking
        await assert_caught_up(members, rooms, timeout=30)
        for member in members:
            await member.close()
    finally:
        cluster.stop()

    figures = await check(members, sent)
    figures.notes.append(f"{reconnects} reconnects into a room taking a post at a time")
    reliability.record("1b. reconnecting into a busy room", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert figures.acked == figures.persisted == figures.sent

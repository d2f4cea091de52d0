"""Scenario 9: two people post into one room at the same time, each through its own process
when there is Redis. Every client must show the same order, and it must be the seq order."""

import asyncio
import itertools

import pytest

from tests.faults.cluster import Cluster, people
from tests.faults.report import scaled
from tests.faults.timeline import assert_caught_up, check

pytestmark = pytest.mark.django_db(transaction=True)


async def test_concurrent_senders_are_seen_in_one_order_by_everyone(
    tmp_path, private_redis, reliability
) -> None:
    each = int(scaled(300, 3000))
    members, rooms = await people(8, 1)
    room = rooms[0]
    cluster = Cluster(tmp_path, redis_url=private_redis.url if private_redis else None)
    one = await asyncio.to_thread(cluster.start)
    two = await asyncio.to_thread(cluster.start) if private_redis else one
    senders = members[:2]
    try:
        for index, member in enumerate(members):
            await member.connect(two if index % 2 else one)

        async def send_all(sender, window: int = 4) -> None:
            # A few posts in flight at once, so the two senders' transactions really race.
            slots = asyncio.Semaphore(window)

            async def one_post(n: int) -> None:
                async with slots:
                    await sender.post_until_acked(room, f"{sender.name} {n}", f"{sender.name}-{n}")

            await asyncio.gather(*(one_post(n) for n in range(each)))

        await asyncio.wait_for(asyncio.gather(*(send_all(s) for s in senders)), scaled(120, 900))
        await assert_caught_up(members, rooms, timeout=30)
        for member in members:
            await member.close()
    finally:
        cluster.stop()

    sent = {f"{sender.name}-{n}" for sender in senders for n in range(each)}
    figures = await check(members, sent)
    shown = {tuple(member.shown[room]) for member in members}
    in_seq_order = all(list(order) == sorted(order) for order in shown)
    timeline = [members[0].entries[room][seq]["client_id"] for seq in members[0].shown[room]]
    authors = [client_id.rsplit("-", 1)[0] for client_id in timeline if client_id]
    switches = sum(a != b for a, b in itertools.pairwise(authors))
    figures.notes += [
        f"{len(cluster.servers)} processes, 2 senders x {each}, 8 clients",
        f"{len(shown)} distinct order(s) shown; the senders alternate {switches} times",
    ]
    reliability.record("9. two concurrent senders in one room", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert len(shown) == 1 and in_seq_order
    assert figures.acked == figures.persisted == figures.sent

"""Scenario 2: one message retried in a storm (docs/protocol.md, `client_id`): the same
client_id five times in a row on one socket, ten times at once from ten tabs (on two processes
when there is Redis), once with a different text, and across a killed process.
Each client_id must give one message, and every reply to it must name the same seq.
"""

import asyncio
import contextlib

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.e2e.servers import session_cookie
from tests.factories import UserFactory
from tests.faults.cluster import Cluster, people
from tests.faults.member import Disconnected, Member
from tests.faults.timeline import check, last_seqs

pytestmark = pytest.mark.django_db(transaction=True)


async def test_retry_storm_makes_one_message_and_every_reply_names_its_seq(
    tmp_path, private_redis, reliability
) -> None:
    watchers, rooms = await people(3, 1)
    room = rooms[0]
    sender = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(_join)(sender, room)
    cookie = await database_sync_to_async(session_cookie)(sender)
    tabs = [Member(f"{sender.username}-tab{n}", cookie) for n in range(10)]
    cluster = Cluster(tmp_path, redis_url=private_redis.url if private_redis else None)
    one = await asyncio.to_thread(cluster.start)
    two = await asyncio.to_thread(cluster.start) if private_redis else one
    replies: dict[str, list[dict]] = {}
    try:
        for index, client in enumerate([*watchers, *tabs]):
            await client.connect(two if index % 2 else one)

        async def storm(client_id: str, senders: list[Member], body: str) -> None:
            results = await asyncio.gather(*(s.post(room, body, client_id) for s in senders))
            replies.setdefault(client_id, []).extend(results)

        await storm("in-a-row", [tabs[0]] * 5, "five times in a row")
        await storm("in-parallel", tabs, "ten tabs at once")
        await storm("other-text", [tabs[1]], "the first text")
        await storm("other-text", [tabs[2]], "a different text")

        # Across a process loss: the first try's socket dies with its process, reply or not.
        doomed_tab = tabs[0]
        frame = {"type": "message.send", "room": room, "body": "over a crash"}
        request = asyncio.create_task(doomed_tab.request({**frame, "client_id": "over-a-crash"}))
        await asyncio.sleep(0.005)
        await asyncio.to_thread(cluster.kill, doomed_tab.server)
        # The ack may be lost with the process; the retries below must find the message.
        with contextlib.suppress(Disconnected):
            replies.setdefault("over-a-crash", []).append(await request)
        survivor = await asyncio.to_thread(cluster.start)
        for client in [*watchers, *tabs]:
            if client.closed.is_set():
                await client.connect(survivor)
        await storm("over-a-crash", tabs[:5], "over a crash, retried")
        await storm("other-text", tabs[5:], "after the crash, another text")

        final = await last_seqs(rooms)
        for client in [*watchers, *tabs]:
            assert await client.wait_caught_up(final, timeout=30), client.name
            await client.close()
    finally:
        cluster.stop()

    figures = await check([*watchers, *tabs], set(replies))
    seqs = {client_id: {reply.get("seq") for reply in got} for client_id, got in replies.items()}
    stored = await database_sync_to_async(_stored)(list(replies))
    figures.notes += [
        f"{sum(len(got) for got in replies.values())} replies to {len(replies)} client_ids",
        "seqs per client_id: " + ", ".join(f"{c}={sorted(s)}" for c, s in sorted(seqs.items())),
    ]
    reliability.record("2. retry storm on one client_id", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert all(reply["type"] == "ack" for got in replies.values() for reply in got), replies
    assert all(len(found) == 1 for found in seqs.values()), seqs
    assert stored == {client_id: 1 for client_id in replies}, stored
    assert figures.acked == figures.persisted == figures.sent


def _join(user, room_id: str) -> None:
    from chat.services.rooms import room_join

    room_join(user, room_id=room_id)


def _stored(client_ids: list[str]) -> dict[str, int]:
    rows = Message.objects.filter(client_id__in=client_ids).values_list("client_id", flat=True)
    counts: dict[str, int] = {}
    for client_id in rows:
        counts[client_id] = counts.get(client_id, 0) + 1
    return counts

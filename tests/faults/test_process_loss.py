"""Scenarios 1 and 10: a Parley process dies (kill -9) or is restarted (SIGTERM) while 20 people
talk in 2 rooms; its clients reconnect to another process and resume.

With Redis, two processes share the conversation and the clients of the lost one move to the
other. Without it (SQLite run, in-memory layer) one process at a time serves everyone and a
replacement is started after the loss.
"""

import asyncio

import pytest

from tests.e2e.servers import Server
from tests.faults.cluster import Cluster, people
from tests.faults.conversation import Conversation, play_at
from tests.faults.report import scaled
from tests.faults.timeline import check, last_seqs

pytestmark = pytest.mark.django_db(transaction=True)


async def test_killed_process_loses_nothing_and_its_clients_resume_elsewhere(
    tmp_path, private_redis, reliability
) -> None:
    figures, cluster, closes = await _lose_a_process(tmp_path, private_redis, graceful=False)
    reliability.record("1. kill -9 a process mid-conversation", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert figures.acked == figures.persisted == figures.sent
    assert closes, "no client was on the killed process"


async def test_graceful_restart_closes_with_1012_and_loses_nothing(
    tmp_path, private_redis, reliability
) -> None:
    figures, cluster, closes = await _lose_a_process(tmp_path, private_redis, graceful=True)
    reliability.record("10. graceful restart (SIGTERM)", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert figures.acked == figures.persisted == figures.sent
    assert closes and set(closes) == {1012}, closes


async def _lose_a_process(tmp_path, private_redis, *, graceful: bool):
    messages = int(scaled(600 if graceful else 1200, 10_000))
    members, rooms = await people(20, 2)
    cluster = Cluster(tmp_path, redis_url=private_redis.url if private_redis else None)
    doomed = await asyncio.to_thread(cluster.start)
    other = await asyncio.to_thread(cluster.start) if private_redis else None
    conversation = Conversation(members, rooms, messages)
    keepers = []
    try:

        def newest() -> Server:
            return (cluster.alive() or cluster.servers)[-1]

        for index, member in enumerate(members):
            await member.connect(other if other and index % 2 else doomed)
            keepers.append(asyncio.create_task(member.keep_connected(newest)))
        on_doomed = [member for member in members if member.server is doomed]

        async def lose() -> None:
            if graceful:
                await asyncio.to_thread(cluster.terminate, doomed)
            else:
                await asyncio.to_thread(cluster.kill, doomed)
            if other is None:
                await asyncio.to_thread(cluster.start)

        fault = asyncio.create_task(play_at(conversation.after_acks(0.4), lose))
        await conversation.run(timeout=scaled(200, 900))
        await fault
        final = await last_seqs(rooms)
        caught_up = await asyncio.gather(
            *(member.wait_caught_up(final, timeout=60) for member in members)
        )
        for member in members:
            await member.close()
    finally:
        for keeper in keepers:
            keeper.cancel()
        cluster.stop()
    figures = await check(members, conversation.sent)
    kind = "SIGTERM" if graceful else "kill -9"
    closes = [member.closes[0] for member in on_doomed]
    figures.notes += [
        f"{'2 processes' if private_redis else '1 process, then its replacement'}, "
        f"{kind} at 40% acked",
        f"{len(on_doomed)} clients moved, close codes {sorted(set(closes))}",
        f"{sum(m.connections - 1 for m in members)} reconnects",
    ]
    if not all(caught_up):
        figures.notes.append(f"{caught_up.count(False)} clients not caught up in 60 s")
    return figures, cluster, closes

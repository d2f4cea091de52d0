"""Scenario 8: a client away for more entries than `resume` replays (PARLEY_REPLAY_MAX) is told
of the gap, pages through history, and ends with exactly the database's timeline."""

import asyncio

import pytest

from tests.faults.cluster import Cluster, people
from tests.faults.report import scaled
from tests.faults.timeline import assert_caught_up, check, last_seqs

pytestmark = pytest.mark.django_db(transaction=True)

REPLAY_MAX = 20
PAGE = 25


async def test_client_away_longer_than_a_replay_pages_through_the_gap(
    tmp_path, private_redis, reliability
) -> None:
    missed = int(scaled(150, 3000))
    members, rooms = await people(3, 2)
    talker, away, short_break = members
    cluster = Cluster(
        tmp_path,
        redis_url=private_redis.url if private_redis else None,
        PARLEY_REPLAY_MAX=str(REPLAY_MAX),
        PARLEY_HISTORY_MAX_PAGE_SIZE=str(PAGE),
    )
    server = await asyncio.to_thread(cluster.start)
    sent: set[str] = set()

    async def talk(count: int, label: str) -> None:
        for n in range(count):
            client_id = f"{label}-{n}".replace(" ", "_")
            sent.add(client_id)
            await talker.post_until_acked(rooms[n % 2], f"{label} {n}", client_id)

    try:
        for member in members:
            await member.connect(server)
        await talk(10, "before")
        final = await last_seqs(rooms)
        assert await away.wait_caught_up(final, timeout=30)
        assert await short_break.wait_caught_up(final, timeout=30)
        await away.close()
        # Away for several pages in both rooms; a short break stays within one replay.
        await talk(missed, "while away")
        await short_break.close()
        await talk(REPLAY_MAX // 2, "short break")
        await short_break.connect(server)
        await away.connect(server)
        await talk(5, "after")
        await assert_caught_up(members, rooms, timeout=60)
        for member in members:
            await member.close()
    finally:
        cluster.stop()

    figures = await check(members, sent)
    figures.notes += [
        f"replay_max {REPLAY_MAX}, page {PAGE}: {len(away.gaps)} gaps reported to the absent "
        f"client ({sum(g['through'] - g['after'] for g in away.gaps)} entries paged)",
        f"short break: {len(short_break.gaps)} gaps",
    ]
    reliability.record("8. offline longer than one replay", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert len(away.gaps) == 2, away.gaps
    assert short_break.gaps == []
    assert figures.acked == figures.persisted == figures.sent

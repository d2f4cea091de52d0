"""Scenario 5: PostgreSQL unreachable (a proxy between Parley and the database resets every
connection and refuses new ones) while people post. No ack and no broadcast for what was not
stored, a clear error code, and recovery without restarting Parley."""

import asyncio

import pytest

from tests.faults.cluster import (
    cluster_behind_database_proxy,
    http_status,
    people,
    wait_for_readiness,
)
from tests.faults.member import Member
from tests.faults.report import scaled
from tests.faults.timeline import assert_caught_up, check

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


async def test_database_down_refuses_posts_clearly_and_recovers_without_restart(
    tmp_path, private_redis, reliability
) -> None:
    outage = scaled(4, 30)
    members, rooms = await people(5, 2)
    proxy, cluster = cluster_behind_database_proxy(tmp_path, private_redis)
    server = await asyncio.to_thread(cluster.start)
    sent: set[str] = set()
    replies: list[dict] = []
    try:
        for member in members:
            await member.connect(server)
        stop = asyncio.Event()

        async def keep_posting(member: Member, index: int) -> None:
            n, acked = 0, True
            # An unacked post is posted again with its client_id until acked, even after stop.
            while not (stop.is_set() and acked):
                client_id = f"{member.name}-{n}"
                sent.add(client_id)
                reply = await member.post(rooms[index % 2], f"post {n}", client_id)
                replies.append(reply)
                acked = reply["type"] == "ack"
                if acked:
                    n += 1
                else:
                    await asyncio.sleep(0.1)

        posting = [asyncio.create_task(keep_posting(m, i)) for i, m in enumerate(members)]
        await asyncio.sleep(1)
        proxy.down()
        went_down = len(replies)
        unready = await wait_for_readiness(server, 503, timeout=10)
        late_comer = Member(members[0].name + "-late", members[0].cookie)
        refused = await _try_connect(late_comer, server)
        page_during = await asyncio.to_thread(http_status, server, "/", members[0].cookie)
        await asyncio.sleep(outage)
        during = replies[went_down:]
        proxy.up()
        ready = await wait_for_readiness(server, 200, timeout=10)
        page_after = await asyncio.to_thread(http_status, server, "/", members[0].cookie)
        came_back = len(replies)
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*posting), 60)
        after = replies[came_back:]
        await assert_caught_up(members, rooms, timeout=30)
        for member in members:
            await member.close()
    finally:
        cluster.stop()
        proxy.stop()

    figures = await check(members, sent)
    codes_during = sorted({reply.get("code", "ack") for reply in during})
    figures.notes += [
        f"database unreachable for {outage:.0f} s: {len(during)} replies, {codes_during}",
        f"/readyz 503 during: {unready}, 200 after: {ready}; a new socket during the "
        f"outage: {refused}",
        f"acks after the recovery: {sum(r['type'] == 'ack' for r in after)}",
        f"the rooms page: {page_during} during, {page_after} after",
    ]
    reliability.record("5. PostgreSQL unreachable", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert "internal" not in codes_during, codes_during
    assert "unavailable" in codes_during, codes_during
    assert unready and ready
    assert (page_during, page_after) == (503, 200)  # "try again shortly", not a bare 500
    assert any(reply["type"] == "ack" for reply in after)
    assert figures.persisted == figures.acked


async def _try_connect(member: Member, server) -> str:
    try:
        await member.connect(server, timeout=10)
    except Exception as error:
        return f"refused ({type(error).__name__}, close {member.close_code})"
    await member.close()
    return "accepted"

"""Scenario 3b: sockets opened the moment Redis is back. A load balancer sends new clients to a
process as soon as its /readyz says 200 again; each of them must be served, though every
connection the process held to Redis died with the old server and has not been used since."""

import asyncio
from collections import Counter

import pytest

from tests.faults.cluster import Cluster, people, wait_for_readiness
from tests.faults.conftest import needs_redis
from tests.faults.member import Member
from tests.faults.timeline import last_seqs

pytestmark = [pytest.mark.django_db(transaction=True), needs_redis]

RESTARTS = 4
NEWCOMERS = 6  # sockets opened after each restart, spread over the processes


# redis-py 8.1.0's asyncio pools handed out connections the server had closed without noticing
# (redis/redis-py#4252): the presence claim of a new socket failed on one, closing it with 1013,
# about one socket in four. pyproject.toml keeps 8.1.0 out.
async def test_sockets_opened_as_soon_as_redis_answers_again_are_served(
    tmp_path, private_redis
) -> None:
    members, rooms = await people(2 + NEWCOMERS, 2)
    poster, watcher, *others = members
    cluster = Cluster(tmp_path, redis_url=private_redis.url)
    servers = [await asyncio.to_thread(cluster.start) for _ in range(2)]
    outcomes: Counter[str] = Counter()
    heard: Counter[bool] = Counter()
    try:
        # Open sockets, so that each process holds pub/sub subscriptions when Redis goes.
        await poster.connect(servers[0])
        await watcher.connect(servers[1])
        for restart in range(RESTARTS):
            await asyncio.to_thread(private_redis.restart)
            ready = [await wait_for_readiness(server, 200, timeout=10) for server in servers]
            assert all(ready), f"restart {restart}: /readyz {ready}"
            newcomers = [Member(f"{m.name}-{restart}", m.cookie) for m in others]
            opened = await asyncio.gather(
                *(_open(member, servers[n % 2]) for n, member in enumerate(newcomers))
            )
            outcomes.update(opened)
            # Served means live too: a message posted now reaches every newcomer let in.
            for room in rooms:
                await poster.post_until_acked(
                    room, f"after restart {restart}", f"r{restart}-{room}"
                )
            final = await last_seqs(rooms)
            let_in = [
                m for m, outcome in zip(newcomers, opened, strict=True) if outcome == "served"
            ]
            heard.update(await asyncio.gather(*(m.wait_caught_up(final, 10) for m in let_in)))
            for member in newcomers:
                await member.close()
        await poster.close()
        await watcher.close()
    finally:
        cluster.stop()

    print(f"{RESTARTS} Redis restarts, {NEWCOMERS} sockets opened after each: {dict(outcomes)}")
    assert outcomes == Counter({"served": RESTARTS * NEWCOMERS}), (outcomes, cluster.logs())
    assert heard == Counter({True: RESTARTS * NEWCOMERS}), heard


async def _open(member: Member, server) -> str:
    try:
        await member.connect(server, timeout=10)
    except Exception as error:
        return f"closed {member.close_code} ({type(error).__name__})"
    return "served"

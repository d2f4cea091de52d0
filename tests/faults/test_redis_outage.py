"""Scenarios 3 and 4: Redis, behind two Parley processes, restarted empty or unreachable for a
while, with every socket left open. Parley must go on without a restart of its own: nothing
acked is lost, nothing is delivered twice, and no socket stays deaf."""

import asyncio

import pytest

from tests.faults.cluster import Cluster, people, wait_for_readiness
from tests.faults.conftest import needs_redis
from tests.faults.member import Member
from tests.faults.proxy import TcpProxy
from tests.faults.report import scaled
from tests.faults.timeline import assert_caught_up, check, last_seqs

pytestmark = [pytest.mark.django_db(transaction=True), needs_redis]

# Within this many seconds of Redis coming back, every socket hears again.
RECOVERY = 10


async def test_redis_restarted_empty_leaves_no_socket_deaf(
    tmp_path, private_redis, reliability
) -> None:
    members, rooms = await people(6, 2)
    cluster = Cluster(tmp_path, redis_url=private_redis.url, PARLEY_PRESENCE_TTL="3")
    servers = [await asyncio.to_thread(cluster.start) for _ in range(2)]
    sent: set[str] = set()
    try:
        keepers = await _connect(members, servers, cluster)
        await _round(members, rooms, sent, "before")
        private_redis.client().flushall()
        await _round(members, rooms, sent, "after flushall")
        await asyncio.to_thread(private_redis.restart)
        # Posted at once: its event may be published before the processes' pub/sub
        # connections notice the restart and subscribe again, and so be lost.
        await _round(members[:1], rooms, sent, "just after the restart")
        final = await last_seqs(rooms)
        heard = await asyncio.gather(*(m.wait_caught_up(final, RECOVERY) for m in members))
        await _round(members, rooms, sent, "the next message")
        await assert_caught_up(members, rooms, timeout=RECOVERY)
        await _leave(members, keepers)
    finally:
        cluster.stop()

    figures = await check(members, sent)
    reconnects = sum(member.connections - 1 for member in members)
    figures.notes += [
        "2 processes; FLUSHALL, then redis-server restarted with nothing kept",
        f"{heard.count(True)} of {len(members)} clients had the entry posted just after the "
        f"restart within {RECOVERY} s without a later message; {reconnects} reconnects",
    ]
    reliability.record("3. Redis restarted empty", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert all(heard), heard
    assert figures.acked == figures.persisted == figures.sent


async def test_redis_down_sends_persist_or_fail_clearly_and_fanout_resumes(
    tmp_path, private_redis, reliability
) -> None:
    outage = scaled(5, 30)
    members, rooms = await people(6, 2)
    proxy = TcpProxy(private_redis.port).start()
    cluster = Cluster(tmp_path, redis_url=proxy.url("redis", "/0"), PARLEY_PRESENCE_TTL="1.5")
    servers = [await asyncio.to_thread(cluster.start) for _ in range(2)]
    sent: set[str] = set()
    try:
        keepers = await _connect(members, servers, cluster)
        await _round(members, rooms, sent, "before")
        proxy.down()
        went_down = asyncio.get_running_loop().time()
        unready = [await wait_for_readiness(server, 503, timeout=5) for server in servers]
        # Posts during the outage: each is acked (and stored) or refused with a clear code.
        replies = []
        for n in range(3):
            for index, member in enumerate(members):
                client_id = f"{member.name}-down-{n}"
                sent.add(client_id)
                replies.append(await member.post(rooms[index % 2], f"down {n}", client_id))
        late_comer = Member(members[0].name + "-late", members[0].cookie)
        refused = await _try_connect(late_comer, servers[0])
        await asyncio.sleep(max(0.0, outage - (asyncio.get_running_loop().time() - went_down)))
        proxy.up()
        ready = [await wait_for_readiness(server, 200, timeout=RECOVERY) for server in servers]
        # No new message: what was posted during the outage must arrive through catch-up.
        final = await last_seqs(rooms)
        heard = await asyncio.gather(*(m.wait_caught_up(final, RECOVERY) for m in members))
        await _round(members, rooms, sent, "after")
        await assert_caught_up(members, rooms, timeout=RECOVERY)
        await _leave(members, keepers)
    finally:
        cluster.stop()
        proxy.stop()

    figures = await check(members, sent)
    codes = sorted({reply.get("code", "ack") for reply in replies})
    figures.notes += [
        f"2 processes; Redis unreachable for {outage:.0f} s",
        f"posts during the outage: {len(replies)}, replies {codes}",
        f"/readyz 503 during: {all(unready)}, 200 after: {all(ready)}; a new socket during "
        f"the outage: {refused}",
        f"{heard.count(True)} of {len(members)} clients caught up within {RECOVERY} s of the "
        f"recovery without a later message; "
        f"{sum(member.connections - 1 for member in members)} reconnects",
    ]
    reliability.record("4. Redis unreachable", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    assert "internal" not in codes, replies
    assert all(unready) and all(ready)
    assert all(heard), heard
    # Unacked posts of the outage were refused; the rest of the conversation got through.
    assert figures.persisted == figures.acked
    assert all(member.connections == 1 for member in members), "a socket was dropped"


async def _connect(members: list[Member], servers, cluster: Cluster) -> list[asyncio.Task]:
    keepers = []
    for index, member in enumerate(members):
        await member.connect(servers[index % len(servers)])
        keepers.append(asyncio.create_task(member.keep_connected(lambda: cluster.alive()[0])))
    return keepers


async def _round(members: list[Member], rooms: list[str], sent: set[str], label: str) -> None:
    """Every member posts once in each room; waits for the acks."""
    posts = []
    for member in members:
        for room in rooms:
            client_id = f"{member.name}-{label}-{room[:8]}".replace(" ", "_")
            sent.add(client_id)
            posts.append(member.post_until_acked(room, label, client_id, timeout=60))
    await asyncio.gather(*posts)


async def _try_connect(member: Member, server) -> str:
    try:
        await member.connect(server, timeout=10)
    except Exception as error:
        return f"refused ({type(error).__name__}, close {member.close_code})"
    await member.close()
    return "accepted"


async def _leave(members: list[Member], keepers: list[asyncio.Task]) -> None:
    for keeper in keepers:
        keeper.cancel()
    for member in members:
        await member.close()

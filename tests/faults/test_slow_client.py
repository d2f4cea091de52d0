"""Scenario 6: a client that stops reading its socket. The others must not wait for it, the
server must not buffer for it without bound, and it must be closed (4008, docs/protocol.md)
and catch up when it reconnects."""

import asyncio
import time

import pytest

from tests.faults.cluster import Cluster, people, rss_kib
from tests.faults.member import Member
from tests.faults.report import scaled
from tests.faults.timeline import assert_caught_up, check

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "slow " * 6000  # 30 kB: a stalled socket's backlog shows in the server's memory
SEND_TIMEOUT = 2


async def test_slow_client_is_closed_and_does_not_slow_the_others(
    tmp_path, private_redis, reliability
) -> None:
    members, rooms = await people(6, 1)
    room = rooms[0]
    sender, slow, readers = members[0], members[1], members[2:]
    cluster = Cluster(
        tmp_path,
        redis_url=private_redis.url if private_redis else None,
        PARLEY_SOCKET_SEND_TIMEOUT=str(SEND_TIMEOUT),
        PARLEY_MESSAGE_MAX_LENGTH="40000",
        # Large blocks straight from and back to the system, so that the process's resident
        # memory follows what it holds rather than what its allocator keeps around.
        MALLOC_MMAP_THRESHOLD_="16384",
        MALLOC_ARENA_MAX="2",
    )
    server = await asyncio.to_thread(cluster.start)
    sent_at: dict[str, float] = {}
    count = int(scaled(250, 4000))

    async def talk(label: str, count: int, window: int = 8, until=None) -> int:
        """Post `count` messages, `window` at a time, and with `until` go on (up to four times
        as many) until it holds; the server's peak memory meanwhile."""
        peak = rss_kib(server)
        posted = 0

        def more() -> bool:
            if posted < count:
                return True
            return until is not None and not until() and posted < 4 * count

        async def poster() -> None:
            nonlocal peak, posted
            while more():
                n, posted = posted, posted + 1
                client_id = f"{label}-{n}"
                sent_at[client_id] = time.monotonic()
                await sender.post_until_acked(room, BODY, client_id)
                if n % 20 == 0:
                    peak = max(peak, rss_kib(server))

        await asyncio.gather(*(poster() for _ in range(window)))
        return peak

    def p99(label: str) -> float:
        delays = sorted(
            reader.arrivals[client_id] - started
            for client_id, started in sent_at.items()
            if client_id.startswith(label)
            for reader in readers
            if client_id in reader.arrivals
        )
        return delays[int(len(delays) * 0.99) - 1]

    try:
        for member in [sender, *readers]:
            await member.connect(server)
            await member.request({"type": "ping"})  # a first frame: live delivery starts now
        await talk("warm-up", 50)
        memory = rss_kib(server)
        grown_before = await talk("before", count) - memory
        await slow.connect(server, receive_buffer=4096)
        slow.reading.clear()

        async def read_again_once_let_go() -> float | None:
            # Reading again straight away, the client gets the close frame the server sends.
            let_go_at = await _wait(lambda: _went_offline(sender, slow.name), timeout=120)
            slow.reading.set()
            return let_go_at

        let_go = asyncio.create_task(read_again_once_let_go())
        memory = rss_kib(server)
        stalled_from = time.monotonic()
        # On a fast database the planned posts may end before the send timeout runs out: the
        # others go on posting until the stalled client is let go.
        grown_stalled = await talk("stalled", count, until=let_go.done) - memory
        stalled_until = time.monotonic()
        dropped_at = await let_go
        await asyncio.wait_for(slow.closed.wait(), 30)
        close_code = slow.close_code
        await slow.connect(server)
        await talk("after", 10)
        await assert_caught_up(members, rooms, timeout=60)
        for member in members:
            await member.close()
    finally:
        cluster.stop()

    figures = await check(members, set(sent_at))
    before, stalled = p99("before"), p99("stalled")
    let_go = "never" if dropped_at is None else f"{dropped_at - stalled_until:+.1f} s"
    figures.notes += [
        f"p99 to the other clients {before * 1000:.0f} ms before, {stalled * 1000:.0f} ms with "
        f"a stalled client",
        f"server memory grew {grown_before / 1024:.1f} MB over {count} x 30 kB before and "
        f"{grown_stalled / 1024:.1f} MB with the stalled client",
        f"let go {let_go} from the end of the stalled posts, closed with {close_code}, "
        "caught up after reconnecting",
    ]
    reliability.record("6. a client stops reading", figures, layer=cluster.layer)
    assert not figures.problems(), figures
    # Let go while the others were still being posted to: from then on nothing more is kept
    # for it, so what the server holds for a stalled socket is bounded by the send timeout.
    assert dropped_at is not None and dropped_at < stalled_until, let_go
    assert dropped_at - stalled_from < SEND_TIMEOUT + 15, let_go
    assert close_code == 4008
    assert stalled < max(2 * before, before + 0.25), (before, stalled)


def _went_offline(watcher: Member, username: str) -> float | None:
    """When the watcher heard that `username` went offline (the socket was let go)."""
    offline = (at for user, online, at in watcher.presence if user == username and not online)
    return next(offline, None)


async def _wait(condition, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while (found := condition()) is None:
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.05)
    return found

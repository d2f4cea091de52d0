"""Operating a real Parley process: readiness with dead dependencies, metrics, SIGTERM."""

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request

import pytest
import websockets

from tests.e2e.servers import Peer, running_server, session_cookie
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a loopback test URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_readyz_reports_dead_dependencies_quickly_while_healthz_stays_up(tmp_path) -> None:
    # Nothing listens on port 1: both dependencies are down.
    with running_server(
        tmp_path,
        DATABASE_URL="postgres://parley@127.0.0.1:1/parley",
        REDIS_URL="redis://127.0.0.1:1/0",
    ) as server:
        started = time.monotonic()
        status, text = get(f"{server.origin}/readyz")
        took = time.monotonic() - started

        assert status == 503
        body = json.loads(text)
        assert body["status"] == "not ready"
        assert body["checks"]["database"] == "down"
        assert body["checks"]["redis"] == "down"
        # Nothing about the machines behind it: the reasons go to the log.
        assert "127.0.0.1" not in text and "Error" not in text
        assert took < 5
        assert get(f"{server.origin}/healthz")[0] == 200


def test_metrics_follow_sockets_and_deliveries(tmp_path) -> None:
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    room = make_room(name="General", members=[alice, bob])
    cookies = session_cookie(alice), session_cookie(bob)

    with running_server(tmp_path, PARLEY_METRICS_TOKEN="scrape-me") as server:

        def metric(name: str) -> float:
            status, text = get(f"{server.origin}/metrics", Authorization="Bearer scrape-me")
            assert status == 200
            rows = [row for row in text.splitlines() if row.startswith(f"{name} ")]
            return float(rows[0].split()[-1])

        async def talk() -> None:
            a, b = (
                await Peer(server, cookies[0]).connect(),
                await Peer(server, cookies[1]).connect(),
            )
            assert await asyncio.to_thread(metric, "parley_sockets_open") == 2
            await a.send(
                {"type": "message.send", "ref": 1, "room": str(room.public_id), "body": "x"}
            )
            await b.receive_until(lambda f: f["type"] == "message.new")
            await a.receive_until(lambda f: f["type"] == "message.new")
            assert await asyncio.to_thread(metric, "parley_deliveries_total") == 2
            assert await asyncio.to_thread(metric, "parley_fanout_latency_seconds_count") == 2
            await a.close()
            await b.close()
            # The server learns of the close asynchronously: wait for it, boundedly.
            for _ in range(100):
                if await asyncio.to_thread(metric, "parley_sockets_open") == 0:
                    break
                await asyncio.sleep(0.1)
            assert await asyncio.to_thread(metric, "parley_sockets_open") == 0

        asyncio.run(talk())


def test_sigterm_closes_sockets_with_service_restart_and_exits(tmp_path) -> None:
    alice = UserFactory(username="alice")
    make_room(name="General", members=[alice])
    cookie = session_cookie(alice)

    with running_server(tmp_path) as server:

        async def connected_then_terminated() -> int:
            peer = await Peer(server, cookie).connect()
            server.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(5):
                    while True:
                        await peer.ws.recv()  # frames sent before the close, if any
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1

        code = asyncio.run(connected_then_terminated())

        assert code == 1012
        # uvicorn finishes its shutdown, then re-raises SIGTERM so supervisors see why it ended.
        assert server.process.wait(timeout=15) in {0, -signal.SIGTERM}

"""Connection limits: open sockets per user (4009) and handshakes per client address (4029).

Both are refused after the handshake is accepted, so a client sees the code, and both are
counted in parley_sockets_refused_total. With REDIS_URL set the counts are Redis', shared by
every process; a process that dies stops refreshing its sockets' entries and they age out.
"""

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from accounts.models import User
from accounts.tokens import token_create
from chat.consumers.limits import HandshakeRateLimit, client_address
from chat.consumers.socket import ParleySocket
from chat.realtime import presence
from config.asgi import application
from core import ratelimit
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_TOO_MANY_SOCKETS = 4009
CLOSE_TOO_MANY_HANDSHAKES = 4029


def refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("parley_sockets_refused_total", {"reason": reason}) or 0.0


async def refused_with(communicator: WebsocketCommunicator) -> int | None:
    """The close code if the socket is closed before `hello`; None if `hello` arrives."""
    connected, _ = await communicator.connect()
    assert connected
    output = await communicator.receive_output(timeout=3)
    if output["type"] == "websocket.close":
        return output["code"]
    assert json.loads(output["text"])["type"] == "hello"
    return None


def socket_of(user: User) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ParleySocket.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    return communicator


def handshake(plain: str, address: str) -> WebsocketCommunicator:
    """A token handshake through the whole application, from `address` (as uvicorn sets it)."""
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {plain}".encode())]
    )
    communicator.scope["client"] = [address, 50000]
    return communicator


# Sockets per user


async def test_a_socket_past_the_users_limit_is_closed_with_4009(
    alice: User, bob: User, settings: Any
) -> None:
    settings.PARLEY_SOCKETS_PER_USER = 2
    tabs = [await SocketClient(alice).connect(), await SocketClient(alice).connect()]
    before = refusals("sockets_per_user")

    assert await refused_with(socket_of(alice)) == CLOSE_TOO_MANY_SOCKETS
    assert refusals("sockets_per_user") == before + 1
    # Another user is not affected, and alice's open sockets still work.
    bob_tab = await SocketClient(bob).connect()
    assert (await tabs[0].request({"type": "ping"}))["type"] == "pong"
    for tab in (*tabs, bob_tab):
        await tab.close()


async def test_closing_a_socket_frees_its_place(alice: User, settings: Any) -> None:
    settings.PARLEY_SOCKETS_PER_USER = 2
    first, second = await SocketClient(alice).connect(), await SocketClient(alice).connect()
    assert await refused_with(socket_of(alice)) == CLOSE_TOO_MANY_SOCKETS

    await first.close()

    third = await SocketClient(alice).connect()
    await second.close()
    await third.close()


async def test_a_refused_socket_does_not_take_a_place(alice: User, settings: Any) -> None:
    settings.PARLEY_SOCKETS_PER_USER = 1
    only = await SocketClient(alice).connect()
    for _ in range(3):
        assert await refused_with(socket_of(alice)) == CLOSE_TOO_MANY_SOCKETS

    await only.close()

    again = await SocketClient(alice).connect()
    await again.close()


async def test_sockets_of_a_process_that_died_age_out(alice: User, settings: Any) -> None:
    settings.PARLEY_SOCKETS_PER_USER = 2
    settings.PARLEY_PRESENCE_TTL = 1.0
    # Two sockets of another process that was killed: claimed once, never refreshed or left.
    for dead in ("dead-process!socket-1", "dead-process!socket-2"):
        await presence.store().claim(alice.pk, dead, limit=2)

    assert await refused_with(socket_of(alice)) == CLOSE_TOO_MANY_SOCKETS
    await asyncio.sleep(1.5)

    tab = await SocketClient(alice).connect()
    await tab.close()


async def test_open_sockets_keep_their_place_past_the_expiry(alice: User, settings: Any) -> None:
    settings.PARLEY_SOCKETS_PER_USER = 1
    settings.PARLEY_PRESENCE_TTL = 0.6  # the heartbeat refreshes every 0.2 s
    tab = await SocketClient(alice).connect()

    await asyncio.sleep(1.5)

    assert await refused_with(socket_of(alice)) == CLOSE_TOO_MANY_SOCKETS
    await tab.close()


async def test_a_limit_of_zero_turns_the_socket_limit_off(alice: User, settings: Any) -> None:
    settings.PARLEY_SOCKETS_PER_USER = 0
    tabs = [await SocketClient(alice).connect() for _ in range(25)]
    for tab in tabs:
        await tab.close()


# Handshakes per client address


@pytest.fixture
def alices_token(alice: User) -> str:
    return token_create(alice, name="tests")[1]


async def test_handshakes_past_the_rate_are_closed_with_4029(
    alices_token: str, settings: Any
) -> None:
    settings.PARLEY_HANDSHAKES_PER_MINUTE = 3
    before = refusals("handshake_rate")
    opened = []
    for _ in range(3):
        communicator = handshake(alices_token, "203.0.113.7")
        assert await refused_with(communicator) is None
        opened.append(communicator)

    assert await refused_with(handshake(alices_token, "203.0.113.7")) == (CLOSE_TOO_MANY_HANDSHAKES)
    assert refusals("handshake_rate") == before + 1
    # Another address has its own allowance.
    other = handshake(alices_token, "198.51.100.20")
    assert await refused_with(other) is None
    for communicator in (*opened, other):
        await communicator.disconnect()


class Handshakes:
    """The handshake limit in front of an application that accepts everything, on a clock
    the test moves. It counts in this process (no REDIS_URL): Redis' clock cannot be moved."""

    def __init__(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        settings.REDIS_URL = ""
        self.now = 1000.0
        monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: self.now))
        self.limiter = HandshakeRateLimit(self._accept)
        self.accepted = 0

    async def _accept(self, scope: Any, receive: Any, send: Any) -> None:
        self.accepted += 1

    async def refused(self, address: str, count: int = 1) -> int:
        """How many of `count` handshakes from `address` now are refused."""
        closes: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.close":
                closes.append(message)

        for _ in range(count):
            await self.limiter({"type": "websocket", "client": [address, 1]}, receive, send)
        assert all(close["code"] == CLOSE_TOO_MANY_HANDSHAKES for close in closes)
        return len(closes)


async def test_the_handshake_allowance_refills_over_the_minute(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PARLEY_HANDSHAKES_PER_MINUTE = 60
    handshakes = Handshakes(settings, monkeypatch)
    assert await handshakes.refused("203.0.113.8", 60) == 0
    assert await handshakes.refused("203.0.113.8") == 1

    handshakes.now += 1.0

    assert await handshakes.refused("203.0.113.8") == 0
    assert await handshakes.refused("203.0.113.8") == 1
    handshakes.now += 60.0
    assert await handshakes.refused("203.0.113.8", 60) == 0


async def test_the_default_lets_a_few_tabs_reconnect_as_the_web_ui_does(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # parley.js retries after 0.25-0.5 s, 0.5-1 s, 1-2 s, 2-4 s, 4-8 s, then every 5-10 s.
    # Five tabs on the shortest delays, all at the same moments, for three minutes of a server
    # that keeps closing them: not one handshake is refused.
    handshakes = Handshakes(settings, monkeypatch)
    delays = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0] + [5.0] * 40
    elapsed = 0.0
    for delay in delays:
        elapsed += delay
        if elapsed > 180:
            break
        handshakes.now = 1000.0 + elapsed
        assert await handshakes.refused("203.0.113.9", 5) == 0, f"at {elapsed} s"
    assert handshakes.accepted > 150


async def test_a_refused_handshake_does_not_look_up_the_login(settings: Any) -> None:
    settings.PARLEY_HANDSHAKES_PER_MINUTE = 1
    assert await refused_with(handshake("parley_0000000000000000_x", "203.0.113.10")) == 4001

    # An unknown token would be 4001 after the lookup; the rate refusal comes first.
    assert await refused_with(handshake("parley_0000000000000000_x", "203.0.113.10")) == (
        CLOSE_TOO_MANY_HANDSHAKES
    )


async def test_a_limit_of_zero_turns_the_handshake_limit_off(
    alices_token: str, settings: Any
) -> None:
    settings.PARLEY_HANDSHAKES_PER_MINUTE = 0
    for _ in range(5):
        communicator = handshake(alices_token, "203.0.113.11")
        assert await refused_with(communicator) is None
        await communicator.disconnect()


@pytest.mark.parametrize(
    ("client", "counted_as"),
    [
        (["203.0.113.7", 1234], "203.0.113.7"),
        (["::ffff:203.0.113.7", 1234], "203.0.113.7"),
        (["2001:db8:1:2:3:4:5:6", 1234], "2001:db8:1:2::/64"),
        (None, None),
    ],
)
def test_handshakes_are_counted_per_address_and_per_ipv6_64(
    client: list[Any] | None, counted_as: str | None
) -> None:
    assert client_address({"client": client}) == counted_as

"""chat.consumers.auth: the socket accepts a personal access token in the handshake header,
through the whole ASGI application (config.asgi), as an API client connects."""

import json
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.tokens import token_create, token_revoke
from config.asgi import application
from tests.api.conftest import as_user, error_of, token_for
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_UNAUTHENTICATED = 4001  # docs/protocol.md, "Close codes"
ALLOWED_ORIGIN = (b"origin", b"http://localhost")


def communicator(path: str = "/ws/", *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=list(headers))


def bearer(plain: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {plain}".encode())


async def hello_of(socket: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        frame = json.loads(await socket.receive_from(timeout=3))
        if frame["type"] == "hello":
            return frame


async def assert_closed_with_4001(socket: WebsocketCommunicator) -> None:
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHENTICATED,
    }


@pytest.fixture
def alice_with_room() -> tuple[User, str]:
    alice = UserFactory(username="alice")
    room = make_room(name="Lobby", members=[alice])
    return alice, str(room.public_id)


async def test_a_valid_token_connects_without_an_origin(alice_with_room) -> None:
    alice, room_id = alice_with_room
    plain = await database_sync_to_async(token_for)(alice)
    socket = communicator("/ws/", bearer(plain))

    connected, _ = await socket.connect()

    assert connected
    hello = await hello_of(socket)
    assert hello["user"]["username"] == "alice"
    assert [room["id"] for room in hello["rooms"]] == [room_id]
    await socket.disconnect()


async def test_a_token_socket_can_post_and_hears_its_own_message(alice_with_room) -> None:
    alice, room_id = alice_with_room
    plain = await database_sync_to_async(token_for)(alice)
    socket = communicator("/ws/", bearer(plain), ALLOWED_ORIGIN)
    await socket.connect()
    await hello_of(socket)

    await socket.send_to(
        text_data=json.dumps({"type": "message.send", "ref": 1, "room": room_id, "body": "hi"})
    )

    by_type: dict[str, dict[str, Any]] = {}
    while not {"ack", "message.new"} <= set(by_type):
        frame = json.loads(await socket.receive_from(timeout=3))
        by_type.setdefault(frame["type"], frame)
    assert by_type["ack"]["ref"] == 1
    assert by_type["message.new"]["message"]["author"]["username"] == "alice"
    await socket.disconnect()


async def test_a_revoked_token_is_closed_with_4001(alice_with_room) -> None:
    alice, _ = alice_with_room

    def revoked_token() -> str:
        token, plain = token_create(alice, name="old")
        token_revoke(alice, token_id=token.pk)
        return plain

    plain = await database_sync_to_async(revoked_token)()

    await assert_closed_with_4001(communicator("/ws/", bearer(plain)))


async def test_an_expired_token_is_closed_with_4001(alice_with_room) -> None:
    alice, _ = alice_with_room

    def expired_token() -> str:
        token, plain = token_create(alice, name="old", expires_in_days=1)
        AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
        return plain

    plain = await database_sync_to_async(expired_token)()

    await assert_closed_with_4001(communicator("/ws/", bearer(plain)))


@pytest.mark.parametrize(
    "header",
    [
        b"Bearer parley_0000000000000000_not-a-secret",
        b"Bearer",
        b"Token parley_0000000000000000_x",
        b"",
    ],
)
async def test_an_invalid_token_or_header_is_closed_with_4001(header: bytes) -> None:
    await assert_closed_with_4001(communicator("/ws/", (b"authorization", header)))


async def test_a_token_in_the_query_string_does_not_stand_in_for_the_origin(
    alice_with_room,
) -> None:
    alice, _ = alice_with_room
    plain = await database_sync_to_async(token_for)(alice)
    socket = communicator(f"/ws/?token={plain}")

    connected, _ = await socket.connect()

    assert not connected  # a handshake without the header is a session one: Origin required


async def test_a_token_in_the_query_string_does_not_log_in(alice_with_room) -> None:
    alice, _ = alice_with_room
    plain = await database_sync_to_async(token_for)(alice)

    for name in ("token", "access_token", "authorization"):
        await assert_closed_with_4001(communicator(f"/ws/?{name}={plain}", ALLOWED_ORIGIN))


async def test_the_socket_and_the_api_share_one_write_allowance(
    alice_with_room, settings: Any
) -> None:
    settings.PARLEY_WRITE_RATE = 0.5
    settings.PARLEY_WRITE_BURST = 1
    alice, room_id = alice_with_room
    plain = await database_sync_to_async(token_for)(alice)
    api = await database_sync_to_async(as_user)(alice)
    socket = communicator("/ws/", bearer(plain))
    await socket.connect()
    await hello_of(socket)

    first = await database_sync_to_async(api.post)(f"/rooms/{room_id}/messages", {"body": "api"})
    await socket.send_to(
        text_data=json.dumps({"type": "message.send", "ref": 2, "room": room_id, "body": "ws"})
    )
    frames = []
    while not frames or frames[-1].get("ref") != 2:
        frames.append(json.loads(await socket.receive_from(timeout=3)))
    refused = await database_sync_to_async(api.post)(f"/rooms/{room_id}/messages", {"body": "x"})

    assert first.status_code == 201
    assert frames[-1]["type"] == "error"
    assert frames[-1]["code"] == error_of(refused)["code"] == "rate_limited"
    assert refused.status_code == 429
    await socket.disconnect()

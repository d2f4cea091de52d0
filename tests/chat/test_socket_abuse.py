"""The socket against a hostile or careless client: who may do what to which room (the
authorization matrix), and arbitrary frames (hypothesis), docs/protocol.md sections 3 and 6."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.consumers.socket import ParleySocket
from chat.models import Room
from chat.services.direct import direct_open
from chat.services.messages import message_post
from config.asgi import application
from tests.factories import UserFactory, make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)

# Replies to a client frame; every other frame type is a live event.
REPLIES = {"ack", "history", "resumed", "members", "pong", "error"}
OWN_SEQ = 3  # after the room's creation line and bob's "joined" line


@pytest.fixture
def rooms(alice, bob) -> dict[str, str]:
    """Bob's view of the world: a room of his, and rooms he is not in, of every kind. Bob's own
    message in his room is its seq OWN_SEQ."""
    carol = UserFactory(username="carol")
    staff = UserFactory(username="operator", is_staff=True)
    mine = make_room(staff, name="Mine", members=[bob])
    world = {
        "member": mine,
        "public, not a member": make_room(staff, name="Open", members=[alice]),
        "invite-only": make_room(staff, name="Invite", visibility=Room.Visibility.INVITE),
        "staff-only": make_room(staff, name="Staff", visibility=Room.Visibility.STAFF),
        "someone else's conversation": direct_open(alice, username=carol.username),
    }
    for room in world.values():
        if room.kind == Room.Kind.GROUP:
            posted = message_post(
                staff if room is not mine else bob, room_id=room.public_id, body="hi"
            )
            assert room is not mine or posted.seq == OWN_SEQ
    message_post(alice, room_id=world["someone else's conversation"].public_id, body="psst")
    return {name: str(room.public_id) for name, room in world.items()} | {
        "missing": str(uuid.uuid4()),
        "malformed id": "not-a-room",
    }


def commands(room: str) -> dict[str, dict]:
    return {
        "message.send": {"type": "message.send", "room": room, "body": "x"},
        "message.edit": {"type": "message.edit", "room": room, "seq": OWN_SEQ, "body": "y"},
        "message.delete": {"type": "message.delete", "room": room, "seq": OWN_SEQ},
        "history.fetch": {"type": "history.fetch", "room": room},
        "members.list": {"type": "members.list", "room": room},
        "read.mark": {"type": "read.mark", "room": room, "seq": 1},
        "typing": {"type": "typing", "room": room},
        "room.join": {"type": "room.join", "room": room},
        "room.leave": {"type": "room.leave", "room": room},
    }


def expected(where: str, command: str) -> str:
    """The reply type or error code a non-staff user gets (docs/protocol.md, section 3)."""
    if where == "member":
        success = {"history.fetch": "history", "members.list": "members", "typing": "none"}
        if command == "room.join":
            return "already_member"
        if command in {"message.edit", "message.delete"}:
            return "ack"  # bob's own message
        return success.get(command, "ack")
    if where == "public, not a member":
        if command == "room.join":
            return "ack"
        return "not_member"
    return "room_not_found"  # invisible, missing and malformed look the same


async def test_every_command_on_every_kind_of_room_gets_what_the_protocol_says(bob, rooms) -> None:
    client = await SocketClient(bob).connect()
    found: dict[tuple[str, str], str] = {}
    for where, room in rooms.items():
        for name, frame in commands(room).items():
            if name == "room.join" and where == "public, not a member":
                continue  # checked last: it changes the next answers
            found[(where, name)] = await _outcome(client, frame)
    found[("public, not a member", "room.join")] = await _outcome(
        client, commands(rooms["public, not a member"])["room.join"]
    )
    await client.close()
    wrong = {case: (got, expected(*case)) for case, got in found.items() if got != expected(*case)}
    assert not wrong, wrong


async def test_resume_reports_rooms_the_socket_does_not_carry_as_not_found(bob, rooms) -> None:
    client = await SocketClient(bob).connect()
    reply = await client.request({"type": "resume", "cursors": dict.fromkeys(rooms.values(), 0)})
    await client.close()
    codes = {where: reply["rooms"][room].get("error") for where, room in rooms.items()}
    assert codes == {where: None if where == "member" else "room_not_found" for where in rooms}


async def _outcome(client: SocketClient, frame: dict) -> str:
    """The reply type or error code; "none" when only the ping sent after it is answered."""
    ref = f"case-{uuid.uuid4().hex}"
    await client.send({**frame, "ref": ref})
    await client.send({"type": "ping", "ref": f"{ref}-ping"})
    got = await client.receive_until(lambda f: f.get("ref") == f"{ref}-ping")
    reply = next((f for f in got if f.get("ref") == ref), None)
    if reply is None:
        return "none"
    return reply["code"] if reply["type"] == "error" else reply["type"]


# Arbitrary frames

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = (
    scalars
    | st.lists(scalars, max_size=4)
    | st.dictionaries(st.text(max_size=8), scalars | st.lists(scalars, max_size=3), max_size=4)
)
field_values = (
    json_values
    | st.integers(min_value=-3, max_value=2**60)
    | st.sampled_from(["", " ", "\x00", "\ud800", "x" * 70, "1.0", "NaN"])
)


@st.composite
def frames(draw: st.DrawFn, room_ids: list[str]) -> str:
    """Text frames, mostly commands with fields that are missing, plausible or odd."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(min_size=1, max_size=40))  # not JSON, usually
    if kind == 1:
        return json.dumps(draw(json_values))
    plausible = {
        "room": st.sampled_from(room_ids),
        "body": st.sampled_from(["hello", " padded ", "line\nbreak", "é" * 10]),
        "seq": st.integers(0, 6),
        "before": st.integers(0, 6),
        "after": st.integers(0, 6),
        "limit": st.integers(0, 300),
        "client_id": st.sampled_from(["c1", "c2", uuid.uuid4().hex]),
        "ref": st.sampled_from(["r", 7, -1]),
        "cursors": st.dictionaries(st.sampled_from(room_ids), st.integers(-1, 8), max_size=3),
        "username": st.sampled_from(["alice", "carol", "bob", "nobody"]),
    }
    frame: dict = {
        "type": draw(
            st.sampled_from(
                ["message.send", "message.edit", "message.delete", "room.join", "room.leave",
                 "history.fetch", "resume", "direct.open", "read.mark", "members.list",
                 "typing", "ping", "hello", ""]
            )
        )
    }  # fmt: skip
    for field, value in plausible.items():
        choice = draw(st.integers(0, 4))
        if choice in (1, 2):
            frame[field] = draw(value)
        elif choice == 3:
            frame[field] = draw(field_values)
    return json.dumps(frame)  # floats may come out as NaN or Infinity, which Parley refuses


@pytest.fixture
def fuzz_world(bob, rooms):
    return bob, list(rooms.values())


def test_arbitrary_frames_get_one_clear_reply_each_and_the_socket_stays_usable(fuzz_world):
    bob, room_ids = fuzz_world

    @settings(
        max_examples=100,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(frames(room_ids), min_size=1, max_size=15))
    def check(batch: list[str]) -> None:
        async_to_sync(_send_batch)(bob, batch)

    check()


async def _send_batch(user, batch: list[str]) -> None:
    client = await SocketClient(user, ignore=frozenset()).connect()
    try:
        for n, text in enumerate(batch):
            await client.communicator.send_to(text_data=text)
            marker = f"after-{n}"
            await client.send({"type": "ping", "ref": marker})
            got = await client.receive_until(lambda f, m=marker: f.get("ref") == m, timeout=10)
            replies = [f for f in got[:-1] if f["type"] in REPLIES]
            assert [f for f in replies if f.get("code") == "internal"] == [], (text, replies)
            is_typing = '"typing"' in text
            assert len(replies) == 1 or (is_typing and not replies), (text, got)
    finally:
        await client.close()
        await asyncio.sleep(0)


# Where a session socket may come from (docs/protocol.md, section 1)


async def session_headers(user, origin: bytes | None) -> list[tuple[bytes, bytes]]:
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode())] + ([(b"origin", origin)] if origin else [])


@pytest.mark.parametrize(
    "origin",
    [
        None,
        b"http://evil.test",
        b"null",
        b"http://127.0.0.1.evil.test",
        b"http://localhost:8000@evil.test",
        b"file://",
    ],
)
async def test_a_session_socket_from_another_origin_is_refused_before_accept(bob, origin) -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=await session_headers(bob, origin)
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_a_session_socket_from_an_allowed_origin_is_accepted(bob) -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=await session_headers(bob, b"http://localhost:8000")
    )
    connected, _ = await communicator.connect()
    assert connected
    hello = json.loads(await communicator.receive_from())
    assert hello["type"] == "hello" and hello["user"]["username"] == "bob"
    await communicator.disconnect()


async def test_a_frame_the_server_refuses_after_its_own_close_is_dropped() -> None:
    """uvicorn closes a socket that breaks the protocol (1007) itself and refuses frames with a
    RuntimeError until the consumer reads the disconnect; a live event may come first."""

    async def refusing(message: dict) -> None:
        raise RuntimeError(
            "Unexpected ASGI message 'websocket.send', after sending 'websocket.close'."
        )

    socket = ParleySocket()
    socket.base_send = refusing
    await socket.send(text_data="{}")  # dropped, not raised
    assert socket.socket_closed
    await socket.close()  # closed already: not sent

    async def failing(message: dict) -> None:
        raise RuntimeError("some other failure")

    socket = ParleySocket()
    socket.base_send = failing
    with pytest.raises(RuntimeError, match="other failure"):
        await socket.send(text_data="{}")


async def test_a_frame_to_a_connection_already_gone_is_dropped_not_raised() -> None:
    """uvicorn raises ClientDisconnected (an OSError, as ASGI asks) on a send after the
    connection was lost; raised from a live event's handler it ended the consumer before its
    disconnect ran, and the user stayed online. The queued disconnect does the cleanup."""

    async def gone(message: dict) -> None:
        raise ConnectionResetError("the client is gone")

    socket = ParleySocket()
    socket.base_send = gone
    await socket.send(text_data="{}")  # dropped, not raised
    assert socket.socket_closed
    await socket.close()  # closed already: not sent

"""Direct conversations over the socket: opening, talking, and what a third user can learn."""

import uuid

import pytest

from chat.models import Message
from tests.factories import UserFactory
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice():
    return UserFactory(username="alice", display_name="Alice A.")


@pytest.fixture
def bob():
    return UserFactory(username="bob", display_name="Bob B.")


@pytest.fixture
def carol():
    return UserFactory(username="carol")


async def test_opening_subscribes_both_people_and_they_talk(alice, bob) -> None:
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()
    ack = await a.request({"type": "direct.open", "username": "BOB"})
    room_id = ack["room"]
    for client, peer in ((a, "bob"), (b, "alice")):
        frames = await client.receive_until(lambda f: f["type"] == "room.joined")
        joined = frames[-1]["room"]
        assert joined["id"] == room_id
        assert joined["kind"] == "direct"
        assert joined["peer"]["username"] == peer
    again = await b.request({"type": "direct.open", "username": "alice"})
    assert again["room"] == room_id
    await b.request({"type": "message.send", "room": room_id, "body": "just us"})
    frames = await a.receive_until(lambda f: f["type"] == "message.new")
    assert frames[-1]["message"]["body"] == "just us"
    await a.close()
    await b.close()


@pytest.mark.parametrize(
    ("username", "code"),
    [("nobody", "user_not_found"), ("alice", "invalid"), ("", "invalid"), (None, "invalid")],
)
async def test_bad_direct_opens_are_refused(alice, username, code) -> None:
    a = await SocketClient(alice).connect()
    reply = await a.request({"type": "direct.open", "username": username})
    assert reply["code"] == code
    await a.close()


async def test_inactive_user_looks_like_no_user(alice) -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(UserFactory)(username="gone", is_active=False)
    a = await SocketClient(alice).connect()
    gone = await a.request({"type": "direct.open", "username": "gone"})
    missing = await a.request({"type": "direct.open", "username": "never-was"})
    assert (gone["code"], gone["message"]) == (missing["code"], missing["message"])
    await a.close()


async def test_a_third_user_cannot_tell_a_conversation_from_a_random_id(alice, bob, carol) -> None:
    a = await SocketClient(alice).connect()
    secret = (await a.request({"type": "direct.open", "username": "bob"}))["room"]
    await a.request({"type": "message.send", "room": secret, "body": "private"})
    random_id = str(uuid.uuid4())
    c = await SocketClient(carol).connect()

    def probes(room_id: str) -> list[dict]:
        return [
            {"type": "message.send", "room": room_id, "body": "hi"},
            {"type": "message.edit", "room": room_id, "seq": 1, "body": "x"},
            {"type": "message.delete", "room": room_id, "seq": 1},
            {"type": "room.join", "room": room_id},
            {"type": "room.leave", "room": room_id},
            {"type": "history.fetch", "room": room_id},
            {"type": "history.fetch", "room": room_id, "after": 0},
            {"type": "members.list", "room": room_id},
            {"type": "read.mark", "room": room_id, "seq": 1},
            {"type": "typing", "room": room_id},
        ]

    for secret_probe, random_probe in zip(probes(secret), probes(random_id), strict=True):
        seen = await c.request(secret_probe)
        unseen = await c.request(random_probe)
        del seen["ref"], unseen["ref"]
        assert seen == unseen, secret_probe["type"]
        assert seen["code"] == "room_not_found"
    resumed = await c.request({"type": "resume", "cursors": {secret: 0, random_id: 0}})
    assert resumed["rooms"][secret] == resumed["rooms"][random_id]
    assert await Message.objects.filter(body="hi").acount() == 0
    await a.close()
    await c.close()

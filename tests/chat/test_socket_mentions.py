"""Mentions over the socket: message.new carries them, hello and read.updated count them."""

import pytest

from tests.factories import make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(name="General", members=[alice, bob])


async def test_a_mention_reaches_the_room_and_counts_until_read(alice, bob, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()

    ack = await a.request({"type": "message.send", "room": room_id, "body": "@bob look"})
    frames = await b.receive_until(lambda f: f["type"] == "message.new")
    message = frames[-1]["message"]
    assert message["seq"] == ack["seq"]
    assert message["mentions"] == ["bob"]
    assert message["mentions_room"] is False
    assert 'data-username="bob"' in message["body_html"]

    again = await SocketClient(bob).connect()
    [entry] = again.hello["rooms"]
    assert entry["unread_mentions"] == 1
    assert entry["unread"] == 1

    await b.request({"type": "read.mark", "room": room_id, "seq": ack["seq"]})
    frames = await again.receive_until(lambda f: f["type"] == "read.updated")
    assert frames[-1]["unread_mentions"] == 0
    assert frames[-1]["unread"] == 0
    for client in (a, b, again):
        await client.close()


async def test_read_updated_counts_the_mentions_still_unread(alice, bob, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()
    first = await a.request({"type": "message.send", "room": room_id, "body": "@bob one"})
    await a.request({"type": "message.send", "room": room_id, "body": "@bob two"})

    await b.request({"type": "read.mark", "room": room_id, "seq": first["seq"]})

    frames = await b.receive_until(lambda f: f["type"] == "read.updated")
    assert frames[-1]["unread_mentions"] == 1
    history = await b.request({"type": "history.fetch", "room": room_id, "limit": 2})
    assert [entry["mentions"] for entry in history["messages"]] == [["bob"], ["bob"]]
    await a.close()
    await b.close()

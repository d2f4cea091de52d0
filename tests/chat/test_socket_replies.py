"""message.send with reply_to, and history.fetch around a seq, over the socket."""

import pytest

from tests.factories import make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(name="General", members=[alice, bob])


async def test_a_reply_reaches_the_room_with_its_quote(alice, bob, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()
    asked = await a.request({"type": "message.send", "room": room_id, "body": "lunch?"})

    ack = await b.request(
        {"type": "message.send", "room": room_id, "body": "noon", "reply_to": asked["seq"]}
    )

    assert ack["type"] == "ack"
    frames = await a.receive_until(
        lambda f: f["type"] == "message.new" and f["message"]["seq"] == ack["seq"]
    )
    assert frames[-1]["message"]["reply_to"] == {
        "seq": asked["seq"],
        "author": {"username": "alice", "display_name": "Alice"},
        "excerpt": "lunch?",
        "deleted": False,
    }
    await a.close()
    await b.close()


@pytest.mark.parametrize(
    ("reply_to", "code"),
    [
        (0, "invalid"),
        (-1, "invalid"),
        ("1", "invalid"),
        (2**60, "invalid"),
        (999, "reply_not_found"),
    ],
)
async def test_a_bad_reply_to_is_refused_and_the_socket_goes_on(alice, room, reply_to, code):
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()

    error = await a.request(
        {"type": "message.send", "room": room_id, "body": "x", "reply_to": reply_to}
    )

    assert error["type"] == "error"
    assert error["code"] == code
    assert error["details"]["field"] == "reply_to"
    ack = await a.request({"type": "message.send", "room": room_id, "body": "still here"})
    assert ack["type"] == "ack"
    assert ack["seq"] == room.last_seq + 1
    await a.close()


async def test_history_around_a_seq_says_what_lies_beyond_on_each_side(alice, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    for n in range(12):
        last = await a.request({"type": "message.send", "room": room_id, "body": f"m{n}"})

    page = await a.request(
        {"type": "history.fetch", "room": room_id, "around": last["seq"] - 5, "limit": 4}
    )

    assert page["type"] == "history"
    assert [entry["seq"] for entry in page["messages"]] == list(
        range(last["seq"] - 7, last["seq"] - 3)
    )
    assert (page["has_more"], page["has_more_after"]) == (True, True)
    for bad in ({"around": 0}, {"around": "3"}, {"around": 3, "before": 5}):
        error = await a.request({"type": "history.fetch", "room": room_id, **bad})
        assert error["code"] == "invalid"
    await a.close()

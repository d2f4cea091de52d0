"""reaction.add and reaction.remove over the socket, and reaction.updated to the room."""

import pytest

from tests.factories import make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(name="General", members=[alice, bob])


async def _post(client: SocketClient, room_id: str, body: str = "lunch?") -> int:
    ack = await client.request({"type": "message.send", "room": room_id, "body": body})
    return ack["seq"]


async def _updated_to(client: SocketClient, reactions: list[dict]) -> None:
    """Each socket gets every update, its own too; each carries the whole summary."""
    await client.receive_until(
        lambda f: f["type"] == "reaction.updated" and f["reactions"] == reactions
    )


async def test_a_reaction_is_acked_and_reaches_the_other_member(alice, bob, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()
    seq = await _post(a, room_id)
    await b.receive_until(lambda f: f["type"] == "message.new" and f["message"]["seq"] == seq)

    ack = await a.request({"type": "reaction.add", "room": room_id, "seq": seq, "emoji": "👍"})
    assert ack == {"type": "ack", "ref": ack["ref"], "room": room_id, "seq": seq}
    frames = await b.receive_until(lambda f: f["type"] == "reaction.updated")
    assert frames[-1] == {
        "type": "reaction.updated",
        "room": room_id,
        "seq": seq,
        "reactions": [{"emoji": "👍", "count": 1, "users": ["alice"]}],
    }

    ack = await b.request({"type": "reaction.add", "room": room_id, "seq": seq, "emoji": "👍"})
    assert ack["type"] == "ack"
    await _updated_to(a, [{"emoji": "👍", "count": 2, "users": ["alice", "bob"]}])

    ack = await a.request({"type": "reaction.remove", "room": room_id, "seq": seq, "emoji": "👍"})
    assert ack["type"] == "ack"
    await _updated_to(b, [{"emoji": "👍", "count": 1, "users": ["bob"]}])
    await a.close()
    await b.close()


async def test_history_shows_the_reactions(alice, bob, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    seq = await _post(a, room_id)
    await a.request({"type": "reaction.add", "room": room_id, "seq": seq, "emoji": "🎉"})

    history = await a.request({"type": "history.fetch", "room": room_id, "limit": 1})

    [entry] = history["messages"]
    assert entry["reactions"] == [{"emoji": "🎉", "count": 1, "users": ["alice"]}]
    await a.close()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"seq": 1, "emoji": "👍"}, "invalid", "room"),
        ({"room": "R", "emoji": "👍"}, "invalid", "seq"),
        ({"room": "R", "seq": "1", "emoji": "👍"}, "invalid", "seq"),
        ({"room": "R", "seq": 1}, "invalid", "emoji"),
        ({"room": "R", "seq": 1, "emoji": 7}, "invalid", "emoji"),
        ({"room": "R", "seq": 1, "emoji": "yes"}, "invalid", "emoji"),
        ({"room": "R", "seq": 1, "emoji": "👍👍"}, "invalid", "emoji"),
        ({"room": "R", "seq": 0, "emoji": "👍"}, "invalid", "seq"),
        ({"room": "R", "seq": 10_000, "emoji": "👍"}, "message_not_found", None),
        ({"room": "nope", "seq": 1, "emoji": "👍"}, "room_not_found", None),
    ],
)
async def test_bad_frames_get_clear_errors_and_the_socket_stays_open(
    alice, room, fields, code, field
) -> None:
    a = await SocketClient(alice).connect()
    frame = {key: (str(room.public_id) if value == "R" else value) for key, value in fields.items()}
    for kind in ("reaction.add", "reaction.remove"):
        reply = await a.request({"type": kind, **frame})
        assert reply["type"] == "error"
        assert reply["code"] == code
        assert reply.get("details", {}).get("field") == field
    assert (await a.request({"type": "ping"}))["type"] == "pong"
    await a.close()


async def test_a_deleted_message_and_a_system_line_take_no_reactions(alice, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    seq = await _post(a, room_id)
    await a.request({"type": "message.delete", "room": room_id, "seq": seq})

    reply = await a.request({"type": "reaction.add", "room": room_id, "seq": seq, "emoji": "👍"})
    assert reply["code"] == "message_deleted"
    reply = await a.request({"type": "reaction.add", "room": room_id, "seq": 1, "emoji": "👍"})
    assert reply["code"] == "forbidden"
    await a.close()


async def test_unknown_type_lists_the_reaction_commands(alice) -> None:
    a = await SocketClient(alice).connect()
    reply = await a.request({"type": "reaction.toggle"})
    assert {"reaction.add", "reaction.remove"} <= set(reply["details"]["known"])
    await a.close()

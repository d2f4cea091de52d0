"""Live events fanned out once per process (chat/realtime/fanout.py) and written as shared frames
(chat/realtime/shared_frames.py), with the handler loop taking over whenever it must."""

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer

from chat.realtime import fanout
from chat.realtime.groups import room_group
from chat.realtime.shared_frames import EXTENSION, SharedFrame
from chat.services.messages import message_post
from tests.factories import make_room
from tests.socket_client import SocketClient, timeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(name="General", members=[alice, bob])


async def post(user, room, bodies: list[str]) -> list[int]:
    return [
        (await sync_to_async(message_post)(user, room_id=str(room.public_id), body=body)).seq
        for body in bodies
    ]


def layer_group(room) -> set[str]:
    """The channels in the room's group, as this process's channel layer has it."""
    layer = get_channel_layer()
    group = room_group(room.public_id)
    if hasattr(layer, "_get_layer"):  # channels_redis' pub/sub layer: one per event loop
        layer = layer._get_layer()
        group = layer._get_group_channel_name(group)
    return set(layer.groups.get(group, ()))


async def test_entries_are_written_as_shared_frames_in_order(alice, bob, room) -> None:
    tabs = [await SocketClient(bob).connect() for _ in range(3)]
    seqs = await post(alice, room, [f"m{n}" for n in range(20)])

    for tab in tabs:
        frames = await tab.receive_until(lambda f: f.get("message", {}).get("seq") == seqs[-1])
        assert timeline(frames, str(room.public_id)) == seqs
        assert timeline(tab.shared_writes, str(room.public_id)) == seqs
        assert await tab.nothing_more()
        await tab.close()


async def test_without_the_extension_every_frame_goes_through_asgi(alice, bob, room) -> None:
    client = await SocketClient(bob, shared_frames=False).connect()
    seqs = await post(alice, room, ["one", "two", "three"])

    frames = await client.receive_until(lambda f: f.get("message", {}).get("seq") == seqs[-1])
    assert timeline(frames, str(room.public_id)) == seqs
    assert client.shared_writes == []
    await client.close()


async def test_a_connection_refusing_shared_frames_gets_them_through_asgi(alice, bob, room) -> None:
    """The server says no (the client is not reading, a close went out): the handler loop
    sends the frame, with its deadline, and nothing is lost or doubled."""
    client = await SocketClient(bob).connect()
    client.communicator.scope["extensions"][EXTENSION]["write"] = lambda frame: False
    seqs = await post(alice, room, ["one", "two"])

    frames = await client.receive_until(lambda f: f.get("message", {}).get("seq") == seqs[-1])
    assert timeline(frames, str(room.public_id)) == seqs
    assert await client.nothing_more()
    await client.close()


async def test_one_process_joins_a_room_group_once_and_leaves_with_its_last_socket(
    alice, bob, room
) -> None:
    a = await SocketClient(alice).connect()
    b1 = await SocketClient(bob).connect()
    b2 = await SocketClient(bob).connect()
    [member] = layer_group(room)
    assert "fanout" in member  # the process's channel, not a socket's

    await b1.close()
    await b2.close()
    assert layer_group(room) == {member}  # alice's socket is still in the room
    await a.close()
    assert layer_group(room) == set()


async def test_a_socket_that_left_the_room_is_offered_nothing(alice, bob, room) -> None:
    b = await SocketClient(bob).connect()
    a = await SocketClient(alice).connect()
    ack = await b.request({"type": "room.leave", "room": str(room.public_id)})
    assert ack["type"] == "ack"
    await b.receive_until(lambda f: f["type"] == "room.left")
    await post(alice, room, ["after bob left"])

    await a.receive_until(lambda f: f.get("message", {}).get("body") == "after bob left")
    assert await b.nothing_more()
    assert len(layer_group(room)) == 1  # alice's socket keeps the process in the group
    await a.close()
    await b.close()


def test_a_shared_frame_is_an_unmasked_text_frame_built_once() -> None:
    frame = SharedFrame("é" * 200)
    wire = frame.wire
    assert wire[:4] == bytes([0x81, 126, 0x01, 0x90])  # FIN + text; 400 bytes, no mask bit
    assert wire[4:] == ("é" * 200).encode()
    assert frame.wire is wire


def test_a_socket_that_fails_an_offer_does_not_keep_the_event_from_the_others() -> None:
    class Refusing:
        def offer(self, event, frame):
            raise RuntimeError("handler is closed")

    class Taking:
        taken: list[str] = []

        def offer(self, event, frame):
            self.taken.append(frame.text)
            return True

    hub = fanout.Fanout()
    taking = Taking()
    hub.rooms["r"] = {Refusing(), taking, Refusing()}
    hub.deliver({"type": "message.new", "room": "r", "seq": 1, "text": "{}"})
    assert taking.taken == ["{}"]

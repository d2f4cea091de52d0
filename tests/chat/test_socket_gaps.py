"""Live entries arriving out of order: held for the missing ones, read only if those never come."""

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer

from chat.consumers import runtime
from chat.consumers.socket import ParleySocket
from chat.realtime import publish
from chat.realtime.delivery import GAP_WAIT
from chat.services.messages import message_post
from core import metrics
from tests.factories import make_room
from tests.socket_client import SocketClient, timeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(name="General", members=[alice, bob])


@pytest.fixture
def unsent(monkeypatch) -> list[tuple[str, dict]]:
    """Events the services publish, kept back so that the test sends them in its own order."""
    kept: list[tuple[str, dict]] = []
    monkeypatch.setattr(publish, "_send", lambda group, event: kept.append((group, event)))
    return kept


def gap_fills() -> float:
    return metrics.GAP_FILLS._value.get()


async def post_unsent(user, room, bodies: list[str], unsent: list) -> list[tuple[str, dict]]:
    for body in bodies:
        await sync_to_async(message_post)(user, room_id=room.public_id, body=body)
    events = [(group, event) for group, event in unsent if event["type"] == "message.new"]
    unsent.clear()
    return events


async def test_entries_arriving_in_reverse_are_delivered_in_order_without_a_read(
    alice, bob, room, unsent
) -> None:
    client = await SocketClient(bob).connect()
    first, second = await post_unsent(alice, room, ["one", "two"], unsent)
    fills = gap_fills()
    layer = get_channel_layer()

    await layer.group_send(*second)
    await layer.group_send(*first)

    frames = await client.receive_until(lambda f: f.get("message", {}).get("body") == "two")
    assert timeline(frames, str(room.public_id)) == [first[1]["seq"], second[1]["seq"]]
    assert gap_fills() == fills
    assert await client.nothing_more()
    await client.close()


async def test_an_entry_whose_predecessor_never_arrives_is_caught_up_from_the_database(
    alice, bob, room, unsent
) -> None:
    client = await SocketClient(bob).connect()
    first, second = await post_unsent(alice, room, ["one", "two"], unsent)
    fills = gap_fills()

    await get_channel_layer().group_send(*second)  # the first one is lost

    frames = await client.receive_until(lambda f: f.get("message", {}).get("body") == "two")
    assert timeline(frames, str(room.public_id)) == [first[1]["seq"], second[1]["seq"]]
    assert gap_fills() == fills + 1
    assert await client.nothing_more()
    await client.close()


async def test_a_gap_whose_wake_up_is_lost_is_filled_when_the_next_entry_comes(
    alice, bob, room, unsent, monkeypatch
) -> None:
    async def refused(self, room_id: str) -> None:
        pass  # as if the channel layer refused the socket's message to itself

    monkeypatch.setattr(ParleySocket, "ask_for_gap_fill", refused)
    client = await SocketClient(bob).connect()
    first, second, third = await post_unsent(alice, room, ["one", "two", "three"], unsent)
    layer = get_channel_layer()

    await layer.group_send(*second)  # the first one is lost
    assert await client.nothing_more()  # held, and its wake-up never comes
    await asyncio.sleep(4 * GAP_WAIT)
    await layer.group_send(*third)

    frames = await client.receive_until(lambda f: f.get("message", {}).get("body") == "three")
    seqs = [event["seq"] for _, event in (first, second, third)]
    assert timeline(frames, str(room.public_id)) == seqs
    await client.close()


async def test_the_last_entry_of_a_quiet_room_is_found_even_if_its_publish_was_lost(
    alice, bob, room, unsent
) -> None:
    """Its process died between commit and publish: no later entry reveals the gap, so the
    process's heartbeat finds the room quiet and the socket behind, and it reads the room."""
    client = await SocketClient(bob).connect()
    beating = runtime.existing().heartbeats
    await beating.beat()  # the room's last seq as it was
    (lost,) = await post_unsent(alice, room, ["never published"], unsent)
    await beating.beat()  # moved since: still may be on its way
    assert await client.nothing_more()
    await beating.beat()  # quiet for a whole beat, and this socket is behind

    frames = await client.receive_until(
        lambda f: f.get("message", {}).get("body") == "never published"
    )
    assert timeline(frames, str(room.public_id)) == [lost[1]["seq"]]
    await beating.beat()  # caught up: nothing is read again
    assert await client.nothing_more()
    await client.close()

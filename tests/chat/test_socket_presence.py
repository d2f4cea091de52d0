"""Presence, typing, member lists and read markers over the socket."""

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from django.conf import settings

from chat.consumers import runtime
from chat.realtime import presence, presence_notices
from chat.services.messages import message_post
from chat.services.rooms import member_add
from tests.factories import UserFactory, make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(alice, name="General", members=[bob])


def watching(user) -> SocketClient:
    return SocketClient(user, ignore=frozenset())


def is_presence(username: str, online: bool):
    return lambda f: (
        f["type"] == "presence"
        and any(c["user"]["username"] == username and c["online"] is online for c in f["changes"])
    )


async def test_online_while_any_tab_is_open_and_offline_after_the_last(alice, bob, room) -> None:
    b = await watching(bob).connect()
    tab1 = await SocketClient(alice).connect()
    frames = await b.receive_until(is_presence("alice", True))
    assert frames[-1]["room"] == str(room.public_id)
    tab2 = await SocketClient(alice).connect()
    await tab1.close()
    assert await b.nothing_more(0.3)
    members = await b.request({"type": "members.list", "room": str(room.public_id)})
    assert {m["username"]: m["online"] for m in members["members"]} == {
        "alice": True,
        "bob": True,
    }
    assert members["online_count"] == 2
    await tab2.close()
    await b.receive_until(is_presence("alice", False))
    members = await b.request({"type": "members.list", "room": str(room.public_id)})
    assert {m["username"]: m["online"] for m in members["members"]}["alice"] is False
    assert members["online_count"] == 1
    await b.close()


async def test_changes_within_a_batch_reach_each_room_as_one_frame(
    alice, bob, room, settings
) -> None:
    settings.PARLEY_PRESENCE_BATCH = 2.0  # room for four connects on a busy machine
    carol, dave = await sync_to_async(lambda: (UserFactory(), UserFactory()))()
    await sync_to_async(lambda: [member_add(alice, room=room, user=u) for u in (carol, dave)])()
    b = await watching(bob).connect()
    sockets = [await SocketClient(user).connect() for user in (alice, carol, dave)]
    frames = await b.receive_until(lambda f: f["type"] == "presence")
    assert frames[-1]["room"] == str(room.public_id)
    changes = {c["user"]["username"]: c["online"] for c in frames[-1]["changes"]}
    assert changes == {"bob": True, "alice": True, carol.username: True, dave.username: True}
    assert await b.nothing_more(0.8)  # one frame for the four, not four
    for socket in sockets:
        await socket.close()
    await b.close()


async def test_a_batch_states_presence_as_it_stands_when_sent(alice, bob, room) -> None:
    """Another process queued "alice went offline" (her tab reloaded onto this one): by the
    time the batch goes out she is online, and that is what the room hears."""
    b = await watching(bob).connect()
    tab = await SocketClient(alice).connect()
    await b.receive_until(is_presence("alice", True))
    await presence_notices.changed(
        alice.pk,
        {"username": "alice", "display_name": "Alice"},
        [str(room.public_id)],
        online=False,
    )
    frames = await b.receive_until(lambda f: f["type"] == "presence")
    assert frames[-1]["changes"] == [
        {"user": {"username": "alice", "display_name": "Alice"}, "online": True}
    ]
    await tab.close()
    await b.close()


async def test_a_socket_that_stops_heartbeating_expires_and_is_announced_offline(
    alice, bob, room, settings
) -> None:
    settings.PARLEY_PRESENCE_TTL = 0.6
    # The announcement waits for the presence batch too (0.5 s by default): with it, expiry
    # (0.6 s), the sweep's interval (0.2 s) and the batch left 0.1 s for the database and the
    # machine, and a busy CI machine overran the bound below.
    settings.PARLEY_PRESENCE_BATCH = 0.05
    b = await watching(bob).connect()
    # A socket of alice's on a process that then died: an entry nobody refreshes.
    await presence.store().touch(alice.pk, "socket-on-a-dead-process")
    assert await presence.store().online([alice.pk]) == {alice.pk}
    started = asyncio.get_running_loop().time()
    await b.receive_until(is_presence("alice", False), timeout=5)
    assert asyncio.get_running_loop().time() - started < 0.6 + 0.6
    assert await presence.store().online([alice.pk]) == set()
    await b.close()


async def test_typing_reaches_the_room_at_most_once_per_interval(alice, bob, room) -> None:
    room_id = str(room.public_id)
    b = await SocketClient(bob).connect()  # alice's presence notice may come at any time
    a = await SocketClient(alice).connect()
    for _ in range(1000):
        await a.send({"type": "typing", "room": room_id})
    assert (await a.request({"type": "ping"}))["type"] == "pong"
    frames = await b.receive_until(lambda f: f["type"] == "typing")
    assert frames[-1]["user"]["username"] == "alice"
    assert frames[-1]["expires_in"] > 0
    assert await b.nothing_more(0.5)
    await a.close()
    await b.close()


async def test_typing_in_a_room_you_are_not_in_is_refused(alice) -> None:
    """Through the same gate as posting: a public room you can see but are not in."""
    other = await sync_to_async(make_room)(name="Elsewhere")
    a = await SocketClient(alice).connect()
    reply = await a.request({"type": "typing", "room": str(other.public_id)})
    assert reply["code"] == "not_member"
    await a.close()


async def test_unread_counts_follow_live_delivery_catch_up_and_other_tabs(alice, bob, room) -> None:
    room_id = str(room.public_id)
    for n in range(3):
        await sync_to_async(message_post)(bob, room_id=room.public_id, body=f"while away {n}")
    tab1 = await SocketClient(alice).connect()
    [state] = tab1.hello["rooms"]
    assert state["unread"] == 3
    assert state["last_message"]["preview"] == "while away 2"
    tab2 = await SocketClient(alice).connect()
    await sync_to_async(message_post)(bob, room_id=room.public_id, body="live one")
    frames = await tab1.receive_until(lambda f: f["type"] == "message.new")
    newest = frames[-1]["message"]["seq"]
    ack = await tab1.request({"type": "read.mark", "room": room_id, "seq": newest})
    assert ack["seq"] == newest
    frames = await tab2.receive_until(lambda f: f["type"] == "read.updated")
    assert frames[-1] == {
        "type": "read.updated",
        "room": room_id,
        "last_read_seq": newest,
        "unread": 0,
        "unread_mentions": 0,
    }
    await tab1.close()
    await tab2.close()
    again = await SocketClient(alice).connect()
    assert again.hello["rooms"][0]["unread"] == 0
    bad = await again.request({"type": "read.mark", "room": room_id, "seq": newest + 5})
    assert bad["code"] == "invalid"
    bad = await again.request({"type": "read.mark", "room": room_id, "seq": -1})
    assert bad["code"] == "invalid"
    await again.close()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the shared store needs REDIS_URL")
async def test_a_burst_of_presence_calls_waits_for_connections_rather_than_failing() -> None:
    """A restart reconnects thousands of sockets at once; each claims its place and refreshes
    it. More calls at once than the client has connections must queue, not fail."""
    store = presence.store()
    claims = [store.claim(10_000 + n, f"burst-{n}", limit=0) for n in range(400)]
    assert all(await asyncio.gather(*claims))
    leaves = [store.leave(10_000 + n, f"burst-{n}") for n in range(400)]
    assert all(await asyncio.gather(*leaves))


async def test_one_heartbeat_per_process_keeps_every_socket_online(
    alice, bob, room, settings
) -> None:
    settings.PARLEY_PRESENCE_TTL = 0.6  # refreshed every 0.2 s
    b = await watching(bob).connect()
    a = await SocketClient(alice).connect()
    await b.receive_until(is_presence("alice", True))
    await asyncio.sleep(1.5)  # more than twice the expiry
    assert await presence.store().online([alice.pk, bob.pk]) == {alice.pk, bob.pk}
    assert await b.nothing_more(0.3)  # nobody was announced offline
    await a.close()
    await b.close()


async def test_a_lapsed_entry_is_refreshed_and_its_user_announced_again(alice, bob, room) -> None:
    b = await watching(bob).connect()
    a = await SocketClient(alice).connect()
    await b.receive_until(is_presence("alice", True))
    beating = runtime.existing().heartbeats
    (channel,) = [s.channel_name for s in beating.sockets.values() if s.user_id == alice.pk]
    await presence.store().leave(alice.pk, channel)  # lost, as in a Redis restart
    assert await presence.store().online([alice.pk]) == set()
    await beating.beat()
    assert await presence.store().online([alice.pk]) == {alice.pk}
    await b.receive_until(is_presence("alice", True))
    await a.close()
    await b.close()

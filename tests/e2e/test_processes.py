"""Several uvicorn processes sharing PostgreSQL and Redis behave as one Parley."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from chat.models import Room
from tests.e2e.servers import Peer, running_server, session_cookie
from tests.factories import UserFactory, make_room

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="several processes need REDIS_URL"),
]


def presence_of(username: str, online: bool):
    return lambda f: (
        f["type"] == "presence"
        and any(c["user"]["username"] == username and c["online"] is online for c in f["changes"])
    )


async def test_presence_spans_processes_and_survives_a_killed_one(tmp_path) -> None:
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    await database_sync_to_async(make_room)(alice, name="Lobby", members=[bob])
    alice_cookie = await database_sync_to_async(session_cookie)(alice)
    bob_cookie = await database_sync_to_async(session_cookie)(bob)
    ttl = "2"
    with (
        running_server(tmp_path, PARLEY_PRESENCE_TTL=ttl) as one,
        running_server(tmp_path, PARLEY_PRESENCE_TTL=ttl) as two,
    ):
        watcher = await Peer(one, bob_cookie).connect()
        await Peer(two, alice_cookie).connect()  # dies with process two
        await watcher.receive_until(presence_of(alice.username, True))
        tab_on_one = await Peer(one, alice_cookie).connect()
        await tab_on_one.close()  # alice still has a tab on process two
        await asyncio.sleep(0.5)
        assert not any(presence_of(alice.username, False)(f) for f in watcher.frames)

        two.kill()  # alice's last socket dies with its process, without a goodbye
        killed_at = asyncio.get_running_loop().time()
        await watcher.receive_until(presence_of(alice.username, False), timeout=10)
        assert asyncio.get_running_loop().time() - killed_at < float(ttl) + 2
        await watcher.send(
            {"type": "members.list", "ref": "m", "room": watcher.hello["rooms"][0]["id"]}
        )
        await watcher.receive_until(lambda f: f.get("ref") == "m")
        members = watcher.frames[-1]["members"]
        assert {m["username"]: m["online"] for m in members}[alice.username] is False
        await watcher.close()


async def test_opening_the_same_conversation_at_once_on_two_processes_makes_one(
    tmp_path,
) -> None:
    pairs = await database_sync_to_async(
        lambda: [(UserFactory(), UserFactory()) for _ in range(50)]
    )()
    cookies = await database_sync_to_async(
        lambda: [(session_cookie(a), session_cookie(b)) for a, b in pairs]
    )()
    with running_server(tmp_path) as one, running_server(tmp_path) as two:

        async def open_both(index: int) -> set[str]:
            (first, second), (first_cookie, second_cookie) = pairs[index], cookies[index]
            a = await Peer(one, first_cookie).connect()
            b = await Peer(two, second_cookie).connect()
            await asyncio.gather(
                a.send({"type": "direct.open", "ref": "o", "username": second.username}),
                b.send({"type": "direct.open", "ref": "o", "username": first.username}),
            )
            await a.receive_until(lambda f: f.get("ref") == "o")
            await b.receive_until(lambda f: f.get("ref") == "o")
            rooms = {a.frames[-1]["room"], b.frames[-1]["room"]}
            await a.close()
            await b.close()
            return rooms

        results = await asyncio.gather(*(open_both(i) for i in range(50)))
    assert all(len(rooms) == 1 for rooms in results)
    count = await Room.objects.filter(kind=Room.Kind.DIRECT).acount()
    assert count == 50

"""The socket as an outside client sees it: a real uvicorn server and the websockets library."""

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async as sync_to_async
from django.conf import settings

from chat.models import Message
from tests.e2e.servers import Peer, running_server, session_cookie
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    room = make_room(name="General", members=[alice, bob])
    return alice, bob, room, session_cookie(alice), session_cookie(bob)


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as server:
        yield server


async def test_two_users_talk_live(server, people) -> None:
    _, _, room, alice_cookie, bob_cookie = people
    room_id = str(room.public_id)
    alice = await Peer(server, alice_cookie).connect()
    bob = await Peer(server, bob_cookie).connect()
    await alice.send({"type": "message.send", "ref": 1, "room": room_id, "body": "<b>hi</b>"})
    await bob.receive_until(lambda f: f["type"] == "message.new")
    assert bob.frames[-1]["message"]["body"] == "<b>hi</b>"
    assert bob.frames[-1]["message"]["author"]["username"] == "alice"
    await alice.receive_until(lambda f: f["type"] == "ack" and f["ref"] == 1)
    await alice.close()
    await bob.close()


async def test_foreign_origin_is_refused_at_the_handshake(server, people) -> None:
    _, _, _, alice_cookie, _ = people
    for origin in ("http://evil.test", "null", "http://127.0.0.1.evil.test"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                server.ws_url, additional_headers={"Cookie": alice_cookie, "Origin": origin}
            )
        assert refused.value.response.status_code == 403


async def test_anonymous_socket_is_closed_with_4001(server) -> None:
    ws = await websockets.connect(server.ws_url, additional_headers={"Origin": server.origin})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd.code == 4001


async def test_reconnect_catches_up_500_messages_exactly_once_while_others_keep_posting(
    server, people
) -> None:
    _, _, room, alice_cookie, bob_cookie = people
    room_id = str(room.public_id)
    bob = await Peer(server, bob_cookie).connect()
    cursor = next(r["last_seq"] for r in bob.hello["rooms"] if r["id"] == room_id)
    await bob.close()

    alice = await Peer(server, alice_cookie).connect()
    for n in range(500):
        await alice.send({"type": "message.send", "room": room_id, "body": f"offline {n}"})
    await alice.receive_until(lambda f: f["type"] == "ack" and f["seq"] == cursor + 500)

    bob = await Peer(server, bob_cookie).connect()

    async def keep_posting() -> None:
        for n in range(100):
            await alice.send({"type": "message.send", "room": room_id, "body": f"live {n}"})
            await asyncio.sleep(0.002)

    poster = asyncio.create_task(keep_posting())
    await bob.send({"type": "resume", "ref": "resume", "cursors": {room_id: cursor}})
    final = cursor + 600
    await bob.receive_until(lambda f: f["type"] == "message.new" and f["message"]["seq"] == final)
    await poster
    assert bob.seqs(room_id) == list(range(cursor + 1, final + 1))
    resumed = next(f for f in bob.frames if f["type"] == "resumed")
    assert resumed["rooms"][room_id]["replayed"] >= 500
    await alice.close()
    await bob.close()


async def test_rate_limit_refuses_with_retry_after_and_stores_nothing(tmp_path, people) -> None:
    _, _, room, alice_cookie, _ = people
    room_id = str(room.public_id)
    before = await sync_to_async(Message.objects.filter(room=room).count)()
    with running_server(tmp_path, PARLEY_WRITE_RATE="5", PARLEY_WRITE_BURST="10") as server:
        alice = await Peer(server, alice_cookie).connect()
        for n in range(40):
            await alice.send({"type": "message.send", "ref": n, "room": room_id, "body": f"{n}"})
        await alice.receive_until(lambda f: f.get("ref") == 39 and f["type"] in {"ack", "error"})
        replies = [f for f in alice.frames if f["type"] in {"ack", "error"}]
        acked = [f for f in replies if f["type"] == "ack"]
        limited = [f for f in replies if f["type"] == "error"]
        assert 10 <= len(acked) < 20
        assert {f["code"] for f in limited} == {"rate_limited"}
        assert all(f["details"]["retry_after"] > 0 for f in limited)
        after = await sync_to_async(Message.objects.filter(room=room).count)()
        assert after - before == len(acked)
        await alice.close()


@pytest.mark.skipif(not settings.REDIS_URL, reason="two processes need REDIS_URL")
async def test_two_processes_share_messages_and_joins(tmp_path, people) -> None:
    _, _, room, alice_cookie, bob_cookie = people
    room_id = str(room.public_id)
    carol = await sync_to_async(UserFactory)(username="carol")
    carol_cookie = await sync_to_async(session_cookie)(carol)
    with running_server(tmp_path) as one, running_server(tmp_path) as two:
        alice = await Peer(one, alice_cookie).connect()
        bob = await Peer(two, bob_cookie).connect()
        carol_peer = await Peer(one, carol_cookie).connect()
        await alice.send({"type": "message.send", "room": room_id, "body": "from one"})
        await bob.receive_until(lambda f: f["type"] == "message.new")
        assert bob.frames[-1]["message"]["body"] == "from one"
        await bob.send({"type": "message.send", "room": room_id, "body": "from two"})
        await alice.receive_until(
            lambda f: f["type"] == "message.new" and f["message"]["body"] == "from two"
        )
        await carol_peer.send({"type": "room.join", "room": room_id})
        await bob.receive_until(
            lambda f: f["type"] == "member.joined" and f["user"]["username"] == "carol"
        )
        await carol_peer.send({"type": "room.leave", "room": room_id})
        await bob.receive_until(
            lambda f: f["type"] == "member.left" and f["user"]["username"] == "carol"
        )
        for peer in (alice, bob, carol_peer):
            await peer.close()


def test_settings_are_json_serializable_for_the_record() -> None:
    assert json.dumps({"frame": settings.PARLEY_FRAME_MAX_BYTES})


async def test_live_frames_reach_clients_with_and_without_compression(server, people) -> None:
    """Live frames are written once for every socket, uncompressed even where the client
    negotiated permessage-deflate (RFC 7692 allows it); replies go through the compressor."""
    _, _, room, alice_cookie, bob_cookie = people
    room_id = str(room.public_id)
    headers = {"Cookie": bob_cookie, "Origin": server.origin}
    deflating = await websockets.connect(server.ws_url, additional_headers=headers)
    plain = await websockets.connect(server.ws_url, additional_headers=headers, compression=None)
    assert [e.name for e in deflating.protocol.extensions] == ["permessage-deflate"]
    assert plain.protocol.extensions == []
    alice = await Peer(server, alice_cookie).connect()
    for n in range(30):
        await alice.send({"type": "message.send", "room": room_id, "body": f"é {n} " * 40})

    for ws in (deflating, plain):
        bodies = []
        while len(bodies) < 30:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame["type"] == "message.new":
                bodies.append(frame["message"]["body"])
        assert bodies == [(f"é {n} " * 40).strip() for n in range(30)]
        await ws.send(json.dumps({"type": "ping", "ref": "p"}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] != "pong":
            pass
        await ws.close()
    await alice.close()

"""Shared frames under a real uvicorn: counted when written; and on a uvicorn that is not what
chat/realtime/uvicorn_protocol.py expects, off with one warning while every frame type still
arrives."""

import asyncio
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.servers import Peer, Server, running_server, session_cookie
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-me"
RENAMED_WRITABLE = "tests.e2e.protocols:WritableRenamedProtocol"
OFF_WARNING = "shared frames are OFF"


@pytest.fixture
def people() -> tuple[str, str, str]:
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    room = make_room(name="General", members=[alice, bob])
    return str(room.public_id), session_cookie(alice), session_cookie(bob)


def shared_frames_written(server: Server) -> float:
    request = urllib.request.Request(  # noqa: S310 - a loopback test URL
        f"{server.origin}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        raise AssertionError(f"/metrics: {error.code} {error.read()[:500]!r}") from error
    [row] = [
        row for row in text.splitlines() if row.startswith("parley_shared_frames_written_total ")
    ]
    return float(row.split()[-1])


async def acked(peer: Peer, frame: dict[str, Any]) -> dict[str, Any]:
    await peer.send(frame)
    await peer.receive_until(lambda f: f.get("ref") == frame["ref"])
    reply = peer.frames[-1]
    assert reply["type"] == "ack", reply
    return reply


async def every_frame_type(server: Server, room_id: str, alice_cookie: str, bob_cookie: str):
    """Alice does everything a room sees while Bob watches; returns Bob's frames by type."""
    bob = await Peer(server, bob_cookie).connect()
    alice = await Peer(server, alice_cookie).connect()

    def seen(kind: str, **fields: Any) -> Any:
        return lambda f: f["type"] == kind and all(f.get(k) == v for k, v in fields.items())

    def about_alice(frame: dict[str, Any]) -> bool:
        return frame.get("user", {}).get("username") == "alice"

    await bob.receive_until(
        lambda f: (
            f["type"] == "presence"
            and any(c["user"]["username"] == "alice" and c["online"] for c in f["changes"])
        )
    )
    posted = await acked(alice, {"type": "message.send", "ref": "m", "room": room_id, "body": "hi"})
    seq = posted["seq"]
    await bob.receive_until(lambda f: f["type"] == "message.new" and f["message"]["seq"] == seq)
    await acked(
        alice, {"type": "message.edit", "ref": "e", "room": room_id, "seq": seq, "body": "hello"}
    )
    await bob.receive_until(lambda f: f["type"] == "message.edited" and f["message"]["seq"] == seq)
    await acked(alice, {"type": "message.delete", "ref": "d", "room": room_id, "seq": seq})
    await bob.receive_until(lambda f: f["type"] == "message.deleted" and f["message"]["seq"] == seq)
    await alice.send({"type": "typing", "room": room_id})
    await bob.receive_until(lambda f: seen("typing", room=room_id)(f) and about_alice(f))
    await acked(alice, {"type": "room.leave", "ref": "l", "room": room_id})
    await bob.receive_until(lambda f: seen("member.left", room=room_id)(f) and about_alice(f))
    await acked(alice, {"type": "room.join", "ref": "j", "room": room_id})
    await bob.receive_until(lambda f: seen("member.joined", room=room_id)(f) and about_alice(f))
    for n in range(10):
        await alice.send({"type": "message.send", "room": room_id, "body": f"live {n}"})
    last = seq + 2 + 10  # alice's left and joined lines, then the ten
    await bob.receive_until(lambda f: f["type"] == "message.new" and f["message"]["seq"] == last)
    assert bob.seqs(room_id) == list(range(seq, last + 1))
    await acked(bob, {"type": "read.mark", "ref": "r", "room": room_id, "seq": last})
    await bob.receive_until(seen("read.updated", room=room_id, last_read_seq=last))
    await alice.close()
    await bob.close()
    return {frame["type"] for frame in bob.frames}


EVERY_FRAME_TYPE = {
    "message.new",
    "message.edited",
    "message.deleted",
    "member.joined",
    "member.left",
    "typing",  # typing.started inside the server
    "presence",  # presence.changed inside the server
    "read.updated",
}


async def test_live_frames_are_written_shared_and_counted(tmp_path, people) -> None:
    room_id, alice_cookie, bob_cookie = people
    with running_server(tmp_path, PARLEY_METRICS_TOKEN=TOKEN) as server:
        before = await asyncio.to_thread(shared_frames_written, server)
        kinds = await every_frame_type(server, room_id, alice_cookie, bob_cookie)
        after = await asyncio.to_thread(shared_frames_written, server)
    assert kinds >= EVERY_FRAME_TYPE
    # Bob's socket has nothing else to do while Alice posts: her ten posts at least reach it as
    # shared frames.
    assert after - before >= 10
    assert OFF_WARNING not in server.log.read_text()


async def test_with_an_attribute_missing_every_frame_type_arrives_through_asgi(
    tmp_path, people
) -> None:
    room_id, alice_cookie, bob_cookie = people
    with running_server(tmp_path, ws=RENAMED_WRITABLE, PARLEY_METRICS_TOKEN=TOKEN) as server:
        kinds = await every_frame_type(server, room_id, alice_cookie, bob_cookie)
        written = await asyncio.to_thread(shared_frames_written, server)
    assert kinds >= EVERY_FRAME_TYPE
    assert written == 0
    log = server.log.read_text()
    assert log.count(OFF_WARNING) == 1, log
    assert "writable.is_set()" in log
    assert "Traceback" not in log, log

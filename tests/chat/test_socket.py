"""The socket protocol through Channels' WebsocketCommunicator (docs/protocol.md)."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from accounts.profiles import profile_update
from chat.consumers.socket import ParleySocket
from chat.models import Message, Room
from chat.services.messages import message_post
from tests.factories import UserFactory, make_room
from tests.socket_client import SocketClient, timeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice, bob):
    return make_room(name="General", members=[alice, bob])


async def test_anonymous_handshake_is_closed_with_4001() -> None:
    communicator = WebsocketCommunicator(ParleySocket.as_asgi(), "/ws/")
    communicator.scope["user"] = AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4001}


async def test_hello_lists_my_rooms_with_last_seq(alice, room) -> None:
    client = await SocketClient(alice).connect()
    assert client.hello["protocol"] == 1
    assert client.hello["user"]["username"] == "alice"
    [entry] = client.hello["rooms"]
    assert entry["id"] == str(room.public_id)
    assert entry["last_seq"] == room.last_seq
    await client.close()


async def test_hello_states_the_limits_a_client_must_keep(alice, settings) -> None:
    settings.PARLEY_ATTACHMENTS_PER_MESSAGE = 3
    settings.PARLEY_UPLOAD_MAX_BYTES = 5_000
    client = await SocketClient(alice).connect()
    assert client.hello["limits"] == {
        "body_max_length": settings.PARLEY_MESSAGE_MAX_LENGTH,
        "frame_max_bytes": settings.PARLEY_FRAME_MAX_BYTES,
        "history_max_page": settings.PARLEY_HISTORY_MAX_PAGE_SIZE,
        "search_query_max_length": 200,
        "search_max_page": 50,
        "replay_max": settings.PARLEY_REPLAY_MAX,
        "attachments_per_message": 3,
        "upload_max_bytes": 5_000,
    }
    await client.close()


async def test_message_reaches_both_members_and_sender_gets_ack(alice, bob, room) -> None:
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()
    ack = await a.request(
        {"type": "message.send", "room": str(room.public_id), "body": "hi", "client_id": "c1"}
    )
    assert ack["type"] == "ack"
    assert ack["seq"] == room.last_seq + 1
    assert ack["client_id"] == "c1"
    for client in (a, b):
        frame = await _next_new(client)
        assert frame["message"]["body"] == "hi"
        assert frame["message"]["body_html"] == "<p>hi</p>"
        assert frame["message"]["author"]["username"] == "alice"
        assert frame["message"]["seq"] == ack["seq"]
    await a.close()
    await b.close()


async def _next_new(client: SocketClient) -> dict:
    frames = await client.receive_until(lambda f: f["type"] == "message.new")
    return frames[-1]


async def test_payload_identity_fields_are_ignored(alice, bob, room) -> None:
    a = await SocketClient(alice).connect()
    ack = await a.request(
        {
            "type": "message.send",
            "room": str(room.public_id),
            "body": "who am I",
            "sender": "bob",
            "user": "bob",
            "author": "bob",
        }
    )
    assert ack["type"] == "ack"
    message = await sync_to_async(Message.objects.get)(room=room, seq=ack["seq"])
    assert message.author_id == alice.pk
    await a.close()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "nope"}', "bad_frame"),
        ('{"type": "message.send"}', "invalid"),
        ('{"type": "message.send", "room": 5, "body": "x"}', "invalid"),
        ('{"type": "message.send", "room": "x", "body": "x"}', "room_not_found"),
        (
            '{"type": "history.fetch", "room": "00000000-0000-0000-0000-000000000000"}',
            "room_not_found",
        ),
        ('{"type": "ping", "n": NaN}', "bad_frame"),
        ("[" * 100_00 + "]" * 100_00, "bad_frame"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_usable(alice, room, raw, code) -> None:
    a = await SocketClient(alice).connect()
    await a.communicator.send_to(text_data=raw)
    error = await a.receive()
    assert error["type"] == "error"
    assert error["code"] == code
    assert (await a.request({"type": "ping"}))["type"] == "pong"
    await a.close()


async def test_frame_over_the_size_limit_closes_with_1009(alice, room, settings) -> None:
    settings.PARLEY_FRAME_MAX_BYTES = 1024
    a = await SocketClient(alice).connect()
    await a.communicator.send_to(text_data='{"type":"ping","pad":"' + "x" * 2000 + '"}')
    output = await a.communicator.receive_output()
    while output["type"] == "websocket.send":  # presence notices sent before the big frame
        output = await a.communicator.receive_output()
    assert output == {"type": "websocket.close", "code": 1009}


async def test_resume_replays_missed_messages_once_in_order(alice, bob, room) -> None:
    b = await SocketClient(bob).connect()
    cursor = b.hello["rooms"][0]["last_seq"]
    await b.close()
    for n in range(30):
        await sync_to_async(message_post)(alice, room_id=room.public_id, body=f"m{n}")
    b = await SocketClient(bob).connect()
    await b.send({"type": "resume", "ref": "x", "cursors": {str(room.public_id): cursor}})
    frames = await b.receive_until(lambda f: f["type"] == "resumed")
    seqs = timeline(frames, str(room.public_id))
    assert seqs == list(range(cursor + 1, cursor + 31))
    assert frames[-1]["rooms"][str(room.public_id)]["replayed"] == 30
    await b.close()


async def test_join_subscribes_every_tab_and_leave_unsubscribes(alice, bob) -> None:
    carol = await sync_to_async(UserFactory)(username="carol")
    room = await sync_to_async(make_room)(name="Lobby", members=[alice])
    tab1 = await SocketClient(carol).connect()
    tab2 = await SocketClient(carol).connect()
    ack = await tab1.request({"type": "room.join", "room": str(room.public_id)})
    assert ack["type"] == "ack"
    frames = await tab2.receive_until(lambda f: f["type"] == "message.new")
    assert frames[0]["type"] in {"room.joined", "member.joined"}
    assert frames[-1]["message"]["kind"] == "joined"
    await sync_to_async(message_post)(alice, room_id=room.public_id, body="welcome")
    frames = await tab2.receive_until(
        lambda f: f["type"] == "message.new" and f["message"]["kind"] == "text"
    )
    assert frames[-1]["message"]["body"] == "welcome"
    ack = await tab2.request({"type": "room.leave", "room": str(room.public_id)})
    assert ack["type"] == "ack"
    await tab1.receive_until(lambda f: f["type"] == "room.left")
    await sync_to_async(message_post)(alice, room_id=room.public_id, body="after you left")
    assert await tab1.nothing_more(0.3)
    await tab1.close()
    await tab2.close()


async def test_staff_only_room_is_not_found_for_non_staff(alice) -> None:
    staff_room = await sync_to_async(make_room)(name="Staff", visibility=Room.Visibility.STAFF)
    a = await SocketClient(alice).connect()
    for frame in (
        {"type": "room.join", "room": str(staff_room.public_id)},
        {"type": "message.send", "room": str(staff_room.public_id), "body": "x"},
        {"type": "history.fetch", "room": str(staff_room.public_id)},
    ):
        reply = await a.request(frame)
        assert reply["code"] == "room_not_found"
    await a.close()


async def test_edit_and_delete_are_live_and_only_for_your_own_messages(alice, bob, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()
    ack = await a.request({"type": "message.send", "room": room_id, "body": "first"})
    seq = ack["seq"]
    refused = await b.request({"type": "message.edit", "room": room_id, "seq": seq, "body": "x"})
    assert refused["code"] == "forbidden"
    refused = await b.request({"type": "message.delete", "room": room_id, "seq": seq})
    assert refused["code"] == "forbidden"

    await a.request({"type": "message.edit", "room": room_id, "seq": seq, "body": "**second**"})
    frames = await b.receive_until(lambda f: f["type"] == "message.edited")
    assert frames[-1]["message"]["body"] == "**second**"
    assert frames[-1]["message"]["body_html"] == "<p><strong>second</strong></p>"
    assert frames[-1]["message"]["edited_at"] is not None

    await a.request({"type": "message.delete", "room": room_id, "seq": seq})
    frames = await b.receive_until(lambda f: f["type"] == "message.deleted")
    assert frames[-1]["message"] == {
        **frames[-1]["message"],
        "body": "",
        "body_html": "",
        "deleted": True,
    }
    stored = await sync_to_async(Message.objects.get)(room=room, seq=seq)
    assert stored.body == ""
    assert stored.deleted_at is not None
    again = await a.request({"type": "message.edit", "room": room_id, "seq": seq, "body": "x"})
    assert again["code"] == "message_deleted"
    await a.close()
    await b.close()


async def test_resume_with_bad_cursors_reports_them_per_room(alice, room) -> None:
    room_id = str(room.public_id)
    a = await SocketClient(alice).connect()
    reply = await a.request(
        {
            "type": "resume",
            "cursors": {room_id: 10_000, "00000000-0000-0000-0000-000000000000": 0},
        }
    )
    assert reply["rooms"][room_id]["error"] == "cursor_ahead"
    assert reply["rooms"][room_id]["last_seq"] == room.last_seq
    assert reply["rooms"]["00000000-0000-0000-0000-000000000000"]["error"] == "room_not_found"
    reply = await a.request({"type": "resume", "cursors": {room_id: -1}})
    assert reply["rooms"][room_id]["error"] == "invalid"
    reply = await a.request({"type": "resume", "cursors": [1]})
    assert reply["code"] == "invalid"
    await a.close()


async def test_a_client_too_far_behind_is_told_to_page_history(alice, bob, room, settings) -> None:
    settings.PARLEY_REPLAY_MAX = 10
    room_id = str(room.public_id)
    for n in range(25):
        await sync_to_async(message_post)(alice, room_id=room.public_id, body=f"m{n}")
    b = await SocketClient(bob).connect()
    reply = await b.request({"type": "resume", "cursors": {room_id: 1}})
    assert reply["rooms"][room_id]["gap"] == {"after": 1, "through": room.last_seq + 25}
    assert reply["rooms"][room_id]["replayed"] == 0
    page = await b.request({"type": "history.fetch", "room": room_id, "after": 1, "limit": 5})
    assert [m["seq"] for m in page["messages"]] == [2, 3, 4, 5, 6]
    assert page["has_more"] is True
    await b.close()


async def test_a_burst_of_10000_frames_is_rate_limited_and_the_socket_survives(
    alice, room, settings
) -> None:
    settings.PARLEY_SOCKET_FRAME_RATE = 50
    settings.PARLEY_SOCKET_FRAME_BURST = 100
    room_id = str(room.public_id)
    before = await sync_to_async(Message.objects.filter(room=room).count)()
    a = await SocketClient(alice).connect()
    started = time.monotonic()
    for n in range(10_000):
        await a.send({"type": "message.send", "ref": n, "room": room_id, "body": f"{n}"})
    replies = await a.receive_until(
        lambda f: f.get("ref") == 9_999 and f["type"] in {"ack", "error"}, timeout=60
    )
    elapsed = time.monotonic() - started
    acks = [f for f in replies if f["type"] == "ack"]
    limited = [f for f in replies if f.get("code") == "rate_limited"]
    # The bucket admits its burst and then refills at the rate for as long as the burst lasts,
    # so the ceiling depends on how fast this machine works through 10,000 frames.
    assert 100 <= len(acks) <= 100 + 50 * elapsed + 1
    assert len(acks) + len(limited) == 10_000
    after = await sync_to_async(Message.objects.filter(room=room).count)()
    assert after - before == len(acks)
    await a.close()


async def test_malformed_frames_count_against_the_frame_allowance(alice, room, settings) -> None:
    """Junk that never parses costs a parse and an error reply: it spends the allowance too,
    and the next well-formed frame is refused until it refills."""
    settings.PARLEY_SOCKET_FRAME_RATE = 0.001
    settings.PARLEY_SOCKET_FRAME_BURST = 5
    a = await SocketClient(alice).connect()
    for _ in range(5):
        await a.communicator.send_to(text_data="{not json")
        assert (await a.receive())["code"] == "bad_frame"
    await a.communicator.send_to(text_data="{not json either")
    assert (await a.receive())["code"] == "rate_limited"
    reply = await a.request({"type": "ping"})
    assert reply["code"] == "rate_limited"
    await a.close()


async def test_making_a_room_staff_only_drops_it_from_non_staff_sockets(alice, bob, room) -> None:
    from chat.services.rooms import room_update

    staff = await sync_to_async(UserFactory)(username="operator", is_staff=True)
    b = await SocketClient(bob).connect()
    await sync_to_async(room_update)(staff, room=room, visibility=Room.Visibility.STAFF)
    frames = await b.receive_until(lambda f: f["type"] == "room.left")
    assert frames[-1]["room"] == str(room.public_id)
    assert await b.nothing_more()
    reply = await b.request({"type": "history.fetch", "room": str(room.public_id)})
    assert reply["code"] == "room_not_found"
    await b.close()


async def test_a_new_display_name_shows_on_what_an_open_socket_sends_next(alice, bob, room) -> None:
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()

    # Changed elsewhere (the profile page, another process): not the socket's copy of alice.
    elsewhere = await sync_to_async(type(alice).objects.get)(pk=alice.pk)
    await sync_to_async(profile_update)(elsewhere, display_name="Alice Renamed")

    # The news reaches the socket through the channel layer (Redis, with REDIS_URL), so not
    # necessarily before its next frame: within a moment, what it sends carries the new name.
    shown = []
    for attempt in range(30):
        body = f"new me {attempt}"
        await a.request({"type": "message.send", "room": str(room.public_id), "body": body})
        [new] = await b.receive_until(lambda frame: frame["type"] == "message.new")
        shown.append(new["message"]["author"]["display_name"])
        if shown[-1] == "Alice Renamed":
            break
        await asyncio.sleep(0.1)
    assert shown[-1] == "Alice Renamed", shown
    await a.close()
    await b.close()

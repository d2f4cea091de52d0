"""chat.services.reads: read markers, which only move forward."""

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts.models import User
from chat.models import Membership, Room
from chat.realtime.groups import user_group
from chat.selectors.sidebar import rooms_with_state
from chat.services.direct import direct_open
from chat.services.messages import message_post
from chat.services.reads import read_mark
from core.errors import InvalidInput, NotMember, ParleyError, RoomNotFound
from tests.factories import UserFactory, make_room


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    """A room where bob has posted three messages alice has not read (seqs 3, 4, 5)."""
    room = make_room(alice, name="General", members=[bob])
    for n in range(3):
        message_post(bob, room_id=room.public_id, body=f"message {n}")
    room.refresh_from_db()
    return room


def marker(user: User, room: Room) -> int:
    return Membership.objects.get(user=user, room=room).last_read_seq


def state_of(user: User, room: Room) -> dict:
    (state,) = [r for r in rooms_with_state(user) if r["id"] == str(room.public_id)]
    return state


# Moving the marker


@pytest.mark.django_db
def test_read_mark_moves_the_marker_forward(alice, room) -> None:
    start = marker(alice, room)

    membership = read_mark(alice, room_id=room.public_id, seq=start + 2)

    assert membership.last_read_seq == start + 2
    assert membership.user == alice
    assert membership.room.pk == room.pk
    assert marker(alice, room) == start + 2


@pytest.mark.django_db
def test_read_mark_accepts_the_room_id_as_text(alice, room) -> None:
    read_mark(alice, room_id=str(room.public_id), seq=room.last_seq)

    assert marker(alice, room) == room.last_seq


@pytest.mark.django_db
def test_read_mark_up_to_the_last_seq_is_allowed(alice, room) -> None:
    assert read_mark(alice, room_id=room.public_id, seq=room.last_seq).last_read_seq == 5
    assert marker(alice, room) == room.last_seq == 5


@pytest.mark.django_db
def test_read_mark_with_a_lower_seq_keeps_the_higher_marker(alice, room) -> None:
    read_mark(alice, room_id=room.public_id, seq=4)

    membership = read_mark(alice, room_id=room.public_id, seq=3)

    assert membership.last_read_seq == 4
    assert marker(alice, room) == 4


@pytest.mark.django_db
def test_read_mark_with_zero_keeps_the_marker(alice, room) -> None:
    read_mark(alice, room_id=room.public_id, seq=5)

    assert read_mark(alice, room_id=room.public_id, seq=0).last_read_seq == 5
    assert marker(alice, room) == 5


@pytest.mark.django_db
def test_read_mark_with_the_same_seq_keeps_the_marker(alice, room) -> None:
    read_mark(alice, room_id=room.public_id, seq=4)

    assert read_mark(alice, room_id=room.public_id, seq=4).last_read_seq == 4
    assert marker(alice, room) == 4


@pytest.mark.django_db
def test_read_mark_moves_only_the_readers_marker(alice, bob, room) -> None:
    bob_before = marker(bob, room)

    read_mark(alice, room_id=room.public_id, seq=5)

    assert marker(bob, room) == bob_before


@pytest.mark.django_db
def test_unread_count_drops_as_the_marker_moves_and_not_when_it_would_go_back(alice, room) -> None:
    assert state_of(alice, room)["unread"] == 3

    read_mark(alice, room_id=room.public_id, seq=4)
    assert (state_of(alice, room)["unread"], state_of(alice, room)["last_read_seq"]) == (1, 4)

    read_mark(alice, room_id=room.public_id, seq=5)
    assert (state_of(alice, room)["unread"], state_of(alice, room)["last_read_seq"]) == (0, 5)

    read_mark(alice, room_id=room.public_id, seq=2)
    assert (state_of(alice, room)["unread"], state_of(alice, room)["last_read_seq"]) == (0, 5)


@pytest.mark.django_db
def test_read_mark_works_in_a_direct_conversation(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")
    message_post(bob, room_id=conversation.public_id, body="hi")
    message_post(bob, room_id=conversation.public_id, body="there")
    assert state_of(alice, conversation)["unread"] == 2

    read_mark(alice, room_id=conversation.public_id, seq=1)

    assert state_of(alice, conversation)["unread"] == 1
    assert marker(alice, conversation) == 1


# Refused input


@pytest.mark.django_db
@pytest.mark.parametrize(
    "seq",
    [-1, -100, "3", "", 3.0, 2.5, True, False, None, [3], {"seq": 3}],
    ids=[
        "negative",
        "very-negative",
        "text",
        "empty-text",
        "float",
        "fraction",
        "true",
        "false",
        "none",
        "list",
        "dict",
    ],
)
def test_read_mark_with_a_seq_that_is_not_a_whole_number_is_invalid(alice, room, seq) -> None:
    read_mark(alice, room_id=room.public_id, seq=3)

    with pytest.raises(InvalidInput) as raised:
        read_mark(alice, room_id=room.public_id, seq=seq)

    assert type(raised.value) is InvalidInput
    assert raised.value.details == {"field": "seq"}
    assert marker(alice, room) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("beyond", [1, 1000])
def test_read_mark_past_the_rooms_last_seq_is_invalid(alice, room, beyond) -> None:
    read_mark(alice, room_id=room.public_id, seq=3)

    with pytest.raises(InvalidInput) as raised:
        read_mark(alice, room_id=room.public_id, seq=room.last_seq + beyond)

    assert raised.value.details == {"field": "seq"}
    assert marker(alice, room) == 3


@pytest.mark.django_db
def test_read_mark_past_the_end_of_an_empty_conversation_is_invalid(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")

    with pytest.raises(InvalidInput):
        read_mark(alice, room_id=conversation.public_id, seq=1)

    assert marker(alice, conversation) == 0


@pytest.mark.django_db
def test_read_mark_by_a_non_member_of_a_public_room_is_not_member(room) -> None:
    outsider = UserFactory()

    with pytest.raises(NotMember):
        read_mark(outsider, room_id=room.public_id, seq=1)

    assert not Membership.objects.filter(user=outsider).exists()


def _missing_room_error(user: User) -> ParleyError:
    with pytest.raises(RoomNotFound) as raised:
        read_mark(user, room_id=uuid.uuid4(), seq=0)
    return raised.value


@pytest.mark.django_db
@pytest.mark.parametrize("visibility", [Room.Visibility.INVITE, Room.Visibility.STAFF])
def test_read_mark_in_a_room_the_user_may_not_see_is_room_not_found(alice, visibility) -> None:
    hidden = make_room(name="Hidden", visibility=visibility, members=[alice])
    outsider = UserFactory(is_staff=False)

    with pytest.raises(RoomNotFound) as raised:
        read_mark(outsider, room_id=hidden.public_id, seq=1)

    assert type(raised.value) is RoomNotFound
    assert raised.value.message == _missing_room_error(outsider).message


@pytest.mark.django_db
def test_read_mark_in_someone_elses_conversation_is_room_not_found(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")
    message_post(bob, room_id=conversation.public_id, body="hi")
    staff = UserFactory(is_staff=True)

    with pytest.raises(RoomNotFound) as raised:
        read_mark(staff, room_id=conversation.public_id, seq=1)

    assert type(raised.value) is RoomNotFound
    assert raised.value.message == _missing_room_error(staff).message


@pytest.mark.django_db
@pytest.mark.parametrize("room_id", ["", "not-a-uuid", "1", None, 7, "x" * 100])
def test_read_mark_with_a_malformed_room_id_is_room_not_found(alice, room_id) -> None:
    with pytest.raises(RoomNotFound):
        read_mark(alice, room_id=room_id, seq=0)


# What is published


NO_MENTIONS = {"unread_mentions": 0}


async def _read_events(channel: str, room: Room) -> list[dict]:
    """The read.updated frames for `room` that reach `channel` within a short wait."""
    layer = get_channel_layer()
    frames: list[dict] = []
    while True:
        try:
            event = await asyncio.wait_for(layer.receive(channel), timeout=1)
        except TimeoutError:
            return frames
        frame = json.loads(event["text"])
        if event["type"] == "read.updated" and frame["room"] == str(room.public_id):
            frames.append(frame)


@pytest.mark.django_db(transaction=True)
async def test_only_marks_that_move_the_marker_reach_the_users_other_tabs() -> None:
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    room = await database_sync_to_async(make_room)(alice, name="General", members=[bob])
    for n in range(3):
        await database_sync_to_async(message_post)(bob, room_id=room.public_id, body=f"m{n}")
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(user_group(alice.pk), channel)
    mark = database_sync_to_async(read_mark)

    moved = await mark(alice, room_id=room.public_id, seq=4)
    backwards = await mark(alice, room_id=room.public_id, seq=3)
    same = await mark(alice, room_id=room.public_id, seq=4)
    to_end = await mark(alice, room_id=room.public_id, seq=5)

    assert [m.last_read_seq for m in (moved, backwards, same, to_end)] == [4, 4, 4, 5]
    room_id = str(room.public_id)
    assert await _read_events(channel, room) == [
        {"type": "read.updated", "room": room_id, "last_read_seq": 4, "unread": 1, **NO_MENTIONS},
        {"type": "read.updated", "room": room_id, "last_read_seq": 5, "unread": 0, **NO_MENTIONS},
    ]
    await layer.group_discard(user_group(alice.pk), channel)

"""chat.services.typing: "someone is typing", only where that someone could post."""

import asyncio
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from accounts.models import User
from chat.models import Room
from chat.realtime.groups import room_group
from chat.services.direct import direct_open
from chat.services.rooms import room_update
from chat.services.typing import typing_start
from core.errors import NotMember, RoomArchived, RoomNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


def listen(room: Room) -> str:
    """A channel in the room's group, as a member's socket is."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(room_group(room.public_id), channel)
    return channel


def heard(channel: str) -> list[dict[str, Any]]:
    """The events the channel received, waiting briefly for the last one."""

    async def drain() -> list[dict[str, Any]]:
        events = []
        while True:
            try:
                events.append(await asyncio.wait_for(get_channel_layer().receive(channel), 0.2))
            except TimeoutError:
                return events

    return async_to_sync(drain)()


def test_a_member_typing_is_announced_to_the_room(alice: User, bob: User) -> None:
    room = make_room(alice, members=[bob])
    channel = listen(room)

    typing_start(bob, room_id=str(room.public_id))

    (event,) = heard(channel)
    assert (event["type"], event["room"]) == ("typing.started", str(room.public_id))
    assert json.loads(event["text"]) == {
        "type": "typing",
        "room": str(room.public_id),
        "user": {"username": "bob", "display_name": "Bob"},
        "expires_in": settings.PARLEY_TYPING_EXPIRY,
    }


def test_the_room_is_named_by_its_canonical_id_however_it_was_given(alice: User) -> None:
    room = make_room(alice)
    channel = listen(room)

    typing_start(alice, room_id=str(room.public_id).upper())
    typing_start(alice, room_id=room.public_id)

    assert [event["room"] for event in heard(channel)] == [str(room.public_id)] * 2


def test_typing_in_a_direct_conversation_is_announced(alice: User, bob: User) -> None:
    conversation = direct_open(alice, username="bob")
    channel = listen(conversation)

    typing_start(bob, room_id=conversation.public_id)

    assert [event["type"] for event in heard(channel)] == ["typing.started"]


def test_typing_in_an_archived_room_is_refused(alice: User, bob: User) -> None:
    room = make_room(alice, members=[bob])
    room_update(alice, room=room, is_archived=True)
    channel = listen(room)

    with pytest.raises(RoomArchived):
        typing_start(bob, room_id=room.public_id)

    assert heard(channel) == []


def test_typing_in_a_public_room_one_has_not_joined_is_not_member(alice: User) -> None:
    room = make_room(alice)
    channel = listen(room)

    with pytest.raises(NotMember):
        typing_start(UserFactory(), room_id=room.public_id)

    assert heard(channel) == []


@pytest.mark.parametrize("visibility", [Room.Visibility.INVITE, Room.Visibility.STAFF])
def test_typing_in_a_room_one_may_not_see_is_room_not_found(visibility) -> None:
    room = make_room(visibility=visibility)
    channel = listen(room)

    with pytest.raises(RoomNotFound):
        typing_start(UserFactory(is_staff=False), room_id=room.public_id)

    assert heard(channel) == []


def test_typing_in_someone_elses_conversation_is_room_not_found(alice: User, bob: User) -> None:
    conversation = direct_open(alice, username="bob")
    channel = listen(conversation)

    with pytest.raises(RoomNotFound):
        typing_start(UserFactory(is_staff=True), room_id=conversation.public_id)

    assert heard(channel) == []


def test_a_deactivated_member_typing_is_room_not_found(alice: User, bob: User) -> None:
    room = make_room(alice, members=[bob])
    bob.is_active = False
    bob.save()
    channel = listen(room)

    with pytest.raises(RoomNotFound):
        typing_start(bob, room_id=room.public_id)

    assert heard(channel) == []


@pytest.mark.parametrize("room_id", ["nope", str(uuid.UUID(int=0)), None, 7])
def test_typing_in_a_malformed_or_unknown_room_is_room_not_found(alice: User, room_id) -> None:
    with pytest.raises(RoomNotFound):
        typing_start(alice, room_id=room_id)

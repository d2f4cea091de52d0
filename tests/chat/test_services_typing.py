"""chat.services.typing: "someone is typing", only where that someone could post."""

import asyncio
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from accounts.models import User
from chat.models import Room
from chat.realtime.groups import room_group
from chat.services.direct import direct_open
from chat.services.rooms import room_update
from chat.services.typing import typing_start
from core.errors import NotMember, ParleyError, RoomArchived, RoomNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


def typing_heard(user: User, room: Room, room_id: object) -> tuple[list[dict[str, Any]], str]:
    """What a channel in the room's group (as a member's socket is) heard when `user` started
    typing, and "ok" or the code of the error that refused it.

    One event loop throughout, as the Redis layer needs; the service runs in this thread, so it
    sees the test's transaction.
    """

    async def listen() -> tuple[list[dict[str, Any]], str]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(room_group(room.public_id), channel)
        try:
            await sync_to_async(typing_start)(user, room_id=room_id)
            answer = "ok"
        except ParleyError as error:
            answer = error.code
        events = []
        while True:
            try:
                events.append(await asyncio.wait_for(layer.receive(channel), 0.2))
            except TimeoutError:
                await layer.group_discard(room_group(room.public_id), channel)
                return events, answer

    return async_to_sync(listen)()


def test_a_member_typing_is_announced_to_the_room(alice: User, bob: User) -> None:
    room = make_room(alice, members=[bob])

    (event,), answer = typing_heard(bob, room, str(room.public_id))

    assert answer == "ok"
    assert (event["type"], event["room"]) == ("typing.started", str(room.public_id))
    assert json.loads(event["text"]) == {
        "type": "typing",
        "room": str(room.public_id),
        "user": {"username": "bob", "display_name": "Bob"},
        "expires_in": settings.PARLEY_TYPING_EXPIRY,
    }


@pytest.mark.parametrize("spelling", [str.upper, uuid.UUID], ids=["upper-case", "uuid"])
def test_the_room_is_named_by_its_canonical_id_however_it_was_given(alice: User, spelling) -> None:
    room = make_room(alice)

    events, _ = typing_heard(alice, room, spelling(str(room.public_id)))

    assert [event["room"] for event in events] == [str(room.public_id)]


def test_typing_in_a_direct_conversation_is_announced(alice: User, bob: User) -> None:
    conversation = direct_open(alice, username="bob")

    events, answer = typing_heard(bob, conversation, conversation.public_id)

    assert ([event["type"] for event in events], answer) == (["typing.started"], "ok")


def test_typing_in_an_archived_room_is_room_archived(alice: User, bob: User) -> None:
    room = make_room(alice, members=[bob])
    room_update(alice, room=room, is_archived=True)

    assert typing_heard(bob, room, room.public_id) == ([], RoomArchived.code)


def test_typing_in_a_public_room_one_has_not_joined_is_not_member(alice: User) -> None:
    room = make_room(alice)

    assert typing_heard(UserFactory(), room, room.public_id) == ([], NotMember.code)


@pytest.mark.parametrize("visibility", [Room.Visibility.INVITE, Room.Visibility.STAFF])
def test_typing_in_a_room_one_may_not_see_is_room_not_found(visibility) -> None:
    room = make_room(visibility=visibility)
    outsider = UserFactory(is_staff=False)

    assert typing_heard(outsider, room, room.public_id) == ([], RoomNotFound.code)


def test_typing_in_someone_elses_conversation_is_room_not_found(alice: User, bob: User) -> None:
    conversation = direct_open(alice, username="bob")
    staff = UserFactory(is_staff=True)

    assert typing_heard(staff, conversation, conversation.public_id) == ([], RoomNotFound.code)


def test_a_deactivated_member_typing_is_room_not_found(alice: User, bob: User) -> None:
    room = make_room(alice, members=[bob])
    bob.is_active = False
    bob.save()

    assert typing_heard(bob, room, room.public_id) == ([], RoomNotFound.code)


@pytest.mark.parametrize("room_id", ["nope", str(uuid.UUID(int=0)), None, 7])
def test_typing_in_a_malformed_or_unknown_room_is_room_not_found(alice: User, room_id) -> None:
    with pytest.raises(RoomNotFound):
        typing_start(alice, room_id=room_id)

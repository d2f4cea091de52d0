"""Search never returns entries of rooms the user may not read (docs/protocol.md, search).

It reads what history.fetch reads: rooms the user can see and is a member of. Every room here
holds the same word; only the rooms the user may read may answer.
"""

import pytest

from accounts.models import User
from chat.models import Room
from chat.selectors.search import search_messages
from chat.services.direct import direct_open
from chat.services.messages import message_post
from chat.services.rooms import member_remove, room_join, room_leave, room_update
from core.errors import NotMember, RoomNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db

WORD = "zanzibar"


@pytest.fixture
def staff() -> User:
    return UserFactory(username="sam", is_staff=True)


def say(user: User, room: Room, text: str = WORD) -> None:
    message_post(user, room_id=room.public_id, body=f"{text} in {room.name or 'direct'}")


def rooms_found(user: User, **filters: object) -> set[str]:
    page = search_messages(user, query=WORD, limit=50, **filters)
    return {hit.message.room.name or str(hit.message.room.public_id) for hit in page.hits}


def test_only_rooms_the_user_reads_answer(alice: User, bob: User, staff: User) -> None:
    carol = UserFactory(username="carol")
    mine = make_room(name="Mine", members=[alice, bob])
    public_not_joined = make_room(name="Public", members=[bob])
    invite_only = make_room(name="Invite", visibility=Room.Visibility.INVITE, members=[bob])
    staff_only = make_room(staff, name="Staff", visibility=Room.Visibility.STAFF)
    staff_not_joined = make_room(name="Other staff", visibility=Room.Visibility.STAFF)
    for room, author in [
        (mine, bob),
        (public_not_joined, bob),
        (invite_only, bob),
        (staff_only, staff),
        (staff_not_joined, staff_not_joined.created_by),
    ]:
        say(author, room)
    others_direct = direct_open(bob, username="carol")
    message_post(carol, room_id=others_direct.public_id, body=f"{WORD} between bob and carol")
    own_direct = direct_open(alice, username="bob")
    message_post(bob, room_id=own_direct.public_id, body=f"{WORD} for alice")

    assert rooms_found(alice) == {"Mine", str(own_direct.public_id)}
    assert rooms_found(carol) == {str(others_direct.public_id)}
    # Staff see a staff-only room but, as for history, only search it once they are in it.
    assert rooms_found(staff) == {"Staff"}


def test_a_room_left_is_no_longer_searched(alice: User, bob: User) -> None:
    room = make_room(name="Left", members=[alice, bob])
    say(alice, room)
    assert rooms_found(alice) == {"Left"}

    room_leave(alice, room_id=room.public_id)
    assert rooms_found(alice) == set()
    with pytest.raises(NotMember):
        search_messages(alice, query=WORD, room_id=str(room.public_id))

    # Back in, the whole timeline is readable again, as it is for history.
    room_join(alice, room_id=room.public_id)
    assert rooms_found(alice) == {"Left"}


def test_a_member_removed_from_an_invite_only_room_finds_nothing_there(
    alice: User, bob: User, staff: User
) -> None:
    room = make_room(staff, name="Private", visibility=Room.Visibility.INVITE, members=[alice])
    say(alice, room)
    member_remove(staff, room=room, user=alice)

    assert rooms_found(alice) == set()
    with pytest.raises(RoomNotFound):
        search_messages(alice, query=WORD, room_id=str(room.public_id))


def test_a_member_who_loses_sight_of_a_room_finds_nothing_there(alice: User, staff: User) -> None:
    room = make_room(staff, name="Turned", members=[alice])
    say(alice, room)
    # Made staff-only while alice, not staff, is still a member: she may no longer see it.
    room_update(staff, room=room, visibility=Room.Visibility.STAFF)

    assert rooms_found(alice) == set()
    assert rooms_found(staff) == {"Turned"}


def test_archived_rooms_stay_searchable_like_their_history(alice: User, staff: User) -> None:
    room = make_room(staff, name="Old", members=[alice])
    say(alice, room)
    room_update(staff, room=room, is_archived=True)

    assert rooms_found(alice) == {"Old"}


def test_an_inactive_user_finds_nothing(alice: User, bob: User) -> None:
    room = make_room(name="Mine", members=[alice])
    say(alice, room)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert rooms_found(alice) == set()


def test_the_author_filter_does_not_reach_rooms_the_user_cannot_read(
    alice: User, bob: User
) -> None:
    shared = make_room(name="Shared", members=[alice, bob])
    hidden = make_room(name="Hidden", visibility=Room.Visibility.INVITE, members=[bob])
    say(bob, shared)
    say(bob, hidden)

    assert rooms_found(alice, author="bob") == {"Shared"}

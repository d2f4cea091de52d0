"""chat.selectors.rooms: the room directory and a user's own rooms."""

import pytest

from chat.models import Room
from chat.selectors.rooms import rooms_directory, rooms_of_user
from chat.services.rooms import member_add, room_leave, room_update
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


def names(rooms: object) -> list[str]:
    return [room.name for room in rooms]


def test_directory_lists_public_rooms_by_name_to_anyone() -> None:
    make_room(name="Random")
    make_room(name="General")

    assert names(rooms_directory(UserFactory())) == ["General", "Random"]


def test_directory_hides_staff_only_rooms_from_non_staff() -> None:
    make_room(name="General")
    make_room(name="Staff lounge", visibility=Room.Visibility.STAFF)

    assert names(rooms_directory(UserFactory(is_staff=False))) == ["General"]


def test_directory_shows_staff_only_rooms_to_staff() -> None:
    make_room(name="General")
    make_room(name="Staff lounge", visibility=Room.Visibility.STAFF)

    assert names(rooms_directory(UserFactory(is_staff=True))) == ["General", "Staff lounge"]


def test_directory_hides_staff_only_rooms_from_a_non_staff_member() -> None:
    staff = UserFactory(is_staff=True)
    outsider = UserFactory(is_staff=False)
    room = make_room(staff, name="Staff lounge", visibility=Room.Visibility.STAFF)
    member_add(staff, room=room, user=outsider)

    assert names(rooms_directory(outsider)) == []


def test_directory_hides_invite_only_rooms_from_non_members() -> None:
    make_room(name="General")
    make_room(name="Founders", visibility=Room.Visibility.INVITE)

    assert names(rooms_directory(UserFactory())) == ["General"]
    assert names(rooms_directory(UserFactory(is_staff=True))) == ["General"]


def test_directory_shows_invite_only_rooms_to_their_members() -> None:
    invited = UserFactory()
    make_room(name="General")
    make_room(name="Founders", visibility=Room.Visibility.INVITE, members=[invited])

    assert names(rooms_directory(invited)) == ["Founders", "General"]


def test_directory_hides_archived_rooms_even_from_members() -> None:
    admin = UserFactory()
    room = make_room(admin, name="Old")
    make_room(name="General")
    room_update(admin, room=room, is_archived=True)

    assert names(rooms_directory(admin)) == ["General"]
    assert names(rooms_directory(UserFactory())) == ["General"]


def test_directory_annotates_is_member_and_member_count() -> None:
    viewer = UserFactory()
    make_room(name="Busy", members=[viewer, UserFactory(), UserFactory()])
    make_room(name="Quiet")

    listed = {room.name: (room.is_member, room.member_count) for room in rooms_directory(viewer)}

    # make_room's creator is a member too.
    assert listed == {"Busy": (True, 4), "Quiet": (False, 1)}


def test_directory_lists_each_room_once_whatever_its_member_count() -> None:
    make_room(name="Busy", members=[UserFactory() for _ in range(5)])

    assert names(rooms_directory(UserFactory())) == ["Busy"]


def test_member_count_drops_when_a_member_leaves() -> None:
    leaver = UserFactory()
    room = make_room(name="General", members=[leaver])
    room_leave(leaver, room_id=room.public_id)

    (listed,) = rooms_directory(leaver)

    assert (listed.is_member, listed.member_count) == (False, 1)


def test_rooms_of_user_lists_only_the_users_rooms_most_recently_active_first() -> None:
    from chat.services.messages import message_post

    user = UserFactory()
    quiet = make_room(name="Quiet", members=[user])
    busy = make_room(name="Busy", members=[user])
    make_room(name="Elsewhere")
    for n in range(3):
        message_post(user, room_id=quiet.public_id, body=f"{n}")

    assert names(rooms_of_user(user)) == ["Quiet", "Busy"]
    assert busy in rooms_of_user(user)


def test_rooms_of_user_include_invite_only_and_archived_rooms_they_are_in() -> None:
    admin = UserFactory()
    user = UserFactory()
    make_room(admin, name="Founders", visibility=Room.Visibility.INVITE, members=[user])
    archived = make_room(admin, name="Old", members=[user])
    room_update(admin, room=archived, is_archived=True)

    assert sorted(names(rooms_of_user(user))) == ["Founders", "Old"]


def test_rooms_of_user_is_empty_for_a_new_user_and_after_leaving() -> None:
    user = UserFactory()
    room = make_room(members=[user])
    room_leave(user, room_id=room.public_id)

    assert list(rooms_of_user(user)) == []
    assert list(rooms_of_user(UserFactory())) == []


def test_rooms_of_user_hides_staff_only_rooms_from_a_non_staff_member() -> None:
    staff = UserFactory(is_staff=True)
    outsider = UserFactory(is_staff=False)
    room = make_room(staff, name="Staff lounge", visibility=Room.Visibility.STAFF)
    member_add(staff, room=room, user=outsider)

    assert list(rooms_of_user(outsider)) == []
    assert names(rooms_of_user(staff)) == ["Staff lounge"]

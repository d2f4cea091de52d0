"""chat.selectors.members: a room's member list, and who of them is online."""

import uuid

import pytest
from asgiref.sync import async_to_sync

from accounts.models import User
from chat.models import Membership, Room
from chat.realtime import presence
from chat.selectors.members import room_members, room_members_with_presence
from chat.services.direct import direct_open
from chat.services.rooms import member_set_role, room_leave
from core.errors import NotMember, RoomNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice", display_name="Alice Liddell")


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob", display_name="Bob Builder")


def test_room_members_lists_members_by_username_with_their_role(alice, bob) -> None:
    carol = UserFactory(username="carol", display_name="")
    dave = UserFactory(username="dave")
    room = make_room(dave, name="General", members=[carol, bob, alice])
    member_set_role(dave, room=room, user=bob, role=Membership.Role.ADMIN)
    room_leave(dave, room_id=room.public_id)

    members = room_members(alice, room_id=room.public_id)

    assert members == [
        {
            "user_id": alice.pk,
            "username": "alice",
            "display_name": "Alice Liddell",
            "role": Membership.Role.MEMBER,
        },
        {
            "user_id": bob.pk,
            "username": "bob",
            "display_name": "Bob Builder",
            "role": Membership.Role.ADMIN,
        },
        {
            "user_id": carol.pk,
            "username": "carol",
            "display_name": "carol",
            "role": Membership.Role.MEMBER,
        },
    ]


def test_room_members_sorts_usernames_regardless_of_case() -> None:
    zed = UserFactory(username="Zed")
    alice = UserFactory(username="alice")
    room = make_room(UserFactory(username="mallory"), name="General", members=[zed, alice])

    names = [m["username"] for m in room_members(alice, room_id=room.public_id)]

    assert names == ["alice", "mallory", "Zed"]


def test_room_members_of_a_direct_conversation_are_the_two_people(alice, bob) -> None:
    conversation = direct_open(bob, username="alice")

    for user in (alice, bob):
        names = [m["username"] for m in room_members(user, room_id=str(conversation.public_id))]
        assert names == ["alice", "bob"]


def test_room_members_leaves_out_people_who_left(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    room_leave(bob, room_id=room.public_id)

    assert "bob" not in [m["username"] for m in room_members(alice, room_id=room.public_id)]


def test_room_members_refuses_a_non_member_of_a_public_room(alice) -> None:
    room = make_room(name="General", members=[alice])

    with pytest.raises(NotMember):
        room_members(UserFactory(), room_id=room.public_id)


@pytest.mark.parametrize("visibility", [Room.Visibility.INVITE, Room.Visibility.STAFF])
def test_room_members_of_a_room_the_user_may_not_see_is_room_not_found(alice, visibility) -> None:
    hidden = make_room(name="Hidden", visibility=visibility, members=[alice])
    outsider = UserFactory(is_staff=False)
    with pytest.raises(RoomNotFound) as missing:
        room_members(outsider, room_id=uuid.uuid4())

    with pytest.raises(RoomNotFound) as refused:
        room_members(outsider, room_id=hidden.public_id)

    assert type(refused.value) is RoomNotFound
    assert refused.value.message == missing.value.message


def test_room_members_of_someone_elses_conversation_is_room_not_found(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")

    with pytest.raises(RoomNotFound):
        room_members(UserFactory(is_staff=True), room_id=conversation.public_id)


# With presence


async def go_online(user: User) -> None:
    await presence.store().touch(user.pk, f"socket-of-{user.username}")


def test_members_with_presence_say_who_is_online_and_how_many(alice, bob) -> None:
    carol = UserFactory(username="carol", display_name="")
    room = make_room(alice, name="General", members=[bob, carol])
    async_to_sync(go_online)(bob)
    async_to_sync(go_online)(carol)

    member_list = room_members_with_presence(alice, room_id=room.public_id)

    assert member_list == {
        "members": [
            {
                "username": "alice",
                "display_name": "Alice Liddell",
                "role": "admin",
                "online": False,
            },
            {"username": "bob", "display_name": "Bob Builder", "role": "member", "online": True},
            {"username": "carol", "display_name": "carol", "role": "member", "online": True},
        ],
        "online_count": 2,
    }


def test_members_with_presence_do_not_count_people_online_elsewhere(alice, bob) -> None:
    room = make_room(alice, name="General")
    async_to_sync(go_online)(bob)

    member_list = room_members_with_presence(alice, room_id=room.public_id)

    assert member_list["online_count"] == 0
    assert [member["username"] for member in member_list["members"]] == ["alice"]


def test_members_with_presence_pass_the_gate(alice, bob) -> None:
    hidden = make_room(name="Hidden", visibility=Room.Visibility.INVITE, members=[alice])
    public = make_room(name="General", members=[alice])

    with pytest.raises(RoomNotFound):
        room_members_with_presence(bob, room_id=hidden.public_id)
    with pytest.raises(NotMember):
        room_members_with_presence(bob, room_id=public.public_id)

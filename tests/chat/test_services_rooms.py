"""chat.services.rooms: creating, joining, leaving, membership and what operators change."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chat.models import Membership, Message, Room
from chat.services.rooms import (
    member_add,
    member_remove,
    member_set_role,
    room_create,
    room_delete,
    room_join,
    room_leave,
    room_update,
)
from core.errors import (
    AlreadyMember,
    Forbidden,
    InvalidInput,
    NotMember,
    RoomArchived,
    RoomNotFound,
)
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@contextmanager
def nothing_written() -> Iterator[None]:
    """Asserts that the block changed no room, membership or timeline row count or seq."""
    rooms = list(Room.objects.order_by("pk").values_list("pk", "name", "last_seq", "is_archived"))
    memberships = list(Membership.objects.order_by("pk").values_list("pk", "role"))
    messages = Message.objects.count()
    yield
    assert (
        list(Room.objects.order_by("pk").values_list("pk", "name", "last_seq", "is_archived"))
        == rooms
    )
    assert list(Membership.objects.order_by("pk").values_list("pk", "role")) == memberships
    assert Message.objects.count() == messages


def timeline(room: Room) -> list[tuple[int, str, int | None, str]]:
    return list(
        Message.objects.filter(room=room)
        .order_by("seq")
        .values_list("seq", "kind", "author_id", "body")
    )


# room_create


def test_room_create_makes_creator_an_admin_member_with_a_joined_line_at_seq_1() -> None:
    creator = UserFactory()

    room = room_create(creator, name="General")

    room.refresh_from_db()
    assert room.name == "General"
    assert room.kind == Room.Kind.GROUP
    assert room.visibility == Room.Visibility.PUBLIC
    assert room.created_by == creator
    assert room.last_seq == 1
    membership = Membership.objects.get(room=room)
    assert membership.user == creator
    assert membership.role == Membership.Role.ADMIN
    assert membership.last_read_seq == 1
    assert timeline(room) == [(1, Message.Kind.JOINED, creator.pk, "")]


def test_room_create_without_join_has_no_members_and_an_empty_timeline() -> None:
    room = room_create(UserFactory(is_staff=True), name="Lobby", join=False)

    room.refresh_from_db()
    assert room.last_seq == 0
    assert not Membership.objects.filter(room=room).exists()
    assert timeline(room) == []


def test_room_create_collapses_whitespace_in_the_name() -> None:
    room = room_create(UserFactory(), name="  Design \t  review \n")

    assert Room.objects.get(pk=room.pk).name == "Design review"


def test_room_create_accepts_a_name_of_exactly_80_characters() -> None:
    room = room_create(UserFactory(), name="n" * 80)

    assert Room.objects.get(pk=room.pk).name == "n" * 80


@pytest.mark.parametrize("taken_as", ["General", "general", "GENERAL", "  General  "])
def test_room_create_with_a_taken_name_is_invalid_input_and_writes_nothing(taken_as: str) -> None:
    make_room(name="General")
    user = UserFactory()

    with nothing_written(), pytest.raises(InvalidInput) as raised:
        room_create(user, name=taken_as)

    assert raised.value.code == "invalid"
    assert raised.value.details == {"field": "name"}
    assert "already exists" in raised.value.message
    assert Room.objects.count() == 1


@pytest.mark.parametrize("name", ["!!!", "\U0001f4ac"], ids=["punctuation", "emoji"])
def test_room_create_with_a_taken_name_without_letters_is_invalid_input(name: str) -> None:
    user = UserFactory()
    room_create(user, name=name)

    with nothing_written(), pytest.raises(InvalidInput):
        room_create(user, name=name)


def test_room_create_staff_only_by_non_staff_is_forbidden_and_writes_nothing() -> None:
    user = UserFactory(is_staff=False)

    with nothing_written(), pytest.raises(Forbidden):
        room_create(user, name="Staff lounge", visibility=Room.Visibility.STAFF)

    assert not Room.objects.exists()


def test_room_create_staff_only_by_staff_works() -> None:
    room = room_create(UserFactory(is_staff=True), name="Staff lounge", visibility="staff")

    assert Room.objects.get(pk=room.pk).visibility == Room.Visibility.STAFF


def test_room_create_with_an_unknown_visibility_is_invalid_input() -> None:
    with nothing_written(), pytest.raises(InvalidInput) as raised:
        room_create(UserFactory(), name="Secret", visibility="secret")

    assert raised.value.details == {"field": "visibility"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("   \t\n ", id="whitespace-only"),
        pytest.param("\u200b\u200d \u3164", id="zero-width-and-blank-glyphs-only"),
        pytest.param("n" * 81, id="81-characters"),
        pytest.param("bad\x00name", id="nul"),
        pytest.param("bell\x07", id="bell"),
        pytest.param("esc\x1b[31m", id="escape"),
        pytest.param("del\x7f", id="del"),
        pytest.param("lone \ud800 surrogate", id="lone-surrogate"),
        pytest.param(None, id="none"),
        pytest.param(42, id="int"),
        pytest.param(["General"], id="list"),
    ],
)
def test_room_create_with_an_invalid_name_is_refused_and_writes_nothing(name: object) -> None:
    user = UserFactory()

    with nothing_written(), pytest.raises(InvalidInput) as raised:
        room_create(user, name=name)

    assert raised.value.details == {"field": "name"}
    assert not Room.objects.exists()


# room_join


def test_room_join_writes_a_joined_line_and_sets_last_read_seq_to_it() -> None:
    room = make_room(members=[UserFactory()])
    joiner = UserFactory()
    seq_before = room.last_seq

    membership = room_join(joiner, room_id=room.public_id)

    room.refresh_from_db()
    assert room.last_seq == seq_before + 1
    assert membership.role == Membership.Role.MEMBER
    assert membership.last_read_seq == room.last_seq
    assert Membership.objects.get(room=room, user=joiner).last_read_seq == room.last_seq
    assert timeline(room)[-1] == (room.last_seq, Message.Kind.JOINED, joiner.pk, "")


def test_room_join_accepts_the_room_id_as_a_string() -> None:
    room = make_room()
    joiner = UserFactory()

    room_join(joiner, room_id=str(room.public_id))

    assert Membership.objects.filter(room=room, user=joiner).exists()


def test_joining_twice_raises_already_member_and_writes_nothing() -> None:
    joiner = UserFactory()
    room = make_room(members=[joiner])

    with nothing_written(), pytest.raises(AlreadyMember):
        room_join(joiner, room_id=room.public_id)


def test_room_creator_joining_again_raises_already_member() -> None:
    creator = UserFactory()
    room = make_room(creator)

    with nothing_written(), pytest.raises(AlreadyMember):
        room_join(creator, room_id=room.public_id)


def test_joining_an_invite_only_room_you_are_not_in_is_room_not_found() -> None:
    room = make_room(visibility=Room.Visibility.INVITE)

    with nothing_written(), pytest.raises(RoomNotFound):
        room_join(UserFactory(), room_id=room.public_id)


def test_joining_a_staff_only_room_as_non_staff_is_room_not_found() -> None:
    room = make_room(visibility=Room.Visibility.STAFF)

    with nothing_written(), pytest.raises(RoomNotFound):
        room_join(UserFactory(is_staff=False), room_id=room.public_id)


def test_joining_a_staff_only_room_as_staff_works() -> None:
    room = make_room(visibility=Room.Visibility.STAFF)
    staff = UserFactory(is_staff=True)

    room_join(staff, room_id=room.public_id)

    assert Membership.objects.filter(room=room, user=staff).exists()
    assert timeline(room)[-1][1:3] == (Message.Kind.JOINED, staff.pk)


def test_joining_an_archived_room_is_room_archived_and_writes_nothing() -> None:
    creator = UserFactory()
    room = make_room(creator)
    room_update(creator, room=room, is_archived=True)

    with nothing_written(), pytest.raises(RoomArchived):
        room_join(UserFactory(), room_id=room.public_id)


def test_joining_as_an_inactive_user_is_room_not_found() -> None:
    room = make_room()

    with nothing_written(), pytest.raises(RoomNotFound):
        room_join(UserFactory(is_active=False), room_id=room.public_id)


@pytest.mark.parametrize(
    "room_id",
    [
        pytest.param("not-a-uuid", id="malformed"),
        pytest.param("", id="empty"),
        pytest.param("1", id="digit"),
        pytest.param("a" * 1000, id="very-long"),
        pytest.param(None, id="none"),
        pytest.param(1, id="int-primary-key"),
        pytest.param(["x"], id="list"),
        pytest.param(uuid.uuid4(), id="random-uuid"),
        pytest.param(str(uuid.uuid4()), id="random-uuid-string"),
    ],
)
def test_joining_with_a_malformed_or_unknown_room_id_is_room_not_found(room_id: object) -> None:
    make_room()

    with nothing_written(), pytest.raises(RoomNotFound):
        room_join(UserFactory(), room_id=room_id)


# room_leave


def test_room_leave_removes_membership_and_writes_a_left_line() -> None:
    leaver = UserFactory()
    room = make_room(members=[leaver])
    seq_before = room.last_seq

    room_leave(leaver, room_id=room.public_id)

    room.refresh_from_db()
    assert not Membership.objects.filter(room=room, user=leaver).exists()
    assert room.last_seq == seq_before + 1
    assert timeline(room)[-1] == (seq_before + 1, Message.Kind.LEFT, leaver.pk, "")


def test_leaving_a_room_you_are_not_in_is_not_member_and_writes_nothing() -> None:
    room = make_room(members=[UserFactory()])

    with nothing_written(), pytest.raises(NotMember):
        room_leave(UserFactory(), room_id=room.public_id)


def test_leaving_twice_is_not_member_the_second_time() -> None:
    leaver = UserFactory()
    room = make_room(members=[leaver])
    room_leave(leaver, room_id=room.public_id)

    with nothing_written(), pytest.raises(NotMember):
        room_leave(leaver, room_id=room.public_id)


def test_leaving_an_unknown_room_is_room_not_found() -> None:
    with nothing_written(), pytest.raises(RoomNotFound):
        room_leave(UserFactory(), room_id=uuid.uuid4())


def test_after_leaving_an_invite_only_room_it_cannot_be_joined_again() -> None:
    creator = UserFactory()
    invited = UserFactory()
    room = make_room(creator, visibility=Room.Visibility.INVITE, members=[invited])
    room_leave(invited, room_id=room.public_id)

    with nothing_written(), pytest.raises(RoomNotFound):
        room_join(invited, room_id=room.public_id)


# member_add / member_remove / member_set_role


def test_room_admin_adds_a_member_to_an_invite_only_room_with_a_joined_line() -> None:
    admin = UserFactory()
    room = make_room(admin, visibility=Room.Visibility.INVITE)
    invited = UserFactory()

    membership = member_add(admin, room=room, user=invited)

    room.refresh_from_db()
    assert membership.role == Membership.Role.MEMBER
    assert membership.last_read_seq == room.last_seq
    assert Membership.objects.filter(room=room, user=invited).exists()
    assert timeline(room)[-1] == (room.last_seq, Message.Kind.JOINED, invited.pk, "")


def test_staff_who_is_not_a_member_may_add_members_with_a_role() -> None:
    room = make_room(UserFactory(), visibility=Room.Visibility.INVITE)
    staff = UserFactory(is_staff=True)
    invited = UserFactory()

    member_add(staff, room=room, user=invited, role=Membership.Role.ADMIN)

    assert Membership.objects.get(room=room, user=invited).role == Membership.Role.ADMIN


@pytest.mark.parametrize("actor_kind", ["plain-member", "non-member"])
def test_member_add_by_a_user_who_is_not_room_admin_or_staff_is_forbidden(actor_kind: str) -> None:
    plain_member = UserFactory()
    room = make_room(UserFactory(), members=[plain_member])
    actor = plain_member if actor_kind == "plain-member" else UserFactory()

    with nothing_written(), pytest.raises(Forbidden):
        member_add(actor, room=room, user=UserFactory())


def test_member_add_of_an_existing_member_is_already_member() -> None:
    admin = UserFactory()
    member = UserFactory()
    room = make_room(admin, members=[member])

    with nothing_written(), pytest.raises(AlreadyMember):
        member_add(admin, room=room, user=member)


def test_member_add_with_an_unknown_role_is_invalid_input() -> None:
    admin = UserFactory()
    room = make_room(admin)

    with nothing_written(), pytest.raises(InvalidInput):
        member_add(admin, room=room, user=UserFactory(), role="owner")


def test_room_admin_removes_a_member_with_a_left_line() -> None:
    admin = UserFactory()
    member = UserFactory()
    room = make_room(admin, members=[member])
    seq_before = room.last_seq

    member_remove(admin, room=room, user=member)

    room.refresh_from_db()
    assert not Membership.objects.filter(room=room, user=member).exists()
    assert timeline(room)[-1] == (seq_before + 1, Message.Kind.LEFT, member.pk, "")


def test_staff_removes_a_member_of_a_room_they_are_not_in() -> None:
    member = UserFactory()
    room = make_room(UserFactory(), members=[member])

    member_remove(UserFactory(is_staff=True), room=room, user=member)

    assert not Membership.objects.filter(room=room, user=member).exists()


@pytest.mark.parametrize("actor_kind", ["plain-member", "non-member"])
def test_member_remove_by_a_user_who_is_not_room_admin_or_staff_is_forbidden(
    actor_kind: str,
) -> None:
    admin = UserFactory()
    plain_member = UserFactory()
    room = make_room(admin, members=[plain_member])
    actor = plain_member if actor_kind == "plain-member" else UserFactory()

    with nothing_written(), pytest.raises(Forbidden):
        member_remove(actor, room=room, user=admin)


def test_member_remove_of_a_non_member_is_not_member_and_writes_nothing() -> None:
    admin = UserFactory()
    room = make_room(admin)

    with nothing_written(), pytest.raises(NotMember):
        member_remove(admin, room=room, user=UserFactory())


def test_room_admin_promotes_a_member_without_a_timeline_line() -> None:
    admin = UserFactory()
    member = UserFactory()
    room = make_room(admin, members=[member])
    lines_before = timeline(room)

    member_set_role(admin, room=room, user=member, role=Membership.Role.ADMIN)

    assert Membership.objects.get(room=room, user=member).role == Membership.Role.ADMIN
    assert timeline(room) == lines_before


def test_promoted_member_may_then_add_members() -> None:
    admin = UserFactory()
    member = UserFactory()
    room = make_room(admin, members=[member])
    member_set_role(admin, room=room, user=member, role=Membership.Role.ADMIN)
    invited = UserFactory()

    member_add(member, room=room, user=invited)

    assert Membership.objects.filter(room=room, user=invited).exists()


@pytest.mark.parametrize("actor_kind", ["plain-member", "non-member"])
def test_member_set_role_by_a_user_who_is_not_room_admin_or_staff_is_forbidden(
    actor_kind: str,
) -> None:
    plain_member = UserFactory()
    room = make_room(UserFactory(), members=[plain_member])
    actor = plain_member if actor_kind == "plain-member" else UserFactory()

    with nothing_written(), pytest.raises(Forbidden):
        member_set_role(actor, room=room, user=plain_member, role=Membership.Role.ADMIN)


def test_member_set_role_of_a_non_member_is_not_member() -> None:
    admin = UserFactory()
    room = make_room(admin)

    with nothing_written(), pytest.raises(NotMember):
        member_set_role(admin, room=room, user=UserFactory(), role=Membership.Role.ADMIN)


def test_member_set_role_with_an_unknown_role_is_invalid_input() -> None:
    admin = UserFactory()
    member = UserFactory()
    room = make_room(admin, members=[member])

    with nothing_written(), pytest.raises(InvalidInput):
        member_set_role(admin, room=room, user=member, role="owner")


# room_update


def test_renaming_writes_a_renamed_line_with_the_new_name_as_body() -> None:
    admin = UserFactory()
    room = make_room(admin, name="General")

    room_update(admin, room=room, name="  Town   square ")

    room.refresh_from_db()
    assert room.name == "Town square"
    assert timeline(room)[-1] == (room.last_seq, Message.Kind.RENAMED, admin.pk, "Town square")


def test_renaming_to_the_same_name_writes_no_line() -> None:
    admin = UserFactory()
    room = make_room(admin, name="General")

    with nothing_written():
        room_update(admin, room=room, name="General")


def test_renaming_a_room_to_its_own_name_in_another_case_is_allowed() -> None:
    admin = UserFactory()
    room = make_room(admin, name="General")

    room_update(admin, room=room, name="GENERAL")

    room.refresh_from_db()
    assert room.name == "GENERAL"
    assert timeline(room)[-1] == (room.last_seq, Message.Kind.RENAMED, admin.pk, "GENERAL")


def test_renaming_to_an_invalid_name_is_invalid_input_and_writes_nothing() -> None:
    admin = UserFactory()
    room = make_room(admin, name="General")

    with nothing_written(), pytest.raises(InvalidInput):
        room_update(admin, room=room, name="   ")


def test_a_renamed_rooms_old_name_can_be_used_for_a_new_room() -> None:
    admin = UserFactory()
    room = make_room(admin, name="General")
    room_update(admin, room=room, name="Lobby")

    new_room = room_create(admin, name="General")

    assert new_room.name == "General"


def test_renaming_to_another_rooms_name_is_invalid_input() -> None:
    admin = UserFactory()
    make_room(admin, name="Lobby")
    room = make_room(admin, name="General")

    with nothing_written(), pytest.raises(InvalidInput):
        room_update(admin, room=room, name="Lobby")


def test_archiving_and_unarchiving_write_archived_and_unarchived_lines() -> None:
    admin = UserFactory()
    room = make_room(admin)
    seq_before = room.last_seq

    room_update(admin, room=room, is_archived=True)
    room.refresh_from_db()
    assert room.is_archived
    room_update(admin, room=room, is_archived=False)

    room.refresh_from_db()
    assert not room.is_archived
    assert timeline(room)[-2:] == [
        (seq_before + 1, Message.Kind.ARCHIVED, admin.pk, ""),
        (seq_before + 2, Message.Kind.UNARCHIVED, admin.pk, ""),
    ]


def test_archiving_an_archived_room_writes_no_second_line() -> None:
    admin = UserFactory()
    room = make_room(admin)
    room_update(admin, room=room, is_archived=True)

    with nothing_written():
        room_update(admin, room=room, is_archived=True)


def test_room_admin_changes_visibility_to_invite_only() -> None:
    admin = UserFactory()
    room = make_room(admin)

    room_update(admin, room=room, visibility=Room.Visibility.INVITE)

    assert Room.objects.get(pk=room.pk).visibility == Room.Visibility.INVITE


def test_non_staff_room_admin_may_not_make_a_room_staff_only() -> None:
    admin = UserFactory(is_staff=False)
    room = make_room(admin)

    with nothing_written(), pytest.raises(Forbidden):
        room_update(admin, room=room, visibility=Room.Visibility.STAFF)


def test_room_update_with_an_unknown_visibility_is_invalid_input() -> None:
    admin = UserFactory()
    room = make_room(admin)

    with nothing_written(), pytest.raises(InvalidInput):
        room_update(admin, room=room, visibility="secret")


@pytest.mark.parametrize("actor_kind", ["plain-member", "non-member"])
@pytest.mark.parametrize(
    "change",
    [{"name": "Renamed"}, {"is_archived": True}, {"visibility": Room.Visibility.INVITE}],
    ids=["rename", "archive", "visibility"],
)
def test_room_update_by_a_user_who_is_not_room_admin_or_staff_is_forbidden(
    actor_kind: str, change: dict[str, object]
) -> None:
    plain_member = UserFactory()
    room = make_room(UserFactory(), name="General", members=[plain_member])
    actor = plain_member if actor_kind == "plain-member" else UserFactory()

    with nothing_written(), pytest.raises(Forbidden):
        room_update(actor, room=room, **change)


def test_staff_who_is_not_a_member_may_rename_a_room() -> None:
    room = make_room(UserFactory(), name="General")
    staff = UserFactory(is_staff=True)

    room_update(staff, room=room, name="Lobby")

    assert Room.objects.get(pk=room.pk).name == "Lobby"


# room_delete


def test_staff_deletes_a_room_with_its_timeline_and_memberships() -> None:
    member = UserFactory()
    room = make_room(UserFactory(), members=[member])
    other = make_room(UserFactory())

    room_delete(UserFactory(is_staff=True), room=room)

    assert not Room.objects.filter(pk=room.pk).exists()
    assert not Message.objects.filter(room_id=room.pk).exists()
    assert not Membership.objects.filter(room_id=room.pk).exists()
    assert Room.objects.filter(pk=other.pk).exists()
    assert Message.objects.filter(room=other).count() == 1


def test_room_delete_by_a_non_staff_room_admin_is_forbidden() -> None:
    admin = UserFactory(is_staff=False)
    room = make_room(admin)

    with nothing_written(), pytest.raises(Forbidden):
        room_delete(admin, room=room)

    assert Room.objects.filter(pk=room.pk).exists()

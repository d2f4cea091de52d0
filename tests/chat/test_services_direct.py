"""chat.services.direct: one private conversation per pair of users."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.selectors.access import room_for_user
from chat.selectors.members import room_members
from chat.selectors.messages import history_page
from chat.selectors.rooms import rooms_directory
from chat.services.direct import direct_open
from chat.services.messages import message_post
from chat.services.reads import read_mark
from chat.services.rooms import room_join, room_leave
from core.errors import Forbidden, InvalidInput, ParleyError, RoomNotFound, UserNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice", display_name="Alice Liddell")


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob", display_name="Bob Builder")


@contextmanager
def nothing_written() -> Iterator[None]:
    """Asserts that the block changed no room, membership or timeline row."""

    def snapshot() -> tuple[list[tuple], list[tuple], list[tuple]]:
        return (
            list(Room.objects.order_by("pk").values_list("pk", "kind", "last_seq", "direct_key")),
            list(Membership.objects.order_by("pk").values_list("pk", "room_id", "user_id")),
            list(Message.objects.order_by("pk").values_list("pk", "room_id", "seq")),
        )

    before = snapshot()
    yield
    assert snapshot() == before


def caught(call: Callable[[], object]) -> ParleyError:
    with pytest.raises(ParleyError) as raised:
        call()
    return raised.value


# Opening


def test_direct_open_creates_a_direct_room_with_exactly_the_two_members(alice, bob) -> None:
    room = direct_open(alice, username="bob")

    room.refresh_from_db()
    assert room.kind == Room.Kind.DIRECT
    assert room.visibility == Room.Visibility.INVITE
    assert room.name == ""
    assert room.created_by == alice
    assert set(Membership.objects.filter(room=room).values_list("user_id", "role")) == {
        (alice.pk, Membership.Role.MEMBER),
        (bob.pk, Membership.Role.MEMBER),
    }


def test_direct_open_writes_no_timeline_entries(alice, bob) -> None:
    room = direct_open(alice, username="bob")

    room.refresh_from_db()
    assert room.last_seq == 0
    assert not Message.objects.filter(room=room).exists()
    assert set(Membership.objects.filter(room=room).values_list("last_read_seq", flat=True)) == {0}


def test_direct_open_again_by_the_same_user_returns_the_same_room(alice, bob) -> None:
    first = direct_open(alice, username="bob")

    again = direct_open(alice, username="bob")

    assert again.pk == first.pk
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1
    assert Membership.objects.filter(room=first).count() == 2


def test_direct_open_from_the_other_side_returns_the_same_room(alice, bob) -> None:
    first = direct_open(alice, username="bob")

    from_bob = direct_open(bob, username="alice")

    assert from_bob.pk == first.pk
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1


@pytest.mark.parametrize(
    ("bob_as", "alice_as"), [("BOB", "ALICE"), ("Bob", "Alice"), ("bOb", "aLiCe")]
)
def test_direct_open_finds_the_user_whatever_the_case_of_the_name(
    alice, bob, bob_as, alice_as
) -> None:
    first = direct_open(alice, username="bob")

    assert direct_open(alice, username=bob_as).pk == first.pk
    assert direct_open(bob, username=alice_as).pk == first.pk
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1


def test_direct_open_ignores_spaces_around_the_name(alice, bob) -> None:
    room = direct_open(alice, username="  bob \t")

    assert set(Membership.objects.filter(room=room).values_list("user_id", flat=True)) == {
        alice.pk,
        bob.pk,
    }


def test_direct_open_accepts_a_name_of_the_longest_allowed_length(alice) -> None:
    longest = UserFactory(username="l" * 150, display_name="Longest")

    room = direct_open(alice, username="L" * 150)

    assert Membership.objects.filter(room=room, user=longest).exists()


def test_each_pair_of_users_gets_its_own_conversation(alice, bob) -> None:
    carol = UserFactory(username="carol")

    with_bob = direct_open(alice, username="bob")
    with_carol = direct_open(alice, username="carol")
    bob_with_carol = direct_open(bob, username="carol")

    assert len({with_bob.pk, with_carol.pk, bob_with_carol.pk}) == 3
    assert set(Membership.objects.filter(room=bob_with_carol).values_list("user", flat=True)) == {
        bob.pk,
        carol.pk,
    }


# Refused names


@pytest.mark.parametrize("spelling", ["alice", "ALICE", " Alice "])
def test_direct_open_with_yourself_is_invalid_and_creates_nothing(alice, spelling) -> None:
    with nothing_written():
        error = caught(lambda: direct_open(alice, username=spelling))

    assert type(error) is InvalidInput
    assert error.details == {"field": "username"}


def test_direct_open_with_an_unknown_user_is_user_not_found_and_creates_nothing(alice) -> None:
    with nothing_written():
        error = caught(lambda: direct_open(alice, username="nobody"))

    assert type(error) is UserNotFound


def test_direct_open_with_an_inactive_user_looks_exactly_like_an_unknown_user(alice) -> None:
    UserFactory(username="gone", is_active=False)
    unknown = caught(lambda: direct_open(alice, username="nobody"))

    with nothing_written():
        inactive = caught(lambda: direct_open(alice, username="gone"))

    assert type(inactive) is type(unknown) is UserNotFound
    assert inactive.message == unknown.message
    assert inactive.details == unknown.details


def test_direct_open_with_a_deactivated_peer_of_an_existing_conversation_is_user_not_found(
    alice, bob
) -> None:
    direct_open(alice, username="bob")
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    with nothing_written():
        error = caught(lambda: direct_open(alice, username="bob"))

    assert type(error) is UserNotFound


@pytest.mark.parametrize(
    "username",
    ["", "   ", "\t\n", None, 42, 4.2, True, b"bob", ["bob"], {"username": "bob"}, "b" * 151],
    ids=[
        "empty",
        "spaces",
        "whitespace",
        "none",
        "int",
        "float",
        "bool",
        "bytes",
        "list",
        "dict",
        "over-long",
    ],
)
def test_direct_open_with_a_malformed_name_is_invalid_and_creates_nothing(
    alice, bob, username
) -> None:
    with nothing_written():
        error = caught(lambda: direct_open(alice, username=username))

    assert type(error) is InvalidInput
    assert error.details == {"field": "username"}


@pytest.mark.parametrize(
    "username",
    ["bob\x00", "\x00", "bob\ud800", "\udfff"],
    ids=["nul-after-name", "nul", "surrogate-after-name", "surrogate"],
)
def test_direct_open_with_characters_no_name_can_hold_is_invalid_and_creates_nothing(
    alice, bob, username
) -> None:
    with nothing_written():
        error = caught(lambda: direct_open(alice, username=username))

    assert type(error) is InvalidInput
    assert error.details == {"field": "username"}


# A third user


def _third_user_calls() -> list[tuple[str, Callable[[User, object], object]]]:
    return [
        ("room_for_user", lambda user, room_id: room_for_user(user, room_id)),
        ("history_page", lambda user, room_id: history_page(user, room_id=room_id)),
        ("message_post", lambda user, room_id: message_post(user, room_id=room_id, body="hi")),
        ("room_join", lambda user, room_id: room_join(user, room_id=room_id)),
        ("room_leave", lambda user, room_id: room_leave(user, room_id=room_id)),
        ("room_members", lambda user, room_id: room_members(user, room_id=room_id)),
        ("read_mark", lambda user, room_id: read_mark(user, room_id=room_id, seq=0)),
    ]


@pytest.mark.parametrize("is_staff", [False, True], ids=["user", "staff"])
@pytest.mark.parametrize(
    "call", [call for _, call in _third_user_calls()], ids=[n for n, _ in _third_user_calls()]
)
def test_a_third_user_gets_the_same_room_not_found_as_for_a_room_that_does_not_exist(
    alice, bob, call, is_staff
) -> None:
    room = direct_open(alice, username="bob")
    message_post(alice, room_id=room.public_id, body="private")
    third = UserFactory(is_staff=is_staff)
    missing = caught(lambda: call(third, uuid.uuid4()))

    with nothing_written():
        refused = caught(lambda: call(third, room.public_id))
        refused_by_text_id = caught(lambda: call(third, str(room.public_id)))

    assert type(missing) is RoomNotFound
    for error in (refused, refused_by_text_id):
        assert type(error) is RoomNotFound
        assert error.message == missing.message
        assert error.details == missing.details


# The two members


def test_both_members_can_post_and_read_the_conversation(alice, bob) -> None:
    room = direct_open(alice, username="bob")

    message_post(alice, room_id=room.public_id, body="hello bob")
    message_post(bob, room_id=room.public_id, body="hello alice")

    for member in (alice, bob):
        page = history_page(member, room_id=room.public_id)
        assert [(m.seq, m.author_id, m.body) for m in page.messages] == [
            (1, alice.pk, "hello bob"),
            (2, bob.pk, "hello alice"),
        ]
    assert read_mark(bob, room_id=room.public_id, seq=2).last_read_seq == 2
    assert [m["username"] for m in room_members(alice, room_id=room.public_id)] == ["alice", "bob"]


@pytest.mark.parametrize("leaver", ["alice", "bob"])
def test_leaving_a_direct_conversation_is_forbidden_and_changes_nothing(alice, bob, leaver) -> None:
    room = direct_open(alice, username="bob")
    user = {"alice": alice, "bob": bob}[leaver]

    with nothing_written():
        error = caught(lambda: room_leave(user, room_id=room.public_id))

    assert type(error) is Forbidden


def test_joining_your_own_conversation_again_does_not_add_a_member(alice, bob) -> None:
    room = direct_open(alice, username="bob")

    with nothing_written():
        error = caught(lambda: room_join(bob, room_id=room.public_id))

    assert error.code == "already_member"


# The directory


def test_a_direct_conversation_never_appears_in_the_directory(alice, bob) -> None:
    staff = UserFactory(is_staff=True)
    make_room(name="General")
    direct_open(alice, username="bob")
    direct_open(staff, username="alice")

    for viewer in (alice, bob, staff, UserFactory(), UserFactory(is_staff=True)):
        assert [room.name for room in rooms_directory(viewer)] == ["General"]

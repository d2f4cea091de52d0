"""chat.selectors.sidebar: a user's rooms with their state for the sidebar."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from chat.models import Membership, Room
from chat.selectors.sidebar import PREVIEW_LENGTH, rooms_with_state
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reads import read_mark
from chat.services.rooms import room_join, room_leave, room_update
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice", display_name="Alice Liddell")


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob", display_name="Bob Builder")


def state_of(user: User, room: Room) -> dict[str, Any]:
    (state,) = [r for r in rooms_with_state(user) if r["id"] == str(room.public_id)]
    return state


def post(user: User, room: Room, body: str = "hello") -> int:
    return message_post(user, room_id=room.public_id, body=body).seq


# Which rooms, in which order


def test_lists_the_users_rooms_and_conversations_and_no_others(alice, bob) -> None:
    general = make_room(name="General", members=[alice])
    conversation = direct_open(alice, username="bob")
    make_room(name="Elsewhere", members=[bob])
    make_room(name="Left behind", members=[alice])
    room_leave(alice, room_id=Room.objects.get(name="Left behind").public_id)
    direct_open(bob, username=UserFactory().username)

    ids = {state["id"] for state in rooms_with_state(alice)}

    assert ids == {str(general.public_id), str(conversation.public_id)}


def test_a_staff_only_room_is_listed_to_its_staff_members_only(alice) -> None:
    """A member who lost staff status keeps the membership but no longer sees the room."""
    officer = UserFactory(is_staff=True)
    room = make_room(name="Ops", visibility=Room.Visibility.STAFF, members=[alice, officer])
    alice.is_staff = False
    assert Membership.objects.filter(room=room, user=alice).exists()

    assert [state["id"] for state in rooms_with_state(officer)] == [str(room.public_id)]
    assert rooms_with_state(alice) == []


def test_a_user_without_rooms_gets_an_empty_list() -> None:
    make_room(name="General")

    assert rooms_with_state(UserFactory()) == []


def test_rooms_are_ordered_by_latest_activity_first(alice) -> None:
    make_room(name="First", members=[alice])
    make_room(name="Second", members=[alice])
    make_room(name="Third", members=[alice])

    assert [state["name"] for state in rooms_with_state(alice)] == ["Third", "Second", "First"]


def test_posting_into_an_older_room_moves_it_to_the_top(alice) -> None:
    make_room(name="First", members=[alice])
    second = make_room(name="Second", members=[alice])
    make_room(name="Third", members=[alice])

    post(alice, second)

    assert [state["name"] for state in rooms_with_state(alice)] == ["Second", "Third", "First"]


def test_a_message_in_a_direct_conversation_moves_it_to_the_top(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")
    make_room(name="General", members=[alice])

    post(bob, conversation)

    top, below = rooms_with_state(alice)
    assert (top["id"], top["name"]) == (str(conversation.public_id), "Bob Builder")
    assert below["name"] == "General"


def test_someone_else_joining_an_older_room_moves_it_to_the_top(alice) -> None:
    older = make_room(name="Older", members=[alice])
    make_room(name="Newer", members=[alice])

    room_join(UserFactory(), room_id=older.public_id)

    assert [state["name"] for state in rooms_with_state(alice)] == ["Older", "Newer"]


def test_each_room_reports_its_activity_time_and_last_seq(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    seq = post(bob, room)

    state = state_of(alice, room)

    room.refresh_from_db()
    assert state["last_seq"] == seq == room.last_seq
    assert state["last_activity_at"] == room.last_activity_at.isoformat()
    assert state["kind"] == Room.Kind.GROUP
    assert state["name"] == "General"
    assert state["role"] == Membership.Role.MEMBER
    assert "peer" not in state


# Unread counts


def test_unread_counts_other_peoples_messages_after_the_read_marker(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    post(bob, room)
    post(bob, room)

    state = state_of(alice, room)

    joined_seq = Membership.objects.get(room=room, user=alice).last_read_seq
    assert (state["last_read_seq"], state["unread"]) == (joined_seq, 2)


def test_unread_excludes_the_users_own_messages(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    post(alice, room)
    post(bob, room)
    post(alice, room)

    assert state_of(alice, room)["unread"] == 1
    assert state_of(bob, room)["unread"] == 2


def test_unread_excludes_system_lines(alice, bob) -> None:
    room = make_room(name="General", members=[alice])
    admin = room.created_by
    room_join(bob, room_id=room.public_id)
    room_leave(bob, room_id=room.public_id)
    room_update(admin, room=room, name="Renamed")
    room_update(admin, room=room, is_archived=True)
    room_update(admin, room=room, is_archived=False)

    state = state_of(alice, room)

    assert state["last_seq"] > state["last_read_seq"]
    assert state["unread"] == 0


def test_unread_excludes_deleted_messages(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    kept = post(bob, room)
    removed = post(bob, room)
    message_delete(bob, room_id=room.public_id, seq=removed)

    state = state_of(alice, room)

    assert state["unread"] == 1
    assert kept < removed


def test_unread_counts_edited_messages_once(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    seq = post(bob, room, "first draft")
    message_edit(bob, room_id=room.public_id, seq=seq, body="second draft")

    assert state_of(alice, room)["unread"] == 1


def test_unread_counts_messages_of_a_deleted_account(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    post(bob, room)
    bob.delete()

    assert state_of(alice, room)["unread"] == 1


def test_unread_ignores_messages_from_before_the_user_joined(alice, bob) -> None:
    room = make_room(name="General", members=[bob])
    post(bob, room)
    post(bob, room)

    room_join(alice, room_id=room.public_id)

    assert state_of(alice, room)["unread"] == 0


def test_unread_counts_are_per_room(alice, bob) -> None:
    quiet = make_room(name="Quiet", members=[alice, bob])
    busy = make_room(name="Busy", members=[alice, bob])
    conversation = direct_open(bob, username="alice")
    post(bob, busy)
    post(bob, busy)
    post(bob, busy)
    post(bob, conversation)

    unread = {state["id"]: state["unread"] for state in rooms_with_state(alice)}

    assert unread == {
        str(quiet.public_id): 0,
        str(busy.public_id): 3,
        str(conversation.public_id): 1,
    }


def test_unread_follows_the_read_marker(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    first = post(bob, room)
    post(bob, room)

    read_mark(alice, room_id=room.public_id, seq=first)

    assert (state_of(alice, room)["last_read_seq"], state_of(alice, room)["unread"]) == (first, 1)


# The last message


def test_a_room_without_messages_has_no_last_message(alice) -> None:
    room = make_room(name="General", members=[alice])

    assert state_of(alice, room)["last_message"] is None


def test_a_new_direct_conversation_has_no_last_message_and_nothing_unread(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")

    for user in (alice, bob):
        state = state_of(user, conversation)
        assert state["last_message"] is None
        assert (state["last_seq"], state["last_read_seq"], state["unread"]) == (0, 0, 0)


def test_last_message_is_the_latest_text_message_with_author_and_seq(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    post(alice, room, "earlier")
    seq = post(bob, room, "latest words")
    room_join(UserFactory(), room_id=room.public_id)

    assert state_of(alice, room)["last_message"] == {
        "seq": seq,
        "author": "bob",
        "author_name": bob.shown_name,
        "preview": "latest words",
        "deleted": False,
    }


def test_last_message_preview_is_cut_to_140_characters(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    body = "é" * 100 + "x" * 100
    post(bob, room, body)

    preview = state_of(alice, room)["last_message"]["preview"]

    assert PREVIEW_LENGTH == 140
    assert preview == body[:140]
    assert len(preview) == 140


def test_last_message_preview_of_exactly_140_characters_is_whole(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    body = "y" * 139 + "z"
    post(bob, room, body)

    assert state_of(alice, room)["last_message"]["preview"] == body


def test_last_message_shows_an_edit(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    seq = post(bob, room, "typo")
    message_edit(bob, room_id=room.public_id, seq=seq, body="fixed")

    assert state_of(alice, room)["last_message"]["preview"] == "fixed"


def test_a_deleted_latest_message_shows_an_empty_preview_marked_deleted(alice, bob) -> None:
    room = make_room(name="General", members=[alice, bob])
    post(bob, room, "still here")
    seq = post(bob, room, "regrettable")
    message_delete(bob, room_id=room.public_id, seq=seq)

    for user in (alice, bob):
        assert state_of(user, room)["last_message"] == {
            "seq": seq,
            "author": "bob",
            "author_name": bob.shown_name,
            "preview": "",
            "deleted": True,
        }


# Direct conversations


def test_a_direct_conversation_is_named_after_the_other_person(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")

    for viewer, peer in ((alice, bob), (bob, alice)):
        state = state_of(viewer, conversation)
        assert state["kind"] == Room.Kind.DIRECT
        assert state["name"] == peer.display_name
        assert state["peer"] == {"username": peer.username, "display_name": peer.display_name}


def test_a_direct_conversation_with_someone_without_a_display_name_shows_the_username(
    alice,
) -> None:
    plain = UserFactory(username="plain", display_name="")
    conversation = direct_open(alice, username="plain")

    state = state_of(alice, conversation)

    assert state["name"] == "plain"
    assert state["peer"] == {"username": "plain", "display_name": "plain"}
    assert plain.shown_name == "plain"


def test_each_direct_conversation_shows_its_own_peer(alice, bob) -> None:
    carol = UserFactory(username="carol", display_name="Carol Ann")
    with_bob = direct_open(alice, username="bob")
    with_carol = direct_open(carol, username="alice")

    assert state_of(alice, with_bob)["peer"]["username"] == "bob"
    assert state_of(alice, with_carol)["peer"]["username"] == "carol"
    assert state_of(alice, with_carol)["name"] == "Carol Ann"


# Query count


def user_with_rooms(groups: int, directs: int) -> User:
    """A user in `groups` rooms and `directs` conversations, each with a message they have not
    read and one of their own."""
    user = UserFactory()
    for _ in range(groups):
        room = make_room(members=[user])
        post(room.created_by, room)
        post(user, room)
    for _ in range(directs):
        other = UserFactory()
        conversation = direct_open(user, username=other.username)
        post(other, conversation)
        post(user, conversation)
    return user


def queries_for_rooms_with_state(user: User) -> tuple[int, list[dict[str, Any]]]:
    with CaptureQueriesContext(connection) as queries:
        states = rooms_with_state(user)
    return len(queries.captured_queries), states


def test_the_number_of_queries_does_not_grow_with_the_number_of_rooms() -> None:
    few = user_with_rooms(groups=1, directs=1)
    many = user_with_rooms(groups=20, directs=5)

    few_queries, few_states = queries_for_rooms_with_state(few)
    many_queries, many_states = queries_for_rooms_with_state(many)

    assert (len(few_states), len(many_states)) == (2, 25)
    assert all(state["unread"] == 1 for state in few_states + many_states)
    assert all(state["last_message"] is not None for state in few_states + many_states)
    assert all(state["peer"] for state in many_states if state["kind"] == Room.Kind.DIRECT)
    assert few_queries == many_queries
    assert many_queries <= 3

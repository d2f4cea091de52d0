"""Unread mention counts (chat.selectors.sidebar), the mentions view (chat.selectors.mentions)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import wire
from chat.selectors.mentions import mentions_page
from chat.selectors.messages import history_page
from chat.selectors.sidebar import rooms_with_state
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reads import read_mark
from chat.services.rooms import room_leave, room_update
from core.errors import InvalidInput
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice, bob):
    return make_room(members=[alice, bob])


def state_of(user, room) -> dict:
    return next(entry for entry in rooms_with_state(user) if entry["id"] == str(room.public_id))


def test_unread_mentions_count_those_after_the_read_marker(alice, bob, room) -> None:
    first = message_post(alice, room_id=room.public_id, body="@bob one")
    message_post(alice, room_id=room.public_id, body="no mention")
    message_post(alice, room_id=room.public_id, body="@bob two @bob")

    assert state_of(bob, room)["unread_mentions"] == 2
    assert state_of(alice, room)["unread_mentions"] == 0

    read_mark(bob, room_id=room.public_id, seq=first.seq)

    assert state_of(bob, room)["unread_mentions"] == 1
    assert state_of(bob, room)["unread"] == 2


def test_a_deleted_message_no_longer_counts(alice, bob, room) -> None:
    message = message_post(alice, room_id=room.public_id, body="@bob")

    message_delete(alice, room_id=room.public_id, seq=message.seq)

    assert state_of(bob, room)["unread_mentions"] == 0


def test_the_sidebar_stays_three_queries_with_mentions(alice, bob, room) -> None:
    other = make_room(members=[alice, bob])
    for target in (room, other):
        message_post(alice, room_id=target.public_id, body="@bob")

    with CaptureQueriesContext(connection) as queries:
        rooms = rooms_with_state(bob)

    assert len(queries) <= 3  # the rooms, their latest messages (and peers: none here)
    assert {entry["unread_mentions"] for entry in rooms} == {1}


def test_history_pages_load_mentions_without_a_query_per_message(alice, bob, room) -> None:
    for number in range(10):
        message_post(alice, room_id=room.public_id, body=f"@bob {number}")

    page = history_page(bob, room_id=room.public_id)
    with CaptureQueriesContext(connection) as queries:
        frames = [wire.message_data(message) for message in page.messages]

    assert len(queries) == 0
    assert [frame["mentions"] for frame in frames if frame["kind"] == "text"] == [["bob"]] * 10


def test_the_mentions_view_shows_replies_without_a_query_per_mention(alice, bob, room) -> None:
    question = message_post(bob, room_id=room.public_id, body="Lunch at noon?")
    for number in range(5):
        message_post(alice, room_id=room.public_id, body=f"@bob {number}", reply_to=question.seq)

    page = mentions_page(bob)
    with CaptureQueriesContext(connection) as queries:
        frames = [wire.message_data(mention.message) for mention in page.mentions]

    assert len(queries) == 0
    assert {frame["reply_to"]["excerpt"] for frame in frames} == {"Lunch at noon?"}


def test_the_mentions_view_lists_mine_newest_first_in_pages(alice, bob, room) -> None:
    posted = [message_post(alice, room_id=room.public_id, body=f"@bob {n}") for n in range(5)]
    message_post(bob, room_id=room.public_id, body="@alice")

    first = mentions_page(bob, limit=3)
    second = mentions_page(bob, limit=3, before=first.mentions[-1].pk)

    assert [mention.seq for mention in first.mentions] == [m.seq for m in posted[::-1][:3]]
    assert first.has_more is True
    assert [mention.seq for mention in second.mentions] == [m.seq for m in posted[1::-1]]
    assert second.has_more is False
    data = wire.mention_data(first.mentions[0])
    assert data["room"]["id"] == str(room.public_id)
    assert data["message"]["body"] == "@bob 4"
    assert data["message"]["author"]["username"] == "alice"


def test_the_mentions_view_hides_rooms_left_or_no_longer_visible(alice, bob, room) -> None:
    message_post(alice, room_id=room.public_id, body="@bob in the room")
    staff_room = make_room(members=[alice])
    message_post(alice, room_id=staff_room.public_id, body="hi")

    room_leave(bob, room_id=room.public_id)
    assert mentions_page(bob).mentions == []

    # A room that became staff-only hides its mentions from a member who is not staff.
    carol = UserFactory(username="carol")
    hidden = make_room(members=[alice, carol])
    message_post(alice, room_id=hidden.public_id, body="@carol")
    assert len(mentions_page(carol).mentions) == 1
    room_update(UserFactory(is_staff=True), room=hidden, visibility="staff")
    assert mentions_page(carol).mentions == []


def test_a_mention_in_a_direct_conversation_names_the_other_person(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")
    message_post(alice, room_id=conversation.public_id, body="@bob hey")

    (mention,) = mentions_page(bob).mentions

    assert wire.mention_data(mention)["room"]["peer"]["username"] == "alice"


@pytest.mark.parametrize(
    "arguments", [{"limit": 0}, {"limit": 10_000}, {"before": 0}, {"before": "1"}, {"limit": True}]
)
def test_bad_paging_is_refused(bob, arguments) -> None:
    with pytest.raises(InvalidInput):
        mentions_page(bob, **arguments)


def test_a_mention_added_by_an_edit_counts_as_new_while_unread(alice, bob, room) -> None:
    message = message_post(alice, room_id=room.public_id, body="see this")
    assert state_of(bob, room)["unread_mentions"] == 0

    message_edit(alice, room_id=room.public_id, seq=message.seq, body="see this, @bob")

    assert state_of(bob, room)["unread_mentions"] == 1
    assert [mention.seq for mention in mentions_page(bob).mentions] == [message.seq]

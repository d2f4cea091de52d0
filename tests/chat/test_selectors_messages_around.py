"""chat.selectors.messages: pages around a seq, and replies read without a query each."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import wire
from chat.selectors.messages import history_page
from chat.services.messages import message_post
from core.errors import InvalidInput
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice):
    room = make_room(members=[alice])
    for n in range(40 - room.messages.count()):
        message_post(alice, room_id=room.public_id, body=f"m{n}")
    room.refresh_from_db()
    assert room.last_seq == 40
    return room


def seqs(page) -> list[int]:
    return [message.seq for message in page.messages]


def test_a_page_around_a_seq_holds_half_a_page_each_side(alice, room) -> None:
    page = history_page(alice, room_id=room.public_id, around=20, limit=10)

    assert seqs(page) == list(range(15, 25))
    assert page.has_more is True
    assert page.has_more_after is True


def test_an_odd_page_gives_the_extra_entry_to_the_newer_side(alice, room) -> None:
    assert seqs(history_page(alice, room_id=room.public_id, around=20, limit=5)) == [
        18,
        19,
        20,
        21,
        22,
    ]
    assert seqs(history_page(alice, room_id=room.public_id, around=20, limit=1)) == [20]


def test_around_the_first_entry_has_nothing_older(alice, room) -> None:
    page = history_page(alice, room_id=room.public_id, around=1, limit=10)

    assert seqs(page) == [1, 2, 3, 4, 5]
    assert page.has_more is False
    assert page.has_more_after is True


def test_around_the_last_entry_has_nothing_newer(alice, room) -> None:
    page = history_page(alice, room_id=room.public_id, around=40, limit=10)

    assert seqs(page) == list(range(35, 41))
    assert page.has_more is True
    assert page.has_more_after is False


def test_a_page_that_reaches_both_ends_says_so(alice, room) -> None:
    page = history_page(alice, room_id=room.public_id, around=20, limit=200)

    assert seqs(page) == list(range(1, 41))
    assert (page.has_more, page.has_more_after) == (False, False)


def test_just_inside_both_ends_has_no_more(alice, room) -> None:
    page = history_page(alice, room_id=room.public_id, around=21, limit=40)

    assert seqs(page) == list(range(1, 41))
    assert (page.has_more, page.has_more_after) == (False, False)


def test_around_a_seq_past_the_end_gives_the_newest_older_half(alice, room) -> None:
    page = history_page(alice, room_id=room.public_id, around=1000, limit=10)

    assert seqs(page) == list(range(36, 41))
    assert (page.has_more, page.has_more_after) == (True, False)


def test_other_pages_do_not_say_has_more_after(alice, room) -> None:
    assert history_page(alice, room_id=room.public_id).has_more_after is None
    assert history_page(alice, room_id=room.public_id, after=3).has_more_after is None


@pytest.mark.parametrize(
    "cursors",
    [
        {"around": 0},
        {"around": -1},
        {"around": "5"},
        {"around": 2.5},
        {"around": True},
        {"around": 2**53 + 1},
        {"around": 5, "before": 10},
        {"around": 5, "after": 1},
        {"around": 5, "before": 10, "after": 1},
    ],
)
def test_bad_around_is_refused(alice, room, cursors) -> None:
    with pytest.raises(InvalidInput):
        history_page(alice, room_id=room.public_id, **cursors)


def test_a_history_page_with_replies_reads_them_without_a_query_each(alice, bob) -> None:
    room = make_room(members=[alice, bob])
    target = message_post(alice, room_id=room.public_id, body="first")

    def queries_for_page(**cursor: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = history_page(bob, room_id=room.public_id, **cursor)
            shown = [wire.message_data(message) for message in page.messages]
        assert any(data["reply_to"] for data in shown)
        return len(queries)

    def reply(count: int) -> None:
        for n in range(count):
            posted = message_post(bob, room_id=room.public_id, body=f"r{n}", reply_to=target.seq)
            message_post(alice, room_id=room.public_id, body=f"again {n}", reply_to=posted.seq)

    reply(2)
    few, few_around = queries_for_page(), queries_for_page(around=target.seq + 1)
    reply(20)
    many, many_around = queries_for_page(), queries_for_page(around=target.seq + 20)

    assert few == many
    assert few_around == many_around

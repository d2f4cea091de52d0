"""chat.selectors.messages: reading a room's timeline a page at a time."""

import uuid

import pytest

from chat.models import Message, Room
from chat.selectors.messages import history_page
from chat.services.messages import message_post
from core.errors import InvalidInput, NotMember, RoomNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db

TIMELINE_LENGTH = 120


def room_with_timeline(length: int = TIMELINE_LENGTH) -> tuple[object, Room]:
    """A room whose creator is its only member, with `length` timeline entries (seq 1..length)."""
    user = UserFactory()
    room = make_room(user)  # seq 1: the creator's "joined" line
    for n in range(2, length + 1):
        message_post(user, room_id=room.public_id, body=f"message {n}")
    room.refresh_from_db()
    assert room.last_seq == length
    return user, room


def seqs(page: object) -> list[int]:
    return [message.seq for message in page.messages]


def test_newest_page_is_in_ascending_seq_order_with_has_more() -> None:
    user, room = room_with_timeline()

    page = history_page(user, room_id=room.public_id, limit=20)

    assert seqs(page) == list(range(101, 121))
    assert page.has_more is True
    assert page.room == room
    assert page.messages[-1].body == "message 120"


def test_newest_page_uses_the_default_page_size(settings: object) -> None:
    settings.PARLEY_HISTORY_PAGE_SIZE = 7
    user, room = room_with_timeline(10)

    page = history_page(user, room_id=str(room.public_id))

    assert seqs(page) == [4, 5, 6, 7, 8, 9, 10]
    assert page.has_more is True


def test_page_holding_the_whole_timeline_has_no_more() -> None:
    user, room = room_with_timeline(10)

    page = history_page(user, room_id=room.public_id, limit=10)

    assert seqs(page) == list(range(1, 11))
    assert page.has_more is False


def test_timeline_includes_system_lines() -> None:
    creator = UserFactory()
    joiner = UserFactory()
    room = make_room(creator, members=[joiner])
    message_post(joiner, room_id=room.public_id, body="hi")

    page = history_page(joiner, room_id=room.public_id)

    assert [(m.seq, m.kind) for m in page.messages] == [
        (1, Message.Kind.JOINED),
        (2, Message.Kind.JOINED),
        (3, Message.Kind.TEXT),
    ]


@pytest.mark.parametrize("limit", [1, 7, 25, 30, 119, 120, 200])
def test_paging_backwards_with_before_covers_the_timeline_without_overlap_or_gaps(
    limit: int,
) -> None:
    user, room = room_with_timeline()
    collected: list[int] = []
    pages = 0

    page = history_page(user, room_id=room.public_id, limit=limit)
    while True:
        pages += 1
        assert seqs(page) == sorted(seqs(page))
        assert 0 < len(page.messages) <= limit
        collected = seqs(page) + collected
        if not page.has_more:
            break
        page = history_page(user, room_id=room.public_id, before=page.messages[0].seq, limit=limit)

    assert collected == list(range(1, TIMELINE_LENGTH + 1))
    assert pages == -(-TIMELINE_LENGTH // limit)


@pytest.mark.parametrize("limit", [1, 7, 25, 30, 119, 120, 200])
def test_paging_forwards_with_after_covers_the_timeline_without_overlap_or_gaps(
    limit: int,
) -> None:
    user, room = room_with_timeline()
    collected: list[int] = []
    pages = 0
    cursor = 0

    while True:
        page = history_page(user, room_id=room.public_id, after=cursor, limit=limit)
        pages += 1
        assert 0 < len(page.messages) <= limit
        collected += seqs(page)
        if not page.has_more:
            break
        cursor = page.messages[-1].seq

    assert collected == list(range(1, TIMELINE_LENGTH + 1))
    assert pages == -(-TIMELINE_LENGTH // limit)


def test_after_returns_only_newer_messages_in_ascending_order() -> None:
    user, room = room_with_timeline()

    page = history_page(user, room_id=room.public_id, after=50, limit=5)

    assert seqs(page) == [51, 52, 53, 54, 55]
    assert page.has_more is True


def test_before_returns_the_newest_older_messages_in_ascending_order() -> None:
    user, room = room_with_timeline()

    page = history_page(user, room_id=room.public_id, before=50, limit=5)

    assert seqs(page) == [45, 46, 47, 48, 49]
    assert page.has_more is True


def test_before_near_the_start_has_no_more() -> None:
    user, room = room_with_timeline()

    page = history_page(user, room_id=room.public_id, before=4, limit=5)

    assert seqs(page) == [1, 2, 3]
    assert page.has_more is False


def test_after_the_last_seq_returns_an_empty_page() -> None:
    user, room = room_with_timeline(10)

    at_end = history_page(user, room_id=room.public_id, after=10)
    beyond = history_page(user, room_id=room.public_id, after=10_000)

    assert (at_end.messages, at_end.has_more) == ([], False)
    assert (beyond.messages, beyond.has_more) == ([], False)


def test_before_the_first_seq_returns_an_empty_page() -> None:
    user, room = room_with_timeline(10)

    for cursor in (0, 1):
        page = history_page(user, room_id=room.public_id, before=cursor)
        assert (page.messages, page.has_more) == ([], False)


def test_before_beyond_the_last_seq_returns_the_newest_page() -> None:
    user, room = room_with_timeline(10)

    page = history_page(user, room_id=room.public_id, before=10_000, limit=3)

    assert seqs(page) == [8, 9, 10]


def test_limit_equal_to_the_maximum_page_size_is_accepted(settings: object) -> None:
    settings.PARLEY_HISTORY_MAX_PAGE_SIZE = 5
    user, room = room_with_timeline(10)

    page = history_page(user, room_id=room.public_id, limit=5)

    assert seqs(page) == [6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    "limit",
    [
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param(201, id="above-maximum"),
        pytest.param(True, id="bool"),
        pytest.param(False, id="bool-false"),
        pytest.param("10", id="string"),
        pytest.param(10.0, id="float"),
    ],
)
def test_limit_out_of_bounds_or_not_an_int_is_invalid_input(limit: object) -> None:
    user, room = room_with_timeline(3)

    with pytest.raises(InvalidInput) as raised:
        history_page(user, room_id=room.public_id, limit=limit)

    assert raised.value.details == {"field": "limit"}


def test_limit_above_a_lowered_maximum_is_invalid_input(settings: object) -> None:
    settings.PARLEY_HISTORY_MAX_PAGE_SIZE = 5
    user, room = room_with_timeline(3)

    with pytest.raises(InvalidInput):
        history_page(user, room_id=room.public_id, limit=6)


@pytest.mark.parametrize("cursor_name", ["before", "after"])
@pytest.mark.parametrize("value", [-1, "5", 2.0, True], ids=repr)
def test_negative_or_non_integer_cursor_is_invalid_input(cursor_name: str, value: object) -> None:
    user, room = room_with_timeline(3)

    with pytest.raises(InvalidInput) as raised:
        history_page(user, room_id=room.public_id, **{cursor_name: value})

    assert raised.value.details == {"field": cursor_name}


def test_both_before_and_after_is_invalid_input() -> None:
    user, room = room_with_timeline(3)

    with pytest.raises(InvalidInput):
        history_page(user, room_id=room.public_id, before=3, after=1)


def test_non_member_of_a_public_room_is_not_member() -> None:
    _, room = room_with_timeline(3)

    with pytest.raises(NotMember):
        history_page(UserFactory(), room_id=room.public_id)


@pytest.mark.parametrize("visibility", [Room.Visibility.INVITE, Room.Visibility.STAFF])
def test_invisible_room_is_room_not_found(visibility: str) -> None:
    room = make_room(visibility=visibility)

    with pytest.raises(RoomNotFound):
        history_page(UserFactory(is_staff=False), room_id=room.public_id)


@pytest.mark.parametrize("room_id", [uuid.uuid4(), "not-a-uuid", None, 1], ids=repr)
def test_unknown_or_malformed_room_id_is_room_not_found(room_id: object) -> None:
    make_room()

    with pytest.raises(RoomNotFound):
        history_page(UserFactory(), room_id=room_id)


def test_history_of_a_room_never_includes_another_rooms_messages() -> None:
    user, room = room_with_timeline(5)
    other = make_room(user)
    message_post(user, room_id=other.public_id, body="elsewhere")

    page = history_page(user, room_id=room.public_id)

    assert {message.room_id for message in page.messages} == {room.pk}
    assert "elsewhere" not in [message.body for message in page.messages]

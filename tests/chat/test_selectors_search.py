"""chat.selectors.search: matching, filters, paging, excerpts and bad input, on both backends."""

import pytest
from django.db import connection

from accounts.models import User
from chat.models import Room
from chat.selectors.search import EXCERPT_LENGTH, QUERY_MAX_LENGTH, search_messages
from chat.services.messages import message_delete, message_edit, message_post
from core.errors import (
    InvalidInput,
    NotMember,
    QueryEmpty,
    QueryInvalid,
    QueryTooLong,
    RateLimited,
    RoomNotFound,
)
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="General", members=[alice, bob])


def post(user: User, room: Room, body: str) -> int:
    return message_post(user, room_id=room.public_id, body=body).seq


def found(user: User, query: str, **filters: object) -> list[str]:
    page = search_messages(user, query=query, **filters)
    return [hit.message.body for hit in page.hits]


def test_finds_messages_with_every_word_newest_first(alice: User, bob: User, room: Room) -> None:
    post(alice, room, "the deploy went fine")
    post(bob, room, "deploy again tomorrow")
    post(bob, room, "lunch anyone?")
    post(alice, room, "Tomorrow we DEPLOY the new build")

    assert found(alice, "deploy") == [
        "Tomorrow we DEPLOY the new build",
        "deploy again tomorrow",
        "the deploy went fine",
    ]
    assert found(alice, "tomorrow deploy") == [
        "Tomorrow we DEPLOY the new build",
        "deploy again tomorrow",
    ]
    assert found(alice, "dinner") == []


def test_simple_configuration_matches_words_as_written_without_stemming(
    alice: User, room: Room
) -> None:
    post(alice, room, "running late")
    post(alice, room, "the runs are done")

    assert found(alice, "running") == ["running late"]
    assert found(alice, "run") == []
    # Common words are not dropped as stop words either.
    assert found(alice, "the") == ["the runs are done"]


def test_system_lines_are_not_searched(alice: User, room: Room) -> None:
    # The room's "joined" lines and its creation are in the timeline but are not text.
    post(alice, room, "General knowledge")
    assert found(alice, "general") == ["General knowledge"]


def test_filters_by_room_and_author(alice: User, bob: User, room: Room) -> None:
    other = make_room(name="Random", members=[alice, bob])
    post(alice, room, "ship it")
    post(bob, room, "ship it now")
    post(bob, other, "ship the other one")

    assert found(alice, "ship", room_id=str(other.public_id)) == ["ship the other one"]
    assert found(alice, "ship", author="bob") == ["ship the other one", "ship it now"]
    assert found(alice, "ship", author="bob", room_id=str(room.public_id)) == ["ship it now"]
    assert found(alice, "ship", author="nobody") == []


def test_a_room_filter_goes_through_the_history_gate(alice: User, bob: User) -> None:
    outsider_room = make_room(name="Elsewhere", members=[bob])
    secret = make_room(name="Secret", visibility=Room.Visibility.INVITE, members=[bob])

    with pytest.raises(NotMember):
        search_messages(alice, query="x", room_id=str(outsider_room.public_id))
    with pytest.raises(RoomNotFound):
        search_messages(alice, query="x", room_id=str(secret.public_id))
    with pytest.raises(RoomNotFound):
        search_messages(alice, query="x", room_id="not-a-room")


def test_pages_follow_the_cursor_to_the_end(alice: User, room: Room) -> None:
    for number in range(7):
        post(alice, room, f"note {number}")

    seen: list[str] = []
    cursor = None
    while True:
        page = search_messages(alice, query="note", cursor=cursor, limit=3)
        seen += [hit.message.body for hit in page.hits]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"note {number}" for number in reversed(range(7))]


def test_a_full_last_page_has_no_cursor(alice: User, room: Room) -> None:
    for number in range(4):
        post(alice, room, f"note {number}")
    first = search_messages(alice, query="note", limit=2)
    second = search_messages(alice, query="note", limit=2, cursor=first.next_cursor)
    assert len(second.hits) == 2
    assert second.next_cursor is None


def test_deleted_messages_are_never_found(alice: User, room: Room) -> None:
    seq = post(alice, room, "a secret password")
    post(alice, room, "password reset done")
    message_delete(alice, room_id=room.public_id, seq=seq)

    assert found(alice, "password") == ["password reset done"]
    assert found(alice, "secret") == []


def test_edits_are_searched_as_they_now_read(alice: User, room: Room) -> None:
    seq = post(alice, room, "meet at noon")
    message_edit(alice, room_id=room.public_id, seq=seq, body="meet at three")

    assert found(alice, "noon") == []
    assert found(alice, "three") == ["meet at three"]
    # An edit to the same text keeps it findable.
    message_edit(alice, room_id=room.public_id, seq=seq, body="meet at three")
    assert found(alice, "meet") == ["meet at three"]


def test_a_hit_carries_the_room_and_an_excerpt_with_match_offsets(alice: User, room: Room) -> None:
    post(alice, room, "Deploy\n\nfinished: the *deploy* worked")
    hit = search_messages(alice, query="DEPLOY").hits[0]

    assert hit.message.room == room
    assert hit.excerpt == "Deploy finished: the *deploy* worked"
    assert [hit.excerpt[start:end] for start, end in hit.matches] == ["Deploy", "deploy"]


def test_a_long_message_is_excerpted_around_the_first_match(alice: User, room: Room) -> None:
    body = "word " * 100 + "needle" + " tail" * 100
    post(alice, room, body)
    hit = search_messages(alice, query="needle").hits[0]

    assert hit.excerpt.startswith("\u2026") and hit.excerpt.endswith("\u2026")
    assert len(hit.excerpt) <= EXCERPT_LENGTH + 2
    assert [hit.excerpt[start:end] for start, end in hit.matches] == ["needle"]


def test_offsets_count_code_points_past_astral_characters(alice: User, room: Room) -> None:
    post(alice, room, "🎉🎉 party tonight")
    hit = search_messages(alice, query="party").hits[0]
    assert hit.matches == [(3, 8)]


def test_a_direct_conversation_is_named_by_the_other_person(alice: User, bob: User) -> None:
    from chat.services.direct import direct_open

    direct = direct_open(alice, username="bob")
    message_post(bob, room_id=direct.public_id, body="psst, a direct word")

    hit = search_messages(alice, query="psst").hits[0]
    assert hit.peer == bob


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_is_refused(alice: User, query: str) -> None:
    with pytest.raises(QueryEmpty):
        search_messages(alice, query=query)


def test_a_query_over_the_limit_is_refused(alice: User) -> None:
    with pytest.raises(QueryTooLong):
        search_messages(alice, query="a" * (QUERY_MAX_LENGTH + 1))
    with pytest.raises(QueryTooLong):
        search_messages(alice, query="x" * 10_240)
    search_messages(alice, query="a" * QUERY_MAX_LENGTH)


@pytest.mark.parametrize("query", ["nul\x00byte", "lone \ud800 surrogate"])
def test_characters_no_text_holds_are_refused(alice: User, query: str) -> None:
    with pytest.raises(QueryInvalid):
        search_messages(alice, query=query)


@pytest.mark.parametrize("query", [None, 5, ["deploy"], {"q": 1}])
def test_a_query_that_is_not_text_is_refused(alice: User, query: object) -> None:
    with pytest.raises(InvalidInput):
        search_messages(alice, query=query)


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE chat_message; --",
        "robert') OR 1=1 --",
        '"unclosed quote',
        'a" OR "b',
        "NEAR(deploy fine) AND NOT x*",
        "body:deploy ^deploy deploy*",
        "!!! && || <-> :* ()",
        "-deploy",
        "or or and not",
        "%_\\",
        "\u202e\u200b",
    ],
)
def test_query_syntax_is_searched_for_harmlessly(alice: User, room: Room, query: str) -> None:
    post(alice, room, "the deploy went fine")
    # Whatever it finds, it answers: no syntax error reaches the user, no row of another room.
    page = search_messages(alice, query=query)
    assert all(hit.message.room == room for hit in page.hits)


def test_sql_like_text_matches_only_its_words(alice: User, room: Room) -> None:
    post(alice, room, "drop table talk")
    post(alice, room, "nothing here")
    assert found(alice, "'; DROP TABLE") == ["drop table talk"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cursor", "abc"),
        ("cursor", 12),
        ("cursor", "-1"),
        ("limit", 0),
        ("limit", 51),
        ("limit", True),
        ("author", 5),
        ("author", "x" * 151),
    ],
)
def test_bad_paging_and_filters_are_refused(alice: User, field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as refusal:
        search_messages(alice, query="x", **{field: value})
    assert refusal.value.details["field"] == field


def test_searches_are_rate_limited_per_user(alice: User, bob: User, settings) -> None:
    settings.PARLEY_SEARCH_RATE = 0.001
    settings.PARLEY_SEARCH_BURST = 2
    search_messages(alice, query="x")
    search_messages(alice, query="x")
    with pytest.raises(RateLimited):
        search_messages(alice, query="x")
    search_messages(bob, query="x")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the fallback is SQLite's")
def test_sqlite_without_fts5_falls_back_to_a_plain_scan(
    alice: User, room: Room, monkeypatch
) -> None:
    monkeypatch.setattr("chat.selectors.search._has_fts_table", lambda alias, name: False)
    post(alice, room, "Deploy done")
    post(alice, room, "lunch")
    post(alice, room, "100% done_ish")

    # Every word must occur, in any case; without the index a word may be part of a longer one.
    assert found(alice, "deploy DONE") == ["Deploy done"]
    assert found(alice, "done") == ["100% done_ish", "Deploy done"]
    # Only words are searched for: LIKE never sees a % or _ of the query as a wildcard.
    assert found(alice, "100%") == ["100% done_ish"]
    assert found(alice, "'; DROP TABLE chat_message; --") == []

"""api.views.search: GET /search, its shape, paging and refusals."""

import pytest

from accounts.models import User
from chat.models import Room
from chat.services.messages import message_post
from tests.api.conftest import ApiClient, as_user, error_of
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


def test_search_answers_with_results_and_a_cursor(alice: User, bob: User, room: Room) -> None:
    first = message_post(bob, room_id=room.public_id, body="standup at ten")
    second = message_post(alice, room_id=room.public_id, body="Standup moved")

    response = as_user(alice).get("/search", q="standup", limit=1)

    assert response.status_code == 200
    data = response.json()
    assert data["results"] == [
        {
            "room": {"id": str(room.public_id), "name": "Lobby", "kind": "group"},
            "seq": second.seq,
            "author": {"username": "alice", "display_name": "Alice"},
            "created_at": second.created_at.isoformat(),
            "edited_at": None,
            "body": "Standup moved",
            "excerpt": "Standup moved",
            "matches": [{"start": 0, "end": 7}],
        }
    ]
    more = as_user(alice).get("/search", q="standup", cursor=data["next_cursor"]).json()
    assert [result["seq"] for result in more["results"]] == [first.seq]
    assert more["next_cursor"] is None


def test_filters_by_room_and_author(alice: User, bob: User, room: Room) -> None:
    other = make_room(name="Other", members=[alice, bob])
    message_post(bob, room_id=room.public_id, body="ping one")
    message_post(alice, room_id=other.public_id, body="ping two")
    client = as_user(alice)

    by_room = client.get("/search", q="ping", room=str(other.public_id)).json()
    assert [result["body"] for result in by_room["results"]] == ["ping two"]
    by_author = client.get("/search", q="ping", author="bob").json()
    assert [result["body"] for result in by_author["results"]] == ["ping one"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "invalid"),
        ({"q": ""}, "query_empty"),
        ({"q": "   "}, "query_empty"),
        ({"q": "x" * 201}, "query_too_long"),
        ({"q": "x" * 10_240}, "query_too_long"),
        ({"q": "a\x00b"}, "query_invalid"),
        ({"q": "x", "limit": "0"}, "invalid"),
        ({"q": "x", "limit": "many"}, "invalid"),
        ({"q": "x", "cursor": "not-a-cursor"}, "invalid"),
        ({"q": "x", "colour": "red"}, "invalid"),
    ],
)
def test_bad_queries_get_a_clear_error(alice: User, query: dict, code: str) -> None:
    response = as_user(alice).get("/search", **query)
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_a_room_one_may_not_see_is_not_found(alice: User, bob: User) -> None:
    hidden = make_room(name="Hidden", visibility=Room.Visibility.INVITE, members=[bob])
    response = as_user(alice).get("/search", q="x", room=str(hidden.public_id))
    assert response.status_code == 404
    assert error_of(response)["code"] == "room_not_found"


@pytest.mark.parametrize(
    "q", ["'; DROP TABLE chat_message; --", '"a" OR "b" NEAR(x y)', "<script>alert(1)</script>"]
)
def test_query_syntax_is_harmless(alice: User, room: Room, q: str) -> None:
    message_post(alice, room_id=room.public_id, body="<script> tags are text here")
    response = as_user(alice).get("/search", q=q)
    assert response.status_code == 200


def test_searching_needs_a_login() -> None:
    assert ApiClient().get("/search", q="x").status_code in (401, 403)


def test_searches_past_the_allowance_are_refused(alice: User, settings) -> None:
    settings.PARLEY_SEARCH_RATE = 0.001
    settings.PARLEY_SEARCH_BURST = 1
    client = as_user(alice)
    assert client.get("/search", q="x").status_code == 200
    response = client.get("/search", q="x")
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"

"""api.views.messages: posting a reply and reading history around a seq."""

import pytest

from accounts.models import User
from chat.models import Message, Room
from chat.services.messages import message_delete, message_post
from tests.api.conftest import as_user, error_of
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


@pytest.fixture
def question(alice: User, room: Room) -> Message:
    return message_post(alice, room_id=room.public_id, body="lunch?\nat noon")


def messages_path(room: Room) -> str:
    return f"/rooms/{room.public_id}/messages"


def test_post_with_reply_to_answers_with_the_quote(bob: User, room: Room, question) -> None:
    response = as_user(bob).post(messages_path(room), {"body": "yes", "reply_to": question.seq})

    assert response.status_code == 201
    assert response.json()["message"]["reply_to"] == {
        "seq": question.seq,
        "author": {"username": "alice", "display_name": "Alice"},
        "excerpt": "lunch?",
        "deleted": False,
    }


@pytest.mark.parametrize("reply_to", [0, -3, "4", 1.5, True, 2**60])
def test_post_with_a_reply_to_that_is_no_seq_is_invalid(bob, room, question, reply_to) -> None:
    response = as_user(bob).post(messages_path(room), {"body": "x", "reply_to": reply_to})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "reply_to" in str(error.get("details"))
    assert room.messages.count() == question.seq


def test_post_replying_to_a_deleted_or_future_message_is_refused(
    alice: User, bob: User, room: Room, question
) -> None:
    message_delete(alice, room_id=room.public_id, seq=question.seq)
    api = as_user(bob)

    for target in (question.seq, question.seq + 1, 10**9):
        response = api.post(messages_path(room), {"body": "x", "reply_to": target})
        assert response.status_code == 400
        assert error_of(response)["code"] == "reply_not_found"
        assert error_of(response)["details"] == {"field": "reply_to"}
    assert room.messages.count() == question.seq


def test_history_around_a_seq(alice: User, room: Room, question) -> None:
    for n in range(20):
        message_post(alice, room_id=room.public_id, body=f"m{n}")

    response = as_user(alice).get(messages_path(room), around=question.seq + 5, limit=6)

    assert response.status_code == 200
    body = response.json()
    assert [entry["seq"] for entry in body["messages"]] == list(
        range(question.seq + 2, question.seq + 8)
    )
    assert (body["has_more"], body["has_more_after"]) == (True, True)
    assert "has_more_after" not in as_user(alice).get(messages_path(room)).json()


@pytest.mark.parametrize(
    "query",
    [
        {"around": "0"},
        {"around": "-2"},
        {"around": "x"},
        {"around": "3", "before": "9"},
        {"around": "3", "after": "1"},
    ],
)
def test_history_with_bad_around_is_invalid(alice: User, room: Room, query) -> None:
    response = as_user(alice).get(messages_path(room), **query)

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"

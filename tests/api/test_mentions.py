"""api.views.mentions (GET /mentions) and mention counts in the other endpoints."""

import pytest

from accounts.models import User
from chat.models import Room
from chat.services.messages import message_post
from chat.services.rooms import room_leave
from tests.api.conftest import ApiClient, as_user, error_of
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


def test_my_mentions_are_listed_newest_first_with_their_messages(
    alice: User, bob: User, room: Room
) -> None:
    first = message_post(alice, room_id=room.public_id, body="@bob first")
    second = message_post(alice, room_id=room.public_id, body="@bob **second**")
    message_post(bob, room_id=room.public_id, body="@alice not for bob")

    response = as_user(bob).get("/mentions")

    assert response.status_code == 200
    body = response.json()
    assert [mention["seq"] for mention in body["mentions"]] == [second.seq, first.seq]
    assert body["has_more"] is False
    latest = body["mentions"][0]
    assert latest["room"]["id"] == str(room.public_id)
    assert latest["room"]["name"] == "Lobby"
    assert latest["message"]["mentions"] == ["bob"]
    assert "<strong>second</strong>" in latest["message"]["body_html"]


def test_mentions_page_with_before_and_limit(alice: User, bob: User, room: Room) -> None:
    for number in range(3):
        message_post(alice, room_id=room.public_id, body=f"@bob {number}")
    api = as_user(bob)

    page = api.get("/mentions", limit=2).json()
    rest = api.get("/mentions", limit=2, before=page["mentions"][-1]["id"]).json()

    assert page["has_more"] is True
    assert [m["message"]["body"] for m in page["mentions"] + rest["mentions"]] == [
        "@bob 2",
        "@bob 1",
        "@bob 0",
    ]
    assert rest["has_more"] is False


def test_a_room_left_takes_its_mentions_out_of_the_list(alice: User, bob: User, room: Room) -> None:
    message_post(alice, room_id=room.public_id, body="@bob")

    room_leave(bob, room_id=room.public_id)

    assert as_user(bob).get("/mentions").json()["mentions"] == []


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "x"}, {"before": "-1"}, {"before": "1e3"}, {"other": "1"}]
)
def test_bad_paging_is_a_clear_error(bob: User, query: dict) -> None:
    response = as_user(bob).get("/mentions", **query)

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


def test_a_limit_over_the_maximum_is_refused(bob: User) -> None:
    response = as_user(bob).get("/mentions", limit="100000")

    assert response.status_code == 400


def test_mentions_need_a_login() -> None:
    assert ApiClient().get("/mentions").status_code == 401


def test_my_rooms_and_the_read_marker_count_unread_mentions(
    alice: User, bob: User, room: Room
) -> None:
    first = message_post(alice, room_id=room.public_id, body="@bob one")
    message_post(alice, room_id=room.public_id, body="@bob two")
    api = as_user(bob)

    assert api.get("/me/rooms").json()["results"][0]["unread_mentions"] == 2
    response = api.post(f"/rooms/{room.public_id}/read", {"seq": first.seq})

    assert response.json()["unread_mentions"] == 1
    assert api.get("/me/rooms").json()["results"][0]["unread_mentions"] == 1

"""api.views.reactions: PUT and DELETE /rooms/{room}/messages/{seq}/reactions/{emoji}."""

from urllib.parse import quote

import emoji as emoji_data
import pytest

from accounts.models import User
from chat.models import Message, Reaction, Room
from chat.services.messages import message_delete, message_post
from chat.services.reactions import MAX_EMOJI_PER_MESSAGE
from tests.api.conftest import as_user, error_of
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


@pytest.fixture
def message(alice: User, room: Room) -> Message:
    return message_post(alice, room_id=room.public_id, body="lunch?")


def path(room: Room, seq: int, emoji: str) -> str:
    return f"/rooms/{room.public_id}/messages/{seq}/reactions/{quote(emoji, safe='')}"


def test_put_adds_and_answers_with_the_messages_reactions(
    alice: User, bob: User, room: Room, message: Message
) -> None:
    as_user(bob).send("PUT", path(room, message.seq, "🎉"))
    response = as_user(alice).send("PUT", path(room, message.seq, "👍"))

    assert response.status_code == 200
    assert response.json() == {
        "room": str(room.public_id),
        "seq": message.seq,
        "reactions": [
            {"emoji": "🎉", "count": 1, "users": ["bob"]},
            {"emoji": "👍", "count": 1, "users": ["alice"]},
        ],
    }


def test_put_twice_is_one_reaction(alice: User, room: Room, message: Message) -> None:
    api = as_user(alice)
    api.send("PUT", path(room, message.seq, "👍"))
    response = api.send("PUT", path(room, message.seq, "👍"))

    assert response.status_code == 200
    assert response.json()["reactions"] == [{"emoji": "👍", "count": 1, "users": ["alice"]}]
    assert Reaction.objects.count() == 1


def test_put_takes_no_body_but_an_empty_object(alice: User, room: Room, message: Message) -> None:
    api = as_user(alice)
    assert api.send("PUT", path(room, message.seq, "👍"), {}).status_code == 200

    refused = api.send("PUT", path(room, message.seq, "🎉"), {"emoji": "🎉"})

    assert refused.status_code == 400
    assert error_of(refused)["code"] == "invalid"
    assert "emoji" in error_of(refused)["details"]
    assert list(Reaction.objects.values_list("emoji", flat=True)) == ["👍"]


def test_delete_removes_and_an_absent_one_is_no_error(
    alice: User, room: Room, message: Message
) -> None:
    api = as_user(alice)
    api.send("PUT", path(room, message.seq, "👍"))

    first = api.delete(path(room, message.seq, "👍"))
    again = api.delete(path(room, message.seq, "👍"))

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"room": str(room.public_id), "seq": message.seq, "reactions": []}
    assert not Reaction.objects.exists()


@pytest.mark.parametrize("emoji", ["❤️", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "1️⃣"])
def test_percent_encoded_sequences_arrive_whole(
    alice: User, room: Room, message: Message, emoji: str
) -> None:
    response = as_user(alice).send("PUT", path(room, message.seq, emoji))

    assert response.status_code == 200
    assert response.json()["reactions"] == [{"emoji": emoji, "count": 1, "users": ["alice"]}]


def test_the_history_shows_the_reactions(alice: User, room: Room, message: Message) -> None:
    as_user(alice).send("PUT", path(room, message.seq, "👀"))

    history = as_user(alice).get(f"/rooms/{room.public_id}/messages", limit=1).json()

    assert history["messages"][0]["reactions"] == [{"emoji": "👀", "count": 1, "users": ["alice"]}]


@pytest.mark.parametrize("emoji", ["a", "1", " ", "👍👍", "<script>", "%00", "\u200d", "x" * 300])
def test_anything_but_one_emoji_is_invalid(
    alice: User, room: Room, message: Message, emoji: str
) -> None:
    response = as_user(alice).send("PUT", path(room, message.seq, emoji))

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["details"]) == ("invalid", {"field": "emoji"})


def test_a_non_member_gets_403_and_a_stranger_to_a_conversation_404(
    alice: User, room: Room, message: Message
) -> None:
    outsider = UserFactory()
    response = as_user(outsider).send("PUT", path(room, message.seq, "👍"))
    assert (response.status_code, error_of(response)["code"]) == (403, "not_member")

    hidden = make_room(visibility=Room.Visibility.INVITE, members=[alice])
    posted = message_post(alice, room_id=hidden.public_id, body="secret")
    response = as_user(outsider).send("PUT", path(hidden, posted.seq, "👍"))
    assert (response.status_code, error_of(response)["code"]) == (404, "room_not_found")


def test_missing_and_deleted_messages(alice: User, room: Room, message: Message) -> None:
    api = as_user(alice)
    response = api.send("PUT", path(room, message.seq + 100, "👍"))
    assert (response.status_code, error_of(response)["code"]) == (404, "message_not_found")

    message_delete(alice, room_id=room.public_id, seq=message.seq)
    response = api.send("PUT", path(room, message.seq, "👍"))
    assert (response.status_code, error_of(response)["code"]) == (409, "message_deleted")


def test_not_logged_in_is_401(room: Room, message: Message) -> None:
    from tests.api.conftest import ApiClient

    response = ApiClient().send("PUT", path(room, message.seq, "👍"))
    assert response.status_code == 401


def test_a_flood_of_different_emoji_stores_at_most_the_limit(
    alice: User, bob: User, room: Room, message: Message
) -> None:
    """Two hundred attempts, each a different emoji: all past the first twenty are refused
    (10,000 took 35 s here; the bound is the same)."""
    candidates = [value for value in emoji_data.EMOJI_DATA if len(value.encode()) <= 32]
    clients = [as_user(alice), as_user(bob)]
    statuses: dict[int, int] = {}
    for n, emoji in enumerate(candidates[:200]):
        response = clients[n % 2].send("PUT", path(room, message.seq, emoji))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    assert statuses == {200: MAX_EMOJI_PER_MESSAGE, 409: 200 - MAX_EMOJI_PER_MESSAGE}
    assert Reaction.objects.filter(message=message).count() == MAX_EMOJI_PER_MESSAGE
    refused = as_user(alice).send("PUT", path(room, message.seq, candidates[-1]))
    assert (refused.status_code, error_of(refused)["code"]) == (409, "too_many_reactions")
    assert error_of(refused)["details"] == {"max_count": MAX_EMOJI_PER_MESSAGE}

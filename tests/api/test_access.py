"""Who may call each API endpoint: the right user, someone who may not see the room, nobody,
and a revoked token (api/urls.py, api/authentication.py, chat/selectors/access.py)."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import User
from accounts.tokens import token_create, token_revoke
from chat.models import Room
from chat.services.messages import message_post
from tests.api.conftest import NO_BODY, ApiClient, as_user, error_of
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    status: int
    body: Any = NO_BODY
    # Which room fills {room}: one the caller is in, or a staff-only one they may join.
    room: str = "private"

    @property
    def names_a_room(self) -> bool:
        return "{room}" in self.path

    @property
    def names_a_token(self) -> bool:
        return "{token}" in self.path


ENDPOINTS = [
    pytest.param(Endpoint("GET", "/me", 200), id="me"),
    pytest.param(Endpoint("GET", "/me/rooms", 200), id="my-rooms"),
    pytest.param(Endpoint("GET", "/tokens", 200), id="tokens-list"),
    # A token may not create tokens (403 session_required): see test_views_account.py.
    pytest.param(Endpoint("POST", "/tokens", 403, {"name": "bot"}), id="tokens-create"),
    pytest.param(Endpoint("DELETE", "/tokens/{token}", 200), id="token-revoke"),
    pytest.param(Endpoint("GET", "/rooms", 200), id="rooms-list"),
    pytest.param(Endpoint("POST", "/rooms", 201, {"name": "Fresh"}), id="rooms-create"),
    pytest.param(Endpoint("GET", "/rooms/{room}", 200), id="room-detail"),
    pytest.param(Endpoint("POST", "/rooms/{room}/join", 200, room="staff"), id="room-join"),
    pytest.param(Endpoint("POST", "/rooms/{room}/leave", 200), id="room-leave"),
    pytest.param(Endpoint("GET", "/rooms/{room}/members", 200), id="room-members"),
    pytest.param(Endpoint("GET", "/rooms/{room}/messages", 200), id="history"),
    pytest.param(Endpoint("POST", "/rooms/{room}/messages", 201, {"body": "hi"}), id="post"),
    pytest.param(
        Endpoint("PATCH", "/rooms/{room}/messages/{seq}", 200, {"body": "edited"}), id="edit"
    ),
    pytest.param(Endpoint("DELETE", "/rooms/{room}/messages/{seq}", 200), id="delete"),
    pytest.param(Endpoint("POST", "/rooms/{room}/read", 200, {"seq": 1}), id="read"),
    pytest.param(Endpoint("GET", "/conversations", 200), id="conversations-list"),
    pytest.param(Endpoint("GET", "/search?q=hello", 200), id="search"),
    pytest.param(
        Endpoint("POST", "/conversations", 200, {"username": "bob"}), id="conversation-open"
    ),
]
ROOM_ENDPOINTS = [param for param in ENDPOINTS if param.values[0].names_a_room]


@dataclass
class World:
    alice: User
    outsider: User
    rooms: dict[str, Room]
    seq: int
    token_id: int

    def path(self, endpoint: Endpoint, *, room_id: object = None) -> str:
        room = self.rooms[endpoint.room]
        return endpoint.path.format(
            room=room.public_id if room_id is None else room_id,
            seq=self.seq,
            token=self.token_id,
        )


@pytest.fixture
def world() -> World:
    """Alice (staff) in an invite-only room with one of her messages; a staff-only room she is
    not in yet; a second token of hers to revoke; and an outsider who may see neither room."""
    alice = UserFactory(username="alice", is_staff=True)
    UserFactory(username="bob")
    private = make_room(alice, name="Private", visibility=Room.Visibility.INVITE)
    staff = make_room(name="Staff corner", visibility=Room.Visibility.STAFF)
    message = message_post(alice, room_id=private.public_id, body="hello")
    spare, _ = token_create(alice, name="spare")
    return World(
        alice=alice,
        outsider=UserFactory(username="mallory"),
        rooms={"private": private, "staff": staff},
        seq=message.seq,
        token_id=spare.pk,
    )


def call(client: ApiClient, endpoint: Endpoint, path: str) -> Any:
    return client.send(endpoint.method, path, endpoint.body)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_allowed_user_gets_a_success(world: World, endpoint: Endpoint) -> None:
    response = call(as_user(world.alice), endpoint, world.path(endpoint))

    assert response.status_code == endpoint.status, response.content
    if endpoint.status == 403:
        assert error_of(response)["code"] == "session_required"
    else:
        assert "error" not in response.json()


@pytest.mark.parametrize("endpoint", ROOM_ENDPOINTS)
def test_a_room_the_user_may_not_see_answers_like_a_missing_room(
    world: World, endpoint: Endpoint
) -> None:
    outsider = as_user(world.outsider)

    hidden = call(outsider, endpoint, world.path(endpoint))
    missing = call(outsider, endpoint, world.path(endpoint, room_id=uuid.uuid4()))
    malformed = call(outsider, endpoint, world.path(endpoint, room_id="not-a-room"))

    assert hidden.status_code == missing.status_code == malformed.status_code == 404
    assert error_of(hidden)["code"] == "room_not_found"
    assert hidden.json() == missing.json() == malformed.json()


def test_someone_elses_token_answers_like_a_missing_token(world: World) -> None:
    outsider = as_user(world.outsider)

    theirs = outsider.delete(f"/tokens/{world.token_id}")
    missing = outsider.delete(f"/tokens/{world.token_id + 1000}")

    assert theirs.status_code == missing.status_code == 404
    assert error_of(theirs)["code"] == "token_not_found"
    assert theirs.json() == missing.json()
    assert world.alice.access_tokens.get(pk=world.token_id).is_active


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_requests_get_401_in_the_error_shape(world: World, endpoint: Endpoint) -> None:
    response = call(ApiClient(), endpoint, world.path(endpoint))

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="parley"'


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_revoked_token_gets_401(world: World, endpoint: Endpoint) -> None:
    token, plain = token_create(world.alice, name="old")
    token_revoke(world.alice, token_id=token.pk)

    response = call(ApiClient(f"Bearer {plain}"), endpoint, world.path(endpoint))

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"

"""api.errors and api.serializers: bad input gets one error shape and a clear code."""

import json
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import OperationalError
from django.test import Client

from accounts.models import User
from chat.models import Message, Room
from chat.ratelimit import take_write
from tests.api.conftest import ApiClient, as_user, error_of, token_for
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User) -> Room:
    return make_room(name="Lobby", members=[alice])


def no_text_messages() -> bool:
    return not Message.objects.filter(kind=Message.Kind.TEXT).exists()


def test_malformed_json_is_bad_json(alice: User, room: Room) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", '{"body": "hi"')

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"
    assert no_text_messages()


@pytest.mark.parametrize("payload", ["[1, 2]", '"hi"', "42", "null"])
def test_json_that_is_not_an_object_is_invalid(alice: User, room: Room, payload: str) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", payload)

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert no_text_messages()


@pytest.mark.parametrize("payload", ['{"body": NaN}', '{"body": Infinity}'])
def test_non_standard_json_numbers_are_refused(alice: User, room: Room, payload: str) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", payload)

    assert response.status_code == 400
    assert error_of(response)["code"] in {"bad_json", "invalid"}
    assert no_text_messages()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/rooms/{room}/messages", {"body": 5}, "body"),
        ("/rooms/{room}/messages", {"body": True}, "body"),
        ("/rooms/{room}/messages", {"body": ["hi"]}, "body"),
        ("/rooms/{room}/messages", {"body": None}, "body"),
        ("/rooms/{room}/messages", {"body": "hi", "client_id": 7}, "client_id"),
        ("/rooms/{room}/read", {"seq": "1"}, "seq"),
        ("/rooms/{room}/read", {"seq": 1.0}, "seq"),
        ("/rooms/{room}/read", {"seq": True}, "seq"),
        ("/rooms/{room}/read", {"seq": -1}, "seq"),
        ("/rooms", {"name": 12}, "name"),
        ("/conversations", {"username": 3}, "username"),
        ("/tokens", {"name": 1}, "name"),
        ("/tokens", {"name": "bot", "expires_in_days": "30"}, "expires_in_days"),
    ],
)
def test_wrong_types_are_invalid_and_name_the_field(
    alice: User, room: Room, path: str, body: dict, field: str
) -> None:
    response = as_user(alice).post(path.format(room=room.public_id), body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["details"]


@pytest.mark.parametrize(
    ("path", "body", "unknown"),
    [
        ("/rooms/{room}/messages", {"body": "hi", "author": "bob"}, "author"),
        ("/rooms/{room}/messages/{seq}", {"body": "hi", "seq": 3}, "seq"),
        ("/rooms/{room}/read", {"seq": 0, "room": "x"}, "room"),
        ("/rooms", {"name": "Typo", "visiblity": "invite"}, "visiblity"),
        ("/conversations", {"user": "bob"}, "user"),
        ("/tokens", {"name": "bot", "scope": "all"}, "scope"),
    ],
)
def test_unknown_fields_are_invalid_and_change_nothing(
    alice: User, room: Room, path: str, body: dict, unknown: str
) -> None:
    seq = Message.objects.filter(room=room).latest("seq").seq
    rooms = Room.objects.count()
    method = "PATCH" if "{seq}" in path else "POST"

    response = as_user(alice).send(method, path.format(room=room.public_id, seq=seq), body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert unknown in error["details"]
    assert no_text_messages()
    assert Room.objects.count() == rooms
    assert not alice.access_tokens.filter(name="bot").exists()


def test_a_missing_required_field_is_invalid(alice: User, room: Room) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", {})

    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"body"}


def test_a_body_over_the_upload_limit_is_413_too_large(alice: User, room: Room) -> None:
    body = json.dumps({"body": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", body)

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert no_text_messages()


def test_a_body_just_under_the_upload_limit_reaches_the_message_rules(
    alice: User, room: Room
) -> None:
    body = json.dumps({"body": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 100)})

    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == "body_too_long"


def test_a_form_encoded_body_is_unsupported_media_type(alice: User, room: Room) -> None:
    api = as_user(alice)

    response = api.client.post(f"/api/v1/rooms/{room.public_id}/messages", {"body": "hi"})

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert no_text_messages()


def test_a_method_an_endpoint_does_not_have_is_405(alice: User) -> None:
    response = as_user(alice).send("PUT", "/me", {})

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path", ["/nothing", "/me/", "/rooms/x/messages/abc", "/rooms/x/y/z", "/rooms/x/messages/%0A1"]
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_api_paths_are_404_in_the_error_shape(alice: User, path: str, method: str) -> None:
    response = as_user(alice).send(method, path, {})

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_beyond_the_write_rate_the_api_answers_429_like_the_socket(
    alice: User, room: Room, settings: Any
) -> None:
    settings.PARLEY_WRITE_RATE = 0.5
    settings.PARLEY_WRITE_BURST = 2
    api = as_user(alice)
    path = f"/rooms/{room.public_id}/messages"

    allowed = [api.post(path, {"body": f"m{n}"}).status_code for n in range(2)]
    refused = api.post(path, {"body": "one too many"})

    assert allowed == [201, 201]
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "rate_limited"
    assert 0 < error["details"]["retry_after"] <= 2
    assert int(refused["Retry-After"]) >= 1
    assert Message.objects.filter(kind=Message.Kind.TEXT).count() == 2


def test_the_api_spends_the_same_allowance_as_other_writers(
    alice: User, room: Room, settings: Any
) -> None:
    settings.PARLEY_WRITE_RATE = 0.5
    settings.PARLEY_WRITE_BURST = 1
    take_write(alice.pk)  # what the socket's message.send does first

    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", {"body": "hi"})

    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/rooms/{room}/join", None),
        ("POST", "/rooms/{room}/leave", None),
        ("PATCH", "/rooms/{room}/messages/1", {"body": "x"}),
        ("DELETE", "/rooms/{room}/messages/1", None),
    ],
)
def test_every_write_counts_against_the_rate_limit(
    alice: User, room: Room, settings: Any, method: str, path: str, body: Any
) -> None:
    settings.PARLEY_WRITE_RATE = 0.5
    settings.PARLEY_WRITE_BURST = 1
    take_write(alice.pk)
    api = as_user(alice)

    response = api.send(method, path.format(room=room.public_id), body or {})

    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"


def test_a_session_write_without_csrf_is_403(alice: User, room: Room) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    api = ApiClient(client=browser)

    response = api.post(f"/rooms/{room.public_id}/messages", {"body": "forged"})

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert "CSRF" in error_of(response)["message"]
    assert no_text_messages()


def test_a_session_write_with_the_csrf_token_succeeds(alice: User, room: Room) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/")  # a page sets the CSRF cookie, as in a browser
    token = browser.cookies["csrftoken"].value

    response = browser.post(
        f"/api/v1/rooms/{room.public_id}/messages",
        json.dumps({"body": "from the page"}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201


def test_a_token_write_needs_no_csrf_token(alice: User, room: Room) -> None:
    headers = {"Authorization": f"Bearer {token_for(alice)}"}
    api = ApiClient(client=Client(enforce_csrf_checks=True, headers=headers))

    response = api.post(f"/rooms/{room.public_id}/messages", {"body": "from a bot"})

    assert response.status_code == 201


@pytest.mark.parametrize(
    "outage", [OperationalError("connection refused"), redis.ConnectionError("refused")]
)
def test_an_unreachable_database_or_redis_is_unavailable_not_a_server_error(
    alice: User, room: Room, monkeypatch: pytest.MonkeyPatch, outage: Exception
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise outage

    monkeypatch.setattr("api.views.rooms.rooms_directory_page", fail)
    response = as_user(alice).get("/rooms")

    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"
    assert response["Retry-After"] == "5"

"""api.parsers and core.json_limits: deep or oversized JSON is a client error on every endpoint
that takes a body, with the API's error shape, the socket's depth rule and no traceback."""

import json
import logging
from typing import Any

import pytest
from django.urls import URLPattern, reverse

from accounts.models import User
from api import urls as api_urls
from chat.consumers.fields import FrameError, parse_frame
from chat.models import Message, Room
from chat.services.messages import message_post
from core.json_limits import MAX_DEPTH, loads, nesting_exceeds
from tests.api.conftest import as_user, error_of
from tests.factories import make_room

pytestmark = pytest.mark.django_db

# Endpoints that take a POST but read no body: a deep body there is ignored, never parsed.
BODY_IGNORED = {"room-join", "room-leave"}
# Endpoints that take multipart/form-data and no JSON at all (a JSON body is 415); their size
# limits are tested in tests/api/test_views_uploads.py.
MULTIPART_ONLY = {"uploads"}
BODY_METHODS = ("post", "put", "patch")


def nested(depth: int, inner: str = "1") -> str:
    """`inner` inside `depth` levels of arrays."""
    return "[" * depth + inner + "]" * depth


def endpoints_taking_bodies() -> list[tuple[str, str]]:
    """(URL name, method) of every API endpoint with a POST, PUT or PATCH, from api/urls.py."""
    found = []
    for pattern in api_urls.urlpatterns:
        view_class = getattr(getattr(pattern, "callback", None), "view_class", None)
        if not isinstance(pattern, URLPattern) or not pattern.name or view_class is None:
            continue
        if pattern.name in MULTIPART_ONLY:
            continue
        found += [(pattern.name, method) for method in BODY_METHODS if hasattr(view_class, method)]
    return sorted(found)


ENDPOINTS = endpoints_taking_bodies()


@pytest.fixture
def room(alice: User) -> Room:
    room = make_room(name="Lobby", members=[alice])
    message_post(alice, room_id=room.public_id, body="first")
    return room


def send(user: User, method: str, name: str, room: Room, body: str) -> Any:
    """`body` to the endpoint named `name`, its ids those of `room` and of `user`'s token."""
    client = as_user(user).client
    pattern = next(p for p in api_urls.urlpatterns if getattr(p, "name", None) == name)
    values: dict[str, Any] = {
        "room_id": room.public_id,
        "seq": Message.objects.filter(room=room).latest("seq").seq,
        "token_id": user.access_tokens.latest("pk").pk,
        "emoji": "👍",
    }
    kwargs = {key: values[key] for key in pattern.pattern.converters}
    url = reverse(f"api:{name}", kwargs=kwargs)
    return client.generic(method.upper(), url, body, "application/json")


def test_the_endpoints_list_covers_the_writes() -> None:
    names = {name for name, _ in ENDPOINTS}
    assert {"messages", "message", "read", "rooms", "conversations", "tokens"} <= names


@pytest.mark.parametrize(("name", "method"), ENDPOINTS)
def test_a_2_kb_body_nested_1000_deep_is_400_bad_json(
    alice: User, room: Room, name: str, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = '{"body": ' + nested(1000) + "}"
    assert len(body) < 2100

    with caplog.at_level(logging.INFO):
        response = send(alice, method, name, room, body)

    assert response.status_code < 500
    if name not in BODY_IGNORED:
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "bad_json"
        assert f"deeper than {MAX_DEPTH}" in error["message"]
    assert not [record for record in caplog.records if record.exc_info]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize(("name", "method"), ENDPOINTS)
def test_a_body_nested_just_inside_the_limit_reaches_the_field_rules(
    alice: User, room: Room, name: str, method: str
) -> None:
    # The object is one level, its value the other MAX_DEPTH - 1.
    body = '{"deep": ' + nested(MAX_DEPTH - 1) + "}"
    assert not nesting_exceeds(body)

    response = send(alice, method, name, room, body)

    assert response.status_code < 500
    if name not in BODY_IGNORED:
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid"
        assert "deep" in error["details"]


def test_one_level_more_is_refused(alice: User, room: Room) -> None:
    body = '{"deep": ' + nested(MAX_DEPTH) + "}"

    response = send(alice, "post", "messages", room, body)

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"


def test_a_body_over_the_upload_limit_is_refused_before_parsing(
    alice: User, room: Room, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"body": "x" * 2000})

    response = send(alice, "post", "messages", room, body)

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert not Message.objects.filter(body="x" * 2000).exists()


def test_a_charset_that_is_not_text_is_bad_json(alice: User, room: Room) -> None:
    client = as_user(alice).client
    response = client.generic(
        "POST",
        f"/api/v1/rooms/{room.public_id}/messages",
        b'{"body": "hi"}',
        "application/json; charset=bz2_codec",
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"


# The socket and the API share the rule.


def test_the_socket_refuses_the_same_depth_as_the_api() -> None:
    too_deep = '{"type": "ping", "x": ' + nested(MAX_DEPTH) + "}"
    inside = '{"type": "ping", "x": ' + nested(MAX_DEPTH - 1) + "}"

    with pytest.raises(FrameError, match=f"deeper than {MAX_DEPTH}"):
        parse_frame(too_deep)
    assert parse_frame(inside)["type"] == "ping"


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        (nested(MAX_DEPTH), False),
        (nested(MAX_DEPTH + 1), True),
        ("[]" * 10_000, False),  # many brackets, never deep
        (json.dumps({"body": "[" * 10_000}), False),  # brackets inside a string are text
        (json.dumps({"body": '\\"[' * 1_000}), False),  # escaped quotes do not end the string
        ("[" * 100_000, True),
    ],
)
def test_depth_is_measured_on_structure_only(text: str, too_deep: bool) -> None:
    assert nesting_exceeds(text) is too_deep


def test_loads_is_strict_json() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="not valid JSON"):
            loads(f'{{"a": {constant}}}')
    assert loads('{"a": [1, {"b": "[{"}]}') == {"a": [1, {"b": "[{"}]}

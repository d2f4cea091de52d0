"""Health, readiness and metrics endpoints, in process."""

import json
import logging

import pytest
from django.conf import settings

from chat.services.messages import message_post
from ops.logs import JsonFormatter
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


def test_healthz_says_the_process_is_alive(client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_checks_the_database_and_redis_when_configured(client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    expected = {"database": "ok", **({"redis": "ok"} if settings.REDIS_URL else {})}
    assert body["checks"] == expected


def test_probes_are_not_redirected_to_https(client, settings) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_metrics_are_off_without_a_configured_token(client, settings) -> None:
    settings.PARLEY_METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong", "Bearer ", "metrics-secret", "Basic bWV0cmljcy1zZWNyZXQ="],
    ids=["none", "wrong", "empty", "no-scheme", "basic"],
)
def test_metrics_refuse_a_scraper_without_the_token(client, settings, header) -> None:
    settings.PARLEY_METRICS_TOKEN = "metrics-secret"
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert b"parley_" not in response.content


def test_metrics_count_posted_messages(client, settings, django_capture_on_commit_callbacks):
    settings.PARLEY_METRICS_TOKEN = "metrics-secret"
    alice = UserFactory()
    room = make_room(alice)

    def posted() -> float:
        text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret").content
        line = next(
            row for row in text.decode().splitlines() if row.startswith("parley_messages_posted")
        )
        return float(line.split()[-1])

    before = posted()
    with django_capture_on_commit_callbacks(execute=True):
        message_post(alice, room_id=room.public_id, body="hello", client_id="m-1")
    with django_capture_on_commit_callbacks(execute=True):
        message_post(alice, room_id=room.public_id, body="hello", client_id="m-1")  # a retry

    assert posted() == before + 1


def test_json_log_lines_are_one_object_each() -> None:
    record = logging.LogRecord(
        "chat", logging.INFO, __file__, 1, "socket open: user %s", (7,), exc_info=None
    )

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "socket open: user 7"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "chat"

"""ops.health through /readyz: what a dead dependency shows the world, the log and the metrics."""

import logging

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import resolve
from prometheus_client import REGISTRY

from ops import health
from ops.log_filters import NotReadyIsNotAnError

pytestmark = pytest.mark.django_db

# What psycopg says when PostgreSQL is unreachable: an internal address and port.
REFUSED = 'connection to server at "10.20.30.40", port 5432 failed: Connection refused'


class Database:
    """Stands in for Django's connection in the readiness check: up until `down` is set."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.down = False

    def cursor(self) -> object:
        if self.down:
            raise OperationalError(f"{REFUSED}\n\tIs the server running on that host?")
        return self.real.cursor()

    def close(self) -> None:
        self.real.close()


@pytest.fixture
def database(monkeypatch) -> Database:
    database = Database(health.connection)
    monkeypatch.setattr(health, "connection", database)
    monkeypatch.setattr(health, "_outages", {})  # each test starts with no outage on record
    return database


def up(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("parley_dependency_up", {"dependency": dependency})


def test_a_dead_database_is_down_without_its_host_port_or_error(client, database) -> None:
    database.down = True

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["database"] == "down"
    text = response.content.decode()
    for secret in ("10.20.30.40", "5432", "OperationalError", "refused", "connection to"):
        assert secret not in text


def test_a_dead_redis_is_down_without_its_host_port_or_error(client, settings, database) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "down"}
    text = response.content.decode()
    for secret in ("127.0.0.1", ":1", "ConnectionError", "Error 111", "refused"):
        assert secret not in text


def test_a_failing_check_is_logged_once_with_its_reason_and_no_traceback(
    client, database, caplog
) -> None:
    database.down = True

    with caplog.at_level(logging.INFO, logger="ops.health"):
        for _ in range(3):
            client.get("/readyz")
        database.down = False
        assert client.get("/readyz").status_code == 200

    lines = [record for record in caplog.records if record.name == "ops.health"]
    assert [record.levelname for record in lines] == ["WARNING", "INFO"]
    warning, back = lines
    assert "database" in warning.getMessage()
    assert f"OperationalError: {REFUSED}" in warning.getMessage()
    assert warning.exc_info is None
    assert back.getMessage() == "readiness: database passes again after 3 failed checks"


def test_a_long_failure_is_logged_again_after_a_while(
    client, database, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(health, "REMIND_AFTER", 0.0)
    database.down = True

    with caplog.at_level(logging.WARNING, logger="ops.health"):
        client.get("/readyz")
        client.get("/readyz")

    messages = [record.getMessage() for record in caplog.records if record.name == "ops.health"]
    assert len(messages) == 2
    assert "(failure 2 of this outage)" in messages[1]


def test_the_gauge_follows_each_dependency(client, database) -> None:
    database.down = True
    client.get("/readyz")
    assert up("database") == 0

    database.down = False
    client.get("/readyz")
    assert up("database") == 1


def test_a_503_from_readyz_is_not_logged_as_a_server_error(client, database, caplog) -> None:
    database.down = True

    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert [record for record in caplog.records if record.name == "django.request"] == []
    assert [record.levelname for record in caplog.records] == ["WARNING"]


@pytest.mark.parametrize(
    ("path", "status", "kept"),
    [("/readyz", 503, False), ("/readyz", 500, True), ("/healthz", 503, True), ("/", 503, True)],
)
def test_only_the_not_ready_answer_leaves_django_request(path, status, kept) -> None:
    request = RequestFactory().get(path)
    request.resolver_match = resolve(path)
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Service Unavailable: %s", (path,), None
    )
    record.request, record.status_code = request, status

    assert NotReadyIsNotAnError().filter(record) is kept

import uuid

import pytest
from django.conf import settings

from core import ratelimit


@pytest.fixture(autouse=True)
def _isolated_channel_layer(settings: object) -> None:
    """Each test gets fresh channel-layer state (a new Redis prefix when Redis is in use)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings: object) -> None:
    """Tests post quickly; the rate-limit tests set their own limits. Counters start fresh."""
    settings.PARLEY_WRITE_RATE = 1_000_000
    settings.PARLEY_WRITE_BURST = 1_000_000
    settings.PARLEY_SOCKET_FRAME_RATE = 1_000_000
    settings.PARLEY_SOCKET_FRAME_BURST = 1_000_000
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 1_000_000
    settings.PARLEY_LOGIN_ADDRESS_BURST = 1_000_000
    settings.PARLEY_SIGNUP_ADDRESS_BURST = 1_000_000
    settings.PARLEY_API_RATE = 1_000_000
    settings.PARLEY_API_BURST = 1_000_000
    settings.PARLEY_RATELIMIT_PREFIX = f"parley-test:{uuid.uuid4().hex}"
    settings.PARLEY_PRESENCE_PREFIX = f"parley-test-presence:{uuid.uuid4().hex}"
    ratelimit.reset_local()


# Tests that start real servers hash and check passwords in those servers too, with Parley's
# own hashers; the rest of the suite need not spend a second per user on the production one.
_REAL_SERVER_SUITES = frozenset({"browser", "e2e", "faults", "bench"})


@pytest.fixture(autouse=True)
def _quick_password_hashing(request: pytest.FixtureRequest, settings: object) -> None:
    """Factory users hash a password each: with Django's PBKDF2 that was most of the time of
    many tests. Files that need another hasher set their own, which wins (it runs later)."""
    if _REAL_SERVER_SUITES.isdisjoint(request.node.path.parts):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice():
    """A plain user; files that need other details define their own."""
    from tests.factories import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def bob():
    from tests.factories import UserFactory

    return UserFactory(username="bob")


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections_at_teardown(django_db_setup, django_db_blocker):
    """End leftover sessions on the test database before Django drops it.

    Threads of the ASGI thread pools and killed server processes can still hold connections
    when the run ends; PostgreSQL refuses to drop a database in use, leaving it behind.
    """
    yield
    if not on_postgres():
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)

"""Pages while the database or Redis cannot be reached: 503 and "try again", not a bare 500."""

import pytest
import redis
from django.db import OperationalError

from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client):
    user = UserFactory()
    make_room(members=[user])
    client.force_login(user)
    return client


def test_a_page_whose_login_cannot_be_read_says_try_again_with_503(logged_in, monkeypatch) -> None:
    def unreachable(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr("django.contrib.sessions.backends.db.SessionStore.load", unreachable)

    response = logged_in.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Parley is unavailable right now" in response.content.decode()


def test_a_page_whose_reads_fail_on_redis_says_try_again_with_503(logged_in, monkeypatch) -> None:
    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr("chat.views.sidebar_rooms", unreachable)

    response = logged_in.get("/")

    assert response.status_code == 503
    assert "Try again" in response.content.decode()


def test_any_other_failure_is_still_an_error(logged_in, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("chat.views.sidebar_rooms", broken)

    with pytest.raises(ValueError, match="a bug"):
        logged_in.get("/")

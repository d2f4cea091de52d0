"""access_is_current: the check a socket makes between its handshake and hearing revocations."""

import pytest
from django.test import Client

from accounts.revocation import access_is_current
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def logged_in_session(user: object) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key


def test_a_live_session_of_an_active_user_is_current() -> None:
    user = UserFactory()
    key = logged_in_session(user)
    assert access_is_current(user.pk, session_key=key, token_id=None)


def test_a_session_is_no_longer_current_once_the_password_changes() -> None:
    """The row is still there, but Django would refuse it: its session hash is stale."""
    user = UserFactory()
    key = logged_in_session(user)
    user.set_password("a brand new password")
    user.save()
    assert not access_is_current(user.pk, session_key=key, token_id=None)


def test_a_deleted_session_or_a_deactivated_user_is_not_current() -> None:
    user = UserFactory()
    assert not access_is_current(user.pk, session_key="no-such-session", token_id=None)
    key = logged_in_session(user)
    user.is_active = False
    user.save()
    assert not access_is_current(user.pk, session_key=key, token_id=None)

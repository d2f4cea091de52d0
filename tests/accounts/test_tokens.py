"""Personal access tokens: creation, lifetime, revocation, and the page that manages them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessToken
from accounts.revocation import access_is_current
from accounts.tokens import MAX_LIFETIME_DAYS, token_create, token_revoke, user_for_token
from core.errors import InvalidInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_token_authenticates_its_owner_and_only_its_hash_is_stored(alice) -> None:
    token, plain = token_create(alice, name="bot")

    assert user_for_token(plain) == alice
    stored = AccessToken.objects.get(pk=token.pk)
    assert plain.split("_", 2)[2] not in {stored.secret_hash, stored.lookup, stored.name}


def test_a_token_with_a_lifetime_stops_working_when_it_expires(alice) -> None:
    token, plain = token_create(alice, name="short", expires_in_days=1)
    assert token.expires_at - timezone.now() == pytest.approx(
        timedelta(days=1), abs=timedelta(minutes=1)
    )
    assert user_for_token(plain) == alice

    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))

    assert user_for_token(plain) is None
    assert AccessToken.objects.get(pk=token.pk).is_active is False


def test_a_revoked_token_stops_working(alice) -> None:
    token, plain = token_create(alice, name="bot")
    token_revoke(alice, token_id=token.pk)

    assert user_for_token(plain) is None


@pytest.mark.parametrize("days", [0, -1, MAX_LIFETIME_DAYS + 1, 1.5, "30", True])
def test_a_lifetime_that_is_not_a_whole_number_of_days_in_range_is_refused(alice, days) -> None:
    with pytest.raises(InvalidInput) as caught:
        token_create(alice, name="bot", expires_in_days=days)

    assert caught.value.details == {"field": "expires_in_days"}
    assert not AccessToken.objects.exists()


def test_a_tampered_token_does_not_authenticate(alice) -> None:
    _, plain = token_create(alice, name="bot")

    assert user_for_token(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert user_for_token(plain.replace("parley_", "other_", 1)) is None


def test_the_page_creates_an_expiring_token_shows_it_once_and_lists_its_expiry(client, alice):
    client.force_login(alice)

    page = client.post(reverse("tokens"), {"name": "ci", "expires_in_days": "30"})

    plain = page.context["new_token"]
    assert user_for_token(plain) == alice
    assert AccessToken.objects.get(user=alice).expires_at is not None
    again = client.get(reverse("tokens")).content.decode()
    assert plain not in again
    assert "ci" in again


def test_the_page_refuses_a_lifetime_out_of_range_with_a_message(client, alice) -> None:
    client.force_login(alice)

    page = client.post(reverse("tokens"), {"name": "ci", "expires_in_days": "9999"})

    assert page.status_code == 200
    assert "expires_in_days" in page.context["error"]
    assert not AccessToken.objects.exists()


def test_a_socket_login_by_token_is_current_only_while_token_and_user_both_are(alice) -> None:
    token, _ = token_create(alice, name="bot")

    def current(user_id: int = alice.pk) -> bool:
        return access_is_current(user_id, session_key=None, token_id=token.pk)

    assert current()
    assert not current(UserFactory().pk)  # someone else's token
    alice.is_active = False
    alice.save()
    assert not current()
    alice.is_active = True
    alice.save()
    token_revoke(alice, token_id=token.pk)
    assert not current()

"""accounts.admin: operators see every token and where it came from, revoke tokens (with what
they created) and log users out everywhere, all through the token services."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import AccessToken, User
from accounts.tokens import Origin, token_create, user_for_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:accounts_accesstoken_changelist")
USERS = reverse("admin:accounts_user_changelist")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff_with(*codenames: str) -> Client:
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(operator)
    return client


def test_the_token_list_shows_each_tokens_origin(admin_client: Client, alice: User) -> None:
    parent, _ = token_create(alice, name="scripted")
    child, _ = token_create(alice, name="minted")
    AccessToken.objects.filter(pk=child.pk).update(created_via=Origin.TOKEN, created_by=parent)

    page = admin_client.get(TOKENS)

    assert page.status_code == 200
    assert "minted" in page.content.decode()
    assert admin_client.get(reverse("admin:accounts_accesstoken_add")).status_code == 403


def test_the_revoke_action_revokes_what_each_token_created(
    admin_client: Client, alice: User
) -> None:
    parent, _ = token_create(alice, name="one day")
    child, child_plain = token_create(alice, name="forever")
    AccessToken.objects.filter(pk=child.pk).update(created_via=Origin.TOKEN, created_by=parent)

    response = admin_client.post(TOKENS, {"action": "revoke", "_selected_action": [parent.pk]})

    assert response.status_code == 302
    assert user_for_token(child_plain) is None


def test_revoking_in_the_admin_needs_the_change_permission(alice: User) -> None:
    token, plain = token_create(alice, name="bot")
    viewer = staff_with("view_accesstoken")

    viewer.post(TOKENS, {"action": "revoke", "_selected_action": [token.pk]})

    assert user_for_token(plain) == alice
    assert (
        staff_with("view_accesstoken", "change_accesstoken")
        .post(TOKENS, {"action": "revoke", "_selected_action": [token.pk]})
        .status_code
        == 302
    )
    assert user_for_token(plain) is None


def test_the_user_action_logs_them_out_everywhere(admin_client: Client, alice: User) -> None:
    browser = Client()
    browser.force_login(alice)
    _, plain = token_create(alice, name="bot")

    response = admin_client.post(
        USERS, {"action": "log_out_everywhere", "_selected_action": [alice.pk]}
    )

    assert response.status_code == 302
    assert user_for_token(plain) is None
    assert browser.get(reverse("tokens")).status_code == 302

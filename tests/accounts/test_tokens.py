"""Personal access tokens: creation, lifetime, revocation, "log out everywhere", and the page
that manages them."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import RestrictedError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.revocation import access_is_current
from accounts.tokens import (
    MAX_LIFETIME_DAYS,
    Origin,
    access_revoke_all,
    token_create,
    token_revoke,
    tokens_of_user,
    user_for_token,
)
from core.errors import InvalidInput, PasswordIncorrect, SessionRequired
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Passwords are checked here often; the real hasher makes each a third of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def made_by(parent: AccessToken, name: str) -> tuple[AccessToken, str]:
    """A token as another token could create one before that was refused."""
    token, plain = token_create(parent.user, name=name)
    AccessToken.objects.filter(pk=token.pk).update(created_via=Origin.TOKEN, created_by=parent)
    token.refresh_from_db()
    return token, plain


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


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

    page = client.post(
        reverse("tokens"), {"name": "ci", "expires_in_days": "30", "password": PASSWORD}
    )

    plain = page.context["new_token"]
    assert user_for_token(plain) == alice
    assert AccessToken.objects.get(user=alice).expires_at is not None
    again = client.get(reverse("tokens")).content.decode()
    assert plain not in again
    assert "ci" in again


def test_the_page_refuses_a_lifetime_out_of_range_with_a_message(client, alice) -> None:
    client.force_login(alice)

    page = client.post(
        reverse("tokens"), {"name": "ci", "expires_in_days": "9999", "password": PASSWORD}
    )

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


# Who may create a token


@pytest.mark.parametrize("days", [None, 1, MAX_LIFETIME_DAYS])
def test_a_token_cannot_create_a_token_of_any_lifetime(alice, days) -> None:
    with pytest.raises(SessionRequired) as caught:
        token_create(alice, name="child", expires_in_days=days, via=Origin.TOKEN, password=None)

    assert caught.value.code == "session_required"
    assert not AccessToken.objects.exists()


def test_a_token_is_refused_before_the_password_is_looked_at(alice) -> None:
    for password in (PASSWORD, "wrong", None):
        with pytest.raises(SessionRequired):
            token_create(alice, name="child", via=Origin.TOKEN, password=password)

    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("password", [None, "", 5])
def test_a_session_must_give_the_password(alice, password) -> None:
    with pytest.raises(InvalidInput) as caught:
        token_create(alice, name="bot", via=Origin.SESSION, password=password)

    assert caught.value.details == {"field": "password"}
    assert not AccessToken.objects.exists()


def test_a_session_with_a_wrong_password_creates_nothing(alice) -> None:
    with pytest.raises(PasswordIncorrect):
        token_create(alice, name="bot", via=Origin.SESSION, password="not it")

    assert not AccessToken.objects.exists()


def test_a_session_with_the_password_creates_a_token_that_says_so(alice) -> None:
    token, plain = token_create(alice, name="bot", via=Origin.SESSION, password=PASSWORD)

    assert user_for_token(plain) == alice
    assert (token.created_via, token.created_by) == (Origin.SESSION, None)


def test_confirming_a_password_does_not_rehash_it(alice, settings) -> None:
    # An outdated hash is upgraded at a login, which ends the user's other sessions; a
    # confirmation must not do that behind the user's back.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    stored = alice.password
    assert stored.startswith("md5$")

    token_create(alice, name="bot", via=Origin.SESSION, password=PASSWORD)

    alice.refresh_from_db()
    assert alice.password == stored


def test_code_on_the_server_needs_no_password(alice) -> None:
    token, _ = token_create(alice, name="bot")

    assert token.created_via == Origin.SERVER


# Revoking what a token created


def test_revoking_a_token_revokes_what_it_created_at_any_depth(alice, announced) -> None:
    parent, _ = token_create(alice, name="one day", expires_in_days=1)
    child, child_plain = made_by(parent, "forever")
    grandchild, grandchild_plain = made_by(child, "forever too")
    _, sibling_plain = token_create(alice, name="unrelated")

    token_revoke(alice, token_id=parent.pk)

    assert user_for_token(child_plain) is None
    assert user_for_token(grandchild_plain) is None
    assert user_for_token(sibling_plain) == alice
    assert sorted(event["token_id"] for event in announced) == sorted(
        [parent.pk, child.pk, grandchild.pk]
    )
    assert all(event["user_id"] == alice.pk for event in announced)
    assert AccessToken.objects.filter(user=alice).count() == 4  # kept for the list


def test_revoking_a_token_revoked_before_revokes_its_children_still_active(
    alice, announced
) -> None:
    # The attack: a 1-day token made a permanent one, then the 1-day one was revoked alone.
    parent, _ = token_create(alice, name="one day", expires_in_days=1)
    child, child_plain = made_by(parent, "forever")
    AccessToken.objects.filter(pk=parent.pk).update(revoked_at=timezone.now())

    token_revoke(alice, token_id=parent.pk)

    assert user_for_token(child_plain) is None
    assert [event["token_id"] for event in announced] == [child.pk]


def test_revoking_a_child_leaves_its_creator_alone(alice) -> None:
    parent, parent_plain = token_create(alice, name="parent")
    child, _ = made_by(parent, "child")

    token_revoke(alice, token_id=child.pk)

    assert user_for_token(parent_plain) == alice


def test_a_token_that_created_others_cannot_be_deleted_alone_but_its_user_can(alice) -> None:
    parent, _ = token_create(alice, name="parent")
    made_by(parent, "child")

    with pytest.raises(RestrictedError):
        parent.delete()

    alice.delete()
    assert not AccessToken.objects.exists()


def test_the_list_names_each_tokens_creator(alice) -> None:
    parent, _ = token_create(alice, name="parent")
    made_by(parent, "child")

    listed = {token.name: token for token in tokens_of_user(alice)}

    assert listed["child"].created_by == parent
    assert listed["parent"].created_by is None


# Log out everywhere


def test_logging_out_everywhere_revokes_the_usable_tokens_and_closes_every_socket(
    alice, bob, announced
) -> None:
    plains = [token_create(alice, name=f"bot {n}")[1] for n in range(2)]
    expired, _ = token_create(alice, name="old", expires_in_days=1)
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    _, bobs = token_create(bob, name="bob's")

    revoked = access_revoke_all(alice, via=Origin.SESSION, password=PASSWORD)

    assert revoked == 2
    assert [user_for_token(plain) for plain in plains] == [None, None]
    assert AccessToken.objects.get(pk=expired.pk).revoked_at is None  # shown as expired still
    assert user_for_token(bobs) == bob
    # Neither a session nor a token named: every socket of the user, sessions' and tokens'.
    assert announced == [{"user_id": alice.pk}]


def test_logging_out_everywhere_changes_the_session_hash_once_per_call(alice) -> None:
    hashes = [alice.get_session_auth_hash()]
    for _ in range(2):
        access_revoke_all(alice, via=Origin.SESSION, password=PASSWORD)
        hashes.append(alice.get_session_auth_hash())
        assert User.objects.get(pk=alice.pk).get_session_auth_hash() == hashes[-1]

    assert len(set(hashes)) == 3


def test_before_any_log_out_everywhere_the_session_hash_is_djangos(alice) -> None:
    # So the sessions that exist when this is deployed stay valid.
    assert alice.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(alice)


def test_a_session_from_before_a_key_rotation_ends_too(alice, settings) -> None:
    settings.SECRET_KEY = "old-secret-key-" + "x" * 40
    access_revoke_all(alice, via=Origin.SERVER)  # a counter above 0 before the rotation
    browser = logged_in(alice)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "new-secret-key-" + "y" * 40
    assert browser.get(reverse("tokens")).status_code == 200  # the fallback key still works

    access_revoke_all(alice, via=Origin.SERVER)

    assert browser.get(reverse("tokens")).status_code == 302


@pytest.mark.parametrize(
    ("via", "password", "refusal"),
    [
        (Origin.TOKEN, PASSWORD, SessionRequired),
        (Origin.SESSION, "wrong", PasswordIncorrect),
        (Origin.SESSION, None, InvalidInput),
    ],
)
def test_logging_out_everywhere_is_refused_without_session_and_password(
    alice, announced, via, password, refusal
) -> None:
    _, plain = token_create(alice, name="kept")
    browser = logged_in(alice)

    with pytest.raises(refusal):
        access_revoke_all(alice, via=via, password=password)

    assert user_for_token(plain) == alice
    assert browser.get(reverse("tokens")).status_code == 200
    assert announced == []


# The page


def test_the_page_asks_for_the_password_to_create_a_token(client, alice) -> None:
    client.force_login(alice)

    page = client.get(reverse("tokens")).content.decode()

    start = page.index('id="create-token"')
    create_form = page[start : page.index("</form>", start)]
    assert 'type="password" name="password"' in create_form


@pytest.mark.parametrize("password", ["", "wrong"])
def test_the_page_refuses_a_missing_or_wrong_password_and_creates_nothing(
    client, alice, password
) -> None:
    client.force_login(alice)

    page = client.post(reverse("tokens"), {"name": "ci", "password": password})

    assert page.status_code == 200
    assert page.context["error"]
    assert page.context["new_token"] is None
    assert not AccessToken.objects.exists()


def test_the_page_shows_where_each_token_came_from(client, alice) -> None:
    client.force_login(alice)
    client.post(reverse("tokens"), {"name": "from the page", "password": PASSWORD})
    parent, _ = token_create(alice, name="scripted")
    made_by(parent, "minted")
    AccessToken.objects.create(user=alice, name="ancient", lookup="0" * 16, secret_hash="x")

    page = client.get(reverse("tokens")).content.decode()

    rows = {
        name: page[page.index(f"<td>{name}</td>") :].split("</tr>")[0]
        for name in ("from the page", "scripted", "minted", "ancient")
    }
    assert 'data-origin="session"' in rows["from the page"]
    assert 'data-origin="server"' in rows["scripted"]
    assert 'data-origin="token"' in rows["minted"]
    assert "token “scripted”" in rows["minted"]
    assert 'data-origin="unknown"' in rows["ancient"]


def test_the_page_logs_out_everywhere_else(alice) -> None:
    browser, other_browser = logged_in(alice), logged_in(alice)
    _, plain = token_create(alice, name="bot")

    page = browser.post(reverse("tokens"), {"logout_everywhere": "1", "password": PASSWORD})

    assert page.status_code == 200
    assert page.context["logged_out_everywhere"] == 1
    assert "Logged out everywhere else" in page.content.decode()
    assert other_browser.get(reverse("tokens")).status_code == 302
    assert browser.get(reverse("tokens")).status_code == 200
    assert user_for_token(plain) is None


@pytest.mark.parametrize("password", ["", "wrong"])
def test_the_page_refuses_to_log_out_everywhere_without_the_password(alice, password) -> None:
    browser, other_browser = logged_in(alice), logged_in(alice)
    _, plain = token_create(alice, name="bot")

    page = browser.post(reverse("tokens"), {"logout_everywhere": "1", "password": password})

    assert page.status_code == 200
    assert page.context["error"]
    assert page.context["logged_out_everywhere"] is None
    assert other_browser.get(reverse("tokens")).status_code == 200
    assert user_for_token(plain) == alice


def test_password_confirmations_share_the_accounts_log_in_allowance(settings) -> None:
    """A stolen session cannot guess the password faster through the tokens page than at the
    log-in page: after the burst even the right password waits."""
    from accounts.tokens import password_confirm
    from core.errors import PasswordIncorrect, RateLimited

    settings.PARLEY_LOGIN_ACCOUNT_BURST = 3
    settings.PARLEY_LOGIN_ACCOUNT_PER_MINUTE = 1
    user = UserFactory(username="guessed")
    user.set_password("the right one")
    user.save()
    for _ in range(3):
        with pytest.raises(PasswordIncorrect):
            password_confirm(user, password="wrong")
    with pytest.raises(RateLimited):
        password_confirm(user, password="the right one")

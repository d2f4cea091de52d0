"""api.views.account and the token page: a token is shown once, stored as a hash, revocable."""

import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccessToken, User
from accounts.tokens import MAX_TOKENS_PER_USER, token_create, user_for_token
from tests.api.conftest import ApiClient, as_user, error_of

pytestmark = pytest.mark.django_db

TOKEN_FORM = re.compile(r"parley_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def test_creating_a_token_shows_it_once_in_plain_text(alice: User) -> None:
    response = as_user(alice).post("/tokens", {"name": "  deploy bot  "})

    assert response.status_code == 201
    data = response.json()
    assert TOKEN_FORM.fullmatch(data["token"])
    assert data["name"] == "deploy bot"
    assert (data["revoked"], data["active"], data["expires_at"], data["last_used_at"]) == (
        False,
        True,
        None,
        None,
    )
    assert ApiClient(f"Bearer {data['token']}").get("/me").json()["username"] == "alice"


def test_a_token_may_be_given_a_lifetime(alice: User) -> None:
    response = as_user(alice).post("/tokens", {"name": "ci", "expires_in_days": 30})

    assert response.status_code == 201
    assert response.json()["expires_at"] is not None


def test_the_list_never_shows_a_token(alice: User) -> None:
    api = as_user(alice)
    plain = api.post("/tokens", {"name": "bot"}).json()["token"]

    response = api.get("/tokens")

    assert response.status_code == 200
    assert plain not in response.content.decode()
    secret = plain.split("_", 2)[2]
    assert secret not in response.content.decode()
    assert all("token" not in entry for entry in response.json()["results"])
    assert sorted(entry["name"] for entry in response.json()["results"]) == ["bot", "tests"]


def test_the_list_shows_only_my_tokens(alice: User, bob: User) -> None:
    token_create(bob, name="bobs")

    names = [entry["name"] for entry in as_user(alice).get("/tokens").json()["results"]]

    assert "bobs" not in names


def test_only_a_hash_of_the_secret_is_stored(alice: User) -> None:
    plain = as_user(alice).post("/tokens", {"name": "bot"}).json()["token"]
    _, lookup, secret = plain.split("_", 2)

    stored = AccessToken.objects.get(lookup=lookup)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    for row in AccessToken.objects.values():
        assert all(secret not in str(value) for value in row.values())
        assert all(plain not in str(value) for value in row.values())


def test_revoking_a_token_stops_it_at_once_and_is_idempotent(alice: User) -> None:
    api = as_user(alice)
    created = api.post("/tokens", {"name": "bot"}).json()
    bot = ApiClient(f"Bearer {created['token']}")
    assert bot.get("/me").status_code == 200

    first = api.delete(f"/tokens/{created['id']}")
    again = api.delete(f"/tokens/{created['id']}")

    assert first.status_code == again.status_code == 200
    assert (first.json()["revoked"], first.json()["active"]) == (True, False)
    assert again.json() == first.json()
    assert bot.get("/me").status_code == 401


def test_a_token_may_revoke_itself(alice: User) -> None:
    created = as_user(alice).post("/tokens", {"name": "bot"}).json()
    bot = ApiClient(f"Bearer {created['token']}")

    assert bot.delete(f"/tokens/{created['id']}").status_code == 200
    assert bot.get("/me").status_code == 401


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "   "}, {"name": "x" * 81}, {}])
def test_a_token_needs_a_name(alice: User, body: dict) -> None:
    response = as_user(alice).post("/tokens", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert AccessToken.objects.filter(user=alice).count() == 1


def test_active_tokens_per_user_are_limited(alice: User) -> None:
    api = as_user(alice)
    for n in range(MAX_TOKENS_PER_USER - 1):
        token_create(alice, name=f"t{n}")

    response = api.post("/tokens", {"name": "one too many"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


# The page at /accounts/tokens/


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_token_page_needs_a_login() -> None:
    response = Client().get(reverse("tokens"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_page_creates_a_token_that_works_on_the_api(alice: User) -> None:
    browser = logged_in(alice)

    page = browser.post(reverse("tokens"), {"name": "from the page"})

    assert page.status_code == 200
    [plain] = TOKEN_FORM.findall(page.content.decode())
    assert user_for_token(plain) == alice
    assert ApiClient(f"Bearer {plain}").get("/me").status_code == 200
    listing = browser.get(reverse("tokens")).content.decode()
    assert "from the page" in listing
    assert plain not in listing


def test_the_page_revokes_a_token(alice: User) -> None:
    token, plain = token_create(alice, name="old bot")
    browser = logged_in(alice)

    page = browser.post(reverse("tokens"), {"revoke": str(token.pk)})

    assert page.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiClient(f"Bearer {plain}").get("/me").status_code == 401
    assert "revoked" in page.content.decode()


@pytest.mark.parametrize("value", ["bobs", "999999", "abc"])
def test_the_page_refuses_to_revoke_what_is_not_mine_with_a_message(
    alice: User, bob: User, value: str
) -> None:
    bobs, _ = token_create(bob, name="bobs")
    browser = logged_in(alice)

    page = browser.post(reverse("tokens"), {"revoke": str(bobs.pk) if value == "bobs" else value})

    assert page.status_code == 200
    assert page.context["error"]
    bobs.refresh_from_db()
    assert bobs.revoked_at is None


def test_the_page_form_is_protected_by_csrf(alice: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post(reverse("tokens"), {"name": "forged"})

    assert response.status_code == 403
    assert not AccessToken.objects.exists()

"""api.views.account and the token page: a token is shown once, stored as a hash, revocable;
only a session with the password may create one or log out everywhere."""

import hashlib
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import AccessToken, User
from accounts.tokens import MAX_TOKENS_PER_USER, token_create, user_for_token
from tests.api.conftest import ApiClient, as_user, error_of, token_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_FORM = re.compile(r"parley_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def logged_in(user: User, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def with_session(user: User) -> ApiClient:
    """A client authenticated by a logged-in session, as a browser script calls the API."""
    return ApiClient(client=logged_in(user))


def create(api: ApiClient, **body: object) -> dict:
    """A token created through the API with a session and the password; its JSON."""
    response = api.post("/tokens", {"password": PASSWORD, **body})
    assert response.status_code == 201, response.content
    return response.json()


def test_creating_a_token_shows_it_once_in_plain_text(alice: User) -> None:
    response = with_session(alice).post("/tokens", {"name": "  deploy bot  ", "password": PASSWORD})

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
    assert (data["created_via"], data["created_by"]) == ("session", None)
    assert ApiClient(f"Bearer {data['token']}").get("/me").json()["username"] == "alice"


def test_a_token_may_be_given_a_lifetime(alice: User) -> None:
    assert create(with_session(alice), name="ci", expires_in_days=30)["expires_at"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"name": "forever"},
        {"name": "a day", "expires_in_days": 1},
        {"name": "with the password", "password": PASSWORD},
        {"name": "with a wrong password", "password": "guess"},
    ],
)
def test_a_token_cannot_create_a_token_not_even_a_shorter_one(alice: User, body: dict) -> None:
    bot = as_user(alice)

    response = bot.post("/tokens", body)

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "session_required"
    assert "token" in error["message"]
    assert AccessToken.objects.filter(user=alice).count() == 1  # the bot's own


def test_a_token_learns_nothing_of_the_password_from_creating_tokens(alice: User) -> None:
    bot = as_user(alice)

    right = bot.post("/tokens", {"name": "x", "password": PASSWORD})
    wrong = bot.post("/tokens", {"name": "x", "password": "not it"})

    assert right.status_code == wrong.status_code == 403
    assert right.json() == wrong.json()


def test_a_token_used_beside_a_session_is_still_a_token(alice: User) -> None:
    browser = logged_in(alice)
    both = ApiClient(client=Client(headers={"Authorization": f"Bearer {token_for(alice)}"}))
    both.client.cookies = browser.cookies

    response = both.post("/tokens", {"name": "sneaky", "password": PASSWORD})

    assert response.status_code == 403
    assert error_of(response)["code"] == "session_required"


def test_a_session_without_the_password_is_refused_and_creates_nothing(alice: User) -> None:
    response = with_session(alice).post("/tokens", {"name": "bot"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["details"] == {"field": "password"}
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("password", ["wrong", PASSWORD.upper(), f" {PASSWORD}"])
def test_a_session_with_a_wrong_password_is_refused_and_creates_nothing(
    alice: User, password: str
) -> None:
    response = with_session(alice).post("/tokens", {"name": "bot", "password": password})

    assert response.status_code == 403
    assert error_of(response)["code"] == "password_incorrect"
    assert not AccessToken.objects.exists()


def test_a_session_must_send_the_csrf_token_to_create_a_token(alice: User) -> None:
    api = ApiClient(client=logged_in(alice, enforce_csrf_checks=True))

    response = api.post("/tokens", {"name": "forged", "password": PASSWORD})

    assert response.status_code == 403
    assert not AccessToken.objects.exists()


def test_the_list_never_shows_a_token(alice: User) -> None:
    plain = create(with_session(alice), name="bot")["token"]

    response = ApiClient(f"Bearer {plain}").get("/tokens")

    assert response.status_code == 200
    assert plain not in response.content.decode()
    secret = plain.split("_", 2)[2]
    assert secret not in response.content.decode()
    assert all("token" not in entry for entry in response.json()["results"])
    assert [entry["name"] for entry in response.json()["results"]] == ["bot"]


def test_the_list_shows_where_each_token_came_from(alice: User) -> None:
    made_here = create(with_session(alice), name="from a session")
    parent, _ = token_create(alice, name="made on the server")
    child, _ = token_create(alice, name="made by a token")
    AccessToken.objects.filter(pk=child.pk).update(created_via="token", created_by=parent)

    listed = {
        entry["name"]: (entry["created_via"], entry["created_by"])
        for entry in as_user(alice).get("/tokens").json()["results"]
    }

    assert listed["from a session"] == ("session", None)
    assert listed["made on the server"] == ("server", None)
    assert listed["made by a token"] == ("token", parent.pk)
    assert made_here["created_via"] == "session"


def test_the_list_shows_only_my_tokens(alice: User, bob: User) -> None:
    token_create(bob, name="bobs")

    names = [entry["name"] for entry in as_user(alice).get("/tokens").json()["results"]]

    assert "bobs" not in names


def test_only_a_hash_of_the_secret_is_stored(alice: User) -> None:
    plain = create(with_session(alice), name="bot")["token"]
    _, lookup, secret = plain.split("_", 2)

    stored = AccessToken.objects.get(lookup=lookup)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    for row in AccessToken.objects.values():
        assert all(secret not in str(value) for value in row.values())
        assert all(plain not in str(value) for value in row.values())


def test_revoking_a_token_stops_it_at_once_and_is_idempotent(alice: User) -> None:
    created = create(with_session(alice), name="bot")
    bot = ApiClient(f"Bearer {created['token']}")
    assert bot.get("/me").status_code == 200
    api = as_user(alice)

    first = api.delete(f"/tokens/{created['id']}")
    again = api.delete(f"/tokens/{created['id']}")

    assert first.status_code == again.status_code == 200
    assert (first.json()["revoked"], first.json()["active"]) == (True, False)
    assert again.json() == first.json()
    assert bot.get("/me").status_code == 401


def test_a_token_may_revoke_itself(alice: User) -> None:
    created = create(with_session(alice), name="bot")
    bot = ApiClient(f"Bearer {created['token']}")

    assert bot.delete(f"/tokens/{created['id']}").status_code == 200
    assert bot.get("/me").status_code == 401


def test_revoking_a_token_revokes_those_it_created(alice: User) -> None:
    parent, parent_plain = token_create(alice, name="one day")
    child, child_plain = token_create(alice, name="forever")
    AccessToken.objects.filter(pk=child.pk).update(created_via="token", created_by=parent)

    response = as_user(alice).delete(f"/tokens/{parent.pk}")

    assert response.status_code == 200
    assert ApiClient(f"Bearer {parent_plain}").get("/me").status_code == 401
    assert ApiClient(f"Bearer {child_plain}").get("/me").status_code == 401


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "   "}, {"name": "x" * 81}, {}])
def test_a_token_needs_a_name(alice: User, body: dict) -> None:
    response = with_session(alice).post("/tokens", {**body, "password": PASSWORD})

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert not AccessToken.objects.exists()


def test_active_tokens_per_user_are_limited(alice: User) -> None:
    for n in range(MAX_TOKENS_PER_USER):
        token_create(alice, name=f"t{n}")

    response = with_session(alice).post("/tokens", {"name": "one too many", "password": PASSWORD})

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


# POST /api/v1/me/logout-everywhere


def test_logging_out_everywhere_ends_other_sessions_and_every_token_and_keeps_this_one(
    alice: User, bob: User
) -> None:
    browser, other_browser = logged_in(alice), logged_in(alice)
    plains = [token_for(alice, name=f"bot {n}") for n in range(3)]
    bobs = token_for(bob)
    key_before = browser.cookies[settings.SESSION_COOKIE_NAME].value

    response = ApiClient(client=browser).post("/me/logout-everywhere", {"password": PASSWORD})

    assert response.status_code == 200
    assert response.json() == {"revoked_tokens": 3}
    assert ApiClient(client=other_browser).get("/me").status_code == 401
    assert {ApiClient(f"Bearer {plain}").get("/me").status_code for plain in plains} == {401}
    assert ApiClient(client=browser).get("/me").status_code == 200
    assert browser.cookies[settings.SESSION_COOKIE_NAME].value != key_before
    assert ApiClient(f"Bearer {bobs}").get("/me").status_code == 200


def test_a_stolen_copy_of_this_sessions_cookie_is_logged_out_too(alice: User) -> None:
    browser = logged_in(alice)
    thief = Client()
    name = settings.SESSION_COOKIE_NAME
    thief.cookies[name] = browser.cookies[name].value  # the same session, copied before

    ApiClient(client=browser).post("/me/logout-everywhere", {"password": PASSWORD})

    assert ApiClient(client=thief).get("/me").status_code == 401


def test_a_token_cannot_log_out_everywhere(alice: User) -> None:
    other_browser = logged_in(alice)
    kept = token_for(alice, name="kept")

    response = as_user(alice).post("/me/logout-everywhere", {"password": PASSWORD})

    assert response.status_code == 403
    assert error_of(response)["code"] == "session_required"
    assert ApiClient(client=other_browser).get("/me").status_code == 200
    assert ApiClient(f"Bearer {kept}").get("/me").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({}, 400, "invalid"), ({"password": "wrong"}, 403, "password_incorrect")],
)
def test_logging_out_everywhere_without_the_right_password_changes_nothing(
    alice: User, body: dict, status: int, code: str
) -> None:
    other_browser = logged_in(alice)
    kept = token_for(alice, name="kept")

    response = with_session(alice).post("/me/logout-everywhere", body)

    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert ApiClient(client=other_browser).get("/me").status_code == 200
    assert ApiClient(f"Bearer {kept}").get("/me").status_code == 200


# The page at /accounts/tokens/


def test_the_token_page_needs_a_login() -> None:
    response = Client().get(reverse("tokens"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_page_creates_a_token_that_works_on_the_api(alice: User) -> None:
    browser = logged_in(alice)

    page = browser.post(reverse("tokens"), {"name": "from the page", "password": PASSWORD})

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


@pytest.mark.parametrize(
    "form",
    [
        {"name": "forged", "password": PASSWORD},
        {"logout_everywhere": "1", "password": PASSWORD},
    ],
)
def test_the_page_forms_are_protected_by_csrf(alice: User, form: dict) -> None:
    token_create(alice, name="kept")
    browser = logged_in(alice, enforce_csrf_checks=True)

    response = browser.post(reverse("tokens"), form)

    assert response.status_code == 403
    assert list(AccessToken.objects.values_list("name", "revoked_at")) == [("kept", None)]
    assert browser.get(reverse("tokens")).status_code == 200

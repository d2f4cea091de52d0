"""api.views.session: a single-page client logs a browser session in and out, under the log-in
page's rules (one form, one guess limit) and with CSRF checked even before anyone is logged in."""

import json
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from accounts.models import User
from tests.api.conftest import API, ApiClient, as_user, error_of, token_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SESSION = f"{API}/session"
WRONG_LOGIN = "Please enter a correct username and password."


class Browser:
    """A page's script on the same origin: cookies kept, CSRF enforced as in a real browser,
    the `csrftoken` cookie read and sent back as X-CSRFToken."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    @property
    def csrf_token(self) -> str:
        return self.client.cookies["csrftoken"].value

    def get(self, path: str = SESSION) -> HttpResponse:
        return self.client.get(path)

    def log_in(self, body: Any, *, csrf: bool = True) -> HttpResponse:
        headers = {"X-CSRFToken": self.csrf_token} if csrf else {}
        return self.client.post(SESSION, json.dumps(body), "application/json", headers=headers)

    def log_out(self, *, csrf: bool = True) -> HttpResponse:
        headers = {"X-CSRFToken": self.csrf_token} if csrf else {}
        return self.client.delete(SESSION, headers=headers)


def logged_in_browser(user: User) -> Browser:
    browser = Browser()
    browser.get()
    response = browser.log_in({"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return browser


def log_in(body: Any) -> HttpResponse:
    """A log-in without the CSRF check (Django's test client's default): the body's rules."""
    return ApiClient().post("/session", body)


# GET


def test_nobody_logged_in_is_401_and_gets_a_csrf_cookie_a_script_can_read() -> None:
    response = Client().get(SESSION)

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    cookie = response.cookies["csrftoken"]
    assert cookie.value
    assert not cookie["httponly"]
    assert not settings.CSRF_COOKIE_HTTPONLY


def test_a_session_gets_the_user_as_me_answers(alice: User) -> None:
    client = Client()
    client.force_login(alice)

    response = client.get(SESSION)

    assert response.status_code == 200
    assert response.json() == client.get(f"{API}/me").json()
    assert response.json() == {"username": "alice", "display_name": "Alice", "is_staff": False}
    assert response.cookies["csrftoken"].value


def test_a_token_gets_the_user_too(alice: User) -> None:
    response = as_user(alice).get("/session")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


# POST: logging in


def test_logging_in_starts_a_session_that_the_api_accepts(alice: User) -> None:
    browser = Browser()
    assert browser.get().status_code == 401
    token_before = browser.csrf_token

    response = browser.log_in({"username": "alice", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json() == {"username": "alice", "display_name": "Alice", "is_staff": False}
    assert response.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.csrf_token != token_before  # Django's login rotates it
    me = browser.get(f"{API}/me")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert browser.get().json() == me.json()


def test_logging_in_gives_a_new_session_key(alice: User) -> None:
    browser = Browser()
    browser.get()
    session = browser.client.session
    session["before"] = True
    session.save()
    before = session.session_key

    browser.log_in({"username": "alice", "password": PASSWORD})

    assert browser.client.cookies[settings.SESSION_COOKIE_NAME].value != before


def test_the_username_is_found_as_on_the_log_in_page(alice: User) -> None:
    # The page's form: surrounding spaces are dropped and letters match in any case.
    response = log_in({"username": "  ALICE ", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


@pytest.mark.parametrize("password", ["wrong", PASSWORD.upper(), f" {PASSWORD}", f"{PASSWORD} "])
def test_a_wrong_password_is_400_and_logs_nobody_in(alice: User, password: str) -> None:
    browser = Browser()
    browser.get()

    response = browser.log_in({"username": "alice", "password": password})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["message"].startswith(WRONG_LOGIN)
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert browser.get(f"{API}/me").status_code == 401


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(alice: User) -> None:
    unknown = log_in({"username": "nobody", "password": PASSWORD})
    wrong = log_in({"username": "alice", "password": "wrong"})

    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()


def test_an_inactive_user_is_refused_as_a_wrong_password() -> None:
    UserFactory(username="gone", is_active=False)

    response = log_in({"username": "gone", "password": PASSWORD})

    assert response.status_code == 400
    assert response.json() == log_in({"username": "gone", "password": "wrong"}).json()
    assert error_of(response)["message"].startswith(WRONG_LOGIN)


def test_guesses_over_the_account_limit_are_429_with_retry_after(
    alice: User, settings: Any
) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 2
    for _ in range(2):
        assert log_in({"username": "alice", "password": "wrong"}).status_code == 400

    # Over the limit even the right password waits, as on the log-in page.
    refused = log_in({"username": "alice", "password": PASSWORD})

    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("Too many attempts")
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert f"{retry_after} s" in error["message"]
    # Another account from the same address is still welcome.
    UserFactory(username="bob")
    assert log_in({"username": "bob", "password": PASSWORD}).status_code == 200


def test_guesses_over_the_address_limit_are_429_whatever_the_account(settings: Any) -> None:
    settings.PARLEY_LOGIN_ADDRESS_BURST = 2
    UserFactory(username="carol")
    for name in ("x1", "x2"):
        assert log_in({"username": name, "password": "guess"}).status_code == 400

    refused = log_in({"username": "carol", "password": PASSWORD})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1


def test_a_right_password_gives_its_guess_back(alice: User, settings: Any) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 2

    assert log_in({"username": "alice", "password": "wrong"}).status_code == 400
    assert log_in({"username": "alice", "password": PASSWORD}).status_code == 200
    assert log_in({"username": "alice", "password": "wrong"}).status_code == 400
    assert log_in({"username": "alice", "password": "wrong"}).status_code == 429


# CSRF: a page on another site must not be able to log a visitor in as someone else.


def test_logging_in_without_the_csrf_token_is_403(alice: User) -> None:
    browser = Browser()
    browser.get()

    response = browser.log_in({"username": "alice", "password": PASSWORD}, csrf=False)

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "forbidden"
    assert "CSRF" in error["message"]
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert browser.get(f"{API}/me").status_code == 401


def test_logging_in_without_the_csrf_cookie_is_403(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    body = json.dumps({"username": "alice", "password": PASSWORD})

    response = client.post(SESSION, body, "application/json", headers={"X-CSRFToken": "x" * 32})

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_logging_in_with_another_csrf_token_is_403(alice: User) -> None:
    browser = Browser()
    browser.get()
    other = Browser()
    other.get()
    body = json.dumps({"username": "alice", "password": PASSWORD})

    response = browser.client.post(
        SESSION, body, "application/json", headers={"X-CSRFToken": other.csrf_token}
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_a_refused_csrf_check_does_not_count_a_guess(alice: User, settings: Any) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 1
    browser = Browser()
    browser.get()
    for _ in range(3):
        browser.log_in({"username": "alice", "password": "wrong"}, csrf=False)

    assert browser.log_in({"username": "alice", "password": PASSWORD}).status_code == 200


def test_a_form_post_from_another_site_logs_nobody_in(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(SESSION, {"username": "alice", "password": PASSWORD})

    assert response.status_code in (403, 415)
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# Who may not log in here


def test_a_token_cannot_log_in_a_session(alice: User) -> None:
    response = as_user(alice).post("/session", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "token" in error["message"]
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_a_session_already_logged_in_is_told_to_log_out_first(alice: User, bob: User) -> None:
    browser = logged_in_browser(alice)

    response = browser.log_in({"username": "bob", "password": PASSWORD})

    assert response.status_code == 400
    assert "log out first" in error_of(response)["message"]
    assert browser.get(f"{API}/me").json()["username"] == "alice"


# Hostile bodies: each a clear 400, never a 500.


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        pytest.param("{not json", "bad_json", None, id="not-json"),
        pytest.param('["alice", "pw"]', "invalid", "non_field_errors", id="array"),
        pytest.param('"alice"', "invalid", "non_field_errors", id="string"),
        pytest.param("null", "invalid", "non_field_errors", id="null"),
        pytest.param({}, "invalid", "username", id="empty-object"),
        pytest.param({"username": "alice"}, "invalid", "password", id="no-password"),
        pytest.param({"password": PASSWORD}, "invalid", "username", id="no-username"),
        pytest.param({"username": 1, "password": PASSWORD}, "invalid", "username", id="number"),
        pytest.param({"username": "alice", "password": None}, "invalid", "password", id="null-pw"),
        pytest.param({"username": ["alice"], "password": PASSWORD}, "invalid", "username", id="a"),
        pytest.param({"username": {"a": 1}, "password": PASSWORD}, "invalid", "username", id="o"),
        pytest.param({"username": "alice", "password": True}, "invalid", "password", id="bool"),
        pytest.param({"username": "", "password": PASSWORD}, "invalid", "username", id="blank"),
        pytest.param({"username": "alice", "password": ""}, "invalid", "password", id="blank-pw"),
        pytest.param({"username": "a" * 10240, "password": PASSWORD}, "invalid", None, id="10kb"),
        pytest.param(
            {"username": "al\x00ice", "password": PASSWORD}, "invalid", "username", id="nul"
        ),
        pytest.param(
            {"username": "alice", "password": "pw\x00"}, "invalid", "password", id="nul-pw"
        ),
        pytest.param(
            '{"username": "alice", "password": "\\ud800"}', "invalid", "password", id="surrogate"
        ),
        pytest.param(
            '{"username": "\\udfff", "password": "x"}', "invalid", "username", id="surrogate-name"
        ),
        pytest.param(
            {"username": "alice", "password": PASSWORD, "remember": True},
            "invalid",
            "remember",
            id="unknown-field",
        ),
        pytest.param("[" * 5000 + "]" * 5000, "bad_json", None, id="deep"),
    ],
)
def test_a_hostile_body_is_a_clear_400(alice: User, body: Any, code: str, field: str) -> None:
    response = log_in(body)

    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == code
    if field is not None:
        assert field in error["details"], error
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_no_body_at_all_is_a_clear_400(alice: User) -> None:
    response = ApiClient().post("/session")

    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"username", "password"}


def test_a_10_kb_username_is_a_wrong_log_in_as_on_the_log_in_page(alice: User) -> None:
    # Django's AuthenticationForm shows the username's max_length but does not check it: such
    # a name is simply no one's, and counts as a guess like any other.
    response = log_in({"username": "a" * 10240, "password": PASSWORD})

    assert response.status_code == 400
    assert error_of(response)["message"].startswith(WRONG_LOGIN)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_refused_as_on_every_endpoint(
    alice: User, content_type: str
) -> None:
    body = json.dumps({"username": "alice", "password": PASSWORD})

    response = Client().post(SESSION, body, content_type)

    # The API's rule for a body it does not read (api/errors.py): 415, not a log-in.
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# DELETE: logging out


def test_logging_out_ends_the_session(alice: User) -> None:
    browser = logged_in_browser(alice)

    response = browser.log_out()

    assert response.status_code == 204
    assert response.content == b""
    assert browser.get(f"{API}/me").status_code == 401
    assert browser.get().status_code == 401


def test_logging_out_without_the_csrf_token_is_403_and_keeps_the_session(alice: User) -> None:
    browser = logged_in_browser(alice)

    response = browser.log_out(csrf=False)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert browser.get(f"{API}/me").status_code == 200


def test_a_token_is_not_logged_out_here(alice: User) -> None:
    token = token_for(alice)
    api = ApiClient(f"Bearer {token}")

    response = api.delete("/session")

    assert response.status_code == 400
    assert "/api/v1/tokens" in error_of(response)["message"]
    assert api.get("/me").status_code == 200


def test_logging_out_nobody_is_401() -> None:
    browser = Browser()
    browser.get()

    response = browser.log_out()

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_after_logging_out_the_same_page_can_log_in_again(alice: User) -> None:
    browser = logged_in_browser(alice)
    browser.log_out()
    browser.get()

    response = browser.log_in({"username": "alice", "password": PASSWORD})

    assert response.status_code == 200

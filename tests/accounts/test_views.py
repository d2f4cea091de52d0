"""accounts: signing up, logging in and out, through the Django test client."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "violet-anchor-71-tundra"


def sign_up(client: Client, username: str, password1: str, password2: str | None = None):
    return client.post(
        reverse("sign_up"),
        {
            "username": username,
            "display_name": "",
            "password1": password1,
            "password2": password1 if password2 is None else password2,
        },
    )


def error_codes(response: object, field: str) -> set[str]:
    return {error.code for error in response.context["form"].errors.as_data().get(field, [])}


def logged_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_sign_up_creates_the_user_and_logs_them_in() -> None:
    client = Client()

    response = sign_up(client, "alice", STRONG_PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("chat:home")
    user = User.objects.get(username="alice")
    assert user.check_password(STRONG_PASSWORD)
    assert logged_in_user_id(client) == str(user.pk)
    assert client.get(reverse("chat:home")).status_code == 200


def test_sign_up_page_renders_for_anonymous_users() -> None:
    response = Client().get(reverse("sign_up"))

    assert response.status_code == 200
    assert 'name="password1"' in response.content.decode()


def test_sign_up_page_sends_logged_in_users_home() -> None:
    client = Client()
    client.force_login(UserFactory())

    response = client.get(reverse("sign_up"))

    assert response.status_code == 302
    assert response.url == reverse("chat:home")


@pytest.mark.parametrize(
    ("existing", "wanted"),
    [("alice", "alice"), ("alice", "Alice"), ("Alice", "alice"), ("alice", "ALICE")],
)
def test_sign_up_with_a_taken_username_in_any_case_is_refused(existing: str, wanted: str) -> None:
    UserFactory(username=existing)
    client = Client()

    response = sign_up(client, wanted, STRONG_PASSWORD)

    assert response.status_code == 200
    errors = response.context["form"].errors["username"]
    assert len(errors) == 1
    assert re.search(r"already exists|is taken", errors[0])
    assert errors[0] in response.content.decode().replace("&#x27;", "'")
    assert User.objects.count() == 1
    assert logged_in_user_id(client) is None


def test_sign_up_with_mismatched_passwords_is_refused() -> None:
    client = Client()

    response = sign_up(client, "alice", STRONG_PASSWORD, STRONG_PASSWORD + "x")

    assert response.status_code == 200
    assert error_codes(response, "password2") == {"password_mismatch"}
    assert "didn\u2019t match" in response.content.decode()
    assert not User.objects.exists()
    assert logged_in_user_id(client) is None


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("v7#kq", "password_too_short"),
        ("8302917465", "password_entirely_numeric"),
        ("qwertyuiop", "password_too_common"),
        ("alicealice1", "password_too_similar"),
    ],
)
def test_sign_up_with_a_weak_password_is_refused(password: str, code: str) -> None:
    client = Client()

    response = sign_up(client, "alicealice", password)

    assert response.status_code == 200
    assert code in error_codes(response, "password2")
    assert not User.objects.exists()
    assert logged_in_user_id(client) is None


def test_log_in_with_the_right_password_redirects_home() -> None:
    user = UserFactory(username="alice")
    client = Client()

    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("chat:home")
    assert logged_in_user_id(client) == str(user.pk)


def test_log_in_follows_a_safe_next_url() -> None:
    UserFactory(username="alice")
    client = Client()

    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD, "next": "/rooms/new/"}
    )

    assert response.url == "/rooms/new/"


def test_log_in_ignores_an_off_site_next_url() -> None:
    UserFactory(username="alice")
    client = Client()

    response = client.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response.url == reverse("chat:home")


def test_log_in_with_a_wrong_password_shows_an_error_and_starts_no_session() -> None:
    UserFactory(username="alice")
    client = Client()

    response = client.post(reverse("login"), {"username": "alice", "password": "wrong-password"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_log_in_as_an_inactive_user_starts_no_session() -> None:
    UserFactory(username="alice", is_active=False)
    client = Client()

    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_log_in_with_the_username_in_another_case_works() -> None:
    user = UserFactory(username="alice")
    client = Client()

    response = client.post(reverse("login"), {"username": "Alice", "password": PASSWORD})

    assert response.status_code == 302
    assert logged_in_user_id(client) == str(user.pk)


def test_log_out_by_post_ends_the_session() -> None:
    client = Client()
    client.force_login(UserFactory())

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert logged_in_user_id(client) is None
    assert client.get(reverse("chat:home")).status_code == 302


def test_log_out_by_get_is_refused_and_keeps_the_session() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert logged_in_user_id(client) == str(user.pk)


def test_home_page_redirects_anonymous_users_to_log_in() -> None:
    response = Client().get(reverse("chat:home"))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('chat:home')}"

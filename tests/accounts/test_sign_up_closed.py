"""PARLEY_SIGNUP_OPEN: with sign-up closed, its page says so and the log-in page has no link."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

# The log-in form's own invitation; the top bar's link is base.html's.
INVITATION = "Create an account"


@pytest.fixture
def closed(settings: Any) -> None:
    settings.PARLEY_SIGNUP_OPEN = False


def test_the_closed_sign_up_page_says_so(closed: None) -> None:
    response = Client().get(reverse("sign_up"))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Sign-up is closed" in page
    assert 'name="password1"' not in page


def test_a_sign_up_posted_while_closed_creates_nothing(closed: None) -> None:
    response = Client().post(
        reverse("sign_up"),
        {
            "username": "mallory",
            "password1": "violet-anchor-71-tundra",
            "password2": "violet-anchor-71-tundra",
        },
    )

    assert response.status_code == 403
    assert not User.objects.exists()


def test_the_log_in_page_links_to_sign_up_only_while_it_is_open(settings: Any) -> None:
    assert INVITATION in Client().get(reverse("login")).content.decode()

    settings.PARLEY_SIGNUP_OPEN = False

    page = Client().get(reverse("login")).content.decode()
    assert INVITATION not in page
    assert 'name="password"' in page


def test_no_page_links_to_sign_up_while_it_is_closed(settings: Any) -> None:
    """The header of every page for visitors too, not just the log-in form."""
    sign_up = f'href="{reverse("sign_up")}"'
    assert sign_up in Client().get(reverse("login")).content.decode()

    settings.PARLEY_SIGNUP_OPEN = False

    for page in (reverse("login"), reverse("sign_up")):
        assert sign_up not in Client().get(page).content.decode()

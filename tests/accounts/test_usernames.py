"""accounts.usernames and the forms that create accounts: new names are NFKC, in one script, and
not a look-alike of an existing name; logging in finds a name however it is written."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.usernames import comparison_key, mixes_scripts, skeleton
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "violet-anchor-71-tundra"
CYRILLIC_A = "\u0430"
FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_up(username: str) -> Any:
    return Client().post(
        reverse("sign_up"),
        {
            "username": username,
            "display_name": "",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )


def username_errors(response: Any) -> list[tuple[str, str]]:
    """(code, message) of each error on the username field of the page's form."""
    errors = response.context["form"].errors.as_data().get("username", [])
    return [(error.code, " ".join(error.messages)) for error in errors]


# Look-alikes


def test_a_cyrillic_a_beside_an_existing_alice_is_refused() -> None:
    UserFactory(username="alice")

    response = sign_up(f"{CYRILLIC_A}lice")

    assert response.status_code == 200
    assert username_errors(response) == [
        (
            "username_confusable",
            "That username looks too much like an existing one; please choose another.",
        )
    ]
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("existing", "wanted"),
    [
        ("ape", "\u0430\u0440\u0435"),  # all Cyrillic: one script, every letter a look-alike
        ("abc", "\u0410\u0412\u0421"),  # Cyrillic capitals, and names ignore case
        ("bob", "b0b"),
        ("alice", "a1ice"),
        ("paypal", "paypaI"),
        ("mary", "rnary"),
        ("alice", "\u0251lice"),  # Latin alpha
        ("Alice", "\u0430lice"),
    ],
)
def test_look_alikes_of_existing_names_are_refused(existing: str, wanted: str) -> None:
    UserFactory(username=existing)

    response = sign_up(wanted)

    assert [code for code, _ in username_errors(response)] == ["username_confusable"]
    assert not User.objects.filter(username=wanted).exists()


@pytest.mark.parametrize(
    ("existing", "wanted"),
    [("alice", "alicia"), ("jose", "jos\u00e9"), ("anna", "hanna"), ("bob", "bobby")],
)
def test_names_that_only_resemble_each_other_are_allowed(existing: str, wanted: str) -> None:
    UserFactory(username=existing)

    assert sign_up(wanted).status_code == 302
    assert User.objects.filter(username=wanted).exists()


# Scripts


def test_a_name_mixing_scripts_is_refused_even_without_a_look_alike() -> None:
    response = sign_up(f"{CYRILLIC_A}lice")

    assert username_errors(response) == [
        (
            "username_mixed_script",
            "A username is written in one script; this one mixes Cyrillic and Latin letters.",
        )
    ]


@pytest.mark.parametrize(
    "username",
    [
        "\u0410\u043b\u0438\u0441\u0430",  # Cyrillic
        "\u5c71\u7530\u305f\u308d\u3046",  # Han and Hiragana, as Japanese is written
        "\uae40\ucca0\uc218",  # Hangul
        "\u03b1\u03bb\u03af\u03ba\u03b7",  # Greek
        "alice_99",
        "j.doe@team",
    ],
)
def test_names_in_one_script_are_allowed(username: str) -> None:
    assert sign_up(username).status_code == 302
    assert User.objects.filter(username=username).exists()


def test_script_rules() -> None:
    assert not mixes_scripts("alice-2")
    assert mixes_scripts(f"{CYRILLIC_A}lice")
    assert mixes_scripts("\u0391laskaJazz")  # Greek capital alpha
    assert not mixes_scripts("\u5c71\u7530\u30bf\u30edu")  # Han, Katakana and Latin


# NFKC


def test_fullwidth_alice_is_alice_at_sign_up() -> None:
    assert sign_up(FULLWIDTH_ALICE).status_code == 302

    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


def test_fullwidth_alice_beside_alice_is_taken() -> None:
    UserFactory(username="alice")

    response = sign_up(FULLWIDTH_ALICE)

    errors = username_errors(response)
    assert len(errors) == 1
    assert "already exists" in errors[0][1] or "is taken" in errors[0][1]
    assert User.objects.count() == 1


def test_fullwidth_alice_logs_in_as_alice() -> None:
    alice = UserFactory(username="alice")
    client = Client()

    response = client.post(reverse("login"), {"username": FULLWIDTH_ALICE, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_an_existing_mixed_script_name_still_logs_in() -> None:
    # Made before the rules, not through a form: it is left as it is.
    old = UserFactory(username=f"{CYRILLIC_A}lice")
    client = Client()

    response = client.post(
        reverse("login"), {"username": f"{CYRILLIC_A}lice", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(old.pk)


def test_skeletons() -> None:
    assert skeleton(f"{CYRILLIC_A}lice") == skeleton("alice")
    assert skeleton("rn") == skeleton("m")
    assert comparison_key("\u0410\u0412\u0421") == comparison_key("abc")
    assert comparison_key("alice") != comparison_key("alicia")


# The admin's "add user" form


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def admin_add(client: Client, username: str) -> Any:
    return client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": username,
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )


def test_the_admin_cannot_add_a_look_alike(admin_client: Client) -> None:
    UserFactory(username="alice")

    response = admin_add(admin_client, f"{CYRILLIC_A}lice")

    assert response.status_code == 200
    assert "looks too much like an existing one" in response.content.decode()
    assert not User.objects.filter(username=f"{CYRILLIC_A}lice").exists()


def test_the_admin_adds_users_by_their_nfkc_name(admin_client: Client) -> None:
    response = admin_add(admin_client, "\uff42\uff4f\uff42")

    assert response.status_code == 302
    assert User.objects.filter(username="bob").exists()

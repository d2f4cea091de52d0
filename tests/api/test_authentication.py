"""api.authentication: personal access tokens in `Authorization: Bearer`, and nowhere else."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.tokens import token_create
from tests.api.conftest import ApiClient, error_of, token_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def me_with(authorization: str | None, **query: str) -> object:
    return ApiClient(authorization).get("/me", **query)


def assert_refused(response: object) -> None:
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="parley"'


def test_a_bearer_token_identifies_its_owner(alice: User) -> None:
    response = me_with(f"Bearer {token_for(alice)}")

    assert response.status_code == 200
    assert response.json() == {"username": "alice", "display_name": "Alice", "is_staff": False}


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_scheme_is_case_insensitive(alice: User, scheme: str) -> None:
    assert me_with(f"{scheme} {token_for(alice)}").status_code == 200


def test_every_token_works_whatever_characters_its_secret_has(alice: User) -> None:
    # The secret is URL-safe base64: about half of all secrets contain "_" or start with "-".
    plains = [token_for(alice, name=f"t{n}") for n in range(30)]

    assert any("_" in plain.split("_", 2)[2] for plain in plains)
    assert {me_with(f"Bearer {plain}").status_code for plain in plains} == {200}


@pytest.mark.parametrize(
    "header",
    [
        "Token {token}",
        "Basic {token}",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "{token}",
        "Bearer {token} extra",
        "Bearer parley_",
        "Bearer parley_abc_def",
        "Bearer not-a-parley-token",
    ],
)
def test_other_header_forms_are_refused_with_401(alice: User, header: str) -> None:
    assert_refused(me_with(header.format(token=token_for(alice))))


@pytest.mark.parametrize("name", ["token", "access_token", "bearer", "auth"])
def test_a_token_in_the_query_string_is_ignored(alice: User, name: str) -> None:
    assert_refused(me_with(None, **{name: token_for(alice)}))


def test_a_tampered_secret_is_refused(alice: User) -> None:
    plain = token_for(alice)
    tampered = plain[:-1] + ("A" if plain[-1] != "A" else "B")

    assert_refused(me_with(f"Bearer {tampered}"))


def test_an_expired_token_is_refused(alice: User) -> None:
    token, plain = token_create(alice, name="short", expires_in_days=1)
    assert me_with(f"Bearer {plain}").status_code == 200

    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))

    assert_refused(me_with(f"Bearer {plain}"))


def test_a_token_of_a_deactivated_user_is_refused(alice: User) -> None:
    plain = token_for(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)

    assert_refused(me_with(f"Bearer {plain}"))


def test_a_bad_token_is_refused_even_with_a_valid_session(alice: User) -> None:
    api = ApiClient("Bearer parley_0000000000000000_nope")
    api.client.force_login(alice)

    assert_refused(api.get("/me"))


def test_using_a_token_records_when_it_was_last_used(alice: User) -> None:
    token, plain = token_create(alice, name="bot")
    assert token.last_used_at is None

    me_with(f"Bearer {plain}")

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


def test_staff_users_are_reported_as_staff() -> None:
    staff = UserFactory(username="root", display_name="", is_staff=True)

    response = me_with(f"Bearer {token_for(staff)}")

    assert response.json() == {"username": "root", "display_name": "root", "is_staff": True}

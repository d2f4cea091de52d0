"""GET /api/v1/version: which Parley, REST API and socket protocol the server speaks."""

import tomllib
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import User
from chat.wire import PROTOCOL_VERSION
from tests.api.conftest import API, ApiClient, as_user, error_of

pytestmark = pytest.mark.django_db

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def expected() -> dict[str, object]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return {"parley": project["version"], "api": "1", "protocol": PROTOCOL_VERSION}


def test_the_version_answers_without_a_token() -> None:
    response = ApiClient().get("/version")

    assert response.status_code == 200
    assert response.json() == expected()
    assert response["RateLimit-Limit"]


def test_the_version_answers_a_token_user_the_same(alice: User) -> None:
    response = as_user(alice).get("/version")

    assert response.status_code == 200
    assert response.json() == expected()


def test_a_bad_token_is_refused_even_here() -> None:
    response = ApiClient("Bearer forged").get("/version")

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_unknown_query_fields_and_odd_values_change_nothing() -> None:
    response = ApiClient().get("/version", api="2", protocol="<script>", parley="' OR 1=1")

    assert response.status_code == 200
    assert response.json() == expected()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_version_is_read_only(method: str) -> None:
    response = Client().generic(method, f"{API}/version", '{"api": "2"}', "application/json")

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"

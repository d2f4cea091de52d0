"""Helpers for the REST API tests: JSON clients that authenticate with a personal access token."""

import json
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from accounts.models import User
from accounts.tokens import token_create
from tests.factories import UserFactory

API = "/api/v1"
NO_BODY = object()


class ApiClient:
    """The Django test client speaking JSON to /api/v1, with an optional Authorization header."""

    def __init__(self, authorization: str | None = None, *, client: Client | None = None) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        self.client = client or Client(headers=headers)

    def get(self, path: str, **query: Any) -> HttpResponse:
        return self.client.get(f"{API}{path}", query)

    def send(self, method: str, path: str, body: Any = NO_BODY) -> HttpResponse:
        """A request with `body` as JSON (a str or bytes body is sent as it is)."""
        if body is NO_BODY:
            return self.client.generic(method, f"{API}{path}")
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.generic(method, f"{API}{path}", data, "application/json")

    def post(self, path: str, body: Any = NO_BODY) -> HttpResponse:
        return self.send("POST", path, body)

    def patch(self, path: str, body: Any) -> HttpResponse:
        return self.send("PATCH", path, body)

    def delete(self, path: str) -> HttpResponse:
        return self.send("DELETE", path)


def token_for(user: User, name: str = "tests") -> str:
    """A new personal access token of `user`, in plain text."""
    return token_create(user, name=name)[1]


def as_user(user: User) -> ApiClient:
    """A client authenticated as `user` with a fresh token."""
    return ApiClient(f"Bearer {token_for(user)}")


def error_of(response: HttpResponse) -> dict[str, Any]:
    """The `error` object of an API error response, after checking the shape around it."""
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert set(data) == {"error"}, data
    error = data["error"]
    assert set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Factories set a password for every user; the real hasher makes that a third of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice")


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob")


@pytest.fixture
def outsider() -> User:
    return UserFactory(username="mallory")

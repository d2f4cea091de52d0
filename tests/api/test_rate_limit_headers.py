"""The API's request budget (api/budget.py): RateLimit-* headers on every answer, 429 past it.

Each test runs counting in this process and, when REDIS_URL is set (CI's PostgreSQL + Redis
run), in Redis. The budget refills one request per 100 s here, so nothing refills mid-test.
"""

import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import User
from api import urls as api_urls
from api.views.common import ApiView
from chat.models import Message
from tests.api.conftest import API, ApiClient, as_user, error_of
from tests.factories import UserFactory, make_room
from tests.limits import STORES, count_in

pytestmark = pytest.mark.django_db

BURST = 5
SECONDS_PER_REQUEST = 100


@pytest.fixture(params=STORES, autouse=True)
def budget(request: pytest.FixtureRequest, settings: Any) -> str:
    """A small budget: 5 requests at once, then one per 100 s."""
    settings.PARLEY_API_RATE = 1 / SECONDS_PER_REQUEST
    settings.PARLEY_API_BURST = BURST
    return count_in(request.param, settings)


def budget_of(response: Any) -> tuple[int, int, int]:
    """(RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset) of an answer."""
    return (
        int(response["RateLimit-Limit"]),
        int(response["RateLimit-Remaining"]),
        int(response["RateLimit-Reset"]),
    )


def after(requests: int) -> tuple[int, int, int]:
    """The headers expected once `requests` requests of a fresh budget were spent."""
    return (BURST, BURST - requests, requests * SECONDS_PER_REQUEST)


def test_a_200_states_the_budget(alice: User) -> None:
    response = as_user(alice).get("/me")

    assert response.status_code == 200
    assert budget_of(response) == after(1)


def test_a_404_states_the_budget(alice: User) -> None:
    client = as_user(alice)

    missing_room = client.get(f"/rooms/{uuid.uuid4()}")
    unknown_endpoint = client.post("/no/such/thing", {"x": 1})

    assert missing_room.status_code == 404
    assert budget_of(missing_room) == after(1)
    assert unknown_endpoint.status_code == 404
    assert error_of(unknown_endpoint)["code"] == "not_found"
    assert budget_of(unknown_endpoint) == after(2)


def test_a_400_states_the_budget_and_changes_nothing(alice: User) -> None:
    response = as_user(alice).post("/rooms", {"name": 12, "visibility": "'; DROP TABLE rooms;--"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert budget_of(response) == after(1)


def test_401_413_and_415_state_the_budget(alice: User) -> None:
    room = make_room(alice, name="Lobby")
    client = as_user(alice)

    anonymous = ApiClient().get("/me")
    bad_token = ApiClient("Bearer not-a-token").get("/me")
    too_large = client.post(
        f"/rooms/{room.public_id}/messages",
        '{"body": "' + "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}',
    )
    wrong_type = client.client.post(
        f"{API}/rooms/{room.public_id}/messages", "body=hi", content_type="text/plain"
    )

    assert anonymous.status_code == 401
    assert bad_token.status_code == 401
    # Both anonymous, from the test client's one address: one budget.
    assert budget_of(anonymous) == after(1)
    assert budget_of(bad_token) == after(2)
    assert too_large.status_code == 413
    assert budget_of(too_large) == after(1)
    assert wrong_type.status_code == 415
    assert budget_of(wrong_type) == after(2)
    assert not Message.objects.filter(kind=Message.Kind.TEXT).exists()


def test_remaining_counts_down_by_one_per_request_writes_included(alice: User) -> None:
    room = make_room(alice, name="Lobby")
    client = as_user(alice)

    answers = [
        client.get("/me"),
        client.post(f"/rooms/{room.public_id}/messages", {"body": "hi"}),
        client.get(f"/rooms/{room.public_id}/messages"),
        client.get("/me/rooms"),
    ]

    assert [response.status_code for response in answers] == [200, 201, 200, 200]
    assert [budget_of(response) for response in answers] == [after(n) for n in range(1, 5)]


def test_a_burst_of_n_plus_one_gets_one_429_with_retry_after(alice: User) -> None:
    room = make_room(alice, name="Lobby")
    client = as_user(alice)
    for _ in range(BURST):
        assert client.get("/me").status_code == 200

    refused = client.post(f"/rooms/{room.public_id}/messages", {"body": "one too many"})

    assert refused.status_code == 429
    assert error_of(refused)["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= SECONDS_PER_REQUEST
    assert budget_of(refused) == (BURST, 0, BURST * SECONDS_PER_REQUEST)
    assert not Message.objects.filter(body="one too many").exists()


def test_two_users_have_separate_budgets(alice: User, bob: User) -> None:
    alice_client = as_user(alice)
    for _ in range(BURST):
        alice_client.get("/me")

    assert alice_client.get("/me").status_code == 429
    response = as_user(bob).get("/me")
    assert response.status_code == 200
    assert budget_of(response) == after(1)


def test_a_token_and_the_same_users_session_share_one_budget(alice: User) -> None:
    by_token = as_user(alice)
    by_session = Client()
    by_session.force_login(alice)

    by_token.get("/me")
    by_token.get("/me")
    response = by_session.get(f"{API}/me")

    assert response.status_code == 200
    assert budget_of(response) == after(3)


def test_anonymous_requests_count_per_address() -> None:
    client = Client()
    for _ in range(BURST):
        assert client.get(f"{API}/version", REMOTE_ADDR="203.0.113.7").status_code == 200

    refused = client.get(f"{API}/version", REMOTE_ADDR="203.0.113.7")
    other = client.get(f"{API}/version", REMOTE_ADDR="198.51.100.20")

    assert refused.status_code == 429
    assert error_of(refused)["code"] == "rate_limited"
    assert other.status_code == 200
    assert budget_of(other) == after(1)


def test_an_ipv6_client_counts_by_its_64() -> None:
    client = Client()
    for host in range(1, BURST + 1):
        client.get(f"{API}/version", REMOTE_ADDR=f"2001:db8:0:1::{host}")

    same_64 = client.get(f"{API}/version", REMOTE_ADDR="2001:db8:0:1:ffff::1")
    next_64 = client.get(f"{API}/version", REMOTE_ADDR="2001:db8:0:2::1")

    assert same_64.status_code == 429
    assert next_64.status_code == 200


def test_a_forged_x_forwarded_for_does_not_buy_a_new_budget() -> None:
    """Django never reads X-Forwarded-For: uvicorn's proxy headers put the client in REMOTE_ADDR,
    and only for a trusted proxy (FORWARDED_ALLOW_IPS), as for the log-in limits."""
    client = Client()
    answers = [
        client.get(f"{API}/version", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        for n in range(BURST + 1)
    ]

    assert [response.status_code for response in answers] == [200] * BURST + [429]


def test_an_anonymous_client_past_its_budget_is_refused_before_its_token_is_checked(
    alice: User,
) -> None:
    client = Client()
    for _ in range(BURST):
        client.get(f"{API}/me", HTTP_AUTHORIZATION="Bearer guess")

    guess = client.get(f"{API}/me", HTTP_AUTHORIZATION="Bearer another-guess")

    assert guess.status_code == 429
    assert budget_of(guess)[1] == 0
    # The address's budget is not the user's: a real token still works from there.
    assert as_user(alice).get("/me").status_code == 200


def test_the_write_limit_stays_its_own_budget(alice: User, settings: Any) -> None:
    settings.PARLEY_WRITE_RATE = 1 / SECONDS_PER_REQUEST
    settings.PARLEY_WRITE_BURST = 1
    room = make_room(alice, name="Lobby")
    client = as_user(alice)

    first = client.post(f"/rooms/{room.public_id}/messages", {"body": "one"})
    second = client.post(f"/rooms/{room.public_id}/messages", {"body": "two"})

    assert first.status_code == 201
    assert second.status_code == 429
    assert error_of(second)["code"] == "rate_limited"
    # Refused by the write limit, the request still spent one unit of the API budget only.
    assert budget_of(second) == after(2)


def test_the_schema_is_outside_the_budget() -> None:
    client = Client()
    for _ in range(BURST + 1):
        response = client.get("/api/schema/")
        assert response.status_code == 200
        assert "RateLimit-Remaining" not in response

    assert budget_of(client.get(f"{API}/version")) == after(1)


def test_many_users_do_not_share_a_budget() -> None:
    users = [UserFactory() for _ in range(3)]

    answers = [as_user(user).get("/me") for user in users]

    assert [budget_of(response) for response in answers] == [after(1)] * 3


def test_every_api_v1_view_spends_the_budget() -> None:
    """A view added later on DRF's APIView would answer without the budget or its headers."""
    v1 = [
        pattern for pattern in api_urls.urlpatterns if str(pattern.pattern).lstrip("^")[:3] == "v1/"
    ]

    assert len(v1) > 20
    for pattern in v1:
        assert issubclass(pattern.callback.cls, ApiView), pattern

"""api.views.users: GET /api/v1/users (the directory) and GET /api/v1/users/<username>."""

from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from accounts.models import User
from chat.realtime import presence
from tests.api.conftest import API, ApiClient, as_user, error_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


async def go_online(user: User) -> None:
    """What a socket of `user` does when it opens (its first heartbeat)."""
    await presence.store().touch(user.pk, f"socket-of-{user.username}")


def test_the_directory_lists_active_users_by_name_with_presence(alice: User, bob: User) -> None:
    carol = UserFactory(username="Carol", display_name="")
    UserFactory(username="dave", is_active=False)
    async_to_sync(go_online)(bob)

    response = as_user(carol).get("/users")

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"username": "alice", "display_name": "Alice", "online": False},
            {"username": "bob", "display_name": "Bob", "online": True},
            {"username": "Carol", "display_name": "Carol", "online": False},
        ],
        "next_cursor": None,
    }


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_pages_walk_every_user_once_in_order(alice: User, limit: int) -> None:
    names = ["alice", "Bea", "cy", "Dee", "ed", "Flo", "gil"]
    for name in names[1:]:
        UserFactory(username=name)
    api = as_user(alice)
    seen: list[str] = []
    query: dict[str, object] = {"limit": limit}
    while True:
        data = api.get("/users", **query).json()
        assert len(data["results"]) <= limit
        seen += [user["username"] for user in data["results"]]
        if data["next_cursor"] is None:
            break
        query = {"limit": limit, "cursor": data["next_cursor"]}

    assert seen == names


def test_q_searches_by_prefix_and_keeps_paging_within_the_matches(alice: User) -> None:
    for name in ["ann", "Anna", "annie", "bob"]:
        UserFactory(username=name)
    api = as_user(alice)

    first = api.get("/users", q="AN", limit=2).json()
    second = api.get("/users", q="AN", limit=2, cursor=first["next_cursor"]).json()

    assert [user["username"] for user in first["results"]] == ["ann", "Anna"]
    assert [user["username"] for user in second["results"]] == ["annie"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("query", ["%", "_", "\\", "' OR '1'='1", "a%'; DROP TABLE x; --"])
def test_injection_looking_or_wildcard_q_matches_only_itself(alice: User, query: str) -> None:
    UserFactory(username="bob", display_name="Bob")

    response = as_user(alice).get("/users", q=query)

    assert response.status_code == 200
    assert response.json() == {"results": [], "next_cursor": None}
    assert User.objects.count() == 2


def test_unknown_query_parameters_are_ignored(alice: User) -> None:
    response = as_user(alice).get("/users", order="-username", offset=5, is_active="false")

    assert response.status_code == 200
    assert [user["username"] for user in response.json()["results"]] == ["alice"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"limit": "true"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "9" * 40}, "limit"),
        ({"q": "x" * 10_240}, "q"),
        ({"q": "x" * 151}, "q"),
        ({"q": "nul\x00"}, "q"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"cursor": "x" * 5000}, "cursor"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_bad_queries_are_400_invalid(alice: User, query: dict, field: str | None) -> None:
    response = as_user(alice).get("/users", **query)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    if field is not None:
        assert field in str(error["details"])


def test_a_tampered_cursor_is_400_with_a_clear_message(alice: User) -> None:
    UserFactory.create_batch(3)
    api = as_user(alice)
    cursor = api.get("/users", limit=1).json()["next_cursor"]
    payload, signature = cursor.rsplit(":", 1)

    response = api.get("/users", cursor=f"{payload[:-2]}xx:{signature}")

    assert response.status_code == 400
    error = error_of(response)
    assert error == {
        "code": "invalid",
        "message": "'cursor' must be a next_cursor from an earlier page.",
        "details": {"field": "cursor"},
    }


def test_a_rooms_directory_cursor_is_refused_here(alice: User) -> None:
    from tests.factories import make_room

    make_room(name="One")
    make_room(name="Two")
    api = as_user(alice)
    rooms_cursor = api.get("/rooms", limit=1).json()["next_cursor"]

    response = api.get("/users", cursor=rooms_cursor)

    assert response.status_code == 400
    assert error_of(response)["details"] == {"field": "cursor"}


def test_the_profile_shows_a_user_found_in_any_case(alice: User) -> None:
    bob = UserFactory(username="Bob", display_name="Bobby")
    async_to_sync(go_online)(bob)

    response = as_user(alice).get("/users/bOB")

    assert response.status_code == 200
    data = response.json()
    assert data == {
        "username": "Bob",
        "display_name": "Bobby",
        "online": True,
        "date_joined": data["date_joined"],
    }
    assert data["date_joined"] == bob.date_joined.isoformat()


def test_the_profile_of_someone_offline_says_so(alice: User, bob: User) -> None:
    assert as_user(alice).get("/users/bob").json()["online"] is False


@pytest.mark.parametrize(
    "path",
    ["/users/gone", "/users/nobody", "/users/" + "x" * 10_000, "/users/nul%00", "/users/%25"],
    ids=lambda path: path[:20],
)
def test_unknown_and_deactivated_users_get_the_same_404(alice: User, path: str) -> None:
    UserFactory(username="gone", is_active=False)

    response = as_user(alice).get(path)

    assert response.status_code == 404
    assert error_of(response) == {"code": "user_not_found", "message": "No such user."}


def test_a_deactivated_users_token_cannot_list_or_read_profiles(alice: User, bob: User) -> None:
    api = as_user(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)

    assert api.get("/users").status_code == 401
    assert api.get("/users/bob").status_code == 401


@pytest.mark.parametrize("path", ["/users", "/users/alice", f"/users/{quote('alice')}?q=a"])
def test_without_a_token_it_is_401(alice: User, path: str) -> None:
    response = ApiClient().get(path)

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_the_directory_changes_nothing_on_post(alice: User) -> None:
    response = as_user(alice).post("/users", {"username": "eve"})

    assert response.status_code == 405
    assert not User.objects.filter(username="eve").exists()


def test_a_logged_in_session_may_list_users(alice: User) -> None:
    client = Client()
    client.force_login(alice)

    response = client.get(f"{API}/users")

    assert response.status_code == 200

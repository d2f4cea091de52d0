"""api.views.rooms RoomsView.get: the rooms directory, paged with the API's one cursor style."""

import pytest

from accounts.models import User
from chat.models import Room
from chat.services.direct import direct_open
from tests.api.conftest import as_user, error_of
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooms(alice: User, bob: User) -> dict[str, Room]:
    """Rooms of every kind; alice may see those whose name starts with "seen"."""
    made = {
        name: make_room(name=name)
        for name in ["seen b", "Seen A", "seen d", "SEEN c", "seen e", "seen f"]
    }
    made["seen invite"] = make_room(
        name="seen invite", visibility=Room.Visibility.INVITE, members=[alice]
    )
    made["hidden invite"] = make_room(name="hidden invite", visibility=Room.Visibility.INVITE)
    made["hidden staff"] = make_room(name="hidden staff", visibility=Room.Visibility.STAFF)
    archived = make_room(name="hidden archived")
    Room.objects.filter(pk=archived.pk).update(is_archived=True)
    direct_open(alice, username="bob")
    return made


def walk(user: User, *, limit: int) -> list[str]:
    """The names of every room the directory lists to `user`, page after page."""
    api = as_user(user)
    names: list[str] = []
    query: dict[str, object] = {"limit": limit}
    while True:
        response = api.get("/rooms", **query)
        assert response.status_code == 200
        data = response.json()
        assert len(data["results"]) <= limit
        names += [room["name"] for room in data["results"]]
        if data["next_cursor"] is None:
            return names
        query = {"limit": limit, "cursor": data["next_cursor"]}


SEEN = ["Seen A", "seen b", "SEEN c", "seen d", "seen e", "seen f", "seen invite"]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_pages_cover_every_visible_room_once_by_name(
    alice: User, rooms: dict[str, Room], limit: int
) -> None:
    assert walk(alice, limit=limit) == SEEN


@pytest.mark.parametrize("limit", [1, 4])
def test_staff_pages_add_staff_only_rooms_but_not_others_invitations(
    rooms: dict[str, Room], limit: int
) -> None:
    staff = UserFactory(is_staff=True)

    assert walk(staff, limit=limit) == ["hidden staff", *SEEN[:-1]]


def test_a_room_made_between_pages_ahead_of_the_cursor_is_listed_once(
    alice: User, rooms: dict[str, Room]
) -> None:
    api = as_user(alice)
    first = api.get("/rooms", limit=3).json()
    make_room(name="seen bb")  # behind the cursor: already passed
    make_room(name="seen dd")  # ahead of it

    rest = api.get("/rooms", limit=100, cursor=first["next_cursor"]).json()

    assert [room["name"] for room in first["results"]] == SEEN[:3]
    assert [room["name"] for room in rest["results"]] == [
        "seen d",
        "seen dd",
        "seen e",
        "seen f",
        "seen invite",
    ]


def test_the_first_page_keeps_results_and_says_when_there_is_no_more(
    alice: User, rooms: dict[str, Room]
) -> None:
    data = as_user(alice).get("/rooms").json()

    assert set(data) == {"results", "next_cursor"}
    assert data["next_cursor"] is None
    assert [room["name"] for room in data["results"]] == SEEN
    assert {"id", "is_member", "member_count"} <= set(data["results"][0])


def test_the_default_page_is_fifty_rooms(alice: User) -> None:
    staff = UserFactory(is_staff=True)
    for number in range(51):
        make_room(staff, name=f"room {number:02}")

    data = as_user(alice).get("/rooms").json()

    assert len(data["results"]) == 50
    assert data["next_cursor"] is not None


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"limit": "true"},
        {"cursor": "garbage"},
        {"cursor": "x" * 10_240},
        {"cursor": "W10:AAAA"},
    ],
    ids=lambda query: str(query)[:30],
)
def test_bad_paging_is_400_invalid(alice: User, rooms: dict[str, Room], query: dict) -> None:
    response = as_user(alice).get("/rooms", **query)

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


def test_a_user_directory_cursor_is_refused_here(alice: User, rooms: dict[str, Room]) -> None:
    UserFactory.create_batch(2)
    api = as_user(alice)
    users_cursor = api.get("/users", limit=1).json()["next_cursor"]

    response = api.get("/rooms", cursor=users_cursor)

    assert response.status_code == 400
    assert error_of(response)["details"] == {"field": "cursor"}


def test_a_cursor_handed_to_staff_shows_others_only_what_they_may_see(
    alice: User, rooms: dict[str, Room]
) -> None:
    staff = UserFactory(is_staff=True)
    cursor = as_user(staff).get("/rooms", limit=1).json()["next_cursor"]

    data = as_user(alice).get("/rooms", cursor=cursor, limit=100).json()

    assert [room["name"] for room in data["results"]] == SEEN


def test_unknown_query_parameters_are_ignored(alice: User, rooms: dict[str, Room]) -> None:
    response = as_user(alice).get("/rooms", visibility="staff", offset=3, order="-name")

    assert [room["name"] for room in response.json()["results"]] == SEEN

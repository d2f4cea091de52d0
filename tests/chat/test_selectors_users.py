"""chat.selectors.users and chat.selectors.paging: the user directory and profiles."""

import pytest
from asgiref.sync import async_to_sync
from django.core import signing

from accounts.models import User
from chat.realtime import presence
from chat.selectors.paging import MAX_LIMIT
from chat.selectors.rooms import rooms_directory_page
from chat.selectors.users import user_profile, users_directory
from core.errors import InvalidInput, UserNotFound
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db

NAMES = ["zed", "Amy", "bea", "Carl", "dora", "Eve", "frank", "Gus"]


async def go_online(user: User) -> None:
    await presence.store().touch(user.pk, f"socket-of-{user.username}")


def walk(viewer: User, *, limit: int, query: str | None = None) -> list[str]:
    """Every username the directory lists, page after page."""
    names: list[str] = []
    cursor = None
    while True:
        page = users_directory(viewer, query=query, cursor=cursor, limit=limit)
        assert len(page.rows) <= limit
        names += [row["username"] for row in page.rows]
        if page.next_cursor is None:
            return names
        cursor = page.next_cursor


def usernames(viewer: User, query: str | None) -> list[str]:
    return [row["username"] for row in users_directory(viewer, query=query, limit=MAX_LIMIT).rows]


@pytest.mark.parametrize("limit", [1, 2, 3, 8, 9, 100])
def test_pages_walk_every_active_user_once_by_username_regardless_of_case(
    alice: User, limit: int
) -> None:
    for name in NAMES:
        UserFactory(username=name)

    assert walk(alice, limit=limit) == sorted([*NAMES, "alice"], key=str.lower)


def test_users_created_between_pages_after_the_cursor_are_listed_and_none_repeat(
    alice: User,
) -> None:
    for name in NAMES:
        UserFactory(username=name)
    first = users_directory(alice, limit=3)
    assert [row["username"] for row in first.rows] == ["alice", "Amy", "bea"]
    UserFactory(username="aaron")  # sorts before the cursor: already passed
    UserFactory(username="Dan")  # sorts after it: still ahead

    rest: list[str] = []
    cursor = first.next_cursor
    while cursor is not None:
        page = users_directory(alice, cursor=cursor, limit=2)
        rest += [row["username"] for row in page.rows]
        cursor = page.next_cursor

    assert rest == ["Carl", "Dan", "dora", "Eve", "frank", "Gus", "zed"]


def test_a_user_deleted_between_pages_leaves_no_gap(alice: User) -> None:
    users = {name: UserFactory(username=name) for name in NAMES}
    first = users_directory(alice, limit=2)
    users["Amy"].delete()  # the last row of the first page: the cursor still stands

    page = users_directory(alice, cursor=first.next_cursor, limit=2)

    assert [row["username"] for row in page.rows] == ["bea", "Carl"]


def test_each_user_is_shown_as_the_wire_shows_them_with_online(alice: User) -> None:
    UserFactory(username="bob", display_name="")
    carol = UserFactory(username="carol", display_name="Carol C")
    async_to_sync(go_online)(carol)

    rows = users_directory(alice).rows

    assert rows == [
        {"username": "alice", "display_name": "Alice", "online": False},
        {"username": "bob", "display_name": "bob", "online": False},
        {"username": "carol", "display_name": "Carol C", "online": True},
    ]


def test_presence_is_asked_once_for_the_whole_page(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in NAMES:
        UserFactory(username=name)
    asked: list[list[int]] = []
    monkeypatch.setattr(presence, "online_now", lambda ids: asked.append(ids) or set())

    users_directory(alice, limit=5)

    assert len(asked) == 1
    assert len(asked[0]) == 5


def test_q_matches_the_start_of_the_username_in_any_case(alice: User) -> None:
    UserFactory(username="Alfred", display_name="Fred")
    UserFactory(username="malik", display_name="Malik")

    assert usernames(alice, "AL") == ["Alfred", "alice"]
    assert usernames(alice, "li") == []


def test_q_matches_the_start_of_the_display_name_in_any_case(alice: User) -> None:
    UserFactory(username="u1", display_name="Grace Hopper")
    UserFactory(username="u2", display_name="Ada Grace")

    assert usernames(alice, "grace") == ["u1"]
    assert usernames(alice, "ADA g") == ["u2"]


def test_blank_or_missing_q_lists_everyone(alice: User, bob: User) -> None:
    assert usernames(alice, None) == usernames(alice, "") == usernames(alice, "   ")
    assert usernames(alice, "   ") == ["alice", "bob"]


def test_q_is_trimmed(alice: User, bob: User) -> None:
    assert usernames(alice, "  bo ") == ["bob"]


@pytest.mark.postgres
def test_q_folds_the_case_of_non_ascii_names(alice: User) -> None:
    UserFactory(username="orjan", display_name="Ørjan Ås")
    UserFactory(username="elodie", display_name="élodie")
    UserFactory(username="Ωmega", display_name="")

    assert usernames(alice, "øRJ") == ["orjan"]
    assert usernames(alice, "ÉLO") == ["elodie"]
    assert usernames(alice, "ωME") == ["Ωmega"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("50%", ["percent"]), ("a_", ["underscore"]), ("back\\", ["backslash"]), ("%", [])],
)
def test_q_takes_sql_wildcards_literally(alice: User, query: str, expected: list[str]) -> None:
    UserFactory(username="percent", display_name="50% off")
    UserFactory(username="fifty", display_name="500 club")
    UserFactory(username="underscore", display_name="a_b")
    UserFactory(username="abc", display_name="abc")
    UserFactory(username="backslash", display_name="back\\slash")
    UserFactory(username="backs", display_name="backs")

    assert usernames(alice, query) == expected


def test_injection_looking_q_is_only_text(alice: User, bob: User) -> None:
    assert usernames(alice, "' OR 1=1 --") == []
    assert User.objects.count() == 2


def test_deactivated_users_are_never_listed(alice: User) -> None:
    UserFactory(username="gone", is_active=False)

    assert "gone" not in usernames(alice, None)
    assert usernames(alice, "go") == []


@pytest.mark.parametrize(
    "query", [42, ["a"], "x" * 151, "x" * 10_000, "nul\x00", "\ud800"], ids=repr
)
def test_a_bad_q_is_invalid(alice: User, query: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        users_directory(alice, query=query)

    assert raised.value.code == "invalid"
    assert raised.value.details == {"field": "q"}


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, 10**20, True, "5", 2.0], ids=repr)
def test_a_bad_limit_is_invalid(alice: User, limit: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        users_directory(alice, limit=limit)

    assert raised.value.details == {"field": "limit"}


def test_the_default_limit_is_fifty(alice: User) -> None:
    UserFactory.create_batch(55)

    assert len(users_directory(alice).rows) == 50


def forged(cursor: str, position: object) -> str:
    """`cursor`'s signature on another position."""
    signature = cursor.rsplit(":", 1)[1]
    return f"{signing.b64_encode(signing.JSONSerializer().dumps(position)).decode()}:{signature}"


def cursor_cases(alice: User) -> dict[str, object]:
    for name in NAMES:
        UserFactory(username=name)
    real = users_directory(alice, limit=2).next_cursor
    assert real is not None
    rooms = [make_room(name=f"Room {number}") for number in range(3)]
    rooms_cursor = rooms_directory_page(alice, limit=1).next_cursor
    assert rooms and rooms_cursor is not None
    return {
        "garbage": "garbage",
        "empty": "",
        "not text": 7,
        "huge": "a" * 100_000,
        "tampered payload": forged(real, ["carl", 1]),
        "tampered signature": real[:-1] + ("A" if real[-1] != "A" else "B"),
        "unsigned": real.rsplit(":", 1)[0],
        "another list's": rooms_cursor,
        "another key's": signing.Signer(salt="elsewhere").sign_object(["bea", 1]),
    }


@pytest.mark.parametrize(
    "case",
    [
        "garbage",
        "empty",
        "not text",
        "huge",
        "tampered payload",
        "tampered signature",
        "unsigned",
        "another list's",
        "another key's",
    ],
)
def test_a_cursor_this_list_did_not_hand_out_is_invalid(alice: User, case: str) -> None:
    cursor = cursor_cases(alice)[case]

    with pytest.raises(InvalidInput) as raised:
        users_directory(alice, cursor=cursor)

    assert raised.value.details == {"field": "cursor"}


def test_profile_finds_an_active_user_by_name_in_any_case(alice: User) -> None:
    bob = UserFactory(username="Bob", display_name="Bob B")
    async_to_sync(go_online)(bob)

    profile = user_profile(alice, username="bOB")

    assert profile == {
        "username": "Bob",
        "display_name": "Bob B",
        "online": True,
        "date_joined": bob.date_joined.isoformat(),
    }


def test_profile_shows_the_avatar_when_set(alice: User) -> None:
    User.objects.filter(pk=alice.pk).update(avatar="avatars/abc123.png")
    alice.refresh_from_db()

    assert user_profile(alice, username="alice")["avatar"] == alice.avatar_url
    assert users_directory(alice).rows[0]["avatar"] == alice.avatar_url


@pytest.mark.parametrize(
    "username", ["gone", "nobody", "", "x" * 10_000, "nul\x00", None, 5, "%", "_one"], ids=repr
)
def test_profile_of_unknown_or_deactivated_users_is_the_same_not_found(
    alice: User, username: object
) -> None:
    UserFactory(username="gone", is_active=False)
    UserFactory(username="bone")

    with pytest.raises(UserNotFound) as raised:
        user_profile(alice, username=username)

    assert (raised.value.code, raised.value.message) == ("user_not_found", "No such user.")

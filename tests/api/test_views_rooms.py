"""api.views.rooms: rooms, joining and leaving, members, and conversations over the API."""

import uuid

import pytest
from asgiref.sync import async_to_sync

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.realtime import presence
from chat.services.messages import message_post
from tests.api.conftest import as_user, error_of
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


async def go_online(user: User) -> None:
    """What a socket of `user` does when it opens (its first heartbeat)."""
    await presence.store().touch(user.pk, f"socket-of-{user.username}")


def last_entry(room: Room) -> Message:
    return Message.objects.filter(room=room).order_by("-seq").first()


def test_creating_a_room_makes_me_its_admin_and_first_member(alice: User) -> None:
    response = as_user(alice).post("/rooms", {"name": "  Book   club ", "visibility": "invite"})

    assert response.status_code == 201
    data = response.json()
    room = Room.objects.get(public_id=data["id"])
    assert data == {
        "id": str(room.public_id),
        "name": "Book club",
        "kind": "group",
        "visibility": "invite",
        "archived": False,
        "last_seq": 1,
    }
    assert Membership.objects.get(room=room, user=alice).role == Membership.Role.ADMIN
    assert last_entry(room).kind == Message.Kind.JOINED


def test_creating_a_room_defaults_to_public(alice: User) -> None:
    response = as_user(alice).post("/rooms", {"name": "Open"})

    assert response.status_code == 201
    assert response.json()["visibility"] == "public"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "General"}, 400, "invalid"),
        ({"name": "general"}, 400, "invalid"),
        ({"name": "   "}, 400, "invalid"),
        ({"name": "x" * 81}, 400, "invalid"),
        ({"name": "Bell\x07"}, 400, "invalid"),
        ({"name": "Secret", "visibility": "staff"}, 403, "forbidden"),
        ({"name": "Odd", "visibility": "hidden"}, 400, "invalid"),
        ({}, 400, "invalid"),
    ],
)
def test_creating_a_room_refuses_bad_names_and_visibilities(
    alice: User, body: dict, status: int, code: str
) -> None:
    make_room(name="General")
    rooms = Room.objects.count()

    response = as_user(alice).post("/rooms", body)

    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert Room.objects.count() == rooms


def test_the_directory_lists_rooms_i_may_see_with_membership_and_counts(
    alice: User, bob: User
) -> None:
    mine = make_room(name="Mine", visibility=Room.Visibility.INVITE, members=[alice])
    open_room = make_room(name="open plaza", members=[bob])
    make_room(name="Hidden", visibility=Room.Visibility.INVITE)
    make_room(name="Staff room", visibility=Room.Visibility.STAFF)

    response = as_user(alice).get("/rooms")

    assert response.status_code == 200
    listed = {room["name"]: room for room in response.json()["results"]}
    assert list(listed) == ["Mine", "open plaza"]
    assert listed["Mine"]["id"] == str(mine.public_id)
    assert (listed["Mine"]["is_member"], listed["Mine"]["member_count"]) == (True, 2)
    assert listed["open plaza"]["id"] == str(open_room.public_id)
    assert (listed["open plaza"]["is_member"], listed["open plaza"]["member_count"]) == (False, 2)


def test_staff_only_rooms_are_invisible_to_non_staff(alice: User) -> None:
    staff = UserFactory(is_staff=True)
    room = make_room(staff, name="Ops", visibility=Room.Visibility.STAFF)
    api = as_user(alice)
    staff_api = as_user(staff)

    assert "Ops" not in [r["name"] for r in api.get("/rooms").json()["results"]]
    assert error_of(api.get(f"/rooms/{room.public_id}"))["code"] == "room_not_found"
    assert error_of(api.post(f"/rooms/{room.public_id}/join"))["code"] == "room_not_found"
    assert "Ops" in [r["name"] for r in staff_api.get("/rooms").json()["results"]]
    assert staff_api.get(f"/rooms/{room.public_id}").status_code == 200
    assert [r["name"] for r in staff_api.get("/me/rooms").json()["results"]] == ["Ops"]


def test_a_member_who_is_not_staff_loses_sight_of_a_room_turned_staff_only(alice: User) -> None:
    room = make_room(name="Was open", members=[alice])
    Room.objects.filter(pk=room.pk).update(visibility=Room.Visibility.STAFF)
    api = as_user(alice)

    assert api.get("/me/rooms").json()["results"] == []
    assert api.get(f"/rooms/{room.public_id}/messages").status_code == 404


def test_room_detail_of_a_room_i_can_see(alice: User) -> None:
    room = make_room(name="Lobby")

    response = as_user(alice).get(f"/rooms/{room.public_id}")

    assert response.status_code == 200
    assert response.json()["name"] == "Lobby"
    assert response.json()["last_seq"] == room.last_seq
    assert "peer" not in response.json()


def test_room_ids_are_accepted_in_other_uuid_spellings(alice: User) -> None:
    room = make_room(name="Lobby")

    response = as_user(alice).get(f"/rooms/{str(room.public_id).upper()}")

    assert response.status_code == 200
    assert response.json()["id"] == str(room.public_id)


def test_join_writes_a_joined_line_and_answers_with_its_seq(alice: User) -> None:
    room = make_room(name="Lobby")

    response = as_user(alice).post(f"/rooms/{room.public_id}/join")

    assert response.status_code == 200
    line = last_entry(room)
    assert response.json() == {"room": str(room.public_id), "seq": line.seq}
    assert (line.kind, line.author) == (Message.Kind.JOINED, alice)


def test_joining_twice_is_a_conflict(alice: User) -> None:
    room = make_room(name="Lobby", members=[alice])

    response = as_user(alice).post(f"/rooms/{room.public_id}/join")

    assert response.status_code == 409
    assert error_of(response)["code"] == "already_member"


def test_joining_an_archived_room_is_a_conflict(alice: User) -> None:
    room = make_room(name="Old")
    Room.objects.filter(pk=room.pk).update(is_archived=True)

    response = as_user(alice).post(f"/rooms/{room.public_id}/join")

    assert response.status_code == 409
    assert error_of(response)["code"] == "room_archived"


def test_leave_writes_a_left_line_and_ends_access_to_the_history(alice: User) -> None:
    room = make_room(name="Lobby", members=[alice])
    api = as_user(alice)

    response = api.post(f"/rooms/{room.public_id}/leave")

    assert response.status_code == 200
    line = last_entry(room)
    assert response.json() == {"room": str(room.public_id), "seq": line.seq}
    assert (line.kind, line.author) == (Message.Kind.LEFT, alice)
    history = api.get(f"/rooms/{room.public_id}/messages")
    assert history.status_code == 403
    assert error_of(history)["code"] == "not_member"
    again = api.post(f"/rooms/{room.public_id}/leave")
    assert (again.status_code, error_of(again)["code"]) == (403, "not_member")


def test_join_and_leave_lines_appear_in_the_history(alice: User, bob: User) -> None:
    room = make_room(name="Lobby", members=[bob])
    api = as_user(alice)
    api.post(f"/rooms/{room.public_id}/join")
    api.post(f"/rooms/{room.public_id}/leave")

    history = as_user(bob).get(f"/rooms/{room.public_id}/messages").json()["messages"]

    assert [(m["kind"], m["author"]["username"]) for m in history[-2:]] == [
        ("joined", "alice"),
        ("left", "alice"),
    ]


def test_members_lists_everyone_with_role_and_online_state(alice: User, bob: User) -> None:
    carol = UserFactory(username="Carol")
    room = make_room(alice, name="Lobby", members=[bob, carol])
    async_to_sync(go_online)(bob)

    response = as_user(alice).get(f"/rooms/{room.public_id}/members")

    assert response.status_code == 200
    assert response.json() == {
        "members": [
            {"username": "alice", "display_name": "Alice", "role": "admin", "online": False},
            {"username": "bob", "display_name": "Bob", "role": "member", "online": True},
            {"username": "Carol", "display_name": "Carol", "role": "member", "online": False},
        ],
        "online_count": 1,
    }


def test_members_of_a_visible_room_i_am_not_in_is_not_member(alice: User) -> None:
    room = make_room(name="Lobby")

    response = as_user(alice).get(f"/rooms/{room.public_id}/members")

    assert response.status_code == 403
    assert error_of(response)["code"] == "not_member"


def test_my_rooms_carry_unread_counts_and_the_last_message(alice: User, bob: User) -> None:
    room = make_room(name="Lobby", members=[alice, bob])
    message_post(bob, room_id=room.public_id, body="one")
    message_post(bob, room_id=room.public_id, body="two")

    [entry] = as_user(alice).get("/me/rooms").json()["results"]

    assert entry["id"] == str(room.public_id)
    assert entry["unread"] == 2
    assert entry["last_message"] == {
        "seq": entry["last_seq"],
        "author": "bob",
        "author_name": bob.shown_name,
        "preview": "two",
        "deleted": False,
    }


def test_opening_a_conversation_returns_one_room_per_pair_from_either_side(
    alice: User, bob: User
) -> None:
    opened = as_user(alice).post("/conversations", {"username": "BOB"})
    reopened = as_user(bob).post("/conversations", {"username": "alice"})

    assert opened.status_code == reopened.status_code == 200
    assert opened.json()["id"] == reopened.json()["id"]
    assert opened.json()["kind"] == "direct"
    assert opened.json()["peer"] == {"username": "bob", "display_name": "Bob"}
    assert opened.json()["name"] == "Bob"
    assert reopened.json()["peer"] == {"username": "alice", "display_name": "Alice"}
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1


def test_conversations_lists_only_direct_rooms_with_their_peer(alice: User, bob: User) -> None:
    make_room(name="Lobby", members=[alice])
    api = as_user(alice)
    room_id = api.post("/conversations", {"username": "bob"}).json()["id"]

    results = api.get("/conversations").json()["results"]

    assert [(room["id"], room["peer"]["username"]) for room in results] == [(room_id, "bob")]
    detail = api.get(f"/rooms/{room_id}").json()
    assert detail["peer"]["username"] == "bob"


def test_a_conversation_is_invisible_to_a_third_user(alice: User, bob: User) -> None:
    room_id = as_user(alice).post("/conversations", {"username": "bob"}).json()["id"]
    other = as_user(UserFactory())

    hidden = other.get(f"/rooms/{room_id}")

    assert hidden.status_code == 404
    assert hidden.json() == other.get(f"/rooms/{uuid.uuid4()}").json()


def test_a_conversation_with_yourself_is_refused_as_documented(alice: User) -> None:
    response = as_user(alice).post("/conversations", {"username": "Alice"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["details"] == {"field": "username"}
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


@pytest.mark.parametrize(
    ("username", "status", "code"),
    [("nobody", 404, "user_not_found"), ("bob\x00", 400, "invalid"), ("  ", 400, "invalid")],
)
def test_a_conversation_with_no_such_user_is_refused(
    alice: User, bob: User, username: str, status: int, code: str
) -> None:
    response = as_user(alice).post("/conversations", {"username": username})

    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


def test_a_conversation_cannot_be_left(alice: User, bob: User) -> None:
    api = as_user(alice)
    room_id = api.post("/conversations", {"username": "bob"}).json()["id"]

    response = api.post(f"/rooms/{room_id}/leave")

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"

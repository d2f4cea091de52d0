"""api.views.messages: history pages, posting, editing, deleting and read markers."""

import pytest

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.services.messages import message_post
from tests.api.conftest import ApiClient, as_user, error_of
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


def post_many(user: User, room: Room, count: int) -> list[int]:
    return [message_post(user, room_id=room.public_id, body=f"m{n}").seq for n in range(count)]


def fields_at_fault(error: dict) -> set[str]:
    """Fields named in `details`: the services name one, DRF's checks map each to messages."""
    details = error["details"]
    return {details["field"]} if "field" in details else set(details)


def seqs(response: object) -> list[int]:
    return [message["seq"] for message in response.json()["messages"]]


# History


def test_the_newest_page_comes_in_seq_order_with_has_more(alice: User, room: Room) -> None:
    posted = post_many(alice, room, 5)

    response = as_user(alice).get(f"/rooms/{room.public_id}/messages", limit=3)

    assert response.status_code == 200
    assert response.json()["room"] == str(room.public_id)
    assert seqs(response) == posted[-3:]
    assert response.json()["has_more"] is True


def test_paging_back_with_before_reaches_the_first_entry(alice: User, room: Room) -> None:
    post_many(alice, room, 5)
    room.refresh_from_db()
    api = as_user(alice)
    pages = []
    cursor = room.last_seq + 1
    while True:
        page = api.get(f"/rooms/{room.public_id}/messages", before=cursor, limit=2).json()
        pages.append([message["seq"] for message in page["messages"]])
        if not page["has_more"]:
            break
        cursor = page["messages"][0]["seq"]

    assert [seq for page in reversed(pages) for seq in page] == list(range(1, room.last_seq + 1))
    assert all(len(page) == 2 for page in pages[1:])


def test_paging_forward_with_after_ends_without_more(alice: User, room: Room) -> None:
    post_many(alice, room, 4)
    room.refresh_from_db()
    api = as_user(alice)

    first = api.get(f"/rooms/{room.public_id}/messages", after=0, limit=4)
    rest = api.get(f"/rooms/{room.public_id}/messages", after=4, limit=4)
    beyond = api.get(f"/rooms/{room.public_id}/messages", after=room.last_seq)

    assert (seqs(first), first.json()["has_more"]) == ([1, 2, 3, 4], True)
    assert (seqs(rest), rest.json()["has_more"]) == (list(range(5, room.last_seq + 1)), False)
    assert (seqs(beyond), beyond.json()["has_more"]) == ([], False)


def test_history_shows_text_and_system_lines_as_message_objects(alice: User, room: Room) -> None:
    message_post(alice, room_id=room.public_id, body="hello", client_id="c-1")

    messages = as_user(alice).get(f"/rooms/{room.public_id}/messages").json()["messages"]

    assert [message["kind"] for message in messages] == ["joined", "joined", "joined", "text"]
    text = messages[-1]
    assert text["author"] == {"username": "alice", "display_name": "Alice"}
    assert (text["body"], text["client_id"], text["deleted"], text["edited_at"]) == (
        "hello",
        "c-1",
        False,
        None,
    )
    assert text["body_html"] == "<p>hello</p>"
    assert {message["body_html"] for message in messages[:-1]} == {""}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"before": "abc"}, "before"),
        ({"before": "-1"}, "before"),
        ({"after": "1.5"}, "after"),
        ({"after": str(2**53 + 1)}, "after"),
        ({"before": "9" * 400}, "before"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "5"}, "cursor"),
    ],
)
def test_invalid_cursors_and_limits_are_400_invalid_naming_the_field(
    alice: User, room: Room, query: dict, field: str
) -> None:
    response = as_user(alice).get(f"/rooms/{room.public_id}/messages", **query)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert fields_at_fault(error) == {field}


def test_before_and_after_together_are_400_invalid(alice: User, room: Room) -> None:
    response = as_user(alice).get(f"/rooms/{room.public_id}/messages", before=5, after=1)

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


def test_history_of_a_visible_room_i_am_not_in_is_not_member(room: Room) -> None:
    response = as_user(UserFactory()).get(f"/rooms/{room.public_id}/messages")

    assert response.status_code == 403
    assert error_of(response)["code"] == "not_member"


# Posting


def test_post_stores_the_trimmed_text_and_answers_with_the_message(alice: User, room: Room) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", {"body": "  hi\r\n  "})

    assert response.status_code == 201
    data = response.json()
    assert data["room"] == str(room.public_id)
    stored = Message.objects.get(room=room, seq=data["message"]["seq"])
    assert (stored.body, stored.author, stored.kind) == ("hi", alice, Message.Kind.TEXT)
    assert data["message"]["body"] == "hi"
    assert data["message"]["body_html"] == stored.body_html == "<p>hi</p>"


def test_posting_twice_with_one_client_id_returns_the_first_message(
    alice: User, room: Room
) -> None:
    api = as_user(alice)
    path = f"/rooms/{room.public_id}/messages"

    first = api.post(path, {"body": "once", "client_id": "retry-1"})
    retry = api.post(path, {"body": "changed on retry", "client_id": "retry-1"})

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.json()["message"]["body"] == "once"
    assert Message.objects.filter(room=room, kind=Message.Kind.TEXT).count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"body": "   "}, "body_empty"),
        ({"body": "x" * 4001}, "body_too_long"),
        ({"body": "bell\x07"}, "body_invalid"),
        ({"body": "nul\x00"}, "body_invalid"),
        ({"body": "half \ud800 pair"}, "body_invalid"),
        ({"body": "ok", "client_id": "has space"}, "invalid"),
        ({"body": "ok", "client_id": ""}, "invalid"),
        ({"body": "ok", "client_id": "x" * 65}, "invalid"),
    ],
)
def test_posts_are_refused_with_the_sockets_codes(
    alice: User, room: Room, body: dict, code: str
) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert not Message.objects.filter(kind=Message.Kind.TEXT).exists()


def test_too_long_names_the_limit_in_details(alice: User, room: Room) -> None:
    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", {"body": "x" * 4001})

    assert error_of(response)["details"] == {"max_length": 4000}


def test_posting_in_an_archived_room_is_a_conflict(alice: User, room: Room) -> None:
    Room.objects.filter(pk=room.pk).update(is_archived=True)

    response = as_user(alice).post(f"/rooms/{room.public_id}/messages", {"body": "late"})

    assert response.status_code == 409
    assert error_of(response)["code"] == "room_archived"


# Editing and deleting


def test_editing_my_message_changes_its_text_and_sets_edited_at(alice: User, room: Room) -> None:
    [seq] = post_many(alice, room, 1)

    response = as_user(alice).patch(f"/rooms/{room.public_id}/messages/{seq}", {"body": "*new*"})

    assert response.status_code == 200
    message = response.json()["message"]
    assert (message["seq"], message["body"], message["body_html"]) == (
        seq,
        "*new*",
        "<p><em>new</em></p>",
    )
    assert message["edited_at"] is not None
    assert Message.objects.get(room=room, seq=seq).body == "*new*"


def test_editing_or_deleting_someone_elses_message_is_forbidden(
    alice: User, bob: User, room: Room
) -> None:
    [seq] = post_many(bob, room, 1)
    api = as_user(alice)

    edit = api.patch(f"/rooms/{room.public_id}/messages/{seq}", {"body": "mine now"})
    delete = api.delete(f"/rooms/{room.public_id}/messages/{seq}")

    assert (edit.status_code, error_of(edit)["code"]) == (403, "forbidden")
    assert (delete.status_code, error_of(delete)["code"]) == (403, "forbidden")
    stored = Message.objects.get(room=room, seq=seq)
    assert (stored.body, stored.deleted_at) == ("m0", None)


def test_editing_a_system_line_is_forbidden(alice: User, room: Room) -> None:
    response = as_user(alice).patch(f"/rooms/{room.public_id}/messages/1", {"body": "x"})

    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")


def test_deleting_my_message_leaves_a_tombstone_and_is_safe_to_retry(
    alice: User, room: Room
) -> None:
    [seq] = post_many(alice, room, 1)
    api = as_user(alice)
    path = f"/rooms/{room.public_id}/messages/{seq}"

    first = api.delete(path)
    retry = api.delete(path)

    assert first.status_code == retry.status_code == 200
    assert first.json()["message"]["deleted"] is True
    assert first.json()["message"]["body"] == ""
    assert retry.json() == first.json()
    edit = api.patch(path, {"body": "back"})
    assert (edit.status_code, error_of(edit)["code"]) == (409, "message_deleted")


def test_a_room_admin_may_delete_other_peoples_messages(alice: User, bob: User) -> None:
    room = make_room(alice, name="Mine", members=[bob])
    [seq] = post_many(bob, room, 1)

    response = as_user(alice).delete(f"/rooms/{room.public_id}/messages/{seq}")

    assert response.status_code == 200
    assert response.json()["message"]["deleted"] is True


@pytest.mark.parametrize(
    ("seq", "status", "code"), [(999, 404, "message_not_found"), (0, 400, "invalid")]
)
def test_editing_a_missing_seq_is_refused(
    alice: User, room: Room, seq: int, status: int, code: str
) -> None:
    response = as_user(alice).patch(f"/rooms/{room.public_id}/messages/{seq}", {"body": "x"})

    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_a_seq_that_is_not_a_number_is_not_a_route(alice: User, room: Room) -> None:
    response = as_user(alice).patch(f"/rooms/{room.public_id}/messages/abc", {"body": "x"})

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# Read markers


def test_marking_read_lowers_the_unread_count(alice: User, bob: User, room: Room) -> None:
    posted = post_many(bob, room, 3)
    api = as_user(alice)
    assert api.get("/me/rooms").json()["results"][0]["unread"] == 3

    response = api.post(f"/rooms/{room.public_id}/read", {"seq": posted[0]})

    assert response.status_code == 200
    assert response.json() == {
        "room": str(room.public_id),
        "last_read_seq": posted[0],
        "unread": 2,
        "unread_mentions": 0,
    }
    assert api.get("/me/rooms").json()["results"][0]["unread"] == 2
    assert Membership.objects.get(room=room, user=alice).last_read_seq == posted[0]


def test_a_read_marker_never_moves_back(alice: User, bob: User, room: Room) -> None:
    posted = post_many(bob, room, 3)
    api = as_user(alice)
    api.post(f"/rooms/{room.public_id}/read", {"seq": posted[-1]})

    response = api.post(f"/rooms/{room.public_id}/read", {"seq": posted[0]})

    assert response.json()["last_read_seq"] == posted[-1]
    assert response.json()["unread"] == 0


def test_a_read_marker_past_the_last_seq_is_invalid(alice: User, room: Room) -> None:
    room.refresh_from_db()

    response = as_user(alice).post(f"/rooms/{room.public_id}/read", {"seq": room.last_seq + 1})

    assert response.status_code == 400
    assert error_of(response)["details"] == {"field": "seq"}


def test_session_clients_may_read_without_a_token(alice: User, room: Room) -> None:
    api = ApiClient()
    api.client.force_login(alice)

    response = api.get(f"/rooms/{room.public_id}/messages")

    assert response.status_code == 200

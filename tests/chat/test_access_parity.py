"""Every place that applies the room access rule (chat/room_access.py) agrees with one table.

Each case is a room of a kind and visibility, open or archived, and a user who is staff or
not, a member or not, active or not. For each, every reader and writer that decides on access
is asked, and what each says is compared with what the table says it must: a place loosened
or tightened on its own fails here. The one-statement post (`timeline_post`) runs only on
PostgreSQL; elsewhere, and for its refusals, message_post takes the checked path, which is
tested here on every database.
"""

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.room_access import can_manage, can_see_room, room_access_sql
from chat.selectors.access import member_room, room_for_user
from chat.selectors.messages import history_page
from chat.selectors.rooms import room_ids_of_user, rooms_directory, rooms_of_user
from chat.selectors.search import search_messages
from chat.selectors.sidebar import rooms_with_state
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reads import read_mark
from chat.services.rooms import member_add, member_set_role, room_create, room_join, room_update
from chat.services.timeline import timeline_post
from chat.services.typing import typing_start
from core.errors import ParleyError

pytestmark = pytest.mark.django_db

GROUP, DIRECT = Room.Kind.GROUP.value, Room.Kind.DIRECT.value
PUBLIC, INVITE, STAFF = (v.value for v in Room.Visibility)

# The table: who may see a room of each kind and visibility (besides being logged in and
# active). Posting also needs membership and an open room.
ANYONE, MEMBERS, STAFF_ONLY = "anyone", "members", "staff"
SEEN_BY = {
    (GROUP, PUBLIC): ANYONE,
    (GROUP, INVITE): MEMBERS,
    (GROUP, STAFF): STAFF_ONLY,
    (DIRECT, PUBLIC): MEMBERS,
    (DIRECT, INVITE): MEMBERS,
    (DIRECT, STAFF): MEMBERS,
}

# What a place that checks access answers: it let the user through (whatever it said next
# about the request itself), or the error that refused them.
OK, NOT_FOUND, NOT_MEMBER, ARCHIVED, ALREADY_MEMBER = (
    "ok",
    "room_not_found",
    "not_member",
    "room_archived",
    "already_member",
)
GATE_ERRORS = {NOT_FOUND, NOT_MEMBER, ARCHIVED, ALREADY_MEMBER}


@dataclass(frozen=True)
class Case:
    kind: str
    visibility: str
    staff: bool
    member: bool
    archived: bool
    active: bool

    @property
    def name(self) -> str:
        return "-".join(
            [
                self.kind,
                self.visibility,
                "staff" if self.staff else "nonstaff",
                "member" if self.member else "outsider",
                "archived" if self.archived else "open",
                "active" if self.active else "inactive",
            ]
        )


CASES = [
    Case(*values)
    for values in itertools.product((GROUP, DIRECT), (PUBLIC, INVITE, STAFF), *[(False, True)] * 4)
]


def expected(case: Case) -> dict[str, Any]:
    """What every place must answer in this case, by the table."""
    seen_by = SEEN_BY[(case.kind, case.visibility)]
    sees = case.active and (
        seen_by == ANYONE
        or (seen_by == MEMBERS and case.member)
        or (seen_by == STAFF_ONLY and case.staff)
    )
    gate = OK if sees and case.member else NOT_MEMBER if sees else NOT_FOUND
    post = ARCHIVED if gate == OK and case.archived else gate
    if not sees:
        join = NOT_FOUND
    elif case.archived:
        join = ARCHIVED
    elif case.member:
        join = ALREADY_MEMBER
    else:
        join = OK
    listed = sees and case.member
    return {
        "can_see_room": sees,
        "room_for_user": OK if sees else NOT_FOUND,
        "member_room": gate,
        "Room.objects.visible_to": sees,
        "Room.objects.postable_by": post == OK,
        "room_access_sql (see)": sees,
        "room_access_sql (post)": post == OK,
        "rooms_directory": sees and case.kind == GROUP and not case.archived,
        "rooms_of_user": listed,
        "room_ids_of_user": listed,
        "rooms_with_state": listed,
        "history_page": gate,
        # Search reads what history reads: every room the user is in and sees, archived too.
        "search_messages (all rooms)": listed,
        "search_messages (one room)": gate,
        "read_mark": gate,
        "typing_start": post,
        "message_edit": post,
        "message_delete": post,
        "message_post (checked path)": post,
        "room_join": join,
    }


def make_user(name: str, *, staff: bool = False) -> User:
    # No password: hashing one is most of what a factory user costs, and 96 cases make many.
    return User.objects.create(username=name, is_staff=staff)


def room_for(case: Case, user: User) -> Room:
    """The case's room, with `user` in it or not, then archived and the user deactivated."""
    owner = make_user("owner", staff=True)
    if case.kind == GROUP:
        room = room_create(owner, name="Room", visibility=case.visibility)
        if case.member:
            member_add(owner, room=room, user=user)
    else:
        first = user if case.member else make_user("first")
        room = direct_open(first, username=make_user("second").username)
        if case.visibility != room.visibility:
            room = room_update(owner, room=room, visibility=case.visibility)
    if case.archived:
        room_update(owner, room=room, is_archived=True)
    # A text message for search to find (the timeline's lines are not searched), written by
    # someone else as a row of its own: posting would need the access this case may lack.
    room.refresh_from_db()
    Message.objects.create(room=room, seq=room.last_seq + 1, kind=Message.Kind.TEXT, body=FOUND)
    Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq + 1)
    if not case.active:
        user.is_active = False
        user.save()
    room.refresh_from_db()
    return room


FOUND = "parity needle"


def found_by_search(user: User, room: Room) -> bool:
    return any(hit.message.room == room for hit in search_messages(user, query="needle").hits)


def code_of(call: Any) -> str:
    """OK, or the code of the error that refused the call."""
    try:
        call()
    except ParleyError as error:
        return error.code
    return OK


def outcome(call: Any) -> str:
    """OK, or the code of the access error that refused the call."""
    code = code_of(call)
    return code if code in GATE_ERRORS else OK


def sql_allows(user: User, room: Room, *, to_post: bool) -> bool:
    """room_access_sql's condition over a room and the user's membership, if any, of it."""
    condition, params = room_access_sql(user, room="r", member="m", to_post=to_post)
    statement = f"""
        SELECT r.id FROM {Room._meta.db_table} r
        LEFT JOIN {Membership._meta.db_table} m ON m.room_id = r.id AND m.user_id = %(user)s
        WHERE r.id = %(room)s AND {condition}
    """  # noqa: S608 (table names from the models, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(statement, {"user": user.pk, "room": room.pk, **params})
        return cursor.fetchone() is not None


def answers(user: User, room: Room, *, member: bool) -> dict[str, Any]:
    """What every place says; the reads first, then the writes (each refused or harmless to
    the rest), the post and the join last."""
    room_id = str(room.public_id)
    return {
        "can_see_room": can_see_room(user, room, is_member=member),
        "room_for_user": outcome(lambda: room_for_user(user, room_id)),
        "member_room": outcome(lambda: member_room(user, room_id)),
        "Room.objects.visible_to": Room.objects.visible_to(user).filter(pk=room.pk).exists(),
        "Room.objects.postable_by": Room.objects.postable_by(user).filter(pk=room.pk).exists(),
        "room_access_sql (see)": sql_allows(user, room, to_post=False),
        "room_access_sql (post)": sql_allows(user, room, to_post=True),
        "rooms_directory": room in rooms_directory(user),
        "rooms_of_user": room in rooms_of_user(user),
        "room_ids_of_user": room_id in room_ids_of_user(user),
        "rooms_with_state": room_id in [state["id"] for state in rooms_with_state(user)],
        "history_page": outcome(lambda: history_page(user, room_id=room_id)),
        "search_messages (all rooms)": found_by_search(user, room),
        "search_messages (one room)": outcome(
            lambda: search_messages(user, query="needle", room_id=room_id)
        ),
        "read_mark": outcome(lambda: read_mark(user, room_id=room_id, seq=0)),
        "typing_start": outcome(lambda: typing_start(user, room_id=room_id)),
        # Seq 1 is not the user's own message: past the gate, these refuse it (or find none).
        "message_edit": outcome(lambda: message_edit(user, room_id=room_id, seq=1, body="x")),
        "message_delete": outcome(lambda: message_delete(user, room_id=room_id, seq=1)),
        "message_post (checked path)": outcome(
            lambda: message_post(user, room_id=room_id, body="hello")
        ),
        "room_join": outcome(lambda: room_join(user, room_id=room_id)),
    }


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_place_agrees_with_the_table(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    # The checked path on every database: on PostgreSQL message_post tries the one-statement
    # post first, which test_the_one_statement_post_agrees_with_the_table covers.
    monkeypatch.setattr("chat.services.messages.timeline_post", lambda *args, **kwargs: None)
    user = make_user("subject", staff=case.staff)
    room = room_for(case, user)

    assert answers(user, room, member=case.member) == expected(case)


@pytest.mark.postgres
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_one_statement_post_agrees_with_the_table(case: Case) -> None:
    user = make_user("subject", staff=case.staff)
    room = room_for(case, user)
    table = expected(case)
    may_post = table["message_post (checked path)"] == OK

    posted = timeline_post(
        user, room.public_id, body="hello", body_html="<p>hello</p>", client_id=None
    )
    # On PostgreSQL message_post tries the one statement first: the checked path only says why
    # it matched nothing.
    post = outcome(lambda: message_post(user, room_id=room.public_id, body="again"))

    assert {"timeline_post": posted is not None, "message_post": post} == {
        "timeline_post": may_post,
        "message_post": table["message_post (checked path)"],
    }
    texts = Message.objects.filter(room=room, kind=Message.Kind.TEXT).exclude(body=FOUND).count()
    assert texts == (2 if may_post else 0)


# Managing a room: staff, or its room admin.

MANAGE_CASES = [
    pytest.param(staff, role, id=f"{'staff' if staff else 'nonstaff'}-{role or 'outsider'}")
    for staff in (False, True)
    for role in (None, Membership.Role.MEMBER.value, Membership.Role.ADMIN.value)
]


@pytest.mark.parametrize(("staff", "role"), MANAGE_CASES)
def test_every_place_agrees_on_who_manages_a_room(staff: bool, role: str | None) -> None:
    owner = make_user("owner", staff=True)
    user = make_user("subject", staff=staff)
    other = make_user("other")
    room = room_create(owner, name="Room")
    member_add(owner, room=room, user=other)
    if role is not None:
        member_add(owner, room=room, user=user, role=role)
    message = message_post(other, room_id=room.public_id, body="hello")
    manages = staff or role == Membership.Role.ADMIN
    answer = OK if manages else "forbidden"

    assert {
        "can_manage": can_manage(user, role=role),
        "room_update": code_of(lambda: room_update(user, room=room, name="Renamed")),
        "member_set_role": code_of(
            lambda: member_set_role(user, room=room, user=other, role=Membership.Role.ADMIN)
        ),
        # Moderating is for members: staff from outside are refused by the gate first.
        "message_delete (someone else's)": code_of(
            lambda: message_delete(user, room_id=room.public_id, seq=message.seq)
        ),
    } == {
        "can_manage": manages,
        "room_update": answer,
        "member_set_role": answer,
        "message_delete (someone else's)": NOT_MEMBER if role is None else answer,
    }

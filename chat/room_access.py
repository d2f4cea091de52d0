"""Who may see a room, post in it and manage it: the one statement of that rule.

A user may see a room if they are logged in and active, and
- a direct conversation: they are one of its members;
- an invite-only group room: they are a member;
- a staff-only group room: they are staff;
- a public group room: always.
They may post in it if they may see it, are a member, and it is not archived (an archived
room keeps its timeline, read-only). They may manage it if they are staff or its room admin.

The rule is written here in each form the code needs, side by side, each condition on a line
of its own and in the same order: Python for a room already loaded (`can_see_room`,
`require_open`, `can_manage`), the ORM (`RoomQuerySet`, which is `Room.objects`)
and a SQL condition for the raw statements (`room_access_sql`). A change to one form is a
change to all of them: tests/chat/test_access_parity.py holds every place that applies the
rule to one table.

chat.models imports this module (for the kinds, visibilities and roles and the queryset), so
it imports no model.
"""

from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.db.models import Exists, OuterRef, Q

from core.errors import RoomArchived

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from typing_extensions import TypeIs

    from accounts.models import User
    from chat.models import Room


class RoomKind(models.TextChoices):
    GROUP = "group", "Group room"
    DIRECT = "direct", "Direct conversation"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    INVITE = "invite", "Invite-only"
    STAFF = "staff", "Staff-only"


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Room admin"


def _is_active(user: "User | AnonymousUser") -> "TypeIs[User]":
    return user.is_authenticated and user.is_active


# Python, for a room already loaded.


def can_see_room(user: "User | AnonymousUser", room: "Room", *, is_member: bool) -> bool:
    """Whether `user` may know that `room` exists."""
    if not _is_active(user):
        return False
    if room.kind == RoomKind.DIRECT:
        return is_member
    if room.visibility == Visibility.INVITE:
        return is_member
    if room.visibility == Visibility.STAFF:
        return user.is_staff
    return room.visibility == Visibility.PUBLIC


def require_open(room: "Room") -> None:
    """RoomArchived if `room` is archived: its timeline stays readable and takes no writes.

    For a room the user has already passed the gate to (chat.selectors.access).
    """
    if room.is_archived:
        raise RoomArchived()


def can_manage(user: "User", *, role: str | None) -> bool:
    """Whether `user`, whose role in the room is `role` (None: not a member), may manage its
    members, name, visibility and archiving, and moderate its messages."""
    if user.is_staff:
        return True
    return role == Role.ADMIN


# The ORM: Room.objects.


class RoomQuerySet(models.QuerySet["Room"]):
    def _is_member(self, user: "User") -> Q:
        memberships = self.model.members.through.objects
        return Q(Exists(memberships.filter(room=OuterRef("pk"), user=user)))

    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """Rooms `user` may see: can_see_room as a query (no join, so no row twice)."""
        if not _is_active(user):
            return self.none()
        is_member = self._is_member(user)
        group = ~Q(kind=RoomKind.DIRECT)
        visible = Q(kind=RoomKind.DIRECT) & is_member
        visible |= group & Q(visibility=Visibility.INVITE) & is_member
        if user.is_staff:
            visible |= group & Q(visibility=Visibility.STAFF)
        visible |= group & Q(visibility=Visibility.PUBLIC)
        return self.filter(visible)

    def postable_by(self, user: "User | AnonymousUser") -> Self:
        """Rooms `user` may post in: seen, joined and open (can_see_room, member_room and
        require_open as a query)."""
        if not _is_active(user):
            return self.none()
        return self.visible_to(user).filter(self._is_member(user)).open()

    def open(self) -> Self:
        """Rooms that are not archived."""
        return self.filter(is_archived=False)


# SQL, for the raw statements.


def room_access_sql(
    user: "User | AnonymousUser", *, room: str, member: str, to_post: bool = False
) -> tuple[str, dict[str, Any]]:
    """A SQL condition true where `user` may see (with `to_post`, post in) the row `room` of
    chat_room, and its parameters (named `access_*`; merge them into the statement's).

    `member` is the alias of the user's own chat_membership row of that room, joined by the
    statement (with a LEFT JOIN its id is NULL where the user is not a member). The text
    depends only on the aliases and `to_post`, so a statement built from it may be cached.
    """
    is_member = f"{member}.id IS NOT NULL"
    group = f"{room}.kind <> %(access_direct)s"
    conditions = [
        "%(access_active)s",
        f"""(
            ({room}.kind = %(access_direct)s AND {is_member})
            OR ({group} AND {room}.visibility = %(access_invite)s AND {is_member})
            OR ({group} AND {room}.visibility = %(access_staff_only)s AND %(access_staff)s)
            OR ({group} AND {room}.visibility = %(access_public)s)
        )""",
    ]
    if to_post:
        conditions.append(is_member)
        conditions.append(f"NOT {room}.is_archived")
    params = {
        "access_active": _is_active(user),
        "access_staff": bool(user.is_staff),
        "access_direct": RoomKind.DIRECT.value,
        "access_invite": Visibility.INVITE.value,
        "access_public": Visibility.PUBLIC.value,
        "access_staff_only": Visibility.STAFF.value,
    }
    return " AND ".join(conditions), params

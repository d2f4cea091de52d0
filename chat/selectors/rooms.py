"""Room lists: the directory, a user's own rooms, and the rooms' heads.

Who may see which room is chat.room_access (`Room.objects.visible_to`); nothing here restates
it. A user's rooms with their unread counts are in `sidebar`, member lists in `members`.
"""

import uuid
from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from chat import wire
from chat.models import Membership, Room
from chat.room_access import room_access_sql
from chat.selectors.paging import Page, keyset_page


def rooms_directory(user: User) -> QuerySet[Room]:
    """Group rooms the user may see and are open, each with `is_member` and `member_count`."""
    return (
        Room.objects.visible_to(user)
        .open()
        .filter(kind=Room.Kind.GROUP)
        .annotate(
            is_member=Exists(Membership.objects.filter(room=OuterRef("pk"), user=user)),
            # visible_to joins nothing, so this join is the only one: one row per membership.
            member_count=Count("memberships"),
        )
        .order_by(Lower("name"))
    )


def rooms_directory_page(user: User, *, cursor: object = None, limit: object = None) -> Page[Room]:
    """A page of `rooms_directory`, in its order (by name regardless of case).

    InvalidInput for a cursor this list did not hand out or a bad limit.
    """
    return keyset_page(
        rooms_directory(user),
        order={"name_key": Lower("name")},
        list_name="rooms",
        cursor=cursor,
        limit=limit,
    )


def rooms_of_user(user: User) -> QuerySet[Room]:
    """Rooms and conversations the user is a member of (and may still see), latest first."""
    return (
        Room.objects.visible_to(user)
        .filter(memberships__user=user)
        .order_by("-last_activity_at", "name")
    )


def room_ids_of_user(user: User) -> list[str]:
    """Public ids of the rooms whose events the user's sockets receive: rooms_of_user's rooms.

    In plain SQL with the rule's SQL form, as every socket opening asks it: the ORM's
    visible_to() cost more to compile than the query took to run (3 ms of a connection's CPU).
    """
    visible, access = room_access_sql(user, room="r", member="m")
    with connection.cursor() as cursor:
        cursor.execute(_room_ids_statement(visible), {"user": user.pk, **access})
        return [str(uuid.UUID(str(public_id))) for (public_id,) in cursor.fetchall()]


@cache
def _room_ids_statement(visible: str) -> str:
    return f"""
        SELECT r.public_id FROM {Membership._meta.db_table} m
        JOIN {Room._meta.db_table} r ON r.id = m.room_id
        WHERE m.user_id = %(user)s AND {visible}
        ORDER BY r.last_activity_at DESC, r.name
    """  # noqa: S608 (table names come from the models, values are parameters)


def room_heads(room_ids: Iterable[str]) -> dict[str, int]:
    """Each room's last seq, by public id."""
    heads: dict[str, int] = {}
    ids = list(room_ids)
    for start in range(0, len(ids), 1000):
        rows = Room.objects.filter(public_id__in=ids[start : start + 1000])
        heads.update(
            (str(public_id), seq) for public_id, seq in rows.values_list("public_id", "last_seq")
        )
    return heads


def presence_audience(user_ids: list[int]) -> list[tuple[int, dict[str, str], list[str]]]:
    """For each user, their id, how they are shown and the rooms that hear of their presence."""
    return [
        (user.pk, wire.user_data(user), room_ids_of_user(user))
        for user in User.objects.filter(pk__in=user_ids)
    ]


def direct_peer(user: User, room: Room) -> User | None:
    """The other person in a direct conversation; None for a group room."""
    if room.kind != Room.Kind.DIRECT:
        return None
    other = Membership.objects.filter(room=room).exclude(user=user).select_related("user").first()
    return other.user if other is not None else None

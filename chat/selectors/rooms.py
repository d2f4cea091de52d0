"""Room lists, member lists and unread counts."""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Lower

from accounts.models import User
from chat import wire
from chat.models import Membership, Message, Room
from chat.realtime import presence
from chat.selectors.access import member_room

PREVIEW_LENGTH = 140


def rooms_directory(user: User) -> QuerySet[Room]:
    """Group rooms the user may see and are open, each with `is_member` and `member_count`."""
    visible = Q(visibility=Room.Visibility.PUBLIC) | Q(memberships__user=user)
    if user.is_staff:
        visible |= Q(visibility=Room.Visibility.STAFF)
    else:
        visible &= ~Q(visibility=Room.Visibility.STAFF)
    visible_ids = Room.objects.filter(visible, kind=Room.Kind.GROUP, is_archived=False).values("pk")
    return (
        Room.objects.filter(pk__in=visible_ids)
        .annotate(
            is_member=Exists(Membership.objects.filter(room=OuterRef("pk"), user=user)),
            member_count=Count("memberships", distinct=True),
        )
        .order_by(Lower("name"))
    )


def rooms_of_user(user: User) -> QuerySet[Room]:
    """Rooms and conversations the user is a member of (and may still see), latest first."""
    rooms = Room.objects.filter(memberships__user=user)
    if not user.is_staff:
        rooms = rooms.exclude(visibility=Room.Visibility.STAFF)
    return rooms.order_by("-last_activity_at", "name")


def room_ids_of_user(user: User) -> list[str]:
    """Public ids of the rooms whose events the user's sockets receive."""
    return [str(public_id) for public_id in rooms_of_user(user).values_list("public_id", flat=True)]


def _unread_messages(user: User) -> QuerySet[Message]:
    """Other people's visible messages; narrowed to a room and a seq by the caller."""
    return Message.objects.filter(kind=Message.Kind.TEXT, deleted_at__isnull=True).exclude(
        author=user
    )


def unread_count(user: User, room: Room, after_seq: int) -> int:
    return _unread_messages(user).filter(room=room, seq__gt=after_seq).count()


# The user's rooms with their unread counts and the id of their latest text message, in one
# statement. Built with the ORM (five correlated subqueries), it cost more to compile than to
# run: 48% of a socket's opening CPU, profiled while 4,000 sockets connected. Plain SQL that
# SQLite and PostgreSQL both run, with the rules of rooms_of_user (staff-only rooms need
# is_staff) and _unread_messages (other people's visible text messages, a message without an
# author included). Each subquery walks the (room, seq) index. Joining the latest message on
# such a subquery instead made PostgreSQL hash the whole message table on every call.
_ROOMS_WITH_STATE_SQL = """
SELECT r.*,
    m.role AS member_role,
    m.last_read_seq AS member_last_read_seq,
    (SELECT COUNT(*) FROM chat_message u
        WHERE u.room_id = r.id AND u.seq > m.last_read_seq AND u.kind = %(text)s
            AND u.deleted_at IS NULL AND (u.author_id IS NULL OR u.author_id <> %(user)s)
    ) AS unread,
    (SELECT x.id FROM chat_message x WHERE x.room_id = r.id AND x.kind = %(text)s
        ORDER BY x.seq DESC LIMIT 1
    ) AS latest_id
FROM chat_membership m
JOIN chat_room r ON r.id = m.room_id
WHERE m.user_id = %(user)s AND (%(staff)s OR r.visibility <> %(staff_only)s)
ORDER BY r.last_activity_at DESC, r.name
"""


def rooms_with_state(user: User) -> list[dict[str, Any]]:
    """The user's rooms and conversations for a sidebar, latest activity first.

    Each has its last seq, the user's read marker and unread count, the latest message as a
    preview, and for a conversation the other person. Three queries whatever the number of
    rooms.
    """
    rooms = list(
        Room.objects.raw(
            _ROOMS_WITH_STATE_SQL,
            {
                "user": user.pk,
                "text": Message.Kind.TEXT.value,
                "staff": user.is_staff,
                "staff_only": Room.Visibility.STAFF.value,
            },
        )
    )
    latest = Message.objects.select_related("author").in_bulk(
        [room.latest_id for room in rooms if room.latest_id is not None]
    )
    direct_ids = [room.pk for room in rooms if room.kind == Room.Kind.DIRECT]
    peers = {
        peer.room_id: peer.user
        for peer in Membership.objects.filter(room_id__in=direct_ids)
        .exclude(user=user)
        .select_related("user")
    }
    return [
        {
            **wire.room_data(room, peer=peers.get(room.pk)),
            "role": room.member_role,
            "last_read_seq": room.member_last_read_seq,
            "unread": room.unread,
            "last_activity_at": room.last_activity_at.isoformat(),
            "last_message": _preview(latest.get(room.latest_id)),
        }
        for room in rooms
    ]


def _preview(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    return {
        "seq": message.seq,
        "author": message.author.username if message.author else None,
        "preview": "" if message.deleted_at else message.body[:PREVIEW_LENGTH],
        "deleted": message.deleted_at is not None,
    }


def room_members(user: User, *, room_id: uuid.UUID | str) -> list[dict[str, Any]]:
    """The members of a room the user is in, by name, with their user id for presence."""
    room = member_room(user, room_id).room
    members = (
        Membership.objects.filter(room=room)
        .select_related("user")
        .order_by(Lower("user__username"))
    )
    return [
        {"user_id": member.user_id, **wire.user_data(member.user), "role": member.role}
        for member in members
    ]


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


def sidebar_rooms(user: User) -> list[dict[str, Any]]:
    """rooms_with_state, plus whether the other person of each conversation is online now."""
    rooms = rooms_with_state(user)
    peer_names = [room["peer"]["username"] for room in rooms if room.get("peer")]
    ids = dict(User.objects.filter(username__in=peer_names).values_list("username", "pk"))
    online = presence.online_now(list(ids.values()))
    for room in rooms:
        if room.get("peer"):
            room["peer_online"] = ids.get(room["peer"]["username"]) in online
    return rooms

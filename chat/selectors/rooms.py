"""Room lists, member lists and unread counts."""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Lower

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.realtime import frames, presence
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


def rooms_with_state(user: User) -> list[dict[str, Any]]:
    """The user's rooms and conversations for a sidebar, latest activity first.

    Each has its last seq, the user's read marker and unread count, the latest message as a
    preview, and for a conversation the other person. Two queries whatever the number of rooms.
    """
    unread = (
        _unread_messages(user)
        .filter(room=OuterRef("room"), seq__gt=OuterRef("last_read_seq"))
        .order_by()
        .values("room")
        .annotate(count=Count("pk"))
        .values("count")
    )
    latest = Message.objects.filter(room=OuterRef("room"), kind=Message.Kind.TEXT).order_by("-seq")
    memberships = list(
        Membership.objects.filter(room__in=rooms_of_user(user).values("pk"), user=user)
        .select_related("room")
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0),
            latest_seq=Subquery(latest.values("seq")[:1]),
            latest_body=Subquery(latest.values("body")[:1]),
            latest_deleted=Subquery(latest.values("deleted_at")[:1]),
            latest_author=Subquery(latest.values("author__username")[:1]),
        )
        .order_by("-room__last_activity_at", "room__name")
    )
    direct_ids = [m.room_id for m in memberships if m.room.kind == Room.Kind.DIRECT]
    peers = {
        peer.room_id: peer.user
        for peer in Membership.objects.filter(room_id__in=direct_ids)
        .exclude(user=user)
        .select_related("user")
    }
    return [
        {
            **frames.room_data(membership.room, peer=peers.get(membership.room_id)),
            "role": membership.role,
            "last_read_seq": membership.last_read_seq,
            "unread": membership.unread,
            "last_activity_at": membership.room.last_activity_at.isoformat(),
            "last_message": None
            if membership.latest_seq is None
            else {
                "seq": membership.latest_seq,
                "author": membership.latest_author,
                "preview": ""
                if membership.latest_deleted
                else (membership.latest_body or "")[:PREVIEW_LENGTH],
                "deleted": membership.latest_deleted is not None,
            },
        }
        for membership in memberships
    ]


def room_members(user: User, *, room_id: uuid.UUID | str) -> list[dict[str, Any]]:
    """The members of a room the user is in, by name, with their user id for presence."""
    room = member_room(user, room_id).room
    members = (
        Membership.objects.filter(room=room)
        .select_related("user")
        .order_by(Lower("user__username"))
    )
    return [
        {"user_id": member.user_id, **frames.user_data(member.user), "role": member.role}
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
        (user.pk, frames.user_data(user), room_ids_of_user(user))
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

"""Room lists: the directory, a user's own rooms, and the rooms' heads.

Who may see which room is chat.room_access (`Room.objects.visible_to`); nothing here restates
it. A user's rooms with their unread counts are in `sidebar`, member lists in `members`.
"""

from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from chat import wire
from chat.models import Membership, Room


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


def rooms_of_user(user: User) -> QuerySet[Room]:
    """Rooms and conversations the user is a member of (and may still see), latest first."""
    return (
        Room.objects.visible_to(user)
        .filter(memberships__user=user)
        .order_by("-last_activity_at", "name")
    )


def room_ids_of_user(user: User) -> list[str]:
    """Public ids of the rooms whose events the user's sockets receive."""
    return [str(public_id) for public_id in rooms_of_user(user).values_list("public_id", flat=True)]


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

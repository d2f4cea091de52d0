"""Appending to a room's timeline: the single place where a seq is handed out."""

from django.utils import timezone

from accounts.models import User
from chat.models import Message, Room


def timeline_append(
    room: Room,
    *,
    kind: str,
    author: User | None,
    body: str = "",
    client_id: str | None = None,
) -> Message:
    """Add the next message to `room`'s timeline.

    Precondition: inside `transaction.atomic`, with `room` fetched under `select_for_update`,
    so that seq order is commit order with no gaps and no duplicates.
    """
    room.last_seq += 1
    room.last_activity_at = timezone.now()
    room.save(update_fields=["last_seq", "last_activity_at"])
    return Message.objects.create(
        room=room,
        seq=room.last_seq,
        author=author,
        kind=kind,
        body=body,
        client_id=client_id,
    )

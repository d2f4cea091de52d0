"""Read markers: how far a user has read in each room."""

import uuid

from django.db import transaction

from accounts.models import User
from chat.models import Membership
from chat.realtime import publish
from chat.selectors.access import member_room
from chat.selectors.sidebar import unread_count, unread_mention_count
from core.errors import InvalidInput


def read_mark(user: User, *, room_id: uuid.UUID | str, seq: object) -> Membership:
    """Record that the user has seen the room up to `seq`. Markers only move forward."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise InvalidInput("'seq' must be a whole number of 0 or more.", field="seq")
    with transaction.atomic():
        membership = member_room(user, room_id)
        room = membership.room
        if seq > room.last_seq:
            raise InvalidInput(f"'seq' is past the room's last seq ({room.last_seq}).", field="seq")
        updated = Membership.objects.filter(pk=membership.pk, last_read_seq__lt=seq).update(
            last_read_seq=seq
        )
        membership.refresh_from_db(fields=["last_read_seq"])
        membership.room = room
        if updated:
            after_seq = membership.last_read_seq
            publish.read_updated(
                membership,
                unread=unread_count(user, room, after_seq),
                unread_mentions=unread_mention_count(user, room, after_seq),
            )
        return membership

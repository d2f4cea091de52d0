"""Telling a room that someone is typing."""

from asgiref.sync import async_to_sync
from django.conf import settings

from accounts.models import User
from chat.realtime import publish
from chat.room_access import require_open
from chat.selectors.access import member_room


def typing_start(user: User, *, room_id: object) -> None:
    """Tell the room's members that `user` is typing, for PARLEY_TYPING_EXPIRY seconds.

    Only where the user could post: RoomNotFound and NotMember from the gate, RoomArchived
    for an archived room (it is read-only). Nothing is stored, so nothing waits for a commit.
    Synchronous, like every service: from async code, call it in a worker thread.
    """
    room = member_room(user, room_id).room
    require_open(room)
    async_to_sync(publish.typing)(
        str(room.public_id), user, expires_in=settings.PARLEY_TYPING_EXPIRY
    )

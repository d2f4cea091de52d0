"""The one gate to a room: the room if the user may see it (chat.room_access), and their
membership of it."""

import uuid

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from chat.models import Membership, Room
from chat.room_access import can_see_room
from core.errors import NotMember, RoomNotFound


def parse_room_id(room_id: object) -> uuid.UUID:
    """The room's public id as a UUID; anything malformed is simply a room that does not exist."""
    if isinstance(room_id, uuid.UUID):
        return room_id
    if not isinstance(room_id, str) or len(room_id) > 64:
        raise RoomNotFound()
    try:
        return uuid.UUID(room_id)
    except ValueError:
        raise RoomNotFound() from None


def room_for_user(user: User | AnonymousUser, room_id: object, *, lock: bool = False) -> Room:
    """The room if `user` may see it, else RoomNotFound: missing and forbidden look the same.

    With lock=True the room row is locked; call inside `transaction.atomic`.
    """
    public_id = parse_room_id(room_id)
    rooms: QuerySet[Room] = Room.objects.all()
    if lock:
        rooms = rooms.select_for_update(of=("self",))
    room = rooms.filter(public_id=public_id).first()
    if room is None or not user.is_authenticated:
        raise RoomNotFound()
    membership = Membership.objects.filter(room=room, user=user).first()
    if not can_see_room(user, room, is_member=membership is not None):
        raise RoomNotFound()
    # membership_for() right after this gate uses it instead of asking the database again.
    room.membership_read = (user.pk, membership)
    return room


def member_room(user: User, room_id: object, *, lock: bool = False) -> Membership:
    """The user's membership of a room, its room attached, for commands only members may
    give: room_for_user() and membership_for() in one query on the common path, with the same
    errors (RoomNotFound, NotMember) when it is not.

    With lock=True the room row is locked; call inside `transaction.atomic`.
    """
    public_id = parse_room_id(room_id)
    if not user.is_authenticated:
        raise RoomNotFound()
    memberships = Membership.objects.select_related("room")
    if lock:
        memberships = memberships.select_for_update(of=("room",))
    membership = memberships.filter(room__public_id=public_id, user=user).first()
    if membership is None:
        # Not a member: the two-step gate says which error (a room they may not see is
        # missing), or finds a membership that was added in between.
        room = room_for_user(user, public_id, lock=lock)
        membership = membership_for(user, room)
        membership.room = room
    elif not can_see_room(user, membership.room, is_member=True):
        raise RoomNotFound()
    return membership


def membership_for(user: User, room: Room) -> Membership:
    """The user's membership of a room they can see, else NotMember."""
    read = getattr(room, "membership_read", None)
    if read is not None and read[0] == user.pk:
        membership = read[1]
    else:
        membership = Membership.objects.filter(room=room, user=user).first()
    if membership is None:
        raise NotMember()
    return membership

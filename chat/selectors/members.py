"""A room's member list, and who of them is online now."""

from typing import Any, TypedDict

from django.db.models.functions import Lower

from accounts.models import User
from chat import wire
from chat.models import Membership
from chat.realtime import presence
from chat.selectors.access import member_room


class MemberList(TypedDict):
    # By username: {"username", "display_name", "role", "online"}, as the protocol's
    # `members` frame and the API list them.
    members: list[dict[str, Any]]
    online_count: int


def room_members(user: User, *, room_id: object) -> list[dict[str, Any]]:
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


def room_members_with_presence(user: User, *, room_id: object) -> MemberList:
    """The members of a room the user is in, by name, each with whether they are online now.

    Synchronous (the presence store is asked with its blocking client): from async code, call
    it in a worker thread.
    """
    members = room_members(user, room_id=room_id)
    online = presence.online_now([member["user_id"] for member in members])
    for member in members:
        member["online"] = member.pop("user_id") in online
    return {"members": members, "online_count": len(online)}

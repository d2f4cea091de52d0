"""Channel-layer group names. A socket is in its user's group and in one group per room."""

import uuid


def room_group(room_id: uuid.UUID | str) -> str:
    return f"room.{uuid.UUID(str(room_id)).hex}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"

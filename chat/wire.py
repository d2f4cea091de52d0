"""The JSON frames of the Parley protocol (docs/protocol.md), built in one place."""

import json
from datetime import datetime
from typing import Any, overload

from accounts.models import User
from chat.models import Message, Room

PROTOCOL_VERSION = 1


def dumps(frame: dict[str, Any]) -> str:
    # ensure_ascii keeps U+2028 and other separators escaped for naive JavaScript consumers.
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=True)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@overload
def user_data(user: User) -> dict[str, str]: ...
@overload
def user_data(user: None) -> None: ...
@overload
def user_data(user: User | None) -> dict[str, str] | None: ...
def user_data(user: User | None) -> dict[str, str] | None:
    """A person as clients see them; `avatar` (their picture's URL) only when they have one."""
    if user is None:
        return None
    data = {"username": user.username, "display_name": user.shown_name}
    if user.avatar:
        data["avatar"] = user.avatar_url or ""
    return data


def message_data(message: Message) -> dict[str, Any]:
    """A timeline entry as clients see it; a deleted message keeps its place but not its text."""
    return {
        "seq": message.seq,
        "kind": message.kind,
        "author": user_data(message.author),
        "body": "" if message.is_deleted else message.body,
        "created_at": _time(message.created_at),
        "edited_at": _time(message.edited_at),
        "deleted": message.is_deleted,
        "client_id": message.client_id,
    }


def room_data(room: Room, *, peer: User | None = None) -> dict[str, Any]:
    """A room as one member sees it; a direct conversation names the other person (`peer`)."""
    data: dict[str, Any] = {
        "id": str(room.public_id),
        "name": room.name,
        "kind": room.kind,
        "visibility": room.visibility,
        "archived": room.is_archived,
        "last_seq": room.last_seq,
    }
    if room.kind == Room.Kind.DIRECT:
        data["name"] = peer.shown_name if peer is not None else ""
        data["peer"] = user_data(peer)
    return data


def message_frame(event_type: str, message: Message) -> dict[str, Any]:
    return {
        "type": event_type,
        "room": str(message.room.public_id),
        "message": message_data(message),
    }


def error_frame(code: str, message: str, ref: object = None, **details: object) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    if details:
        frame["details"] = details
    return frame

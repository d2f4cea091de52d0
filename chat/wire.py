"""The JSON frames of the Parley protocol (docs/protocol.md), built in one place."""

import json
from datetime import datetime
from typing import Any, overload
from urllib.parse import quote

from accounts.models import User
from chat.models import Attachment, Mention, Message, Reaction, Room

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
    """A timeline entry as clients see it; a deleted message keeps its place but not its text.

    `body` is the source as written; `body_html` its rendering for text messages, sanitized
    when it was stored (chat.formatting), "" for system lines and deleted messages.
    """
    shown = message.kind == Message.Kind.TEXT and not message.is_deleted
    return {
        "seq": message.seq,
        "kind": message.kind,
        "author": user_data(message.author),
        "body": "" if message.is_deleted else message.body,
        "body_html": message.body_html if shown else "",
        "created_at": _time(message.created_at),
        "edited_at": _time(message.edited_at),
        "deleted": message.is_deleted,
        "client_id": message.client_id,
        "attachments": [attachment_data(attachment) for attachment in _attachments_of(message)],
        "reactions": reactions_data(reactions_of(message)),
        "reply_to": reply_data(message),
        "mentions": [mention.user.username for mention in mentions_of(message)],
        "mentions_room": shown and message.mentions_room,
    }


# How much of a replied-to message's first line a reply quotes, in code points.
REPLY_EXCERPT_LENGTH = 120


def reply_data(message: Message) -> dict[str, Any] | None:
    """The message a reply answers, as the reply quotes it: its first line as written, or
    `deleted` and no text. None for other messages and tombstones (which show nothing).

    Read from the message's `reply_to`, which the history read loads with the page."""
    if message.reply_to_id is None or message.is_deleted:
        return None
    target = message.reply_to
    if target is None:
        return None
    return {
        "seq": target.seq,
        "author": user_data(target.author),
        "excerpt": "" if target.is_deleted else _first_line(target.body),
        "deleted": target.is_deleted,
    }


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if len(line) > REPLY_EXCERPT_LENGTH:
        return line[: REPLY_EXCERPT_LENGTH - 1].rstrip() + "\u2026"
    return line


def _attachments_of(message: Message) -> list[Attachment]:
    """The message's files: those the history read prefetched or the service attached, read
    here only for a single message that came without them (an edit, a retried send)."""
    if message.is_deleted or message.kind != Message.Kind.TEXT:
        return []
    attached = getattr(message, "attachment_list", None)
    if attached is None:
        attached = list(message.attachments.order_by("pk"))
    return attached


def reactions_of(message: Message) -> list[Reaction]:
    """The message's reactions, oldest first: those the history read prefetched, read here
    only for a single message that came without them (an edit, a retried send)."""
    if message.is_deleted or message.kind != Message.Kind.TEXT:
        return []
    reactions = getattr(message, "reaction_list", None)
    if reactions is None:
        reactions = list(message.reactions.select_related("user").order_by("pk"))
    return reactions


def mentions_of(message: Message) -> list[Mention]:
    """The users the message mentions by name, in the order recorded: those the history read
    prefetched or the service recorded, read here only for a single message that came
    without them (a retried send)."""
    if message.is_deleted or message.kind != Message.Kind.TEXT:
        return []
    mentions = getattr(message, "mention_list", None)
    if mentions is None:
        mentions = list(message.mentions.filter(by_name=True).select_related("user").order_by("pk"))
    return mentions


# Names listed per emoji; `count` stays exact beyond them.
REACTION_USERS_SHOWN = 20


def reactions_data(reactions: list[Reaction]) -> list[dict[str, Any]]:
    """A message's reactions summed up per emoji, for every viewer alike (frames are built once
    per room): emoji in the order first used, each with its count and the first usernames."""
    summary: dict[str, dict[str, Any]] = {}
    for reaction in sorted(reactions, key=lambda reaction: reaction.pk):
        entry = summary.setdefault(
            reaction.emoji, {"emoji": reaction.emoji, "count": 0, "users": []}
        )
        entry["count"] += 1
        if len(entry["users"]) < REACTION_USERS_SHOWN:
            entry["users"].append(reaction.user.username)
    return list(summary.values())


# The last segment of a file's URL is its name, for browsers that save it under that name;
# chat.downloads ignores it. A name always ends in an extension (validation.clean_file_name),
# so it is never the thumbnail's "thumbnail".
FILE_URL = "/files/{id}/{name}"
THUMBNAIL_URL = "/files/{id}/thumbnail"


def attachment_data(attachment: Attachment) -> dict[str, Any]:
    """A file as clients see it: `url` downloads it (only for members who may see the room),
    `thumbnail_url` is a small WebP of an image."""
    public_id = str(attachment.public_id)
    return {
        "id": public_id,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "kind": attachment.kind,
        "width": attachment.width,
        "height": attachment.height,
        "url": FILE_URL.format(id=public_id, name=quote(attachment.name, safe="")),
        "thumbnail_url": THUMBNAIL_URL.format(id=public_id) if attachment.thumbnail else None,
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


def mention_data(mention: Mention) -> dict[str, Any]:
    """A mention of the viewer, for the mentions list: the room (in a direct conversation the
    other person is the author, as no one mentions themselves) and the message."""
    room, message = mention.room, mention.message
    peer = message.author if room.kind == Room.Kind.DIRECT else None
    return {
        "id": mention.pk,
        "room": room_data(room, peer=peer),
        "seq": mention.seq,
        "mentioned_at": _time(mention.created_at),
        "message": message_data(message),
    }


def search_hit_data(
    message: Message, *, peer: User | None, excerpt: str, matches: list[tuple[int, int]]
) -> dict[str, Any]:
    """One search result: where the message is, who wrote it, and an excerpt of its text.

    `matches` are [start, end) offsets in `excerpt` in Unicode code points: clients show the
    excerpt as text and mark those ranges, so no markup is ever sent.
    """
    room = message.room
    name = room.name
    if room.kind == Room.Kind.DIRECT:
        name = peer.shown_name if peer is not None else ""
    return {
        "room": {"id": str(room.public_id), "name": name, "kind": room.kind},
        "seq": message.seq,
        "author": user_data(message.author),
        "created_at": _time(message.created_at),
        "edited_at": _time(message.edited_at),
        "body": message.body,
        "excerpt": excerpt,
        "matches": [{"start": start, "end": end} for start, end in matches],
    }


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

"""Sending events to sockets: only from services, only after the transaction commits.

Each event carries its frame already serialized (`text`), so it is encoded once however many
sockets receive it, and each event to a room's group names its `room` (chat.realtime.fanout
hands it to that room's sockets). The channel layer is a doorbell, not a store: if a send is
lost, clients recover the timeline from the database by seq (see chat/consumers).
"""

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from accounts.models import User
from chat import wire
from chat.models import Membership, Message, Room
from chat.realtime.groups import room_group, user_group
from core import metrics

logger = logging.getLogger(__name__)


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # Wall-clock, as the receiving socket may be in another process: fan-out latency.
    event["sent_at"] = time.time()
    # Twice: after Redis restarts, the first send on a pooled connection fails and a fresh one
    # works. Sockets drop the copy if both went through.
    for attempt in (1, 2):
        try:
            async_to_sync(layer.group_send)(group, event)
            return
        except Exception:
            # The write is committed; members get it through catch-up when the layer is back
            # (chat/realtime/watchdog.py).
            metrics.LAYER_ERRORS.inc()
            logger.exception("channel layer send to %s failed (attempt %d)", group, attempt)


def _on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _send(group, event))


def timeline_entry(message: Message, *, event_type: str = "message.new") -> None:
    """A new, edited or deleted timeline entry, to everyone in the room."""
    if event_type == "message.new" and not hasattr(message, "reaction_list"):
        message.reaction_list = []  # a new entry has none yet: no query to find that out
    if event_type == "message.new" and not hasattr(message, "mention_list"):
        message.mention_list = []  # system lines; text posts carry theirs (services.mentions)
    _on_commit(
        room_group(message.room.public_id),
        {
            "type": event_type,
            "room": str(message.room.public_id),
            "seq": message.seq,
            "text": wire.dumps(wire.message_frame(event_type, message)),
        },
    )


def reactions_changed(message: Message) -> None:
    """A message's reactions changed: everyone in the room gets its whole summary. Like an
    edit, sent only to sockets that have delivered that seq (chat.realtime.delivery.CHANGES)."""
    room_id = str(message.room.public_id)
    frame = {
        "type": "reaction.updated",
        "room": room_id,
        "seq": message.seq,
        "reactions": wire.reactions_data(message.reaction_list),
    }
    _on_commit(
        room_group(room_id),
        {
            "type": "reaction.updated",
            "room": room_id,
            "seq": message.seq,
            "text": wire.dumps(frame),
        },
    )


def member_change(room: Room, user: User, *, joined: bool) -> None:
    """Membership changed: member lists update, and the user's own sockets (un)subscribe."""
    room_id = str(room.public_id)
    event_type = "member.joined" if joined else "member.left"
    frame = {"type": event_type, "room": room_id, "user": wire.user_data(user)}
    _on_commit(
        room_group(room_id), {"type": event_type, "room": room_id, "text": wire.dumps(frame)}
    )
    if joined:
        own = {"type": "room.joined", "room": wire.room_data(room)}
        # The socket starts reading the room's timeline at the "joined" line (room.last_seq).
        _on_commit(
            user_group(user.pk),
            {
                "type": "room.subscribe",
                "room": room_id,
                "seq": room.last_seq,
                "text": wire.dumps(own),
            },
        )
    else:
        _on_commit(user_group(user.pk), {"type": "room.unsubscribe", "room": room_id})


def access_lost(room: Room, user: User) -> None:
    """The user may no longer see the room (it became staff-only): their sockets drop it."""
    _on_commit(user_group(user.pk), {"type": "room.unsubscribe", "room": str(room.public_id)})


def access_revoked(
    user_id: int,
    *,
    session: str | None = None,
    token_id: int | None = None,
    every_session: bool = False,
) -> None:
    """A session ended or a token was revoked: the user's sockets opened with it close.

    `session` is the session's fingerprint (accounts.revocation); `every_session` closes the
    sockets of all the user's sessions and none opened with a token (a new password); with
    none of the three, every socket of the user closes (the account was deactivated or deleted).
    """
    event = {"type": "access.revoked", "session": session, "token": token_id}
    if every_session:
        event["every_session"] = True
    _on_commit(user_group(user_id), event)


def profile_changed(user_id: int) -> None:
    """The user's display name or picture changed: their sockets load the user again, so the
    messages, typing and presence they send next show it."""
    _on_commit(user_group(user_id), {"type": "profile.changed"})


def conversation_opened(room: Room, user: User, *, peer: User) -> None:
    """A new direct conversation: the user's sockets subscribe to it at once."""
    own = {"type": "room.joined", "room": wire.room_data(room, peer=peer)}
    _on_commit(
        user_group(user.pk),
        {
            "type": "room.subscribe",
            "room": str(room.public_id),
            "seq": room.last_seq + 1,
            "text": wire.dumps(own),
        },
    )


def read_updated(membership: Membership, *, unread: int, unread_mentions: int) -> None:
    """The user's read marker moved: their other tabs update the unread counts."""
    frame = {
        "type": "read.updated",
        "room": str(membership.room.public_id),
        "last_read_seq": membership.last_read_seq,
        "unread": unread,
        "unread_mentions": unread_mentions,
    }
    _on_commit(user_group(membership.user_id), {"type": "read.updated", "text": wire.dumps(frame)})


async def send_now(group: str, event: dict[str, Any]) -> None:
    """Send an event that is not tied to a transaction (presence, typing); best effort."""
    layer = get_channel_layer()
    try:
        await layer.group_send(group, event)
    except Exception:
        logger.exception("channel layer send to %s failed", group)


async def typing(room_id: str, user: User, *, expires_in: float) -> None:
    """Someone is typing in a room; clients forget it after `expires_in` seconds."""
    frame = {
        "type": "typing",
        "room": room_id,
        "user": wire.user_data(user),
        "expires_in": expires_in,
    }
    await send_now(
        room_group(room_id),
        {"type": "typing.started", "room": room_id, "text": wire.dumps(frame)},
    )

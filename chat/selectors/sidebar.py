"""A user's rooms and conversations with their state (last seq, unread count, latest message),
as the sidebar, the socket's `hello` and the API list them."""

from functools import cache
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from chat import wire
from chat.models import Membership, Mention, Message, Room
from chat.realtime import presence
from chat.room_access import room_access_sql

PREVIEW_LENGTH = 140


def _unread_messages(user: User) -> QuerySet[Message]:
    """Other people's visible messages; narrowed to a room and a seq by the caller."""
    return Message.objects.filter(kind=Message.Kind.TEXT, deleted_at__isnull=True).exclude(
        author=user
    )


def unread_count(user: User, room: Room, after_seq: int) -> int:
    return _unread_messages(user).filter(room=room, seq__gt=after_seq).count()


def unread_mention_count(user: User, room: Room, after_seq: int) -> int:
    """Mentions of the user after `after_seq` (deleted messages take theirs with them)."""
    return Mention.objects.filter(user=user, room=room, seq__gt=after_seq).count()


@cache
def _rooms_with_state_statement(visible: str) -> str:
    """The user's rooms with their unread counts (messages, mentions of the user) and the id of
    their latest text message, in
    one statement; `visible` is room_access_sql's condition for the aliases r and m.

    Built with the ORM (five correlated subqueries), it cost more to compile than to run: 48%
    of a socket's opening CPU, profiled while 4,000 sockets connected. Plain SQL that SQLite
    and PostgreSQL both run, with the rules of rooms_of_user (the access rule, for rooms the
    user is a member of) and _unread_messages (other people's visible text messages, a message
    without an author included). Each subquery walks the (room, seq) index. Joining the latest
    message on such a subquery instead made PostgreSQL hash the whole message table on every
    call.
    """
    return f"""
        SELECT r.*,
            m.role AS member_role,
            m.last_read_seq AS member_last_read_seq,
            (SELECT COUNT(*) FROM {Message._meta.db_table} u
                WHERE u.room_id = r.id AND u.seq > m.last_read_seq AND u.kind = %(text)s
                    AND u.deleted_at IS NULL AND (u.author_id IS NULL OR u.author_id <> %(user)s)
            ) AS unread,
            (SELECT COUNT(*) FROM {Mention._meta.db_table} n
                WHERE n.user_id = %(user)s AND n.room_id = r.id AND n.seq > m.last_read_seq
            ) AS unread_mentions,
            (SELECT x.id FROM {Message._meta.db_table} x
                WHERE x.room_id = r.id AND x.kind = %(text)s
                ORDER BY x.seq DESC LIMIT 1
            ) AS latest_id
        FROM {Membership._meta.db_table} m
        JOIN {Room._meta.db_table} r ON r.id = m.room_id
        WHERE m.user_id = %(user)s AND {visible}
        ORDER BY r.last_activity_at DESC, r.name
    """  # noqa: S608 (table names come from the models, values are parameters)


def rooms_with_state(user: User) -> list[dict[str, Any]]:
    """The user's rooms and conversations for a sidebar, latest activity first.

    Each has its last seq, the user's read marker and unread count, the latest message as a
    preview, and for a conversation the other person. Three queries whatever the number of
    rooms.
    """
    visible, access = room_access_sql(user, room="r", member="m")
    rooms = list(
        Room.objects.raw(
            _rooms_with_state_statement(visible),
            {"user": user.pk, "text": Message.Kind.TEXT.value, **access},
        )
    )
    # The statement's extra columns, which the model does not declare.
    state = {room.pk: vars(room) for room in rooms}
    latest = Message.objects.select_related("author").in_bulk(
        [state[room.pk]["latest_id"] for room in rooms if state[room.pk]["latest_id"] is not None]
    )
    direct_ids = [room.pk for room in rooms if room.kind == Room.Kind.DIRECT]
    peers = {
        peer.room_id: peer.user
        for peer in Membership.objects.filter(room_id__in=direct_ids)
        .exclude(user=user)
        .select_related("user")
    }
    return [
        {
            **wire.room_data(room, peer=peers.get(room.pk)),
            "role": state[room.pk]["member_role"],
            "last_read_seq": state[room.pk]["member_last_read_seq"],
            "unread": state[room.pk]["unread"],
            "unread_mentions": state[room.pk]["unread_mentions"],
            "last_activity_at": room.last_activity_at.isoformat(),
            "last_message": _preview(latest.get(state[room.pk]["latest_id"])),
        }
        for room in rooms
    ]


def _preview(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    return {
        "seq": message.seq,
        "author": message.author.username if message.author else None,
        "author_name": message.author.shown_name if message.author else None,
        "preview": "" if message.deleted_at else message.body[:PREVIEW_LENGTH],
        "deleted": message.deleted_at is not None,
    }


def sidebar_rooms(user: User) -> list[dict[str, Any]]:
    """rooms_with_state, plus whether the other person of each conversation is online now."""
    rooms = rooms_with_state(user)
    peer_names = [room["peer"]["username"] for room in rooms if room.get("peer")]
    ids = dict(User.objects.filter(username__in=peer_names).values_list("username", "pk"))
    online = presence.online_now(list(ids.values()))
    for room in rooms:
        if room.get("peer"):
            room["peer_online"] = ids.get(room["peer"]["username"]) in online
    return rooms

"""Appending to a room's timeline: the only places where a seq is handed out."""

import uuid
from functools import cache

from django.db import connection, models
from django.utils import timezone

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.room_access import room_access_sql


def timeline_append(
    room: Room,
    *,
    kind: str,
    author: User | None,
    body: str = "",
    body_html: str = "",
    client_id: str | None = None,
    reply_to: Message | None = None,
) -> Message:
    """Add the next message to `room`'s timeline; `body_html` is `body` rendered
    (chat.formatting), "" for system lines.

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
        body_html=body_html,
        client_id=client_id,
        reply_to=reply_to,
    )


def _columns(model: type[models.Model]) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


@cache
def _post_statement(postable: str) -> str:
    """Advance the room's seq under its row lock and insert the message, as one statement;
    `postable` is room_access_sql's condition (to post) for the aliases target and member.

    The UPDATE locks the room row until the statement commits, as select_for_update does for
    timeline_append, so seq order is still commit order. It matches only a room the user may
    post in; any other case matches no row and inserts nothing.
    """
    room_columns = ", ".join(f"room.{column}" for column in _columns(Room))
    return f"""
        WITH room AS (
            UPDATE {Room._meta.db_table} AS target
            SET last_seq = target.last_seq + 1, last_activity_at = %(now)s
            FROM {Membership._meta.db_table} AS member
            WHERE target.public_id = %(room)s
              AND member.room_id = target.id AND member.user_id = %(user)s
              AND {postable}
            RETURNING target.*
        ), message AS (
            INSERT INTO {Message._meta.db_table}
                (room_id, seq, author_id, kind, body, body_html, created_at, client_id)
            SELECT id, last_seq, %(user)s, %(text)s, %(body)s, %(body_html)s, %(now)s,
                %(client_id)s
            FROM room
            RETURNING id
        )
        SELECT message.id, {room_columns} FROM message, room
    """  # noqa: S608 (table and column names come from the models, values are parameters)


def timeline_post(
    user: User, room_id: uuid.UUID, *, body: str, body_html: str, client_id: str | None
) -> Message | None:
    """Append `user`'s text message in one statement and one round trip, on PostgreSQL.

    None when it did not post: the user may not post there (timeline_append's path then says
    why) or the database cannot run it. It costs a seventh of the CPU of the locked read, the
    UPDATE and the INSERT that timeline_append's path takes (docs/benchmarks.md). A repeated
    client_id raises IntegrityError, as there.
    """
    if connection.vendor != "postgresql":
        return None
    postable, access = room_access_sql(user, room="target", member="member", to_post=True)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _post_statement(postable),
            {
                "now": now,
                "room": room_id,
                "user": user.pk,
                "text": Message.Kind.TEXT,
                "body": body,
                "body_html": body_html,
                "client_id": client_id,
                **access,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    room = Room.from_db(connection.alias, _attnames(Room), row[1:])
    fields = {
        "id": row[0],
        "room_id": room.pk,
        "seq": room.last_seq,
        "author_id": user.pk,
        "kind": Message.Kind.TEXT,
        "body": body,
        "body_html": body_html,
        "created_at": now,
        "edited_at": None,
        "deleted_at": None,
        "client_id": client_id,
        "reply_to_id": None,
        "mentions_room": False,  # the column's database default
    }
    names = _attnames(Message)
    message = Message.from_db(connection.alias, names, [fields[name] for name in names])
    message.room, message.author = room, user
    return message

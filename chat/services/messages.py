"""Posting, editing and deleting messages in a room's timeline."""

import uuid
from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from chat import ratelimit
from chat.formatting import render_body
from chat.models import Attachment, Mention, Message, Reaction, Room
from chat.realtime import publish
from chat.room_access import can_manage, require_open
from chat.selectors.access import member_room, parse_room_id
from chat.services.mentions import mentions_plan, mentions_record
from chat.services.timeline import timeline_append, timeline_post
from chat.services.validation import clean_attachment_ids, clean_body, clean_client_id
from core import metrics
from core.errors import (
    Forbidden,
    InvalidInput,
    MessageDeleted,
    MessageNotFound,
    ParleyError,
    ReplyNotFound,
)

# Seqs are JSON numbers; beyond 2**53 clients cannot represent them exactly.
MAX_SEQ = 2**53


def _earlier_send(user: User, client_id: str | None) -> Message | None:
    if client_id is None:
        return None
    return Message.objects.select_related("room").filter(author=user, client_id=client_id).first()


def message_post(
    user: User,
    *,
    room_id: uuid.UUID | str,
    body: object,
    client_id: object = None,
    attachments: object = (),
    reply_to: object = None,
) -> Message:
    """Post a text message as `user`; a retry with the same client_id returns the first one.

    `reply_to` is the seq of an earlier text message of the same room, not deleted, that this
    one answers (ReplyNotFound otherwise).

    `attachments` are the public ids of the user's own uploads to that room not yet posted
    (chat.services.attachments); they are attached in the same transaction, or nothing is
    posted. A message with files may have no text (`body` "" or omitted).
    """
    attachment_ids = clean_attachment_ids(attachments)
    if attachment_ids and body is None:
        body = ""
    text = clean_body(body, may_be_empty=bool(attachment_ids))
    client_key = clean_client_id(client_id)
    reply_seq = _reply_seq(reply_to)
    try:
        ratelimit.take_write(user.pk)
        # Read and rendered before the transaction, so that no room lock waits for them.
        mentions = mentions_plan(user, room_id=room_id, text=text)
        text_html = render_body(text, mentions=mentions.usernames, mentions_room=mentions.room)
        # A retry's client_id is stored already: the insert fails and the whole transaction,
        # the seq with it, rolls back. Looking for it only then saves every first send a query.
        # Inside a caller's transaction a savepoint keeps that transaction usable after it.
        # Mentions are written with the message: then the one-statement post needs one too.
        atomic = connection.in_atomic_block or not mentions.is_empty
        with transaction.atomic() if atomic else nullcontext():
            # The one-statement post cannot check a reply's target: replies take the checked path.
            if attachment_ids or reply_seq is not None:
                message = _post_checked(
                    user, room_id, text, text_html, client_key, attachment_ids, reply_seq
                )
            else:
                message = timeline_post(
                    user,
                    parse_room_id(room_id),
                    body=text,
                    body_html=text_html,
                    client_id=client_key,
                ) or _post_checked(user, room_id, text, text_html, client_key)
                message.attachment_list = []
            mentions_record(message, mentions)
    except (IntegrityError, ParleyError):
        # A retry gets the first message back, even if it would be refused now (rate limited,
        # the room archived or left since, its files posted by the first send).
        earlier = _earlier_send(user, client_key)
        if earlier is None:
            raise
        return earlier
    publish.timeline_entry(message)
    transaction.on_commit(metrics.MESSAGES_POSTED.inc)
    return message


def _post_checked(
    user: User,
    room_id: object,
    text: str,
    text_html: str,
    client_key: str | None,
    attachment_ids: list[uuid.UUID] | None = None,
    reply_seq: int | None = None,
) -> Message:
    """The post with each check its own step: on SQLite, with files, and where timeline_post
    matched no room, to raise the error that says why (or post, if the user joined in
    between)."""
    with transaction.atomic():
        room = member_room(user, room_id, lock=True).room
        require_open(room)
        files = _unposted_uploads(user, room, attachment_ids) if attachment_ids else []
        target = _reply_target(room, reply_seq) if reply_seq is not None else None
        message = timeline_append(
            room,
            kind=Message.Kind.TEXT,
            author=user,
            body=text,
            body_html=text_html,
            client_id=client_key,
            reply_to=target,
        )
        if files:
            Attachment.objects.filter(pk__in=[file.pk for file in files]).update(message=message)
            for file in files:
                file.message = message
        message.attachment_list = files
        return message


def _unposted_uploads(user: User, room: Room, public_ids: list[uuid.UUID]) -> list[Attachment]:
    """The user's uploads to `room` with these ids, locked and not yet in a message, in upload
    order; InvalidInput naming those that are not. Call inside `transaction.atomic`."""
    files = list(
        Attachment.objects.select_for_update()
        .filter(public_id__in=public_ids, uploader=user, room=room, message__isnull=True)
        .order_by("pk")
    )
    if len(files) != len(public_ids):
        found = {file.public_id for file in files}
        raise InvalidInput(
            "'attachments' names a file that is not your upload to this room, or that was "
            "posted already.",
            field="attachments",
            ids=[str(public_id) for public_id in public_ids if public_id not in found],
        )
    return files


def _reply_seq(reply_to: object) -> int | None:
    if reply_to is None:
        return None
    if isinstance(reply_to, bool) or not isinstance(reply_to, int) or not 1 <= reply_to <= MAX_SEQ:
        raise InvalidInput(
            "'reply_to' must be a seq: a whole number of 1 or more.", field="reply_to"
        )
    return reply_to


def _reply_target(room: Room, seq: int) -> Message:
    """The message of `room` a new post answers. Call with the room row locked: every seq
    below the next one is then posted, so a later seq finds nothing."""
    if seq > room.last_seq:
        raise ReplyNotFound(field="reply_to")
    target = Message.objects.select_related("author").filter(room=room, seq=seq).first()
    if target is None or target.kind != Message.Kind.TEXT:
        raise ReplyNotFound(field="reply_to")
    if target.is_deleted:
        raise ReplyNotFound("The message you reply to was deleted.", field="reply_to")
    return target


def _seq(seq: object) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InvalidInput("'seq' must be a whole number of 1 or more.", field="seq")
    return seq


def _locked_message(user: User, room: Room, seq: int) -> Message:
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("author")
        .filter(room=room, seq=seq)
        .first()
    )
    if message is None:
        raise MessageNotFound()
    message.room = room
    return message


def message_edit(user: User, *, room_id: uuid.UUID | str, seq: object, body: object) -> Message:
    """Replace the text of one of the user's own messages."""
    text = clean_body(body)
    message_seq = _seq(seq)
    ratelimit.take_write(user.pk)
    # Before the row lock, as for a post.
    mentions = mentions_plan(user, room_id=room_id, text=text, edited_seq=message_seq)
    text_html = render_body(text, mentions=mentions.usernames, mentions_room=mentions.room)
    with transaction.atomic():
        room = member_room(user, room_id).room
        require_open(room)
        message = _locked_message(user, room, message_seq)
        if message.kind != Message.Kind.TEXT or message.author_id != user.pk:
            raise Forbidden("You can only edit your own messages.")
        if message.is_deleted:
            raise MessageDeleted()
        if message.body != text:
            message.body = text
            message.body_html = text_html
            message.edited_at = timezone.now()
            mentions_record(message, mentions, replace=True)
            message.save(update_fields=["body", "body_html", "edited_at", "mentions_room"])
            publish.timeline_entry(message, event_type="message.edited")
        return message


def message_delete(user: User, *, room_id: uuid.UUID | str, seq: object) -> Message:
    """Delete a message, leaving a tombstone in its place: its author, or a member who is a
    room admin or staff.

    Deleting an already deleted message succeeds and changes nothing, so retries are safe.
    """
    message_seq = _seq(seq)
    ratelimit.take_write(user.pk)
    with transaction.atomic():
        membership = member_room(user, room_id)
        room = membership.room
        require_open(room)
        message = _locked_message(user, room, message_seq)
        if message.kind != Message.Kind.TEXT:
            raise Forbidden("Only messages can be deleted, not timeline events.")
        if message.author_id != user.pk and not can_manage(user, role=membership.role):
            raise Forbidden("You can only delete your own messages.")
        if not message.is_deleted:
            message.body = message.body_html = ""
            message.deleted_at = timezone.now()
            message.save(update_fields=["body", "body_html", "deleted_at", "mentions_room"])
            # Their files leave storage after the commit (chat.models, on the rows' deletion).
            Attachment.objects.filter(message=message).delete()
            message.attachment_list = []
            Reaction.objects.filter(message=message).delete()
            message.reaction_list = []
            Mention.objects.filter(message=message).delete()
            message.mention_list = []
            message.mentions_room = False
            publish.timeline_entry(message, event_type="message.deleted")
        return message

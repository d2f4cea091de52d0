"""Reacting to messages with emoji: each user's set of emoji per message.

Reactions are message state, like an edit: they take no seq and are not timeline entries. Each
change sends the message's whole summary (`reaction.updated`), so clients just replace it.
"""

import uuid

from django.db import transaction

from accounts.models import User
from chat import ratelimit
from chat.emoji import clean_emoji
from chat.models import Message, Reaction
from chat.realtime import publish
from chat.room_access import require_open
from chat.selectors.access import member_room
from core.errors import Forbidden, InvalidInput, MessageDeleted, MessageNotFound, TooManyReactions

# Different emoji one message may carry (each with any number of users). Fixed here rather
# than a setting: clients show them in one row. Documented in docs/protocol.md, section 7.
MAX_EMOJI_PER_MESSAGE = 20


def _seq(seq: object) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InvalidInput("'seq' must be a whole number of 1 or more.", field="seq")
    return seq


def _reactable_message(user: User, room_id: object, seq: int) -> Message:
    """The text message at `seq`, its row locked, if the user may react to it now. Call
    inside `transaction.atomic`."""
    room = member_room(user, room_id).room
    require_open(room)
    message = Message.objects.select_for_update().filter(room=room, seq=seq).first()
    if message is None:
        raise MessageNotFound()
    if message.kind != Message.Kind.TEXT:
        raise Forbidden("Only messages can have reactions, not timeline events.")
    if message.is_deleted:
        raise MessageDeleted()
    message.room = room
    return message


def _with_reactions(message: Message) -> Message:
    message.reaction_list = list(
        Reaction.objects.filter(message=message).select_related("user").order_by("pk")
    )
    return message


def reaction_add(user: User, *, room_id: uuid.UUID | str, seq: object, emoji: object) -> Message:
    """Add the user's `emoji` to a message; adding it again changes nothing.

    Returns the message with its reactions (`reaction_list`).
    """
    text = clean_emoji(emoji)
    message_seq = _seq(seq)
    ratelimit.take_write(user.pk)
    with transaction.atomic():
        message = _reactable_message(user, room_id, message_seq)
        reactions = Reaction.objects.filter(message=message)
        if reactions.filter(user=user, emoji=text).exists():
            return _with_reactions(message)
        used = set(reactions.values_list("emoji", flat=True).distinct())
        if text not in used and len(used) >= MAX_EMOJI_PER_MESSAGE:
            raise TooManyReactions(max_count=MAX_EMOJI_PER_MESSAGE)
        Reaction.objects.create(message=message, user=user, emoji=text)
        _with_reactions(message)
        publish.reactions_changed(message)
        return message


def reaction_remove(user: User, *, room_id: uuid.UUID | str, seq: object, emoji: object) -> Message:
    """Take the user's `emoji` off a message; removing one that is not there changes nothing.

    Returns the message with its reactions (`reaction_list`).
    """
    text = clean_emoji(emoji)
    message_seq = _seq(seq)
    ratelimit.take_write(user.pk)
    with transaction.atomic():
        message = _reactable_message(user, room_id, message_seq)
        removed, _ = Reaction.objects.filter(message=message, user=user, emoji=text).delete()
        _with_reactions(message)
        if removed:
            publish.reactions_changed(message)
        return message

"""Recording who a message mentions, for message_post and message_edit.

Who is mentioned is read before the write's transaction (`mentions_plan`), so that the body
can be rendered with its mentions marked (chat.formatting) without holding a lock; the rows are
written inside it (`mentions_record`). Only active members who may see the room are recorded,
never the author. `@room` mentions every such member when the author may manage the room and
is within PARLEY_ROOM_MENTION_RATE; otherwise it stays plain text.
"""

import uuid
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from chat import ratelimit
from chat.formatting import body_tokens
from chat.mentions import find_mentions, mention_key
from chat.models import Membership, Mention, Message, Room
from chat.room_access import can_manage
from chat.selectors.access import parse_room_id
from core.errors import RoomNotFound


@dataclass(frozen=True)
class MentionPlan:
    # mention_key -> user, for each name that mentions someone, in the order written.
    named: dict[str, User] = field(default_factory=dict)
    # An honoured @room, and then the ids of every member it mentions.
    room: bool = False
    member_ids: frozenset[int] = frozenset()

    @property
    def usernames(self) -> dict[str, str]:
        """mention_key -> username, as chat.formatting.render_body takes them."""
        return {key: user.username for key, user in self.named.items()}

    @property
    def is_empty(self) -> bool:
        return not self.named and not self.room


NO_MENTIONS = MentionPlan()


def _audience(room: Room, author: User) -> QuerySet[User]:
    """Who a message in `room` may mention: its active members but the author, who may see it
    (a staff-only room hides itself from members who are no longer staff)."""
    users = User.objects.filter(is_active=True, memberships__room=room).exclude(pk=author.pk)
    if room.kind == Room.Kind.GROUP and room.visibility == Room.Visibility.STAFF:
        users = users.filter(is_staff=True)
    return users


def _room_mention_allowed(user: User, room: Room, role: str, edited_seq: int | None) -> bool:
    if not can_manage(user, role=role):
        return False
    if edited_seq is not None:
        # An edit that keeps an honoured @room does not spend the allowance again.
        earlier = Message.objects.filter(room=room, seq=edited_seq, mentions_room=True)
        if earlier.exists():
            return True
    return ratelimit.allow_room_mention(user.pk)


def mentions_plan(
    user: User, *, room_id: uuid.UUID | str, text: str, edited_seq: int | None = None
) -> MentionPlan:
    """Who `text`, posted by `user` in the room (or replacing the message at `edited_seq`),
    mentions. Reads only; a room the user is not in mentions no one (the write then fails)."""
    if "@" not in text:
        return NO_MENTIONS
    found = find_mentions(body_tokens(text))
    if not found.names and not found.room:
        return NO_MENTIONS
    try:
        room = Room.objects.filter(public_id=parse_room_id(room_id)).first()
    except RoomNotFound:
        return NO_MENTIONS
    if room is None:
        return NO_MENTIONS
    role = Membership.objects.filter(room=room, user=user).values_list("role", flat=True).first()
    if role is None:
        return NO_MENTIONS
    audience = _audience(room, user)
    named: dict[str, User] = {}
    if found.names:
        keys = [mention_key(name) for name in found.names]
        # Lower() is the unique index's expression; the exact names also find non-ASCII ones
        # on SQLite, whose lower() folds only ASCII.
        matches = audience.annotate(key=Lower("username")).filter(
            Q(key__in=keys) | Q(username__in=[name for name in found.names])
        )
        by_key = {mention_key(match.username): match for match in matches}
        named = {key: by_key[key] for key in keys if key in by_key}
    room_wide = found.room and _room_mention_allowed(user, room, role, edited_seq)
    member_ids = frozenset(audience.values_list("pk", flat=True)) if room_wide else frozenset()
    return MentionPlan(named=named, room=room_wide, member_ids=member_ids)


def mentions_record(message: Message, plan: MentionPlan, *, replace: bool = False) -> None:
    """Store `plan` as the mentions of `message`, just posted, or with `replace` just edited
    (mentions the new text drops go, new ones are added as new). Sets `mention_list` and
    `mentions_room` on `message`. Call inside `transaction.atomic`."""
    named_ids = [user.pk for user in plan.named.values()]
    everyone = dict.fromkeys(named_ids) | dict.fromkeys(sorted(plan.member_ids))
    kept: dict[int, bool] = {}
    if replace:
        current = Mention.objects.filter(message=message)
        current.exclude(user_id__in=everyone).delete()
        kept = dict(current.values_list("user_id", "by_name"))
        for by_name in (True, False):
            changed = [
                pk for pk, was in kept.items() if was != by_name and (pk in named_ids) == by_name
            ]
            if changed:
                current.filter(user_id__in=changed).update(by_name=by_name)
    new = [
        Mention(
            message=message,
            user_id=user_id,
            room_id=message.room_id,
            seq=message.seq,
            by_name=user_id in named_ids,
        )
        for user_id in everyone
        if user_id not in kept
    ]
    if new:
        Mention.objects.bulk_create(new)
    if not replace and plan.room:
        # The post's insert left the column at its default (chat.services.timeline).
        Message.objects.filter(pk=message.pk).update(mentions_room=True)
    message.mentions_room = plan.room
    message.mention_list = [
        Mention(message=message, user=user, room_id=message.room_id, seq=message.seq)
        for user in plan.named.values()
    ]

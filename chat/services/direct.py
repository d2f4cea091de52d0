"""Private one-to-one conversations."""

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.models import Membership, Room
from chat.realtime import publish
from chat.services.validation import clean_username
from core.errors import InvalidInput, UserNotFound


def _direct_key(first: User, second: User) -> str:
    low, high = sorted((first.pk, second.pk))
    return f"{low}:{high}"


def direct_open(user: User, *, username: object) -> Room:
    """The conversation between `user` and the named user, created on first use.

    There is one per pair: the unique `direct_key` decides when both open it at once.
    A conversation with yourself is refused.
    """
    name = clean_username(username)
    other = User.objects.filter(username__iexact=name, is_active=True).first()
    if other is None:
        raise UserNotFound()
    if other.pk == user.pk:
        raise InvalidInput("You cannot open a conversation with yourself.", field="username")
    key = _direct_key(user, other)
    existing = Room.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            room = Room.objects.create(
                kind=Room.Kind.DIRECT,
                visibility=Room.Visibility.INVITE,
                name="",
                direct_key=key,
                created_by=user,
            )
            for member in (user, other):
                Membership.objects.create(room=room, user=member)
                publish.conversation_opened(room, member, peer=other if member == user else user)
            return room
    except IntegrityError:
        return Room.objects.get(direct_key=key)

"""A user's mentions, newest first: the "Mentions" view."""

from dataclasses import dataclass

from django.conf import settings

from accounts.models import User
from chat.models import Membership, Mention, Room
from chat.selectors.history_rows import attach_details
from core.errors import InvalidInput


@dataclass(frozen=True)
class MentionsPage:
    # Each with its message (its files, reactions and mentions loaded) and room.
    mentions: list[Mention]
    has_more: bool


def _whole_number(name: str, value: object, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(f"'{name}' must be a whole number of {low} or more.", field=name)
    if high is not None and value > high:
        raise InvalidInput(f"'{name}' must be a whole number from {low} to {high}.", field=name)
    return value


def mentions_page(user: User, *, before: object = None, limit: object = None) -> MentionsPage:
    """The user's mentions in rooms they are still a member of and may see, newest first;
    `before` is the `id` of the last mention of the previous page."""
    size = (
        settings.PARLEY_HISTORY_PAGE_SIZE
        if limit is None
        else _whole_number("limit", limit, low=1, high=settings.PARLEY_HISTORY_MAX_PAGE_SIZE)
    )
    # The history gate's rule (member_room): a room left, or no longer visible, shows none.
    rooms = Room.objects.visible_to(user).filter(
        pk__in=Membership.objects.filter(user=user).values("room_id")
    )
    mentions = (
        Mention.objects.filter(user=user, room__in=rooms)
        .select_related("room", "message__author", "message__reply_to__author")
        .order_by("-pk")
    )
    if before is not None:
        mentions = mentions.filter(pk__lt=_whole_number("before", before, low=1))
    rows: list[Mention] = list(mentions[: size + 1])
    for mention in rows:
        mention.message.room = mention.room
    attach_details(mention.message for mention in rows[:size])
    return MentionsPage(mentions=rows[:size], has_more=len(rows) > size)

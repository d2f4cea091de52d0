"""Reading a room's timeline, a bounded page at a time, and the files in it."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch

from accounts.models import User
from chat.models import Attachment, Mention, Message, Reaction, Room
from chat.selectors.access import member_room
from core.errors import AttachmentNotFound, InvalidInput, NotMember, RoomNotFound


@dataclass(frozen=True)
class HistoryPage:
    room: Room
    messages: list[Message]
    # Whether more messages exist beyond this page in the direction that was asked for.
    has_more: bool


def _cursor(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"'{name}' must be a whole number of 0 or more.", field=name)
    return value


def _page_size(limit: object) -> int:
    if limit is None:
        return settings.PARLEY_HISTORY_PAGE_SIZE
    maximum = settings.PARLEY_HISTORY_MAX_PAGE_SIZE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {maximum}.", field="limit")
    return limit


def history_page(
    user: User,
    *,
    room_id: object,
    before: object = None,
    after: object = None,
    limit: object = None,
) -> HistoryPage:
    """Messages of a room in seq order: the newest page, the page before a seq, or after one."""
    before_seq = _cursor("before", before)
    after_seq = _cursor("after", after)
    if before_seq is not None and after_seq is not None:
        raise InvalidInput("Give 'before' or 'after', not both.")
    size = _page_size(limit)
    room = member_room(user, room_id).room

    # One more query each for the files, reactions and mentions of the whole page, not one per
    # message (chat.wire). The stubs' plugin takes to_attr for a new attribute, but Message
    # declares them on purpose.
    timeline = (
        Message.objects.filter(room=room)  # type: ignore[no-redef]
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.order_by("pk"),
                to_attr="attachment_list",
            ),
            Prefetch(
                "reactions",
                queryset=Reaction.objects.select_related("user").order_by("pk"),
                to_attr="reaction_list",
            ),
            Prefetch(
                "mentions",
                queryset=Mention.objects.filter(by_name=True).select_related("user").order_by("pk"),
                to_attr="mention_list",
            ),
        )
    )
    if after_seq is not None:
        rows = list(timeline.filter(seq__gt=after_seq).order_by("seq")[: size + 1])
        return HistoryPage(room=room, messages=rows[:size], has_more=len(rows) > size)
    if before_seq is not None:
        timeline = timeline.filter(seq__lt=before_seq)
    rows = list(timeline.order_by("-seq")[: size + 1])
    return HistoryPage(room=room, messages=rows[:size][::-1], has_more=len(rows) > size)


def attachment_for_user(user: User | AnonymousUser, *, attachment_id: object) -> Attachment:
    """The file if `user` may download it, else AttachmentNotFound (missing and forbidden look
    the same): they are a member of its room and may see it (the one gate, member_room), and,
    until it is posted in a message, it is their own upload."""
    if not user.is_authenticated:
        raise AttachmentNotFound()
    try:
        public_id = uuid.UUID(str(attachment_id))
    except ValueError:
        raise AttachmentNotFound() from None
    attachment = Attachment.objects.select_related("room").filter(public_id=public_id).first()
    if attachment is None:
        raise AttachmentNotFound()
    try:
        member_room(user, attachment.room.public_id)
    except (RoomNotFound, NotMember):
        raise AttachmentNotFound() from None
    if attachment.message_id is None and attachment.uploader_id != user.pk:
        raise AttachmentNotFound()
    return attachment

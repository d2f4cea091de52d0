"""Reading a room's timeline, a bounded page at a time, and the files in it."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from chat.models import Attachment, Message, Room
from chat.selectors.access import member_room
from chat.selectors.history_rows import attach_details, page_rows
from core.errors import AttachmentNotFound, InvalidInput, NotMember, RoomNotFound


@dataclass(frozen=True)
class HistoryPage:
    room: Room
    messages: list[Message]
    # Whether more messages exist beyond this page in the direction that was asked for (for a
    # page around a seq: older ones).
    has_more: bool
    # Only for a page around a seq: whether newer messages exist beyond it.
    has_more_after: bool | None = None


def _cursor(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"'{name}' must be a whole number of 0 or more.", field=name)
    return value


def _anchor(around: object) -> int | None:
    if around is None:
        return None
    if isinstance(around, bool) or not isinstance(around, int) or not 1 <= around <= 2**53:
        raise InvalidInput("'around' must be a seq: a whole number of 1 or more.", field="around")
    return around


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
    around: object = None,
    limit: object = None,
) -> HistoryPage:
    """Messages of a room in seq order: the newest page, the page before a seq, after one, or
    around one (that seq and about half a page on each side of it)."""
    before_seq = _cursor("before", before)
    after_seq = _cursor("after", after)
    anchor_seq = _anchor(around)
    if before_seq is not None and after_seq is not None:
        raise InvalidInput("Give 'before' or 'after', not both.")
    if anchor_seq is not None and (before_seq is not None or after_seq is not None):
        raise InvalidInput("Give 'around' alone, without 'before' or 'after'.", field="around")
    size = _page_size(limit)
    room = member_room(user, room_id).room

    if anchor_seq is not None:
        # The anchor counts on the newer side, so a page of one is the anchor itself.
        older_size = size // 2
        newer_size = size - older_size
        older = page_rows(room.pk, newest_first=True, limit=older_size + 1, before=anchor_seq)
        newer = page_rows(room.pk, newest_first=False, limit=newer_size + 1, from_seq=anchor_seq)
        messages = older[:older_size][::-1] + newer[:newer_size]
        attach_details(messages)
        return HistoryPage(
            room=room,
            messages=messages,
            has_more=len(older) > older_size,
            has_more_after=len(newer) > newer_size,
        )
    if after_seq is not None:
        rows = page_rows(room.pk, newest_first=False, limit=size + 1, after=after_seq)
        messages = rows[:size]
    else:
        rows = page_rows(room.pk, newest_first=True, limit=size + 1, before=before_seq)
        messages = rows[:size][::-1]
    attach_details(messages)
    return HistoryPage(room=room, messages=messages, has_more=len(rows) > size)


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

"""What the timeline's templates need from the wire format, so a page shows an entry exactly as
the socket describes it."""

from typing import Any

from django import template

from chat import wire
from chat.models import Message

register = template.Library()


@register.filter
def attachments(message: Message) -> list[dict[str, Any]]:
    """The message's files as clients get them (`url`, `thumbnail_url`, `kind` ...)."""
    if message.pk is None:  # the empty entries that live ones are cloned from
        return []
    return wire.message_data(message)["attachments"]


@register.filter
def reply_quote(message: Message) -> dict[str, Any] | None:
    """The message this one answers, as clients get it (`reply_to`), or None."""
    return wire.reply_data(message)

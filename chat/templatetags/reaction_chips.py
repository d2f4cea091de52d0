"""The reactions under a message as the page shows them: the wire's summary, plus whether the
viewer is among those who reacted (a per-viewer fact that frames, built once per room, leave
to each client)."""

from typing import Any

from django import template

from accounts.models import User
from chat import wire
from chat.models import Message

register = template.Library()

# The picker's choices: what people react with most, one row.
COMMON_EMOJI = ("👍", "❤️", "😂", "🎉", "😮", "👀")


@register.simple_tag
def reactions_for(message: Message, user: User) -> list[dict[str, Any]]:
    """Each emoji on the message with `count`, `users`, `mine` and `label` (for aria-label)."""
    if message.pk is None or message.kind != Message.Kind.TEXT or message.is_deleted:
        return []  # the empty entries that live ones are cloned from, system lines, tombstones
    reactions = wire.reactions_of(message)
    mine = {reaction.emoji for reaction in reactions if reaction.user_id == user.pk}
    return [
        {**entry, "mine": entry["emoji"] in mine, "label": chip_label(entry)}
        for entry in wire.reactions_data(reactions)
    ]


def chip_label(entry: dict[str, Any]) -> str:
    """'👍 2: alice, bob', and '…' when more reacted than are named (as timeline.js does)."""
    names = ", ".join(entry["users"])
    more = ", …" if entry["count"] > len(entry["users"]) else ""
    return f"{entry['emoji']} {entry['count']}: {names}{more}"


@register.simple_tag
def common_emoji() -> tuple[str, ...]:
    return COMMON_EMOJI

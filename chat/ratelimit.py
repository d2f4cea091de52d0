"""Per-user rate limits (writes, searches), shared by the socket, the pages and the API.

The counting is core.ratelimit's: shared by every process through Redis when REDIS_URL is set.
"""

from django.conf import settings

from core.errors import RateLimited
from core.ratelimit import take


def take_write(user_id: int) -> None:
    """The per-user allowance for writes (posts, edits, deletes, joins, leaves)."""
    take(
        f"write:{user_id}",
        rate=settings.PARLEY_WRITE_RATE,
        burst=settings.PARLEY_WRITE_BURST,
    )


def allow_room_mention(user_id: int) -> bool:
    """Whether the user's `@room` may notify everyone now; spends one of their allowance. An
    `@room` over the limit stays plain text rather than refusing the message."""
    try:
        take(
            f"room_mention:{user_id}",
            rate=settings.PARLEY_ROOM_MENTION_RATE,
            burst=settings.PARLEY_ROOM_MENTION_BURST,
        )
    except RateLimited:
        return False
    return True


def take_search(user_id: int) -> None:
    """The per-user allowance for searches: each may read a good part of the index."""
    take(
        f"search:{user_id}",
        rate=settings.PARLEY_SEARCH_RATE,
        burst=settings.PARLEY_SEARCH_BURST,
    )

"""One write rate limit per user, shared by the socket, the pages and the API.

The counting is core.ratelimit's: shared by every process through Redis when REDIS_URL is set.
"""

from django.conf import settings

from core.ratelimit import take


def take_write(user_id: int) -> None:
    """The per-user allowance for writes (posts, edits, deletes, joins, leaves)."""
    take(
        f"write:{user_id}",
        rate=settings.PARLEY_WRITE_RATE,
        burst=settings.PARLEY_WRITE_BURST,
    )

"""One write rate limit per user, shared by the socket, the pages and the API.

A generic cell rate algorithm (GCRA): `rate` writes per second on average, `burst` at once.
With REDIS_URL set the state lives in Redis, so every process counts against the same limit;
otherwise it lives in this process. While Redis cannot be reached each process counts on its
own (docs/reliability.md): a user may then write that much faster per process, rather than
nobody being able to write at all.
"""

import logging
import math
import threading
import time
from functools import cache

import redis
from django.conf import settings

from core import metrics
from core.errors import RateLimited

logger = logging.getLogger(__name__)

# After Redis fails to answer, this process counts locally and asks Redis again this much later,
# so that an unreachable Redis does not add its connect timeout to every write.
REDIS_RETRY_SECONDS = 1.0
_redis_back_at = 0.0

# Keys: the theoretical arrival time (TAT) in ms. Redis' own clock keeps processes consistent.
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return 0
"""


@cache
def _redis_script() -> redis.commands.core.Script:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return client.register_script(_GCRA)


_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def _local_wait_ms(key: str, interval: float, burst: int) -> float:
    now = time.monotonic() * 1000
    with _local_lock:
        tat = max(_local_tat.get(key, now), now)
        new_tat = tat + interval
        allow_at = new_tat - interval * burst
        if allow_at > now:
            return allow_at - now
        _local_tat[key] = new_tat
        return 0


def _shared_wait_ms(key: str, interval: float, burst: int) -> float | None:
    """The wait Redis computes for every process together; None while Redis is unreachable."""
    global _redis_back_at
    if time.monotonic() < _redis_back_at:
        return None
    try:
        redis_key = f"{settings.PARLEY_RATELIMIT_PREFIX}:{key}"
        return float(_redis_script()(keys=[redis_key], args=[interval, burst]))
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("rate limit: Redis unreachable, counting in this process", exc_info=True)
        _redis_back_at = time.monotonic() + REDIS_RETRY_SECONDS
        return None


def take(key: str, *, rate: float, burst: int) -> None:
    """Spend one unit of `key`'s allowance, or raise RateLimited with the wait in seconds."""
    interval = 1000 / rate
    wait_ms = _shared_wait_ms(key, interval, burst) if settings.REDIS_URL else None
    if wait_ms is None:
        wait_ms = _local_wait_ms(key, interval, burst)
    if wait_ms > 0:
        metrics.RATE_LIMITED.labels(limit=key.partition(":")[0]).inc()
        raise RateLimited(retry_after=math.ceil(wait_ms) / 1000)


def take_write(user_id: int) -> None:
    """The per-user allowance for writes (posts, edits, deletes, joins, leaves)."""
    take(
        f"write:{user_id}",
        rate=settings.PARLEY_WRITE_RATE,
        burst=settings.PARLEY_WRITE_BURST,
    )


def reset_local() -> None:
    """Forget the in-process counters (tests)."""
    global _redis_back_at
    with _local_lock:
        _local_tat.clear()
    _redis_back_at = 0.0


class LocalBucket:
    """A per-object allowance for things that never leave one process (frames on one socket)."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self.tat = 0.0

    def wait(self) -> float:
        """Seconds until one more unit is allowed; 0 means allowed now (and spent)."""
        now = time.monotonic()
        new_tat = max(self.tat, now) + self.interval
        allow_at = new_tat - self.interval * self.burst
        if allow_at > now:
            return allow_at - now
        self.tat = new_tat
        return 0.0

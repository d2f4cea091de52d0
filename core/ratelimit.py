"""Rate limits shared by every process: a generic cell rate algorithm (GCRA) per key.

`rate` units per second on average, `burst` at once. With REDIS_URL set the state lives in
Redis, so every process counts against the same limit; otherwise it lives in this process.
While Redis cannot be reached each process counts on its own (docs/reliability.md): a client
may then go that much faster per process, rather than nobody being served at all.
"""

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings

from core import metrics
from core.errors import RateLimited

logger = logging.getLogger(__name__)

# After Redis fails to answer, this process counts locally and asks Redis again this much later,
# so that an unreachable Redis does not add its connect timeout to every request.
REDIS_RETRY_SECONDS = 1.0
_redis_back_at = 0.0

# Keys: the theoretical arrival time (TAT) in ms. Redis' own clock keeps processes consistent.
# Answers {wait in ms (0: allowed and spent), whole units left, ms until the allowance is full}.
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
if allow_at > now then return {math.ceil(allow_at - now), 0, math.ceil(tat - now)} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
local in_use = math.ceil((new_tat - now) / interval - 1e-6)
return {0, math.max(0, burst - in_use), math.ceil(new_tat - now)}
"""

# Undo one `take`: move the TAT back by one interval (never before now).
_GIVE_BACK = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local new_tat = tat - tonumber(ARGV[1])
if new_tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
end
return 0
"""


@cache
def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


@cache
def _redis_script(source: str) -> redis.commands.core.Script:
    return _redis_client().register_script(source)


_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def _local_gcra(key: str, interval: float, burst: int) -> tuple[float, int, float]:
    """As the Redis script: (wait in ms, 0 when spent; whole units left; ms until full)."""
    now = time.monotonic() * 1000
    with _local_lock:
        tat = max(_local_tat.get(key, now), now)
        # Not new_tat - interval * burst: adding and taking away a long interval loses the last
        # bit of `now`, and a full allowance was refused now and then.
        allow_at = tat - interval * (burst - 1)
        if allow_at > now:
            return allow_at - now, 0, tat - now
        new_tat = tat + interval
        _local_tat[key] = new_tat
        # The tolerance keeps a float a hair over a whole unit from costing one more.
        in_use = math.ceil((new_tat - now) / interval - 1e-6)
        return 0, max(0, burst - in_use), new_tat - now


def _local_give_back(key: str, interval: float) -> None:
    now = time.monotonic() * 1000
    with _local_lock:
        tat = _local_tat.get(key)
        if tat is None:
            return
        if tat - interval <= now:
            del _local_tat[key]
        else:
            _local_tat[key] = tat - interval


def _shared(script: str, key: str, *args: float) -> Any:
    """The script's answer for every process together; None while Redis is unreachable."""
    global _redis_back_at
    if time.monotonic() < _redis_back_at:
        return None
    try:
        redis_key = f"{settings.PARLEY_RATELIMIT_PREFIX}:{key}"
        return _redis_script(script)(keys=[redis_key], args=list(args))
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("rate limit: Redis unreachable, counting in this process", exc_info=True)
        _redis_back_at = time.monotonic() + REDIS_RETRY_SECONDS
        return None


@dataclass(frozen=True)
class Allowance:
    """One request's answer from a key's allowance."""

    allowed: bool  # the unit was spent
    limit: int  # the burst: units at once
    remaining: int  # whole units left now
    reset_after: float  # seconds until the allowance is full again
    retry_after: float  # seconds until one more unit may be spent; 0 when allowed

    @property
    def reset_seconds(self) -> int:
        """Whole seconds until the allowance is full again (rounded up)."""
        return math.ceil(self.reset_after)


def spend(key: str, *, rate: float, burst: int) -> Allowance:
    """Spend one unit of `key`'s allowance if there is one; says what is left either way.

    The key's first part, up to a colon, names the limit in parley_rate_limited_total.
    """
    interval = 1000 / rate
    shared = _shared(_GCRA, key, interval, burst) if settings.REDIS_URL else None
    if shared is None:
        wait_ms, remaining, reset_ms = _local_gcra(key, interval, burst)
    else:
        wait_ms, remaining, reset_ms = (float(shared[0]), int(shared[1]), float(shared[2]))
    if wait_ms > 0:
        metrics.RATE_LIMITED.labels(limit=key.partition(":")[0]).inc()
    return Allowance(
        allowed=wait_ms <= 0,
        limit=burst,
        remaining=remaining,
        reset_after=max(0.0, reset_ms) / 1000,
        retry_after=math.ceil(wait_ms) / 1000 if wait_ms > 0 else 0.0,
    )


def take(key: str, *, rate: float, burst: int) -> Allowance:
    """Spend one unit of `key`'s allowance, or raise RateLimited with the wait in seconds.

    The key's first part, up to a colon, names the limit in parley_rate_limited_total.
    """
    allowance = spend(key, rate=rate, burst=burst)
    if not allowance.allowed:
        raise RateLimited(retry_after=allowance.retry_after)
    return allowance


def give_back(key: str, *, rate: float) -> None:
    """Return one unit spent by `take` (the attempt turned out not to count)."""
    interval = 1000 / rate
    if settings.REDIS_URL and _shared(_GIVE_BACK, key, interval) is not None:
        return
    _local_give_back(key, interval)


def address_key(address: str) -> str:
    """The client an address stands for: itself, or its /64 for IPv6 (IPv4-mapped as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # One host usually holds a whole /64, and can change addresses within it at will.
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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

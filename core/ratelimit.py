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
from functools import cache

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
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = tat - interval * (burst - 1)
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return 0
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


def _local_wait_ms(key: str, interval: float, burst: int) -> float:
    now = time.monotonic() * 1000
    with _local_lock:
        tat = max(_local_tat.get(key, now), now)
        new_tat = tat + interval
        # Not new_tat - interval * burst: adding and taking away a long interval loses the last
        # bit of `now`, and a full allowance was refused now and then.
        allow_at = tat - interval * (burst - 1)
        if allow_at > now:
            return allow_at - now
        _local_tat[key] = new_tat
        return 0


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


def _shared(script: str, key: str, *args: float) -> float | None:
    """The script's answer for every process together; None while Redis is unreachable."""
    global _redis_back_at
    if time.monotonic() < _redis_back_at:
        return None
    try:
        redis_key = f"{settings.PARLEY_RATELIMIT_PREFIX}:{key}"
        return float(_redis_script(script)(keys=[redis_key], args=list(args)))
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("rate limit: Redis unreachable, counting in this process", exc_info=True)
        _redis_back_at = time.monotonic() + REDIS_RETRY_SECONDS
        return None


def take(key: str, *, rate: float, burst: int) -> None:
    """Spend one unit of `key`'s allowance, or raise RateLimited with the wait in seconds.

    The key's first part, up to a colon, names the limit in parley_rate_limited_total.
    """
    interval = 1000 / rate
    wait_ms = _shared(_GCRA, key, interval, burst) if settings.REDIS_URL else None
    if wait_ms is None:
        wait_ms = _local_wait_ms(key, interval, burst)
    if wait_ms > 0:
        metrics.RATE_LIMITED.labels(limit=key.partition(":")[0]).inc()
        raise RateLimited(retry_after=math.ceil(wait_ms) / 1000)


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

"""Who is online: explicit state with expiry, shared through Redis when REDIS_URL is set.

A user is online while at least one of their sockets has a live entry. Every socket refreshes
its entry (heartbeat) well within the expiry; a socket whose process died stops refreshing,
and a sweeper in every process notices the expired users and announces them offline.

The same entries count a user's open sockets for PARLEY_SOCKETS_PER_USER: a new socket claims
its entry only while the user has fewer, and a dead process's entries age out with the expiry.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from functools import cache
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS: [sockets of the user, all users]; ARGV: [socket id, user id, ttl ms].
# Returns 1 when the user was offline before this call.
_TOUCH = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[3])
local before = redis.call('ZSCORE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[2], top[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
if (not before) or tonumber(before) <= now then return 1 end
return 0
"""

# A touch that first makes sure the user has a free place: ARGV[4] is the most live sockets a
# user may have (0: no limit). Returns -1 and changes nothing when the user has that many.
_CLAIM = (
    """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit
    and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return -1
end
"""
    + _TOUCH
)

# Returns 1 when this call took the user's last socket away (exactly one caller sees it).
_LEAVE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #top == 0 then
  return redis.call('ZREM', KEYS[2], ARGV[2])
end
redis.call('ZADD', KEYS[2], top[2], ARGV[2])
return 0
"""

# Users whose every socket expired; each is returned to exactly one sweeper.
_SWEEP = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local gone = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 500)) do
  if redis.call('ZREM', KEYS[1], user) == 1 then
    redis.call('DEL', ARGV[1] .. user)
    table.insert(gone, user)
  end
end
return gone
"""

_ONLINE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local flags = {}
for i, user in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], user)
  flags[i] = (score and tonumber(score) > now) and 1 or 0
end
return flags
"""


class TooManySockets(Exception):
    """The user already has as many live sockets as PARLEY_SOCKETS_PER_USER allows."""


class PresenceStore(Protocol):
    async def claim(self, user_id: int, socket_id: str, *, limit: int) -> bool: ...
    async def touch(self, user_id: int, socket_id: str) -> bool: ...
    async def touch_many(self, sockets: list[tuple[int, str]]) -> list[bool]: ...
    async def leave(self, user_id: int, socket_id: str) -> bool: ...
    async def sweep(self) -> list[int]: ...
    async def online(self, user_ids: list[int]) -> set[int]: ...


def ttl_seconds() -> float:
    return settings.PARLEY_PRESENCE_TTL


class RedisPresence:
    def __init__(self, url: str, prefix: str) -> None:
        # Thousands of sockets share this client: past its connections, a call waits for one
        # (up to 2 s) rather than failing, as redis-py's default pool (100) made heartbeats
        # and connects fail during a burst of reconnections.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=50, timeout=2, socket_timeout=2, socket_connect_timeout=2
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.prefix = prefix
        self.users_key = f"{prefix}:users"
        self._touch = self.redis.register_script(_TOUCH)
        self._claim = self.redis.register_script(_CLAIM)
        self._leave = self.redis.register_script(_LEAVE)
        self._sweep = self.redis.register_script(_SWEEP)
        self._online = self.redis.register_script(_ONLINE)

    def _sockets_key(self, user_id: int) -> str:
        return f"{self.prefix}:sockets:{user_id}"

    async def claim(self, user_id: int, socket_id: str, *, limit: int) -> bool:
        """A touch for a new socket; raises TooManySockets past `limit` (0: none)."""
        ttl_ms = int(ttl_seconds() * 1000)
        keys = [self._sockets_key(user_id), self.users_key]
        result = await self._claim(keys=keys, args=[socket_id, user_id, ttl_ms, max(limit, 0)])
        if result == -1:
            raise TooManySockets()
        return bool(result)

    async def touch(self, user_id: int, socket_id: str) -> bool:
        ttl_ms = int(ttl_seconds() * 1000)
        keys = [self._sockets_key(user_id), self.users_key]
        return bool(await self._touch(keys=keys, args=[socket_id, user_id, ttl_ms]))

    async def touch_many(self, sockets: list[tuple[int, str]]) -> list[bool]:
        """Touch several sockets in one round trip; for each, whether its user was offline."""
        ttl_ms = int(ttl_seconds() * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, socket_id in sockets:
                keys = [self._sockets_key(user_id), self.users_key]
                await self._touch(keys=keys, args=[socket_id, user_id, ttl_ms], client=pipe)
            return [bool(result) for result in await pipe.execute()]

    async def leave(self, user_id: int, socket_id: str) -> bool:
        keys = [self._sockets_key(user_id), self.users_key]
        return bool(await self._leave(keys=keys, args=[socket_id, user_id]))

    async def sweep(self) -> list[int]:
        gone = await self._sweep(keys=[self.users_key], args=[f"{self.prefix}:sockets:"])
        return [int(user_id) for user_id in gone]

    async def online(self, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        flags = await self._online(keys=[self.users_key], args=user_ids)
        return {user_id for user_id, flag in zip(user_ids, flags, strict=True) if flag}


class LocalPresence:
    """The same state in this process, for the single-process default."""

    def __init__(self) -> None:
        self.sockets: dict[int, dict[str, float]] = {}

    def _alive(self, user_id: int, now: float) -> dict[str, float]:
        entries = self.sockets.get(user_id, {})
        return {socket: expiry for socket, expiry in entries.items() if expiry > now}

    async def claim(self, user_id: int, socket_id: str, *, limit: int) -> bool:
        alive = self._alive(user_id, time.monotonic())
        if 0 < limit <= len(alive) and socket_id not in alive:
            raise TooManySockets()
        return await self.touch(user_id, socket_id)

    async def touch(self, user_id: int, socket_id: str) -> bool:
        now = time.monotonic()
        alive = self._alive(user_id, now)
        was_offline = not alive
        alive[socket_id] = now + ttl_seconds()
        self.sockets[user_id] = alive
        return was_offline

    async def touch_many(self, sockets: list[tuple[int, str]]) -> list[bool]:
        return [await self.touch(user_id, socket_id) for user_id, socket_id in sockets]

    async def leave(self, user_id: int, socket_id: str) -> bool:
        if user_id not in self.sockets:
            return False
        alive = self._alive(user_id, time.monotonic())
        alive.pop(socket_id, None)
        if alive:
            self.sockets[user_id] = alive
            return False
        del self.sockets[user_id]
        return True

    async def sweep(self) -> list[int]:
        now = time.monotonic()
        gone = [user for user in self.sockets if not self._alive(user, now)]
        for user in gone:
            del self.sockets[user]
        return gone

    async def online(self, user_ids: list[int]) -> set[int]:
        now = time.monotonic()
        return {user for user in user_ids if self._alive(user, now)}


_stores: dict[tuple[int, str], PresenceStore] = {}


def store() -> PresenceStore:
    """The presence store for this event loop (Redis clients belong to one loop)."""
    loop_key = (id(asyncio.get_running_loop()), settings.PARLEY_PRESENCE_PREFIX)
    if settings.REDIS_URL:
        if loop_key not in _stores:
            _stores[loop_key] = RedisPresence(settings.REDIS_URL, settings.PARLEY_PRESENCE_PREFIX)
        return _stores[loop_key]
    return _local_store(settings.PARLEY_PRESENCE_PREFIX)


@cache
def _local_store(prefix: str) -> LocalPresence:
    return LocalPresence()


class OfflineAnnouncer(Protocol):
    async def __call__(self, user_ids: list[int]) -> None: ...


async def sweep_forever(announce_offline: OfflineAnnouncer) -> None:
    """Announce users whose sockets all expired (their process died), every third of the TTL.

    One task per process runs it (chat/consumers/runtime.py).
    """
    while True:
        await asyncio.sleep(max(ttl_seconds() / 3, 0.2))
        try:
            gone = await store().sweep()
            if gone:
                await announce_offline(gone)
        except Exception:
            logger.exception("presence sweep failed")


def online_now(user_ids: list[int]) -> set[int]:
    """Which of these users are online, for synchronous callers (pages)."""
    if not user_ids:
        return set()
    if settings.REDIS_URL:
        return _sync_online_script()(user_ids)
    local = _local_store(settings.PARLEY_PRESENCE_PREFIX)
    now = time.monotonic()
    return {user for user in user_ids if local._alive(user, now)}


@cache
def _sync_online_script() -> Callable[[list[int]], set[int]]:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    script = client.register_script(_ONLINE)

    def online(user_ids: list[int]) -> set[int]:
        users_key = f"{settings.PARLEY_PRESENCE_PREFIX}:users"
        flags = script(keys=[users_key], args=user_ids)
        return {user for user, flag in zip(user_ids, flags, strict=True) if flag}

    return online

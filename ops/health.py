"""Is this process able to serve? Each check is bounded in time so a dead dependency answers
"not ready" quickly instead of hanging the load balancer's probe."""

import asyncio
from typing import Any

import redis.asyncio as redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

CHECK_TIMEOUT = 2.0  # seconds, per dependency


def _database_ping() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This runs in a fresh thread; leave no connection behind in it.
        connection.close()


async def _redis_ping() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _outcome(check: Any) -> str:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT)
    except TimeoutError:
        return f"error: no answer within {CHECK_TIMEOUT:g} s"
    except Exception as error:
        # The class and first line say what is wrong without echoing a password in a URL.
        reason = str(error).splitlines()[0] if str(error) else ""
        return f"error: {type(error).__name__}: {reason}"[:300]
    return "ok"


async def readiness() -> dict[str, str]:
    """Each dependency and "ok" or the reason it is not usable."""
    checks = {"database": _outcome(sync_to_async(_database_ping, thread_sensitive=False)())}
    if settings.REDIS_URL:
        checks["redis"] = _outcome(_redis_ping())
    results = await asyncio.gather(*checks.values())
    return dict(zip(checks, results, strict=True))

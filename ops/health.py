"""Is this process able to serve? Each check is bounded in time so a dead dependency answers
"not ready" quickly instead of hanging the load balancer's probe.

Whoever can reach /readyz learns only which check failed ("down", "missing"). Why it failed
(hosts, ports, the error) goes to the log, once when it starts failing, then once a minute with
a count while it lasts, and to the `parley_dependency_up` gauge.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass

import redis.asyncio as redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from core.metrics import DEPENDENCY_UP
from ops import static_manifest

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds, per dependency
# While a check keeps failing, its reason is logged again after this many seconds: a load
# balancer probes every few seconds, and a line per probe buried the outage's first line.
REMIND_AFTER = 60.0


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


async def _failure(check: Awaitable[None]) -> str | None:
    """None when `check` succeeds in time; otherwise why not, for the log only."""
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as error:
        # The class and first line say what is wrong without echoing a password in a URL.
        reason = str(error).splitlines()[0] if str(error) else ""
        return f"{type(error).__name__}: {reason}"[:300]
    return None


async def _static_failure() -> str | None:
    absent = static_manifest.missing(static_manifest.EVERY_PAGE)
    if not absent:
        return None
    return f"no manifest entry for {', '.join(absent)} (STATIC_ROOT={settings.STATIC_ROOT})"


@dataclass
class _Outage:
    """One check's failures since it last passed, in this process."""

    failures: int = 0
    reason: str = ""
    logged_at: float = 0.0


_outages: dict[str, _Outage] = {}


def _record(check: str, reason: str | None) -> None:
    """Count the result on the gauge and log what changed (see REMIND_AFTER)."""
    DEPENDENCY_UP.labels(dependency=check).set(0 if reason else 1)
    outage = _outages.get(check)
    if reason is None:
        if outage is not None:
            del _outages[check]
            logger.info("readiness: %s passes again after %d failed checks", check, outage.failures)
        return
    if outage is None:
        outage = _outages[check] = _Outage()
    outage.failures += 1
    now = time.monotonic()
    if outage.failures == 1 or reason != outage.reason or now - outage.logged_at >= REMIND_AFTER:
        logger.warning(
            "readiness: %s fails (failure %d of this outage): %s", check, outage.failures, reason
        )
        outage.reason, outage.logged_at = reason, now


# What /readyz says of a failed check: nothing more.
FAILED_AS = {"database": "down", "redis": "down", "static": "missing"}


async def readiness() -> dict[str, str]:
    """Each check and "ok", or "down" / "missing" when it failed (the reason is logged)."""
    checks = {"database": _failure(sync_to_async(_database_ping, thread_sensitive=False)())}
    if settings.REDIS_URL:
        checks["redis"] = _failure(_redis_ping())
    if static_manifest.uses_manifest():
        checks["static"] = _static_failure()
    reasons = await asyncio.gather(*checks.values())
    answer = {}
    for check, reason in zip(checks, reasons, strict=True):
        _record(check, reason)
        answer[check] = FAILED_AS[check] if reason else "ok"
    return answer

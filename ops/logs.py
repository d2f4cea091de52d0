"""Log formats and filters: one JSON object per line for LOG_FORMAT=json, client faults as
warnings, and one line per dependency outage instead of one traceback per failure. Callers never
log bodies or tokens."""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import redis
from django.db import InterfaceError, OperationalError


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ClientFaultsAreWarnings(logging.Filter):
    """uvicorn logs a text frame of invalid UTF-8 as an ERROR with a traceback, though it has
    handled it (the socket is closed with 1007): any client could fill the log with tracebacks
    and set off error alerts. Such a record becomes one WARNING line."""

    MESSAGES = frozenset({"Invalid UTF-8 sequence received from client."})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in self.MESSAGES and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


# What a failure of each dependency raises: connections lost, refused or timed out. Django wraps
# psycopg's errors in its own; psycopg_pool's PoolTimeout is a psycopg.OperationalError.
DEPENDENCY_ERRORS: dict[str, tuple[type[BaseException], ...]] = {
    "Redis": (redis.ConnectionError, redis.TimeoutError),
    "database": (OperationalError, InterfaceError, psycopg.OperationalError),
}
# psycopg_pool logs each failed connection attempt as a warning of its own, without a traceback.
DEPENDENCY_LOGGERS = {"psycopg.pool": "database"}
REDIS_CONNECTION_MODULES = ("/redis/asyncio/connection.py", "/redis/connection.py")


def dependency_of(record: logging.LogRecord) -> str | None:
    """The dependency whose failure `record` reports, or None if it reports none."""
    if record.exc_info and record.exc_info[1] is not None:
        seen: set[int] = set()
        error: BaseException | None = record.exc_info[1]
        while error is not None and id(error) not in seen:  # the error and what caused it
            seen.add(id(error))
            for dependency, errors in DEPENDENCY_ERRORS.items():
                if isinstance(error, errors):
                    return dependency
            if _raised_by_redis_connection(error):
                return "Redis"
            error = error.__cause__ or error.__context__
    if record.levelno >= logging.WARNING:
        for name, dependency in DEPENDENCY_LOGGERS.items():
            if record.name == name or record.name.startswith(name + "."):
                return dependency
    return None


@dataclass
class _Outage:
    """One dependency's run of failures, in this process."""

    started: float  # monotonic, at the first failure
    started_at: float  # wall clock, for the log
    last: float  # monotonic, at the latest failure
    failures: int = 1
    reported: int = 1  # failures logged or already summed up in a reminder
    reminded: float = 0.0  # monotonic, when the last reminder went out


class OnePerOutage(logging.Filter):
    """While PostgreSQL or Redis is down, every socket, heartbeat and page that needs it fails
    and logs a traceback: an 8 s Redis outage gave 22-44 of them per process, a 10 s database
    cut about 80, and the one line that said what happened was lost among them.

    This lets the first failure of each dependency through (traceback and all, marked as the
    first of an outage), counts the ones after it instead of logging them, reminds once a
    minute while failures go on, and when none has come for `QUIET` seconds logs one line with
    how long the outage lasted and how many failures it caused. A failure is a record whose
    exception (or its cause) is a lost, refused or timed-out connection to the dependency, or a
    warning of psycopg's pool; and, while an outage is on, Django's line for each 503 page.
    Install it on the handlers with `install`.
    """

    QUIET = 10.0  # seconds without a failure that end an outage
    REMIND = 60.0  # seconds between reminders while failures go on

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        later: Callable[[float, Callable[[], None]], object] | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.wall_clock = wall_clock
        self.later = later or _timer
        self.outages: dict[str, _Outage] = {}
        self.lock = threading.Lock()
        self.logger = logging.getLogger("ops.outages")

    def filter(self, record: logging.LogRecord) -> bool:
        # Each handler asks about the same record: decide once.
        decided: bool | None = getattr(record, "one_per_outage", None)
        if decided is None:
            decided = record.one_per_outage = self.decide(record)
        return decided

    def decide(self, record: logging.LogRecord) -> bool:
        """Whether `record` is logged; a first failure or a reminder is rewritten on the way."""
        if record.name == self.logger.name:
            return True
        dependency = dependency_of(record)
        if dependency is None and _outage_page(record):
            dependency = next(iter(self.outages), None)  # counted with the outage under way
        if dependency is None:
            return True
        now = self.clock()
        with self.lock:
            outage = self.outages.get(dependency)
            if outage is None:
                self.outages[dependency] = _Outage(now, self.wall_clock(), now, reminded=now)
                self.later(self.QUIET, lambda: self.end_if_quiet(dependency))
                record.msg = (
                    f"{record.msg} [{dependency} unavailable: the first failure of this outage; "
                    f"the next are counted, and summed up when none has come for "
                    f"{self.QUIET:g} s]"
                )
                return True
            outage.failures += 1
            outage.last = now
            if now - outage.reminded < self.REMIND:
                return False
            # Once a minute while it lasts: this record, as one line, stands for the others.
            record.msg = "%s still unavailable: %d failures in %.0f s, %d since the last line"
            record.args = (
                dependency,
                outage.failures,
                now - outage.started,
                outage.failures - outage.reported,
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            outage.reported, outage.reminded = outage.failures, now
            return True

    def end_if_quiet(self, dependency: str) -> None:
        """Sum up `dependency`'s outage if no failure came for QUIET seconds, else look again
        when that will be the case."""
        now = self.clock()
        with self.lock:
            outage = self.outages.get(dependency)
            if outage is None:
                return
            wait = outage.last + self.QUIET - now
            if wait > 0:
                self.later(wait, lambda: self.end_if_quiet(dependency))
                return
            del self.outages[dependency]
        started = datetime.fromtimestamp(outage.started_at, UTC).strftime("%H:%M:%S")
        self.logger.info(
            "%s: no failure for %g s; the outage lasted %.1f s from %s UTC (first to last "
            "failure), %d failures, %d of them not logged",
            dependency,
            self.QUIET,
            outage.last - outage.started,
            started,
            outage.failures,
            outage.failures - outage.reported,
        )

    @classmethod
    def install(cls) -> "OnePerOutage":
        """Put one such filter on each handler of the root logger (call once, after Django has
        configured logging); every logger that propagates to them is covered."""
        one = cls()
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, cls) for f in handler.filters):
                handler.addFilter(one)
        return one


def _raised_by_redis_connection(error: BaseException) -> bool:
    """An error of the socket itself that redis-py's connection code let out unwrapped, as
    uvloop's RuntimeError for a write to a transport the server closed. redis-py's own errors
    (a script's ResponseError included) pass through that code too: only the typed ones above
    are outages."""
    if isinstance(error, redis.RedisError):
        return False
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.endswith(REDIS_CONNECTION_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def _outage_page(record: logging.LogRecord) -> bool:
    """Django's error line for a 503 page: Parley answers 503 only for an outage."""
    return record.name == "django.request" and getattr(record, "status_code", None) == 503


def _timer(delay: float, action: Callable[[], None]) -> object:
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer

import logging
import sys
from collections.abc import Callable

import psycopg_pool
import pytest
import redis
from django.db import OperationalError

from ops.logs import ClientFaultsAreWarnings, OnePerOutage


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    try:
        b"\xff".decode()
    except UnicodeDecodeError:
        exc_info = sys.exc_info()
    return logging.LogRecord("uvicorn.error", level, __file__, 1, message, None, exc_info)


def test_invalid_utf8_from_a_client_is_one_warning_line() -> None:
    record = _record("Invalid UTF-8 sequence received from client.")

    assert ClientFaultsAreWarnings().filter(record)

    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")
    assert record.exc_info is None


def test_other_errors_keep_their_level_and_traceback() -> None:
    record = _record("Exception in ASGI application\n")

    assert ClientFaultsAreWarnings().filter(record)

    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Later:
    """Keeps what the filter asks to run later; the test runs it."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, action: Callable[[], None]) -> None:
        self.calls.append((delay, action))

    def run_next(self) -> float:
        delay, action = self.calls.pop(0)
        action()
        return delay


def _failure(error: BaseException, logger: str = "chat.realtime.heartbeats") -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(logger, logging.ERROR, __file__, 1, "it failed", None, exc_info)


def _redis_down() -> redis.ConnectionError:
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError as reset:
        try:
            raise redis.ConnectionError("Connection lost.") from reset
        except redis.ConnectionError as error:
            return error


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def outages(clock: Clock, later: Later) -> OnePerOutage:
    return OnePerOutage(clock=clock, wall_clock=lambda: 0.0, later=later)


def test_an_outage_logs_its_first_failure_whole_then_counts_and_sums_up(
    outages: OnePerOutage, clock: Clock, later: Later, caplog: pytest.LogCaptureFixture
) -> None:
    first = _failure(_redis_down())
    assert outages.filter(first)
    assert first.exc_info is not None
    assert "[Redis unavailable: the first failure of this outage" in first.getMessage()

    passed = []
    for _ in range(37):
        clock.now += 0.25
        passed.append(outages.filter(_failure(_redis_down(), "channels_redis.pubsub")))
    assert not any(passed)

    clock.now += 3
    with caplog.at_level(logging.INFO, logger="ops.outages"):
        assert later.run_next() == OnePerOutage.QUIET  # too early: 3 s since the last failure
        assert caplog.records == []
        clock.now += later.calls[0][0]
        later.run_next()

    assert [r.getMessage() for r in caplog.records] == [
        "Redis: no failure for 10 s; the outage lasted 9.2 s from 00:00:00 UTC (first to last "
        "failure), 38 failures, 37 of them not logged"
    ]
    assert outages.outages == {}
    # The next failure starts a new outage, logged whole again.
    assert outages.filter(_failure(_redis_down()))


def test_a_long_outage_gets_one_line_a_minute(outages: OnePerOutage, clock: Clock) -> None:
    assert outages.filter(_failure(_redis_down()))
    passed = []
    for _ in range(130):
        clock.now += 1
        record = _failure(_redis_down())
        if outages.filter(record):
            passed.append(record)

    assert len(passed) == 2
    assert [r.getMessage() for r in passed] == [
        "Redis still unavailable: 61 failures in 60 s, 60 since the last line",
        "Redis still unavailable: 121 failures in 120 s, 60 since the last line",
    ]
    assert all(r.exc_info is None and r.levelname == "WARNING" for r in passed)


def test_database_failures_are_their_own_outage(outages: OnePerOutage) -> None:
    try:
        try:
            raise psycopg_pool.PoolTimeout("couldn't get a connection after 1.50 sec")
        except psycopg_pool.PoolTimeout as timeout:
            raise OperationalError("couldn't get a connection") from timeout
    except OperationalError as error:
        wrapped = error
    pool_warning = logging.LogRecord(
        "psycopg.pool", logging.WARNING, __file__, 1, "error connecting in 'pool-1'", None, None
    )

    assert outages.filter(_failure(_redis_down()))
    assert outages.filter(_failure(wrapped, "chat.consumers.socket"))
    assert not outages.filter(pool_warning)
    assert not outages.filter(_failure(_redis_down()))
    assert set(outages.outages) == {"Redis", "database"}
    assert outages.outages["database"].failures == 2


def test_other_errors_and_plain_lines_pass_untouched(outages: OnePerOutage) -> None:
    assert outages.filter(_failure(_redis_down()))
    bug = _failure(ValueError("a bug"))
    info = logging.LogRecord("chat", logging.INFO, __file__, 1, "socket open", None, None)

    assert outages.filter(bug) and outages.filter(info)
    assert bug.getMessage() == "it failed" and bug.exc_info is not None


def test_outage_pages_count_with_the_outage_under_way(outages: OnePerOutage) -> None:
    def page_503() -> logging.LogRecord:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Service Unavailable: /", None, None
        )
        record.status_code = 503
        return record

    assert outages.filter(page_503())  # no outage known: logged
    assert outages.filter(_failure(_redis_down()))
    assert not outages.filter(page_503())


def test_a_record_is_decided_once_for_every_handler(outages: OnePerOutage) -> None:
    first = _failure(_redis_down())

    assert outages.filter(first) and outages.filter(first)
    assert outages.outages["Redis"].failures == 1


def _raised_in(filename: str, error: BaseException) -> BaseException:
    """`error`, raised by code that claims to live in `filename`."""
    namespace: dict[str, object] = {}
    exec(compile("def fail(error):\n    raise error\n", filename, "exec"), namespace)  # noqa: S102
    try:
        namespace["fail"](error)  # type: ignore[operator]
    except BaseException as raised:
        return raised
    raise AssertionError("did not raise")


def test_a_socket_error_let_out_of_redis_connection_code_is_a_redis_failure(
    outages: OnePerOutage,
) -> None:
    module = "/venv/site-packages/redis/asyncio/connection.py"
    closed = _raised_in(module, RuntimeError("unable to perform operation on <TCPTransport>"))
    script_bug = _raised_in(module, redis.ResponseError("ERR bad script"))

    assert outages.filter(_failure(script_bug))
    assert outages.outages == {}
    assert outages.filter(_failure(closed))
    assert set(outages.outages) == {"Redis"}

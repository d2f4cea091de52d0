"""Fixtures of the fault suite: a private Redis, and the figures table every scenario adds to."""

import time
from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.faults import report
from tests.faults.cluster import database_name
from tests.faults.redis_server import PrivateRedis, redis_server_binary
from tests.faults.timeline import Figures

ROWS: list[report.Row] = []

# Scenarios with several processes or a Redis outage: like tests/e2e, only when the run has
# REDIS_URL. They use a private redis-server, so the shared one is never cut or flushed.
needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL or not redis_server_binary(),
    reason="several processes and Redis outages need REDIS_URL (and redis-server installed)",
)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis | None]:
    """A redis-server of this test's own when the run has REDIS_URL; None otherwise."""
    if not settings.REDIS_URL or not redis_server_binary():
        yield None
        return
    server = PrivateRedis(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


class Recorder:
    def __init__(self) -> None:
        self.scenario = ""
        self.layer = ""
        self.figures: Figures | None = None
        self.started = time.monotonic()

    def record(self, scenario: str, figures: Figures, *, layer: str) -> None:
        """Call before asserting, so that a failing scenario still shows its figures."""
        self.scenario, self.figures, self.layer = scenario, figures, layer


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    if recorder.figures is None:
        return
    outcome = getattr(request.node, "outcome_of_call", None)
    ROWS.append(
        report.Row(
            scenario=recorder.scenario,
            database=database_name(),
            layer=recorder.layer,
            figures=recorder.figures,
            result="pass" if outcome == "passed" else "FAIL",
            seconds=time.monotonic() - recorder.started,
        )
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    test_report = yield
    if test_report.when == "call":
        item.outcome_of_call = test_report.outcome  # type: ignore[attr-defined]
    return test_report


def pytest_sessionfinish(session: pytest.Session) -> None:
    report.write(ROWS)

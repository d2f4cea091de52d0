"""The bench's smoke sweep (`python -m bench run --smoke`): every server kind starts, takes
load, and loses nothing. It needs PostgreSQL and Redis, like production Parley."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="the bench needs Redis (REDIS_URL) and PostgreSQL"
)


def steps_of(results: dict) -> list[dict]:
    runs = [*results["fanout"], results["persist"]]
    steps = [step for run in runs for step in [*run["steps"], *run["at_fraction"].values()]]
    return [*steps, results["slow_readers"]["result"]]


def test_smoke_sweep_measures_every_server_and_loses_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench", "run", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    measured = {(run["server"], run["label"]) for run in results["fanout"]}
    assert {("b0", "N=10"), ("b1", "N=10"), ("parley", "N=10"), ("parley", "2x5")} <= measured
    for step in steps_of(results):
        assert step["sent"] == step["scheduled"] > 0
        assert step["delivered"] == step["expected"] > 0
        assert (step["missing"], step["duplicates"], step["gaps"]) == (0, 0, 0)
    assert results["silent_loss"] == []
    assert results["problems"] == []
    assert results["slow_readers"]["result"]["slow"]["delivered"] > 0
    assert results["b2"]["insert"]["rows"] > 0
    assert results["history"][0]["parley_ms"]["count"] == 20
    # Every search got its search.results (an error frame would have failed the call).
    assert results["search"][0]["parley_ms"]["count"] == 20
    assert results["connect"][0]["connected"] == results["memory"][0]["sockets"] > 0
    assert (tmp_path / "latest.md").read_text().startswith("Run: ")
    assert (tmp_path / "latest.svg").read_text().startswith("<svg")
    assert "[bench " in done.stderr  # the progress line
    assert elapsed < 60

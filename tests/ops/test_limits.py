"""The open-files check each process runs at start (ops/limits.py), in a child process whose
limits the test sets, as systemd's LimitNOFILE= or a shell's ulimit would."""

import resource
import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT

# A child may lower its hard limit but not raise it past this process's.
pytestmark = pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 8192, reason="hard open-files limit < 8192"
)

CHECK = (
    "import logging; logging.basicConfig(format='%(levelname)s %(message)s', level='INFO');"
    "from ops.limits import raise_open_files_limit; print(raise_open_files_limit())"
)


def _check_with(soft: int, hard: int) -> tuple[list[str], int]:
    """The log lines of the check in a process started with these limits, and the limit it
    ends with. (The soft limit is lowered first: it may never be above the hard one.)"""
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            "/bin/sh",
            "-c",
            f'ulimit -Sn {soft} && ulimit -Hn {hard} && exec "$0" -c "$1"',
            sys.executable,
            CHECK,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stderr.splitlines(), int(result.stdout)


def test_a_soft_limit_below_the_hard_one_is_raised_and_said_so() -> None:
    lines, limit = _check_with(1024, 8192)

    assert limit == 8192
    assert lines == ["INFO open files: soft limit raised from 1024 to the hard limit 8192"]


def test_a_limit_too_low_for_the_sockets_is_one_warning_line() -> None:
    lines, limit = _check_with(1024, 2048)

    assert limit == 2048
    assert len(lines) == 2
    assert lines[0] == "INFO open files: soft limit raised from 1024 to the hard limit 2048"
    assert lines[1].startswith("WARNING open files: the limit is 2048, so this process holds")
    assert "at least 4096" in lines[1]


def test_a_high_enough_limit_says_nothing() -> None:
    assert _check_with(8192, 8192) == ([], 8192)

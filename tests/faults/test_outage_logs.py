"""Scenario 4b and 5b: what a process logs while Redis or PostgreSQL is unreachable for 10 s with
people posting. One line when the outage is first felt (with its traceback), one when it is
over with the count of failures, and what readiness says: not a traceback per failure
(ops/logs.py, OnePerOutage)."""

import asyncio
import contextlib
import re
from pathlib import Path

import pytest

from ops.logs import OnePerOutage
from tests.e2e.servers import Server
from tests.faults.cluster import (
    Cluster,
    cluster_behind_database_proxy,
    people,
    wait_for_readiness,
)
from tests.faults.conftest import needs_redis
from tests.faults.member import Member
from tests.faults.proxy import TcpProxy

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE = 10  # seconds
# Lines at WARNING or above one process may log for one outage: its first failure, readiness
# failing (ops/health.py), a reconnect or catch-up notice, with room to spare.
MOST_LINES = 5
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+) ")
SUMMARY = re.compile(r"(?P<dependency>\w+): no failure for .* (?P<failures>\d+) failures, ")


@needs_redis
async def test_a_10_s_redis_outage_is_a_few_lines_per_process(tmp_path, private_redis) -> None:
    members, rooms = await people(6, 2)
    proxy = TcpProxy(private_redis.port).start()
    cluster = Cluster(tmp_path, redis_url=proxy.url("redis", "/0"), PARLEY_PRESENCE_TTL="1.5")
    servers = [await asyncio.to_thread(cluster.start) for _ in range(2)]
    try:
        for index, member in enumerate(members):
            await member.connect(servers[index % 2])
        posting = _keep_posting(members, rooms)
        await asyncio.sleep(1)
        marks = [_size(server.log) for server in servers]
        proxy.down()
        await asyncio.sleep(OUTAGE)
        proxy.up()
        assert all([await wait_for_readiness(s, 200, timeout=10) for s in servers])
        await _stop(posting)
        logs = await _logs_until_summed_up(servers, marks, "Redis")
        for member in members:
            await member.close()
    finally:
        cluster.stop()
        proxy.stop()

    _assert_a_few_lines(logs, "Redis")


@pytest.mark.postgres
async def test_a_10_s_database_outage_is_a_few_lines_per_process(tmp_path, private_redis) -> None:
    members, rooms = await people(5, 2)
    proxy, cluster = cluster_behind_database_proxy(tmp_path, private_redis)
    server = await asyncio.to_thread(cluster.start)
    try:
        for member in members:
            await member.connect(server)
        posting = _keep_posting(members, rooms)
        await asyncio.sleep(1)
        marks = [_size(server.log)]
        proxy.down()
        await asyncio.sleep(OUTAGE)
        proxy.up()
        assert await wait_for_readiness(server, 200, timeout=10)
        await _stop(posting)
        logs = await _logs_until_summed_up([server], marks, "database")
        for member in members:
            await member.close()
    finally:
        cluster.stop()
        proxy.stop()

    _assert_a_few_lines(logs, "database")


def _keep_posting(members: list[Member], rooms: list[str]) -> list[asyncio.Task]:
    """Every member posts every 0.2 s, through the outage; each failure is one for the log."""

    async def post(member: Member, index: int) -> None:
        for n in range(10_000):
            # A refusal or a lost reply: what counts here is the server's log.
            with contextlib.suppress(Exception):
                await member.post(rooms[index % 2], f"post {n}", f"{member.name}-{n}")
            await asyncio.sleep(0.2)

    return [asyncio.create_task(post(member, n)) for n, member in enumerate(members)]


async def _stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _size(log: Path) -> int:
    return log.stat().st_size


async def _logs_until_summed_up(servers: list[Server], marks: list[int], dependency: str):
    """Each process's log since its mark, once it has summed up the outage (or after a while)."""
    deadline = asyncio.get_running_loop().time() + OnePerOutage.QUIET + 20
    while True:
        logs = [s.log.read_bytes()[mark:].decode() for s, mark in zip(servers, marks, strict=True)]
        done = all(_summary(log, dependency) for log in logs)
        if done or asyncio.get_running_loop().time() > deadline:
            return logs
        await asyncio.sleep(0.5)


def _summary(log: str, dependency: str) -> re.Match[str] | None:
    return next((m for m in SUMMARY.finditer(log) if m.group("dependency") == dependency), None)


def _assert_a_few_lines(logs: list[str], dependency: str) -> None:
    for log in logs:
        records = [m.groupdict() for line in log.splitlines() if (m := RECORD.match(line))]
        loud = [r for r in records if r["level"] in {"WARNING", "ERROR", "CRITICAL"}]
        summary = _summary(log, dependency)
        lines = log.splitlines()
        # Records logged with a traceback (one exception and those it chains count once).
        whole = [
            n
            for n, line in enumerate(lines[:-1])
            if RECORD.match(line) and _traceback(lines[n + 1])
        ]
        print(
            f"{dependency} outage of {OUTAGE} s: {len(loud)} lines at WARNING or above, "
            f"{len(whole)} with a traceback; {summary.group(0) if summary else 'no summary'}"
        )
        assert summary, log[-6000:]
        assert int(summary.group("failures")) > 10, summary.group(0)  # it did flood before
        assert len(loud) <= MOST_LINES, log[-6000:]
        assert len(whole) <= 1, log[-6000:]  # the outage's first failure, logged whole


def _traceback(line: str) -> bool:
    return line == "Traceback (most recent call last):"

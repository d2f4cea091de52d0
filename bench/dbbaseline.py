"""B2: what PostgreSQL does with no application in between, over bare psycopg.

Persistence: one-row `INSERT ... RETURNING id` transactions (autocommit, so each commit is
flushed like a posted message's), from several connections at once, into a table shaped and
indexed like chat_message. History: the newest page of a room by its (room, seq) index with
the messages it answers, the main query of Parley's history selector, timed alone (Parley
then loads the page's files and reactions, by message id).
"""

import asyncio
import time
from array import array
from typing import Any

import psycopg

from bench.stats import percentiles

B2_TABLE = "bench_b2_message"
CREATE_B2_TABLE = f"CREATE TABLE IF NOT EXISTS {B2_TABLE} (LIKE chat_message INCLUDING ALL)"
INSERT = (
    f"INSERT INTO {B2_TABLE} (room_id, seq, author_id, kind, body, created_at, client_id) "  # noqa: S608
    "VALUES (%s, %s, %s, 'text', %s, now(), %s) RETURNING id"
)
NEWEST_PAGE = (
    "SELECT m.id, m.seq, m.kind, m.body, m.created_at, m.edited_at, m.deleted_at, m.client_id,"
    " u.username, u.display_name, r.seq, r.body, r.deleted_at, ru.username"
    " FROM chat_message m"
    " LEFT JOIN accounts_user u ON u.id = m.author_id"
    " LEFT JOIN chat_message r ON r.id = m.reply_to_id"
    " LEFT JOIN accounts_user ru ON ru.id = r.author_id"
    " WHERE m.room_id = %s ORDER BY m.seq DESC LIMIT %s"
)


def _cpu_seconds() -> float:
    return time.process_time()


async def insert_rate(command: dict[str, Any]) -> dict[str, Any]:
    """Insert for `duration` seconds from `connections` connections; rows per second."""
    connections = command["connections"]
    duration = command["duration"]
    body = "x" * command.get("body_bytes", 100)
    latencies = array("d")
    deadline = time.monotonic() + duration

    async def writer(number: int) -> int:
        room = command.get("room_base", 1_000_000) + number
        async with await psycopg.AsyncConnection.connect(
            command["dsn"], autocommit=True
        ) as connection:
            await connection.execute(f"DELETE FROM {B2_TABLE} WHERE room_id = %s", (room,))  # noqa: S608
            seq = 0
            while time.monotonic() < deadline:
                seq += 1
                started = time.monotonic()
                cursor = await connection.execute(
                    INSERT, (room, seq, None, body, f"b2-{number}-{seq}"), prepare=True
                )
                await cursor.fetchone()
                latencies.append(time.monotonic() - started)
            return seq

    cpu_before, started = _cpu_seconds(), time.monotonic()
    rows = sum(await asyncio.gather(*(writer(n) for n in range(connections))))
    elapsed = time.monotonic() - started
    return {
        "connections": connections,
        "rows": rows,
        "seconds": elapsed,
        "per_second": rows / elapsed,
        "latency": percentiles(latencies),
        "client_cpu": (_cpu_seconds() - cpu_before) / elapsed,
    }


async def newest_page(command: dict[str, Any]) -> dict[str, Any]:
    """Time the newest-page query `count` times, one after another, on one connection."""
    latencies = array("d")
    async with await psycopg.AsyncConnection.connect(command["dsn"], autocommit=True) as conn:
        for _ in range(command.get("warmup", 20)):
            await (
                await conn.execute(NEWEST_PAGE, (command["room_id"], 51), prepare=True)
            ).fetchall()
        for _ in range(command["count"]):
            started = time.monotonic()
            cursor = await conn.execute(NEWEST_PAGE, (command["room_id"], 51), prepare=True)
            rows = await cursor.fetchall()
            latencies.append(time.monotonic() - started)
    return {"latency": percentiles(latencies), "rows": len(rows)}

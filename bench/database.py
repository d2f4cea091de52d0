"""The bench's own PostgreSQL database: created, migrated, filled, queried and dropped here."""

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.dbbaseline import CREATE_B2_TABLE

ROOT = Path(__file__).resolve().parent.parent


class BenchDatabase:
    def __init__(self, server_url: str, name: str) -> None:
        """`server_url`: any database URL on the server (postgres://user@host:port/db)."""
        base, _, _ = server_url.rpartition("/")
        self.admin_url = f"{base}/postgres"
        self.name = name
        self.url = f"{base}/{name}"

    def create(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )

    def migrate(self, env: dict[str, str]) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": self.url},
            check=True,
        )
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(CREATE_B2_TABLE)

    def fill(self, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
        """Users, tokens and rooms through Parley's services (bench.dataset)."""
        done = subprocess.run(
            [sys.executable, "-m", "bench.dataset"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": self.url},
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"bench.dataset failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout)

    def last_seqs(self, room_pks: dict[str, int]) -> dict[str, int]:
        """{public id: last_seq} of the rooms given as {public id: primary key}."""
        by_pk = {pk: public_id for public_id, pk in room_pks.items()}
        with psycopg.connect(self.url) as connection:
            rows = connection.execute(
                "SELECT id, last_seq FROM chat_room WHERE id = ANY(%s)", (list(by_pk),)
            ).fetchall()
        return {by_pk[pk]: last_seq for pk, last_seq in rows}

    def persisted(self, client_id_prefix: str) -> tuple[int, int]:
        """(rows, distinct client ids) stored with client ids starting with the prefix."""
        with psycopg.connect(self.url) as connection:
            rows, distinct = connection.execute(
                "SELECT count(*), count(DISTINCT client_id) FROM chat_message"
                " WHERE left(client_id, %s) = %s",
                (len(client_id_prefix), client_id_prefix),
            ).fetchone()
        return rows, distinct

    def grow_timeline(self, room_pk: int, author_pk: int, size: int) -> float:
        """Append text messages to a room until its timeline holds `size` entries, keeping
        `last_seq` consistent; returns the seconds it took. Foreign-key triggers are skipped
        for the load (session_replication_role): every id used exists.

        Each body is about 100 bytes of words from a vocabulary of 5,000 (`w0` ... `w4999`),
        so that search has both rare words (about 2 in 1,000 messages) and a common one
        (`deploy`, in every tenth). Every fourth message carries two reactions and every fifth
        answers the one before it, so that history pages carry what a lively room's do.
        """
        import time

        started = time.monotonic()
        with psycopg.connect(self.url) as connection:
            connection.execute("SET session_replication_role = replica")
            (last,) = connection.execute(
                "SELECT last_seq FROM chat_room WHERE id = %s FOR UPDATE", (room_pk,)
            ).fetchone()
            if size > last:
                connection.execute(GROW_MESSAGES, (room_pk, author_pk, size, last + 1, size))
                connection.execute(GROW_REACTIONS, (author_pk, room_pk, last + 1, size))
                connection.execute(GROW_REPLIES, (room_pk, last + 1, size))
                connection.execute(
                    "UPDATE chat_room SET last_seq = %s, last_activity_at = now() WHERE id = %s",
                    (size, room_pk),
                )
            connection.commit()
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE chat_message")
            connection.execute("VACUUM ANALYZE chat_reaction")
            # Written out now, not by the checkpointer while the next measurement runs (without
            # the privilege, the measurement may share the machine with that write).
            with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                connection.execute("CHECKPOINT")
        return time.monotonic() - started


# Nine words drawn from the vocabulary by two co-prime strides, and `deploy` in every tenth.
GROW_MESSAGES = """
    INSERT INTO chat_message (room_id, seq, author_id, kind, body, created_at)
    SELECT %s, n, %s, 'text',
        'note ' || (
            SELECT string_agg('w' || ((n * 7919 + i * 104729) %% 5000), ' ')
            FROM generate_series(1, 9) AS i
        ) || CASE WHEN n %% 10 = 0 THEN ' deploy' ELSE ' the rest of the line' END,
        now() - make_interval(secs => %s - n)
    FROM generate_series(%s::bigint, %s::bigint) AS n
"""
GROW_REACTIONS = """
    INSERT INTO chat_reaction (message_id, user_id, emoji, created_at)
    SELECT m.id, %s, e.emoji, m.created_at
    FROM chat_message m CROSS JOIN (VALUES ('\U0001f44d'), ('\U0001f389')) AS e (emoji)
    WHERE m.room_id = %s AND m.seq BETWEEN %s AND %s AND m.seq %% 4 = 0
"""
GROW_REPLIES = """
    UPDATE chat_message m SET reply_to_id = p.id
    FROM chat_message p
    WHERE m.room_id = %s AND m.seq BETWEEN %s AND %s AND m.seq %% 5 = 0
        AND p.room_id = m.room_id AND p.seq = m.seq - 1
"""

"""`python -m bench run`: the whole sweep (about 20 minutes); `--smoke` for a seconds-long check.

Needs PostgreSQL and Redis (see docs/benchmarks.md). Exits 1 when any message Parley stored
was not delivered to a socket that stayed open (or any other problem), 2 when the sweep broke.
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import report
from bench.plan import FULL, SMOKE
from bench.runner import Runner

ROOT = Path(__file__).resolve().parent.parent


def default_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return "postgres://postgres@127.0.0.1:5432/postgres"


def bench_redis_url(database_number: int) -> str:
    """REDIS_URL's server (or the local default) with the bench's own database number, so
    presence and rate-limit keys never meet anyone else's."""
    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(parts._replace(path=f"/{database_number}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "command",
        choices=["run", "report"],
        help="run a sweep, or rewrite the report from the last results",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sweep for CI (seconds)")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results)")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rewrite docs/benchmarks.md and docs/benchmarks.svg "
        "(default: on for the full sweep, off for --smoke)",
    )
    parser.add_argument("--database-url", default=default_database_url())
    parser.add_argument("--redis-url", default=None)
    parser.add_argument(
        "--parley-settings",
        default="config.settings",
        help="DJANGO_SETTINGS_MODULE of the Parley servers, e.g. a variant in "
        "bench/variants to measure a proposed change",
    )
    parser.add_argument(
        "--parley-root",
        type=Path,
        default=None,
        help="run the Parley servers from another checkout (a patch under test)",
    )
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    out_dir = args.out or ROOT / "bench" / "results"
    docs = (not args.smoke) if args.docs is None else args.docs
    if args.command == "report":
        results = json.loads((out_dir / "latest.json").read_text())
        report.write(results, out_dir, docs=docs)
        return 0
    redis_url = args.redis_url or bench_redis_url(14 if args.smoke else 15)
    # Stopping the sweep (Ctrl-C, or SIGTERM from a CI timeout) still stops the servers and
    # drops the database: both arrive as KeyboardInterrupt, even when started in background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    runner = Runner(
        plan,
        database_url=args.database_url,
        redis_url=redis_url,
        out_dir=out_dir,
        parley_settings=args.parley_settings,
        parley_root=args.parley_root,
    )
    try:
        results = runner.run()
    except KeyboardInterrupt:
        runner.save()
        print("\ninterrupted; servers stopped and the bench database dropped", file=sys.stderr)
        return 2
    except Exception as error:
        runner.save()
        print(f"\nthe sweep failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    runner.save()
    verdict = report.write(results, out_dir, docs=docs)
    print(verdict["summary"], file=sys.stderr)
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

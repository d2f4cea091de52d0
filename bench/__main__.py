"""`python -m bench run`: the whole sweep (about 20 minutes); `--smoke` for a seconds-long check.

Needs PostgreSQL and Redis (see docs/benchmarks.md). Exits 1 when any message Parley stored
was not delivered to a socket that stayed open (or any other problem), 2 when the sweep broke.
"""

import argparse
import dataclasses
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
# What --only may name; fanout-N is one of the plan's one-room runs (fanout-1000).
ONLY_CHOICES = (
    "b2",
    "b0",
    "b1",
    "connect",
    "fanout-N",
    "fanout-many",
    "persist",
    "slow-readers",
    "history",
    "one-process",
)


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


def parse_rates(text: str) -> dict[str, float]:
    """'5' (every part) or 'fanout-1000=5,persist=40': the fixed rate of each part ("*": all)."""
    rates = {}
    for item in text.split(","):
        part, _, rate = item.strip().rpartition("=")
        rates[part or "*"] = float(rate)
    return rates


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
    parser.add_argument(
        "--only",
        type=lambda text: {part.strip() for part in text.split(",") if part.strip()},
        default=None,
        metavar="PARTS",
        help="run only these parts, comma-separated: " + ", ".join(ONLY_CHOICES) + " (Parley's "
        "connect is always measured, as the other Parley parts need its sockets)",
    )
    parser.add_argument(
        "--rate",
        type=parse_rates,
        default=None,
        metavar="RATES",
        help="one step at a fixed offered rate (msg/s) instead of a capacity search, for "
        "profiling a server under a steady load: '5' for every part, or per part, "
        "'fanout-1000=5,persist=40'",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=None,
        help="how long each step offers its rate (default: the plan's, 3 s for the full sweep)",
    )
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.only is not None:
        unknown = {
            part
            for part in args.only
            if not any(
                part == choice or (choice.endswith("N") and part.startswith(choice[:-1]))
                for choice in ONLY_CHOICES
            )
        }
        if unknown:
            parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}")
    if args.step_seconds is not None:
        plan = dataclasses.replace(plan, step_seconds=args.step_seconds)
    if args.rate is not None and "*" in args.rate:
        plan = dataclasses.replace(plan, fixed_rate=args.rate["*"])
    out_dir = args.out or ROOT / "bench" / "results"
    # A partial run never rewrites the published results.
    docs = (not args.smoke and args.only is None) if args.docs is None else args.docs
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
        only=args.only,
        rates=args.rate,
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

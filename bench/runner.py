"""The sweep: set up, measure the baselines and Parley, write the results, clean up.

Everything runs on loopback and is torn down by the runner: its own PostgreSQL database
(created, migrated and dropped), its own Redis database number and key prefix, its own server
processes and one load-client process.
"""

import os
import platform
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import scenarios
from bench import servers as procs
from bench.control import LoadClient
from bench.database import BenchDatabase
from bench.measure import Meter, Progress, Stepper
from bench.plan import Plan


class Runner:
    def __init__(
        self,
        plan: Plan,
        *,
        database_url: str,
        redis_url: str,
        out_dir: Path,
        parley_settings: str = "config.settings",
        parley_root: Path | None = None,
        only: set[str] | None = None,
        rates: dict[str, float] | None = None,
    ) -> None:
        self.plan = plan
        self.only = only
        self.rates = rates or {}
        self.parley_root = parley_root or procs.ROOT
        self.parley_settings = parley_settings
        self.running: list[procs.ServerSet] = []
        self.out_dir = out_dir
        self.progress = Progress()
        self.redis_url = redis_url
        pid = os.getpid()
        self.database = BenchDatabase(database_url, f"parley_bench_{plan.name}_{pid}")
        self.redis_prefix = f"parleybench{pid}"
        self.metrics_token = secrets.token_urlsafe(24)
        self.work = Path(tempfile.mkdtemp(prefix="parley-bench-"))
        self.redis = procs.RedisProbe(redis_url)
        self.client: LoadClient | None = None
        self.results: dict[str, Any] = {
            "meta": {
                "plan": plan.name,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "load_average_at_start": procs.load_average(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "pinning": "none: the machine has 2 cores shared by servers, Redis, PostgreSQL "
                "and the load client",
                "message_body_bytes": 100,
                "parley_settings": parley_settings,
                "parley_root": str(parley_root or procs.ROOT),
                "only": sorted(only) if only is not None else None,
                "fixed_rates": rates,
            },
            "b2": {},
            "fanout": [],
            "connect": [],
            "memory": [],
            "history": [],
            "search": [],
            "persist": None,
            "slow_readers": None,
            "skipped": [],
            "problems": [],
        }

    # Environment

    def base_env(self) -> dict[str, str]:
        return {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": self.database.url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }

    def parley_env(self) -> dict[str, str]:
        limit = "1000000"  # far above any offered load: the bench measures, it is not throttled
        return {
            **self.base_env(),
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.redis_prefix,
            "PARLEY_WRITE_RATE": limit,
            "PARLEY_WRITE_BURST": limit,
            "PARLEY_SEARCH_RATE": limit,
            "PARLEY_SEARCH_BURST": limit,
            "PARLEY_API_RATE": limit,
            "PARLEY_API_BURST": limit,
            "PARLEY_SOCKET_FRAME_RATE": limit,
            "PARLEY_SOCKET_FRAME_BURST": limit,
            "PARLEY_HANDSHAKES_PER_MINUTE": limit,
            "PARLEY_SOCKETS_PER_USER": limit,
            "DJANGO_SETTINGS_MODULE": self.parley_settings,
            "PARLEY_METRICS_TOKEN": self.metrics_token,
        }

    def baseline_env(self, kind: str) -> dict[str, str]:
        return {
            "REDIS_URL": self.redis_url,
            "B0_PREFIX": f"{self.redis_prefix}b0",
            "B1_PREFIX": f"{self.redis_prefix}b1",
            "DJANGO_SETTINGS_MODULE": "bench.b1_settings",
        }

    # The sweep

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self._sweep()
        except Exception as error:
            self.results["problems"].append(f"the sweep stopped: {type(error).__name__}: {error}")
            raise
        finally:
            self._clean_up()
            meta = self.results["meta"]
            meta["seconds"] = round(time.monotonic() - started, 1)
            meta["load_average_at_end"] = procs.load_average()
            meta["logs"] = str(self.work)
        return self.results

    def _sweep(self) -> None:
        plan = self.plan
        source = procs.snapshot_source(self.parley_root, self.work / "parley")
        self.parley_root = self.work / "parley"
        self.results["meta"]["parley_source"] = source
        self.progress.say(f"setting up database {self.database.name}", keep=True)
        self.database.create()
        self.database.migrate(self.base_env())
        data = self.database.fill(scenarios.dataset_spec(plan), self.base_env())
        self.client = LoadClient(self.work / "loadclient.log")
        self.stepper = Stepper(
            plan,
            self.client,
            self.database,
            Meter(self.redis),
            self.progress,
            deadline=time.monotonic() + plan.budget_seconds,
        )
        context = scenarios.Context(self, data)
        if self.wants("b2"):
            self._b2_insert()
        end = time.monotonic() + plan.budget_seconds
        # Each phase may only use the time the later ones do not need, so that a slow machine
        # shortens every phase instead of dropping the last.
        reserve = {"b0": 0.62, "b1": 0.5, "parley2": 0.12, "parley1": 0.0}
        for kind in ("b0", "b1"):
            self.stepper.deadline = end - reserve[kind] * plan.budget_seconds
            if self.wants(kind):
                scenarios.baseline(context, kind)
        self.stepper.deadline = end - reserve["parley2"] * plan.budget_seconds
        scenarios.parley_two_processes(context)
        if plan.one_process and self.wants("one-process"):
            self.stepper.deadline = end
            scenarios.parley_one_process(context)
        self.results["silent_loss"] = self.stepper.silent_loss
        self.save()

    def wants(self, part: str) -> bool:
        """Whether `--only` (when given) names this part of the sweep."""
        return self.only is None or part in self.only

    def _b2_insert(self) -> None:
        plan = self.plan
        self.progress.say("B2: bare PostgreSQL inserts", keep=True)
        self.results["b2"]["insert"] = self.client.call(  # type: ignore[union-attr]
            {
                "cmd": "b2_insert",
                "dsn": self.database.url,
                "connections": plan.b2_connections,
                "duration": plan.b2_seconds,
            },
            timeout=plan.b2_seconds + 60,
        )

    def save(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        import json

        (self.out_dir / "latest.json").write_text(json.dumps(self.results, indent=1) + "\n")

    def start_servers(self, kind: str, count: int) -> procs.ServerSet:
        env = self.parley_env() if kind == "parley" else self.baseline_env(kind)
        if kind == "parley":
            # Killed servers leave their users "online" until the presence entries expire:
            # start every set of servers with nobody online, so that each connects the same way.
            self.redis.delete_matching("parley:presence:*")
        self.progress.say(f"starting {count} {kind} process(es)", keep=True)
        servers = procs.start(kind, count, env, self.work, parley_root=self.parley_root)
        self.running.append(servers)
        return servers

    def _clean_up(self) -> None:
        for servers in self.running:
            servers.stop()
        if self.client is not None:
            self.client.stop()
        try:
            self.database.drop()
        except Exception as error:
            self.results["problems"].append(f"could not drop {self.database.name}: {error}")
        self.redis.delete_matching(
            f"{self.redis_prefix}*", "parley:presence:*", "parley:rl:*", "asgi*"
        )
        if not self.results["problems"] and not os.environ.get("BENCH_KEEP_LOGS"):
            shutil.rmtree(self.work, ignore_errors=True)

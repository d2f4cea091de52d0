"""Starting and watching the servers under test: Parley, B0 and B1, each as N processes.

Every process is our own child on a loopback port of its own, in its own session, and is
stopped by its pid. Readings come from /proc (RSS, CPU time) and Redis INFO.
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
COUNTERS = {
    "parley_messages_posted_total",
    "parley_deliveries_total",
    "parley_gap_fills_total",
    "parley_catchup_replayed_total",
    "parley_channel_layer_errors_total",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU time of every PostgreSQL process on the machine (the server is shared), by pid."""
    seconds = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    seconds[int(entry.name)] = process_cpu_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return seconds


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


# What a sweep records the uncommitted changes of: Parley's own code.
PRODUCT_DIRS = ("accounts", "api", "chat", "config", "core", "ops")


def snapshot_source(source: Path, target: Path) -> dict[str, object]:
    """Copy a Parley checkout (its working tree, changes included) to `target`, so that every
    server of a sweep runs the same code even while someone edits the checkout; say which."""
    skip = shutil.ignore_patterns(
        ".git", ".venv", "test-artifacts", "staticfiles", "results", "*.sqlite3", "__pycache__"
    )
    shutil.copytree(source, target, ignore=skip, symlinks=True)
    (target / ".venv").symlink_to(source / ".venv")
    described: dict[str, object] = {"copied_from": str(source)}
    try:
        git = ["git", "-C", str(source)]
        described["commit"] = subprocess.run(  # noqa: S603 - git, our arguments
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603
            [*git, "status", "--porcelain", "--", *PRODUCT_DIRS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        described["uncommitted"] = [line[3:] for line in status.splitlines()]
        diff = subprocess.run(  # noqa: S603
            [*git, "diff", "HEAD", "--", *PRODUCT_DIRS],
            capture_output=True,
            check=True,
        ).stdout
        described["uncommitted_diff_sha256"] = hashlib.sha256(diff).hexdigest()[:16]
    except (OSError, subprocess.CalledProcessError):
        described["commit"] = None
    return described


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


@dataclass
class ServerSet:
    """N processes of one kind of server, one port each."""

    kind: str
    metrics_token: str | None = None  # Parley: the bearer token of its /metrics
    processes: list[subprocess.Popen] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def rss_bytes(self) -> int:
        return sum(process_rss_bytes(pid) for pid in self.pids)

    def cpu_seconds(self) -> list[float]:
        return [process_cpu_seconds(pid) for pid in self.pids]

    def counters(self) -> dict[str, float]:
        """Parley's own counters (core.metrics), summed over the processes; {} for baselines."""
        if not self.metrics_token:
            return {}
        totals: dict[str, float] = {}
        for port in self.ports:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/metrics",
                headers={"Authorization": f"Bearer {self.metrics_token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    text = response.read().decode()
            except OSError:
                continue
            for line in text.splitlines():
                name, _, value = line.partition(" ")
                if name in COUNTERS:
                    totals[name] = totals.get(name, 0.0) + float(value)
        return totals

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        """SIGKILL: nothing the servers do on the way out is measured, and it is immediate."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(
            f"{log.name}: {line}"
            for log in self.logs
            if log.exists()
            for line in log.read_text(errors="replace").splitlines()[-lines:]
        )


def _wait_listening(servers: ServerSet, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(zip(servers.processes, servers.ports, strict=True))
    while waiting:
        process, port = waiting[0]
        if process.poll() is not None:
            raise RuntimeError(f"{servers.kind} exited on start:\n{servers.log_tail()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                waiting.pop(0)
                continue
        if time.monotonic() > deadline:
            servers.stop()
            raise RuntimeError(
                f"{servers.kind} did not listen in {timeout} s:\n{servers.log_tail()}"
            )
        time.sleep(0.05)


def start(
    kind: str, count: int, env: dict[str, str], log_dir: Path, *, parley_root: Path = ROOT
) -> ServerSet:
    """Start `count` processes of `kind` ("parley", "b0" or "b1") and wait until they listen.

    `parley_root` may be another checkout of Parley (a patch under test, say) with its own
    `.venv` (a symlink to this one will do).
    """
    servers = ServerSet(kind, metrics_token=env.get("PARLEY_METRICS_TOKEN"))
    for _ in range(count):
        port = free_port()
        if kind == "parley":
            # The production entry point, with its flags (scripts/parley-worker).
            argv = [str(parley_root / "scripts" / "parley-worker"), str(port)]
        elif kind == "b0":
            argv = [sys.executable, "-m", "bench.b0_server", str(port)]
        else:
            argv = [
                *(sys.executable, "-m", "uvicorn", "bench.b1_app:application"),
                *("--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"),
                *("--no-server-header", "--ws-ping-interval", "20", "--ws-ping-timeout", "20"),
            ]
        log = log_dir / f"{kind}-{port}.log"
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, scripts and arguments
            argv,
            cwd=parley_root if kind == "parley" else ROOT,
            env={**os.environ, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        servers.processes.append(process)
        servers.ports.append(port)
        servers.logs.append(log)
    try:
        _wait_listening(servers, timeout=60)
        servers.counters()  # the first request imports the URL configuration: not in a step
    except BaseException:
        servers.stop()
        raise
    return servers


class RedisProbe:
    """Memory and CPU of the Redis server, and clean-up of the keys a run leaves behind."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def cpu_seconds(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def delete_matching(self, *patterns: str) -> int:
        deleted = 0
        for pattern in patterns:
            keys = list(self.client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(keys), 500):
                deleted += self.client.delete(*keys[start : start + 500])
        return deleted

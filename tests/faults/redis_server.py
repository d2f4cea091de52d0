"""A private redis-server for one test, on a free port, that keeps nothing on disk.

The shared Redis other test runs use is never stopped or flushed; outages are played on this
one (or through a TcpProxy in front of it).
"""

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.e2e.servers import free_port


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        binary = redis_server_binary()
        assert binary, "redis-server is not installed"
        log = (self.workdir / f"redis-{self.port}.log").open("a")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return self
            except redis.ConnectionError as error:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {self.process.returncode}") from error
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def restart(self) -> None:
        """Stop and start again on the same port: every connection drops, nothing is kept."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

"""The runner's handle on the load client process: one JSON line out, one JSON line back."""

import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class ClientError(RuntimeError):
    pass


class LoadClient:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.loadclient"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, command: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """Send one command; its answer, or ClientError after `timeout` seconds."""
        if self.process.stdin is None or self.process.stdout is None:
            raise ClientError("the load client has no pipes")
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise ClientError(f"the load client did not answer {command['cmd']!r} in {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            raise ClientError(f"the load client exited: {self.log.read_text()[-2000:]}")
        answer = json.loads(line)
        if isinstance(answer, dict) and "error" in answer and len(answer) == 1:
            raise ClientError(answer["error"])
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

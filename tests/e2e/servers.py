"""Real Parley servers (uvicorn subprocesses) on the test database, and real socket clients."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websockets
from django.conf import settings
from django.db import connection
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database the test run created, for servers in other processes."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/"
        f"{db['NAME']}"
    )


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to close its sockets or clean up presence."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# As scripts/parley-worker runs it: live frames go out as shared frames.
PARLEY_PROTOCOL = "chat.realtime.uvicorn_protocol:SharedFrameProtocol"


def start_server(
    tmp_path: Path, *, port: int | None = None, ws: str = PARLEY_PROTOCOL, **env: str
) -> Server:
    """A uvicorn process on the test database; `port` to restart one on the same port, `ws`
    to run another WebSocket protocol."""
    port = port or free_port()
    log = tmp_path / f"uvicorn-{port}-{time.monotonic_ns()}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DEBUG": "1",
        # Uploads of the test's servers stay in the test's folder (restarts share it).
        "PARLEY_MEDIA_ROOT": str(tmp_path / "media"),
        "PARLEY_WRITE_RATE": "100000",
        "PARLEY_WRITE_BURST": "100000",
        "PARLEY_SOCKET_FRAME_RATE": "100000",
        "PARLEY_SOCKET_FRAME_BURST": "100000",
        "PARLEY_API_RATE": "100000",
        "PARLEY_API_BURST": "100000",
        # Every test client connects from 127.0.0.1, many of them as one user.
        "PARLEY_HANDSHAKES_PER_MINUTE": "0",
        "PARLEY_SOCKETS_PER_USER": "0",
        **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
        **env,
    }
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # servers run with Django's checks on
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--ws",
            ws,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return Server(process, port, log)
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"uvicorn did not start: {log.read_text()}")


@contextmanager
def running_server(tmp_path: Path, *, ws: str = PARLEY_PROTOCOL, **env: str) -> Iterator[Server]:
    server = start_server(tmp_path, ws=ws, **env)
    try:
        yield server
    finally:
        server.stop()


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Peer:
    """A real WebSocket client of a real server, logged in through the session cookie."""

    def __init__(self, server: Server, cookie: str) -> None:
        self.server = server
        self.cookie = cookie
        self.ws: Any = None
        self.hello: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []

    async def connect(self) -> "Peer":
        self.ws = await websockets.connect(
            self.server.ws_url,
            additional_headers={"Cookie": self.cookie, "Origin": self.server.origin},
            max_size=2**20,
        )
        self.hello = await self.receive()
        assert self.hello["type"] == "hello", self.hello
        return self

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame; every frame received is also kept in `frames`."""
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def receive_until(self, predicate: Any, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("the expected frame did not arrive")
            if predicate(await self.receive(remaining)):
                return

    def seqs(self, room_id: str) -> list[int]:
        return [
            frame["message"]["seq"]
            for frame in self.frames
            if frame.get("type") == "message.new" and frame.get("room") == room_id
        ]

    async def close(self) -> None:
        await self.ws.close()

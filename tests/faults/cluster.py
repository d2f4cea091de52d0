"""Parley processes for one scenario, the people in it, and the server-side facts tests read."""

import asyncio
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from tests.e2e.servers import Server, session_cookie, start_server, test_database_url
from tests.factories import UserFactory, make_room
from tests.faults.member import Member
from tests.faults.proxy import TcpProxy


def database_name() -> str:
    vendor = connection.vendor
    return "postgresql" if vendor == "postgresql" else vendor


class Cluster:
    """Parley processes on the test database and one channel layer (`redis_url`, or each
    process's in-memory layer when it is None)."""

    def __init__(self, tmp_path: Path, *, redis_url: str | None, **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = {"REDIS_URL": redis_url or "", **env}
        self.servers: list[Server] = []

    @property
    def layer(self) -> str:
        return "redis" if self.env["REDIS_URL"] else "in-memory"

    def start(self, **env: str) -> Server:
        server = start_server(self.tmp_path, **{**self.env, **env})
        self.servers.append(server)
        return server

    def alive(self) -> list[Server]:
        return [server for server in self.servers if server.process.poll() is None]

    def kill(self, server: Server) -> None:
        server.kill()

    def terminate(self, server: Server, timeout: float = 30) -> None:
        """SIGTERM, as a deploy does, and wait for the process to finish its goodbyes."""
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=timeout)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {s.log.name}\n{s.log.read_text()[-4000:]}" for s in self.servers)


def proxied_database_url(proxy_port: int) -> str:
    """The test database's URL with the host and port of a TcpProxy in front of it."""
    url = test_database_url()
    scheme, _, rest = url.partition("://")
    credentials, _, location = rest.rpartition("@")
    _, _, path = location.partition("/")
    return f"{scheme}://{credentials}@127.0.0.1:{proxy_port}/{path}"


def cluster_behind_database_proxy(tmp_path: Path, private_redis: Any) -> tuple[TcpProxy, Cluster]:
    """A started TcpProxy in front of the test database, and a cluster (not started yet) whose
    processes reach the database only through it, so that a test can cut the database."""
    database = connection.settings_dict
    proxy = TcpProxy(int(database.get("PORT") or 5432), database.get("HOST") or "127.0.0.1")
    proxy.start()
    cluster = Cluster(
        tmp_path,
        redis_url=private_redis.url if private_redis else None,
        DATABASE_URL=proxied_database_url(proxy.port),
    )
    return proxy, cluster


def rss_kib(server: Server) -> int:
    """The server process's resident memory (Linux /proc)."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def http_status(server: Server, path: str, cookie: str | None = None) -> int:
    """The HTTP status of a plain GET of `path` on the server (logged in with `cookie`)."""
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(f"{server.origin}{path}", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def readiness(server: Server) -> int:
    """The HTTP status of /readyz."""
    return http_status(server, "/readyz")


async def wait_for_readiness(server: Server, status: int, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await asyncio.to_thread(readiness, server) == status:
            return True
        await asyncio.sleep(0.2)
    return False


@database_sync_to_async
def people(count: int, rooms: int) -> tuple[list[Member], list[str]]:
    """`count` people, every one a member of each of `rooms` new rooms, as client models."""
    users = [UserFactory() for _ in range(count)]
    room_ids = [
        str(make_room(users[0], name=f"faults {n}", members=users[1:]).public_id)
        for n in range(rooms)
    ]
    return [Member(user.username, session_cookie(user)) for user in users], room_ids


def redis_in_use() -> bool:
    return bool(settings.REDIS_URL)

"""Parley deployed with deploy/: two processes started by the systemd unit's command, behind the
shipped nginx site, with production settings. What passes here is what an operator gets."""

import asyncio
import gzip
import json
import os
import re
import secrets
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from django.conf import settings

from accounts.tokens import token_create
from tests.e2e.proxy import (
    SERVER_NAME,
    Deployment,
    FakeSystemctl,
    ParleyProcess,
    TokenPeer,
    readme_command,
    request,
)
from tests.e2e.servers import ROOT
from tests.e2e.servers import test_database_url as database_url_for_servers
from tests.factories import UserFactory, make_room

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="several processes need REDIS_URL"),
]


@pytest.fixture(scope="module")
def deployment(django_db_setup: None) -> Iterator[Deployment]:
    """Collected static files, two Parley processes and nginx, for the whole module."""
    site = Deployment(
        {
            # What /etc/parley/parley.env holds in production, pointed at the test services.
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": SERVER_NAME,
            "DATABASE_URL": database_url_for_servers(),
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_PREFIX": f"parley-proxy-test-{uuid.uuid4().hex}",
            # nginx here speaks plain HTTP; a real site terminates TLS in nginx.
            "SECURE_SSL_REDIRECT": "0",
            "PARLEY_WRITE_RATE": "100000",
            "PARLEY_WRITE_BURST": "100000",
            "PARLEY_SOCKET_FRAME_RATE": "100000",
            "PARLEY_SOCKET_FRAME_BURST": "100000",
            # The rolling restart's clients call the API far faster than a person does.
            "PARLEY_API_RATE": "100000",
            "PARLEY_API_BURST": "100000",
            # Every client here comes through nginx from 127.0.0.1, reconnecting sockets too.
            "PARLEY_HANDSHAKES_PER_MINUTE": "0",
        }
    )
    try:
        site.collect_static()
        site.ensure_running()
        site.start_nginx()
        yield site
    finally:
        site.close()


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings: Any) -> None:
    """The users made here only ever sign in with tokens; their passwords need no real cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def parley(deployment: Deployment) -> Deployment:
    """The deployment with both processes up (a test before may have stopped one)."""
    deployment.ensure_running()
    return deployment


def two_members() -> tuple[str, str, str]:
    """A room with two members; their tokens and the room's id."""
    alice, bob = UserFactory(), UserFactory()
    room = make_room(name="Lobby", members=[alice, bob])
    return (
        token_create(alice, name="proxy")[1],
        token_create(bob, name="proxy")[1],
        str(room.public_id),
    )


def texts(peer: Any, room: str) -> dict[int, str]:
    return {
        f["message"]["seq"]: f["message"]["body"]
        for f in peer.frames
        if f.get("type") == "message.new" and f.get("room") == room
    }


def client_address(access_line: str) -> str:
    """The client address in a uvicorn access log line: `INFO: 127.0.0.1:0 - "GET /..." 200`."""
    found = re.search(r"(\S+):\d+ - \"", access_line)
    assert found, access_line
    return found.group(1)


def test_two_users_on_different_processes_chat_live_through_nginx(parley: Deployment) -> None:
    alice_token, bob_token, room = two_members()

    async def chat() -> None:
        alice = await parley.connect(alice_token)
        bob = await parley.connect(bob_token, avoid=alice.process)
        assert {alice.process, bob.process} == set(parley.processes.values())
        start = alice.hello["rooms"][0]["last_seq"]

        for n in range(3):
            await alice.send({"type": "message.send", "room": room, "body": f"alice {n}"})
            await bob.send({"type": "message.send", "room": room, "body": f"bob {n}"})
        for peer in (alice, bob):
            await peer.receive_until(lambda f, peer=peer: len(texts(peer, room)) == 6)

        expected = list(range(start + 1, start + 7))
        assert alice.seqs(room) == expected
        assert bob.seqs(room) == expected
        assert texts(alice, room) == texts(bob, room)
        assert sorted(texts(alice, room).values()) == [
            *(f"alice {n}" for n in range(3)),
            *(f"bob {n}" for n in range(3)),
        ]
        await alice.close()
        await bob.close()

    asyncio.run(chat())


def test_api_and_health_answer_through_nginx(parley: Deployment) -> None:
    alice_token, _, room = two_members()
    bearer = {"Authorization": f"Bearer {alice_token}"}

    me = request(parley.nginx_port, "/api/v1/me", headers=bearer)
    assert me.status == 200, me.body
    assert json.loads(me.body)["username"]
    health = request(parley.nginx_port, "/healthz")
    assert (health.status, json.loads(health.body)) == (200, {"status": "ok"})
    # Metrics are per process: scraped from each process, never from a random one through here.
    assert request(parley.nginx_port, "/metrics").status == 404
    # Readiness through nginx is for this machine (and a load balancer it allows) only.
    assert request(parley.nginx_port, "/readyz").status == 200
    assert request(parley.nginx_port, "/readyz", source="127.0.0.2").status == 403
    assert request(parley.nginx_port, "/healthz", source="127.0.0.2").status == 200

    # Bodies over client_max_body_size stop at nginx: its HTML page, not Parley's JSON error.
    too_big = request(
        parley.nginx_port,
        f"/api/v1/rooms/{room}/messages",
        method="POST",
        headers={**bearer, "Content-Type": "application/json"},
        body=json.dumps({"body": "x" * 300_000}).encode(),
    )
    assert too_big.status == 413
    assert too_big.headers["Content-Type"].startswith("text/html")

    # Uploads have a location, and a limit, of their own: a 1 MB file goes through.
    boundary = "parley-proxy-test"
    notes = b"agenda\n" * 150_000
    upload = request(
        parley.nginx_port,
        f"/api/v1/rooms/{room}/uploads",
        method="POST",
        headers={**bearer, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        body=(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        + notes
        + f"\r\n--{boundary}--\r\n".encode(),
    )
    assert upload.status == 201, upload.body[:300]
    assert json.loads(upload.body)["size"] == len(notes)


def test_clients_cannot_choose_their_address_or_host(parley: Deployment) -> None:
    alice_token, _, _ = two_members()
    bearer = {"Authorization": f"Bearer {alice_token}"}
    spoofed = {**bearer, "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"}

    through_nginx = uuid.uuid4().hex
    response = request(parley.nginx_port, f"/api/v1/me?probe={through_nginx}", headers=spoofed)
    assert response.status == 200
    # uvicorn's access log shows the client address Parley was given.
    _, line = parley.logged(through_nginx)
    assert client_address(line) == "127.0.0.1", line
    assert "6.6.6.6" not in line

    # Straight to a process, from an address that is not the proxy: the header is ignored.
    direct = uuid.uuid4().hex
    process = next(iter(parley.processes.values()))
    response = request(
        process.port, f"/api/v1/me?probe={direct}", headers=spoofed, source="127.0.0.2"
    )
    assert response.status == 200
    _, line = parley.logged(direct)
    assert client_address(line) == "127.0.0.2", line

    evil = request(parley.nginx_port, "/api/v1/me", headers={**bearer, "Host": "evil.example"})
    assert evil.status == 400


def test_sigterm_moves_a_client_to_the_other_process_without_losing_a_message(
    parley: Deployment,
) -> None:
    alice_token, bob_token, room = two_members()
    bob_bearer = {"Authorization": f"Bearer {bob_token}", "Content-Type": "application/json"}

    async def restart() -> ParleyProcess:
        alice = await parley.connect(alice_token)
        bob = await parley.connect(bob_token, avoid=alice.process)
        await bob.send({"type": "message.send", "room": room, "body": "before"})
        await alice.receive_until(lambda f: f.get("type") == "message.new")
        cursor = alice.seqs(room)[-1]

        victim = alice.process
        assert victim is not None
        terminated_at = time.monotonic()
        victim.terminate()
        assert await alice.close_code(timeout=5) == 1012
        assert time.monotonic() - terminated_at < 3

        # Posted while alice is away: over bob's socket, and over the API through nginx.
        for n in range(4):
            await bob.send({"type": "message.send", "ref": n, "room": room, "body": f"away {n}"})
            await bob.receive_until(lambda f, n=n: f.get("type") == "ack" and f.get("ref") == n)
        posted = await asyncio.to_thread(
            request,
            parley.nginx_port,
            f"/api/v1/rooms/{room}/messages",
            method="POST",
            headers=bob_bearer,
            body=json.dumps({"body": "away by api", "client_id": "api-1"}).encode(),
        )
        assert posted.status == 201, posted.body

        # Reconnecting through nginx reaches the process that is left.
        back = await parley.connect(alice_token)
        assert back.process is bob.process
        await back.send({"type": "resume", "ref": "r", "cursors": {room: cursor}})
        await back.receive_until(lambda f: f.get("type") == "resumed")
        await bob.send({"type": "message.send", "room": room, "body": "after"})
        await back.receive_until(lambda f: f.get("type") == "message.new")

        resumed = next(f for f in back.frames if f.get("type") == "resumed")
        assert resumed["rooms"][room] == {"replayed": 5, "last_seq": cursor + 5}
        assert alice.seqs(room) + back.seqs(room) == list(range(cursor, cursor + 7))
        assert list(texts(back, room).values()) == [
            *(f"away {n}" for n in range(4)),
            "away by api",
            "after",
        ]
        await back.close()
        await bob.close()
        return victim

    victim = asyncio.run(restart())
    # uvicorn ends its shutdown by re-raising SIGTERM, so systemd records a clean stop.
    assert victim.process.wait(timeout=15) in {0, -signal.SIGTERM}


class Traffic:
    """Requests through nginx, back to back in threads until stopped: GETs of the API and POSTs
    of messages. Counts every answer by its status, and every failure to get one by its
    exception."""

    def __init__(self, port: int, token: str, room: str) -> None:
        self.port = port
        self.room = room
        self.bearer = {"Authorization": f"Bearer {token}"}
        self.answers: dict[str, Counter[int | str]] = {"GET": Counter(), "POST": Counter()}
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.run, args=(method,), daemon=True)
            for method in ("GET", "GET", "POST")
        ]

    def start(self) -> "Traffic":
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=20)

    def run(self, method: str) -> None:
        while not self.stopping.is_set():
            try:
                if method == "GET":
                    status = request(self.port, "/api/v1/me", headers=self.bearer).status
                else:
                    status = request(
                        self.port,
                        f"/api/v1/rooms/{self.room}/messages",
                        method="POST",
                        headers={**self.bearer, "Content-Type": "application/json"},
                        body=json.dumps(
                            {"body": "rolling", "client_id": uuid.uuid4().hex}
                        ).encode(),
                    ).status
            except Exception as error:
                self.answers[method][type(error).__name__] += 1
            else:
                self.answers[method][status] += 1

    def failures(self) -> dict[str, Counter[int | str]]:
        wanted = {"GET": 200, "POST": 201}
        return {
            method: Counter({k: n for k, n in answers.items() if k != wanted[method]})
            for method, answers in self.answers.items()
        }


class Reconnecting:
    """A socket client through nginx that reconnects at once whenever its socket is closed,
    and records the close codes and how long it was without a socket each time."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.closes: list[int | None] = []
        self.offline: list[float] = []
        self.failed_handshakes: Counter[str] = Counter()

    async def run(self, stopping: asyncio.Event) -> None:
        peer = await self.connect()
        while not stopping.is_set():
            try:
                await asyncio.wait_for(peer.ws.recv(), 0.2)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed as closed:
                closed_at = time.monotonic()
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
                peer = await self.connect()
                self.offline.append(time.monotonic() - closed_at)
        await peer.close()

    async def connect(self) -> TokenPeer:
        for _ in range(200):
            try:
                return await TokenPeer(self.port, self.token).connect()
            except websockets.InvalidStatus as refused:
                self.failed_handshakes[f"HTTP {refused.response.status_code}"] += 1
            except websockets.ConnectionClosed as closed:
                self.failed_handshakes[f"closed {closed.rcvd.code if closed.rcvd else None}"] += 1
            except Exception as error:
                self.failed_handshakes[type(error).__name__] += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"no socket through nginx: {self.failed_handshakes}")


def test_the_readmes_rolling_restart_loses_no_request_and_keeps_sockets_away_under_2_s(
    parley: Deployment,
) -> None:
    """README, "Two machines": the rolling restart on the nginx machine, as written, with a
    `systemctl` that restarts the test's processes as systemd restarts parley@PORT and reloads
    the test's nginx."""
    alice_token, bob_token, room = two_members()
    first, second = parley.ports
    site = parley.directory / "parley.conf"
    command = readme_command(
        "sites-available/parley 8001 8002",
        {
            "/opt/parley": str(ROOT),
            "http://127.0.0.1 ": f"http://127.0.0.1:{parley.nginx_port} ",
            "/etc/nginx/sites-available/parley": str(site),
            "8001 8002": f"{first} {second}",
        },
    )
    before = {port: process.process.pid for port, process in parley.processes.items()}
    site_before = site.read_text()

    def systemd(words: list[str]) -> None:
        if words == ["reload", "nginx"]:
            parley.reload_nginx()
        else:
            assert words[0] == "restart", words
            parley.restart(int(words[1].removeprefix("parley@")))

    systemctl = FakeSystemctl(parley.directory / "systemd", systemd)

    async def roll() -> tuple[int, str, float, list[Reconnecting]]:
        stopping = asyncio.Event()
        sockets = [Reconnecting(parley.nginx_port, t) for t in (alice_token, bob_token) * 3]
        watching = [asyncio.create_task(s.run(stopping)) for s in sockets]
        await asyncio.sleep(1)  # every socket open, on both processes
        started = time.monotonic()
        script = await asyncio.create_subprocess_exec(
            *command,
            env={
                **os.environ,
                "PATH": f"{systemctl.bin}:{os.environ['PATH']}",
                "PARLEY_ENV_FILE": str(parley.environment_file()),
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(script.communicate(), 120)
        seconds = time.monotonic() - started
        await asyncio.sleep(1)  # the last sockets back, traffic on both new processes
        stopping.set()
        await asyncio.gather(*watching)
        return script.returncode or 0, output.decode(), seconds, sockets

    traffic = Traffic(parley.nginx_port, alice_token, room).start()
    try:
        returncode, output, seconds, sockets = asyncio.run(roll())
    finally:
        traffic.stop()
        systemctl.close()

    offline = [s for client in sockets for s in client.offline]
    print(
        f"rolling restart: {seconds:.1f} s; {dict(traffic.answers['GET'])} GETs, "
        f"{dict(traffic.answers['POST'])} POSTs; {len(offline)} socket reconnects, "
        f"longest {max(offline, default=0):.3f} s; handshakes failed: "
        f"{dict(sum((client.failed_handshakes for client in sockets), Counter()))}"
    )
    assert returncode == 0, output
    reload = ["reload", "nginx"]
    assert systemctl.calls == [
        *(reload, ["restart", f"parley@{first}"], reload),
        *(reload, ["restart", f"parley@{second}"], reload),
    ]
    assert site.read_text() == site_before  # both processes back in nginx's rotation
    assert all(parley.processes[port].process.pid != pid for port, pid in before.items())
    assert traffic.failures() == {"GET": Counter(), "POST": Counter()}, traffic.answers
    assert traffic.answers["GET"][200] > 50 and traffic.answers["POST"][201] > 20
    # Every socket was closed at least once, by a graceful stop, and was back within 2 s.
    assert all(client.closes for client in sockets)
    assert {code for client in sockets for code in client.closes} == {1012}
    assert max(offline) < 2, offline
    # No handshake was refused. One that reached a process in the instant its stop began was
    # accepted and then closed with 1012 before its hello, and tried again at once.
    failed = sum((client.failed_handshakes for client in sockets), Counter())
    assert set(failed) <= {"closed 1012"}, failed


def test_nginx_serves_static_files_itself(parley: Deployment) -> None:
    plain = (parley.static_root / "chat" / "parley.css").read_bytes()
    manifest = json.loads((parley.static_root / "staticfiles.json").read_text())
    hashed = manifest["paths"]["chat/parley.css"]

    css = request(parley.nginx_port, "/static/chat/parley.css")
    assert (css.status, css.body) == (200, plain)
    assert css.headers["Content-Type"] == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=3600"

    versioned = request(parley.nginx_port, f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})
    assert versioned.status == 200
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(versioned.body) == plain
    assert all(process.log_line('"GET /static/') is None for process in parley.processes.values())

    parley.stop_processes()
    assert request(parley.nginx_port, "/healthz").status == 502  # Parley really is gone
    again = request(parley.nginx_port, "/static/chat/parley.css")
    assert (again.status, again.body) == (200, plain)

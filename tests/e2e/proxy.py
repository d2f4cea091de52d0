"""Parley as an operator deploys it: processes started by the systemd unit's own command, behind
nginx running the shipped site file. Only the example values in those files are swapped for
the test's ports and paths; everything else is used as written."""

import asyncio
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import websockets

from tests.e2e.servers import ROOT, Peer, free_port

UNIT = ROOT / "deploy" / "systemd" / "parley@.service"
SITE = ROOT / "deploy" / "nginx" / "parley.conf"
README = ROOT / "README.md"
SERVER_NAME = "chat.parley.test"
# What systemd gives a service besides its Environment= and EnvironmentFile= lines.
SYSTEMD_BASE_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"}


def nginx_binary() -> str | None:
    """Where nginx is, found the way scripts/ensure-nginx looks for it."""
    configured = os.environ.get("PARLEY_NGINX")
    candidates = [configured] if configured else [shutil.which("nginx"), "/usr/sbin/nginx"]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def unit_command(port: int) -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart for instance `port`, run from this checkout, and its Environment."""
    command: list[str] = []
    environment: dict[str, str] = {}
    for line in UNIT.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart":
            command = shlex.split(value.replace("%i", str(port)).replace("/opt/parley", str(ROOT)))
        elif key == "Environment":
            environment.update(item.split("=", 1) for item in shlex.split(value))
    assert command, f"no ExecStart= in {UNIT}"
    assert not any("%" in part for part in command), f"unexpected specifier in {command}"
    return command, environment


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def render_site(*, listen_port: int, upstream_ports: list[int], static_root: Path) -> str:
    """The shipped site file with the test's values in place of its example values."""
    site = SITE.read_text()
    ipv6 = f"listen [::1]:{listen_port};" if ipv6_loopback() else "# no IPv6 loopback here"
    swaps = [
        ("listen 80;", f"listen 127.0.0.1:{listen_port};"),
        ("listen [::]:80;", ipv6),
        ("server_name chat.example.com;", f"server_name {SERVER_NAME};"),
        ("alias /opt/parley/staticfiles/;", f"alias {static_root}/;"),
        *(
            (f"server 127.0.0.1:{example} ", f"server 127.0.0.1:{port} ")
            for example, port in zip([8001, 8002], upstream_ports, strict=True)
        ),
    ]
    for example, value in swaps:
        # The test must fail, not quietly test something else, if the site file changes shape.
        assert site.count(example) == 1, f"{SITE} should have `{example}` exactly once"
        site = site.replace(example, value)
    return site


def readme_command(example: str, swaps: dict[str, str]) -> list[str]:
    """The README's one shell command line that contains `example`, run as root already
    (without `sudo`), with the test's values in place of the README's example values."""
    lines = [line.strip() for line in README.read_text().splitlines() if example in line]
    assert len(lines) == 1, f"README.md should have one line with `{example}`: {lines}"
    line = lines[0]
    for value, replacement in swaps.items():
        assert value in line, f"README.md's `{line}` has no `{value}`"
        line = line.replace(value, replacement)
    words = shlex.split(line, comments=True)
    return words[1:] if words[0] == "sudo" else words


def nginx_configuration(prefix: Path, site: Path, mime_types: Path) -> str:
    """A minimal nginx.conf around the site, everything nginx writes kept under `prefix`."""
    temp = prefix / "temp"
    return f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
events {{
    worker_connections 256;
}}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
"""


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}: {log.read_text()}")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    source: str | None = None,
) -> Response:
    """One HTTP request to 127.0.0.1:`port` for the site's host name, from `source` if given."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0) if source else None
    )
    try:
        connection.request(
            method, path, body=body, headers={"Host": f"{SERVER_NAME}:{port}", **(headers or {})}
        )
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


class ParleyProcess:
    """One Parley process started as systemd starts parley@PORT, logging to a file."""

    def __init__(self, port: int, environment: dict[str, str], log: Path) -> None:
        command, unit_environment = unit_command(port)
        self.port = port
        self.log = log
        with log.open("a") as output:
            self.process = subprocess.Popen(  # noqa: S603 - the unit's own command line
                command,
                cwd=ROOT,
                env={**SYSTEMD_BASE_ENVIRONMENT, **environment, **unit_environment},
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_until_healthy(self, timeout: float = 20) -> None:
        wait_for_port(self.port, self.process, self.log, timeout)
        status = request(self.port, "/healthz").status
        assert status == 200, f"/healthz answered {status}: {self.log.read_text()}"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> None:
        """SIGTERM, as `systemctl stop` sends (KillSignal=SIGTERM)."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15) -> None:
        if self.running:
            self.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_line(self, marker: str) -> str | None:
        """The log line that mentions `marker`, if one has been written."""
        return next((line for line in self.log.read_text().splitlines() if marker in line), None)


class TokenPeer(Peer):
    """A socket client of the deployed site: it dials 127.0.0.1:`port` under the site's name
    and signs in with a personal access token. `label` marks its handshake in the logs."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(server=None, cookie="")  # type: ignore[arg-type] - no Server: nginx
        self.port = port
        self.token = token
        self.label = uuid.uuid4().hex
        self.process: ParleyProcess | None = None  # the one that accepted it, once known

    async def connect(self) -> "TokenPeer":
        self.ws = await websockets.connect(
            f"ws://{SERVER_NAME}:{self.port}/ws/?client={self.label}",
            host="127.0.0.1",
            port=self.port,
            proxy=None,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            max_size=2**20,
            open_timeout=10,
        )
        self.hello = await self.receive()
        assert self.hello["type"] == "hello", self.hello
        return self

    async def close_code(self, timeout: float = 10) -> int | None:
        """Read until the server closes the socket; the close code it sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.receive(timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


class FakeSystemctl:
    """`systemctl` for scripts the test runs: a command on PATH that hands its arguments to
    `handle` in the test's process and exits 0 once it returns (1 if it raised).

    `bin` goes first on the script's PATH; every call is kept in `calls`.
    """

    def __init__(self, directory: Path, handle: Callable[[list[str]], None]) -> None:
        self.bin = directory / "bin"
        self.bin.mkdir(parents=True)
        self.calls: list[list[str]] = []
        address = str(directory / "systemctl.sock")
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                arguments = shlex.split(self.rfile.readline().decode())
                fake.calls.append(arguments)
                try:
                    handle(arguments)
                except Exception as error:
                    self.wfile.write(f"failed: {error!r}\n".encode())
                else:
                    self.wfile.write(b"ok\n")

        self.server = socketserver.ThreadingUnixStreamServer(address, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        command = self.bin / "systemctl"
        command.write_text(
            f"""#!{sys.executable}
import shlex, socket, sys
with socket.socket(socket.AF_UNIX) as server:
    server.connect({address!r})
    server.sendall(shlex.join(sys.argv[1:]).encode() + b"\\n")
    reply = server.makefile().readline()
if reply != "ok\\n":
    sys.exit("systemctl: " + reply)
"""
        )
        command.chmod(0o755)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Deployment:
    """Two Parley processes and nginx in front of them, all on loopback."""

    def __init__(self, environment: dict[str, str]) -> None:
        nginx = nginx_binary()
        assert nginx, "nginx is missing: run `make nginx` (scripts/ensure-nginx)"
        self.nginx_binary = nginx
        # nginx workers drop root for an unprivileged user, who must be able to read the
        # static files: one world-readable directory for everything, outside pytest's 0700 tree.
        self.directory = Path(tempfile.mkdtemp(prefix="parley-proxy-"))
        self.directory.chmod(0o755)
        self.static_root = self.directory / "static"
        self.environment = {
            **environment,
            "STATIC_ROOT": str(self.static_root),
            "PARLEY_MEDIA_ROOT": str(self.directory / "media"),  # both processes share it
        }
        self.ports = [free_port(), free_port()]
        self.processes: dict[int, ParleyProcess] = {}
        self.nginx: subprocess.Popen | None = None
        self.nginx_port = free_port()

    def collect_static(self) -> None:
        """`manage.py collectstatic` with the processes' settings, as a release does."""
        _, unit_environment = unit_command(self.ports[0])
        collected = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env={**SYSTEMD_BASE_ENVIRONMENT, **self.environment, **unit_environment},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert collected.returncode == 0, collected.stdout + collected.stderr
        self.static_root.chmod(0o755)

    def ensure_running(self) -> None:
        """Start whichever of the two processes is not running, and wait until they answer."""
        started = []
        for port in self.ports:
            current = self.processes.get(port)
            if current is None or not current.running:
                log = self.directory / f"parley-{port}.log"
                self.processes[port] = ParleyProcess(port, self.environment, log)
                started.append(self.processes[port])
        for process in started:
            process.wait_until_healthy()

    def restart(self, port: int) -> None:
        """What `systemctl restart parley@PORT` does: stop it as KillSignal= and
        TimeoutStopSec= say, then start the unit's command again (Type=exec: without waiting
        for it to answer)."""
        current = self.processes[port]
        current.stop(timeout=30)
        log = self.directory / f"parley-{port}.log"
        self.processes[port] = ParleyProcess(port, self.environment, log)

    def reload_nginx(self) -> None:
        """What `systemctl reload nginx` does: SIGHUP to the master, which rereads the site."""
        assert self.nginx is not None
        self.nginx.send_signal(signal.SIGHUP)

    def environment_file(self) -> Path:
        """The deployment's settings as /etc/parley/parley.env holds them."""
        path = self.directory / "parley.env"
        path.write_text("".join(f"{key}={value}\n" for key, value in self.environment.items()))
        return path

    def start_nginx(self) -> None:
        site = self.directory / "parley.conf"
        site.write_text(
            render_site(
                listen_port=self.nginx_port,
                upstream_ports=self.ports,
                static_root=self.static_root,
            )
        )
        (self.directory / "temp").mkdir()
        configuration = self.directory / "nginx.conf"
        configuration.write_text(nginx_configuration(self.directory, site, self.mime_types()))
        command = [
            self.nginx_binary,
            "-c",
            str(configuration),
            "-p",
            str(self.directory),
            "-e",
            str(self.directory / "error.log"),
        ]
        check = subprocess.run(  # noqa: S603 - nginx with our own configuration
            [*command, "-t"], capture_output=True, text=True, timeout=20, check=False
        )
        assert check.returncode == 0, f"nginx -t refused the site:\n{check.stderr}"
        log = self.directory / "nginx.out"
        with log.open("w") as output:
            self.nginx = subprocess.Popen(  # noqa: S603 - nginx with our own configuration
                command, stdout=output, stderr=subprocess.STDOUT
            )
        wait_for_port(self.nginx_port, self.nginx, log)

    def mime_types(self) -> Path:
        """The mime.types next to nginx's own nginx.conf (`nginx -V` names it)."""
        version = subprocess.run(  # noqa: S603 - nginx -V
            [self.nginx_binary, "-V"], capture_output=True, text=True, timeout=20, check=True
        )
        found = re.search(r"--conf-path=(\S+)", version.stderr)
        conf = Path(found.group(1)) if found else Path("/etc/nginx/nginx.conf")
        path = conf.parent / "mime.types"
        assert path.is_file(), f"nginx's mime.types is not at {path}"
        return path

    def logged(self, marker: str, timeout: float = 5) -> tuple[ParleyProcess, str]:
        """The process whose log mentions `marker` (a handshake label, a request's query), and
        that line: what the process saw of the request."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [
                (process, line)
                for process in self.processes.values()
                if (line := process.log_line(marker)) is not None
            ]
            assert len(found) <= 1, f"{marker} reached both processes"
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no process logged {marker}")

    async def connect(self, token: str, *, avoid: ParleyProcess | None = None) -> TokenPeer:
        """A TokenPeer connected through nginx, on a process other than `avoid` if given.

        nginx deals handshakes round robin; a handshake that lands on `avoid` is redone.
        Returns the peer, with `process` set to the one that accepted it.
        """
        for _ in range(6):
            peer = await TokenPeer(self.nginx_port, token).connect()
            peer.process, _ = await asyncio.to_thread(self.logged, peer.label)
            if peer.process is not avoid:
                return peer
            await peer.close()
        raise AssertionError("nginx sent every handshake to the same process")

    def stop_processes(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.stop()

    def close(self) -> None:
        self.stop_processes()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

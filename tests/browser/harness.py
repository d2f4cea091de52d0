"""The browser tests' harness: where chromium and the artifacts are, Django code off the
Playwright loop, quick password hashes and session cookies, and Parley servers on a port of
our choosing."""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections
from django.test import Client

from tests.e2e.servers import ROOT, Server, start_server

CHROMIUM = Path(os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
]
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

Result = TypeVar("Result")


class QuickPasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few rounds, for the test process only.

    The hashes it writes are ordinary `pbkdf2_sha256` ones that the server verifies with its
    own hasher, so a user made by a factory costs milliseconds instead of half a second.
    """

    iterations = 1_000


def session_cookie(user: Any) -> dict[str, str]:
    """A session for `user`, as a cookie for a browser context (call through `off_loop`)."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value}


def off_loop(function: Callable[..., Result], /, *args: Any, **kwargs: Any) -> Result:
    """Run Django code (services, factories, queries) in a fresh thread and return its result."""

    def call() -> Result:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def start_server_on_port(tmp_path: Path, port: int, **env: str) -> Server:
    """A Parley server on a port of our choosing, so a test can restart it on the same one."""
    return start_server(tmp_path, port=port, **env)

"""A real chromium, driven by Playwright, against a real Parley server (uvicorn subprocess).

The sync Playwright API keeps its event loop marked as running in the test thread while the
browser is open, so Django code cannot run there as is: `off_loop` runs service and ORM calls
in a thread of their own (where events are published as in real use), and
DJANGO_ALLOW_ASYNC_UNSAFE is set only while the browser is open, for pytest-django's own
database work between tests.
"""

import copy
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as missing:  # fail loudly: a browser suite that skips proves nothing
    raise ImportError(
        "The browser tests need the playwright package: pip install 'playwright>=1.47,<2' "
        "(never `playwright install`: they drive the system chromium)."
    ) from missing

from tests.browser.harness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    off_loop,
    session_cookie,
    start_server_on_port,
)
from tests.e2e.servers import Server, free_port
from tests.factories import PASSWORD, UserFactory, make_room

# How chromium's console names the policies it enforces ("Refused to execute inline script
# because it violates the following Content Security Policy directive ...", "Error with
# Permissions-Policy header: Unrecognized feature ...").
POLICIES = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy")
# Playwright's init scripts run outside the page's policy: this one repeats every violation the
# document sees in the console, in case chromium's own message is missing or worded otherwise.
REPORT_POLICY_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy violation: ${event.effectiveDirective} ` +
    `refused ${event.blockedURI || "inline code"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings: Any) -> None:
    """Users made here get cheap PBKDF2 hashes, which the server still verifies as usual."""
    settings.PASSWORD_HASHERS = ["tests.browser.harness.QuickPasswordHasher"]


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless chromium for the browser tests; fails (never skips) when it is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"The browser tests need chromium at {CHROMIUM} (apt-get install chromium, or set "
            "PARLEY_CHROMIUM to its path).",
            pytrace=False,
        )
    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=10_000)  # room for a busy machine; passing tests never wait it
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def server_environment(settings: Any) -> dict[str, str]:
    """Environment for this test's servers: with Redis, channel-layer names of its own, which
    the test process uses too (other runs on the same Redis cannot reach its sockets)."""
    if not settings.REDIS_URL:
        return {}
    prefix = f"parley-browser-{uuid.uuid4().hex[:12]}"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = prefix
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    return {"REDIS_PREFIX": prefix}


@pytest.fixture
def server(
    browser: Any,
    server_environment: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Server]:
    """A Parley server (uvicorn) on the test database, stopped after the test."""
    server = start_server_on_port(tmp_path, free_port(), **server_environment)
    request.node.parley_servers = [server]
    yield server
    for one in request.node.parley_servers:
        one.stop()
    if _failed(request):
        for one in request.node.parley_servers:
            print(f"--- {one.log.name} ---\n{one.log.read_text()[-4000:]}")


@pytest.fixture
def restart_server(
    server: Server,
    server_environment: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Callable[[], Server]:
    """Start a new server process on the port of `server` (after `server.stop()`), with
    settings of its own if given (`restart(PARLEY_REPLAY_MAX="20")`)."""

    def restart(**settings: str) -> Server:
        again = start_server_on_port(tmp_path, server.port, **server_environment, **settings)
        request.node.parley_servers.append(again)
        return again

    return restart


class Browsing:
    """The browser contexts of one test, each signed in as one user."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []
        self.pages: list[Any] = []
        self.page_errors: list[str] = []
        # What chromium reported against the pages' Content-Security-Policy or
        # Permissions-Policy (ops/security_headers.py): a page that breaks them may look fine
        # yet lose a script, a style or the socket. A test that provokes one clears the list.
        self.policy_reports: list[str] = []
        self.dialogs: list[tuple[str, str, str]] = []
        self.journal: deque[str] = deque(maxlen=300)  # printed when the test fails
        self.started = time.monotonic()

    def note(self, number: int, text: str) -> None:
        self.journal.append(f"{time.monotonic() - self.started:7.3f} page {number}: {text[:160]}")

    def new_page(self, *, phone: bool = False, accept_dialogs: bool = False) -> Any:
        """A page in a new context, a desktop window or (`phone`) a touch phone.

        Every dialog is recorded in `dialogs`, then dismissed (or accepted with
        `accept_dialogs`): a test that expects none asserts the list is empty.
        """
        screen = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if phone else {}
        context = self.browser.new_context(
            base_url=self.server.origin, **{"viewport": DESKTOP, **screen}
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        self.pages.append(page)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.add_init_script(REPORT_POLICY_VIOLATIONS)
        page.on("console", lambda message: self._policy_report(page, message.text))
        self._keep_journal(len(self.pages) - 1, page)

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append((page.url, dialog.type, dialog.message))
            if accept_dialogs:
                dialog.accept()
            else:
                dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    def _policy_report(self, page: Any, text: str) -> None:
        if any(policy in text for policy in POLICIES):
            self.policy_reports.append(f"{page.url}: {text}")

    def _keep_journal(self, number: int, page: Any) -> None:
        """What the page loads and what its socket hears, to tell why a test failed."""
        page.on("response", lambda response: self.note(number, f"{response.status} {response.url}"))
        page.on("requestfailed", lambda request: self.note(number, f"failed {request.url}"))

        def on_socket(socket: Any) -> None:
            self.note(number, f"socket {socket.url}")
            socket.on("framereceived", lambda frame: self.note(number, f"<< {frame}"))
            socket.on("framesent", lambda frame: self.note(number, f">> {frame}"))
            socket.on("close", lambda _: self.note(number, "socket closed"))

        page.on("websocket", on_socket)

    def page_for(
        self,
        user: Any,
        *,
        login_form: bool = False,
        phone: bool = False,
        accept_dialogs: bool = False,
    ) -> Any:
        """A page signed in as `user`, left on the home page.

        With `login_form` the user types their password into /accounts/login/; otherwise the
        context gets a session cookie (the server then costs no password check).
        """
        page = self.new_page(phone=phone, accept_dialogs=accept_dialogs)
        if login_form:
            page.goto("/accounts/login/")
            page.fill("input[name=username]", user.username)
            page.fill("input[name=password]", PASSWORD)
            login_form_element = page.locator("form", has=page.locator("input[name=password]"))
            login_form_element.locator("button[type=submit]").click()
            page.wait_for_url(f"{self.server.origin}/")
        else:
            cookie = off_loop(session_cookie, user)
            page.context.add_cookies([{**cookie, "url": self.server.origin}])
            page.goto("/")
        expect(page.locator(".topbar .whoami")).to_have_text(user.shown_name)
        return page

    def screenshot_all(self, name: str) -> None:
        folder = ARTIFACTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        for number, page in enumerate(self.pages):
            if page.is_closed():
                continue
            try:
                page.screenshot(path=str(folder / f"{name}-{number}.png"), full_page=True)
            except Exception as error:  # a broken page must not hide the test's own failure
                print(f"no screenshot of {page.url}: {error}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    browsing = Browsing(browser, server)
    yield browsing
    try:
        if _failed(request):
            browsing.screenshot_all(re.sub(r"[^\w.-]+", "_", request.node.name))
            print("--- what the pages loaded and heard ---", *browsing.journal, sep="\n")
    finally:
        browsing.close()
    assert not browsing.page_errors, f"uncaught errors in the page: {browsing.page_errors}"
    assert not browsing.policy_reports, f"policy violations: {browsing.policy_reports}"


@pytest.fixture
def page_for(browsing: Browsing) -> Callable[..., Any]:
    """`page_for(user)`: a new browser context signed in as `user`, on the home page."""
    return browsing.page_for


@pytest.fixture
def pair() -> tuple[Any, Any, Any]:
    """alice and bob, both in "General" (alice made it). Modules that need another pair
    define their own."""

    def build() -> tuple[Any, Any, Any]:
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        return alice, bob, make_room(alice, name="General", members=[bob])

    return off_loop(build)

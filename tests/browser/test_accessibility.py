"""Every page a user sees, checked by axe-core: no serious or critical violation of WCAG 2.1 A
and AA or of axe's best practices, on a desktop in the light and the dark colour scheme and on
a phone.

One test per page, with one server: the desktop page is checked light, then switched to dark
and checked again; a phone-sized page is checked last. The failure names the page and each
mode with its violations.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.tokens import token_create
from chat.services.direct import direct_open
from chat.services.messages import message_post
from tests.browser.axe import accessibility_violations, describe_violations
from tests.browser.harness import off_loop
from tests.browser.pages import room_path, text_message, wait_live
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class World:
    """alice (who looks) and bob in a group room with messages, and in a conversation."""

    alice: Any
    bob: Any
    room: Any
    direct: Any


def build_world() -> World:
    alice = UserFactory(username="alice", display_name="Alice")
    bob = UserFactory(username="bob", display_name="Bob")
    room = make_room(alice, name="General", members=[bob])  # bob's "joined" line
    # A mention of alice: its highlight is checked too (colours, contrast).
    message_post(bob, room_id=room.public_id, body="@alice Morning! Is the build green?")
    message_post(alice, room_id=room.public_id, body="It is, since an hour ago.")
    direct = direct_open(alice, username="bob")
    message_post(bob, room_id=direct.public_id, body="Have you got a minute?")
    token_create(alice, name="deploy bot", expires_in_days=90)
    return World(alice=alice, bob=bob, room=room, direct=direct)


def _room_ready(page: Page, world: World) -> None:
    wait_live(page)
    expect(page.locator("#members li[data-username='bob']")).to_have_count(1)  # htmx loaded it
    expect(text_message(page, "It is, since an hour ago.")).to_have_count(1)


def _direct_ready(page: Page, world: World) -> None:
    wait_live(page)
    expect(page.locator("#members li[data-username='bob']")).to_have_count(1)
    expect(text_message(page, "Have you got a minute?")).to_have_count(1)


def _home_ready(page: Page, world: World) -> None:
    wait_live(page)


def _search_ready(page: Page, world: World) -> None:
    wait_live(page)
    expect(page.locator("#search-results mark")).to_have_count(1)


@dataclass(frozen=True)
class Screen:
    """A page to check: where it is, whether alice is signed in, what it answers, when it
    is ready to look at, and (`not_yet`) an answer that means it does not exist yet."""

    name: str
    path: Callable[[World], str]
    signed_in: bool = True
    status: int = 200
    ready: Callable[[Page, World], None] | None = None
    not_yet: int | None = None


SCREENS = [
    Screen("login", lambda world: "/accounts/login/", signed_in=False),
    Screen("sign-up", lambda world: "/accounts/signup/", signed_in=False),
    Screen("home", lambda world: "/", ready=_home_ready),
    Screen("group-room", lambda world: room_path(world.room), ready=_room_ready),
    Screen("direct-conversation", lambda world: room_path(world.direct), ready=_direct_ready),
    Screen("mentions", lambda world: "/mentions/", ready=_home_ready),
    Screen("search", lambda world: "/search/?q=build", ready=_search_ready),
    Screen("tokens", lambda world: "/accounts/tokens/"),
    Screen("profile", lambda world: "/accounts/profile/"),
    Screen("password-change", lambda world: "/accounts/password/"),
    Screen("error", lambda world: f"/rooms/{uuid.uuid4()}/", status=404),
    # Leaving asks first once GET shows a confirmation; until then GET is refused.
    Screen("leave-room", lambda world: f"{room_path(world.room)}leave/", not_yet=405),
]


def _open(page: Page, screen: Screen, world: World) -> None:
    response = page.goto(screen.path(world))
    assert response is not None
    if screen.not_yet is not None and response.status == screen.not_yet:
        pytest.skip(f"{screen.name}: {page.url} answered {response.status}: no such page yet")
    assert response.status == screen.status, (
        f"{screen.name}: {page.url} answered {response.status}, not {screen.status}"
    )
    if screen.ready is not None:
        screen.ready(page, world)


@pytest.mark.parametrize("screen", SCREENS, ids=[screen.name for screen in SCREENS])
def test_page_has_no_serious_accessibility_violations(
    server, browsing, page_for, screen: Screen
) -> None:
    world = off_loop(build_world)

    def new_page(*, phone: bool) -> Page:
        if screen.signed_in:
            return page_for(world.alice, phone=phone)
        return browsing.new_page(phone=phone)

    found: dict[str, list[dict[str, Any]]] = {}
    desktop = new_page(phone=False)
    _open(desktop, screen, world)
    found["desktop light"] = accessibility_violations(desktop)
    desktop.emulate_media(color_scheme="dark")
    found["desktop dark"] = accessibility_violations(desktop)
    phone = new_page(phone=True)
    _open(phone, screen, world)
    found["phone"] = accessibility_violations(phone)

    failures = [
        f"{screen.name} ({desktop.url}), {mode}:\n{describe_violations(violations)}"
        for mode, violations in found.items()
        if violations
    ]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    # axe came in through DevTools, not a <script>: the page's policy saw nothing to refuse.
    assert browsing.policy_reports == []


def test_the_checker_finds_violations_planted_in_a_page(server, browsing) -> None:
    page = browsing.new_page()
    page.goto("/accounts/login/")
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<img src="data:," class="planted"><button class="planted"></button>')"""
    )

    violations = accessibility_violations(page)

    found = {violation["id"]: violation for violation in violations}
    assert {"image-alt", "button-name"} <= found.keys(), describe_violations(violations)
    assert 'class="planted"' in found["image-alt"]["nodes"][0]["html"]
    assert found["image-alt"]["impact"] == "critical"
    assert browsing.policy_reports == []  # axe ran, and the page's policy refused nothing

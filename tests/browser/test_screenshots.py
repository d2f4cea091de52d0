"""Screenshots of the main views for people: in test-artifacts/, and for the docs
docs/screenshot.png (the README's) and docs/screenshots/: a busy room on a desktop, light and
dark, and on a phone.
"""

import re
import shutil

import pytest
from playwright.sync_api import Page, expect

from chat.models import Room
from chat.services.direct import direct_open
from chat.services.messages import message_post
from tests.browser.harness import ARTIFACTS, DESKTOP, PHONE, off_loop, session_cookie
from tests.browser.pages import open_room, wait_live
from tests.e2e.servers import ROOT
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

README_SCREENSHOT = ROOT / "docs" / "screenshot.png"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"

GENERAL = [
    ("bob", "Morning all! The staging deploy finished at 9:10."),
    ("carol", "Nice. Did the migration for read markers run cleanly?"),
    ("bob", "Yes, about 40 seconds on the big database."),
    ("alice", "Great. I'll start the release notes.\nAnything you want called out?"),
    ("dan", "Reconnect with resume: phones switching networks no longer lose messages."),
    ("carol", "And typing indicators, finally."),
    ("alice", "Added both. Lunch at 12:30?"),
    ("bob", "Count me in."),
]


@pytest.fixture
def team():
    """A small team with a busy room, a few others, and a direct conversation."""

    def build():
        users = {
            name: UserFactory(username=name, display_name=shown)
            for name, shown in (
                ("alice", "Alice Moreau"),
                ("bob", "Bob Okafor"),
                ("carol", "Carol Jensen"),
                ("dan", "Dan Ito"),
            )
        }
        alice, bob, carol, dan = users.values()
        general = make_room(alice, name="General", members=[bob, carol, dan])
        for name, body in GENERAL:
            message_post(users[name], room_id=general.public_id, body=body)
        design = make_room(carol, name="Design", members=[alice, dan])
        message_post(carol, room_id=design.public_id, body="New icons are in the shared folder.")
        message_post(dan, room_id=design.public_id, body="Looks great on dark mode too.")
        make_room(bob, name="Release planning", visibility=Room.Visibility.INVITE, members=[alice])
        make_room(dan, name="Random", members=[bob])
        make_room(carol, name="Book club", members=[dan])
        conversation = direct_open(bob, username="alice")
        message_post(bob, room_id=conversation.public_id, body="Got a minute for the rollout?")
        message_post(alice, room_id=conversation.public_id, body="Sure, after standup.")
        message_post(bob, room_id=conversation.public_id, body="Perfect, thanks!")
        return users, general, conversation

    return off_loop(build)


def save(page: Page, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def save_for_docs(page: Page, name: str) -> None:
    """In test-artifacts/ as `name`.png, and copied to docs/screenshots/."""
    save(page, name)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS_SCREENSHOTS / f"{name}.png")


def busy_room_ready(page: Page, general) -> None:
    """The room open and live, every message in, the member list loaded, the newest in view."""
    open_room(page, general)
    expect(page.locator("#timeline li.message.kind-text")).to_have_count(len(GENERAL))
    expect(page.locator("#members li[data-username]")).to_have_count(4)
    expect(page.locator("#timeline li.message.kind-text").last).to_be_in_viewport(ratio=1)


def bob_comes_online(browsing, team, alice_page: Page) -> Page:
    """bob opens the room after alice's page is live there: his coming online makes her page
    reload its member list, now with her own socket counted (the list it loaded first may
    predate it: test_reading's test_my_own_dot_in_the_member_list_...). He goes straight to the
    room: by way of the home page he would be offline for a moment on the way."""
    users, general, conversation = team
    bob_page = browsing.new_page()
    cookie = off_loop(session_cookie, users["bob"])
    bob_page.context.add_cookies([{**cookie, "url": browsing.server.origin}])
    open_room(bob_page, general)
    for online in ("alice", "bob"):
        dot = alice_page.locator(f"#members li[data-username='{online}'] .dot.online")
        expect(dot).to_have_count(1)
    peer = alice_page.locator(f"#sidebar a[data-room-id='{conversation.public_id}'] .dot")
    expect(peer).to_have_class(re.compile(r"\bonline\b"))
    return bob_page


def test_home_room_and_conversation_views_are_saved_as_screenshots(
    server, page_for, browsing, team
) -> None:
    users, general, conversation = team
    alice_page = page_for(users["alice"])
    open_room(alice_page, general)
    expect(alice_page.locator("#timeline li.message.kind-text")).to_have_count(len(GENERAL))
    bob_page = bob_comes_online(browsing, team, alice_page)
    bob_page.locator("form#composer textarea[name=body]").press_sequentially("See you")
    expect(alice_page.locator("#typing")).to_have_text("Bob Okafor is typing…")
    expect(alice_page.locator("#timeline li.message.kind-text").last).to_be_in_viewport(ratio=1)
    assert alice_page.viewport_size == DESKTOP
    save(alice_page, "room")
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(ARTIFACTS / "room.png", README_SCREENSHOT)

    alice_page.goto("/")
    wait_live(alice_page)
    expect(alice_page.locator("#directory li[data-room-id]")).to_have_count(5)
    dot = alice_page.locator(f"#sidebar a[data-room-id='{conversation.public_id}'] .dot.online")
    expect(dot).to_have_count(1)  # bob's
    save(alice_page, "home")

    open_room(alice_page, conversation)
    expect(alice_page.locator("#timeline li.message.kind-text")).to_have_count(3)
    save(alice_page, "direct")


def test_a_busy_room_is_saved_for_the_docs_light_and_dark_on_a_desktop_and_on_a_phone(
    server, page_for, browsing, team
) -> None:
    users, general, _ = team
    desktop = page_for(users["alice"])
    assert desktop.viewport_size == DESKTOP
    busy_room_ready(desktop, general)
    bob_comes_online(browsing, team, desktop)
    html = desktop.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    save_for_docs(desktop, "desktop-light")
    desktop.emulate_media(color_scheme="dark")  # the system's choice; nothing stored
    expect(html).to_have_attribute("data-theme", "dark")
    expect(desktop.locator("#theme-toggle")).to_have_attribute("aria-pressed", "true")
    save_for_docs(desktop, "desktop-dark")

    phone = page_for(users["alice"], phone=True)
    assert phone.viewport_size == PHONE
    busy_room_ready(phone, general)  # listed while alice's desktop page keeps her online
    for online in ("alice", "bob"):
        dot = phone.locator(f"#members li[data-username='{online}'] .dot.online")
        expect(dot).to_have_count(1)
    expect(phone.locator("#sidebar")).to_be_hidden()  # rooms and members wait behind buttons
    save_for_docs(phone, "phone")


def test_the_sveltekit_app_is_saved_for_the_docs(browsing, team) -> None:
    """The same busy room in the SvelteKit client (/app/), light and dark."""
    users, general, _ = team
    page = browsing.new_page()
    cookie = off_loop(session_cookie, users["alice"])
    page.context.add_cookies([{**cookie, "url": browsing.server.origin}])
    page.goto(f"/app/rooms/{general.public_id}")
    expect(page.locator(".connection")).to_have_attribute("data-state", "live")
    expect(page.locator(".timeline li.message")).to_have_count(len(GENERAL))
    expect(page.locator(".members li")).to_have_count(4)
    expect(page.locator(".timeline li.message").last).to_be_in_viewport(ratio=1)
    save_for_docs(page, "app-light")
    page.emulate_media(color_scheme="dark")
    save_for_docs(page, "app-dark")

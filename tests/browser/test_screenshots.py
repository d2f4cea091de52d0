"""Screenshots of the main views for people: in test-artifacts/, and docs/screenshot.png.

The phone view is saved by test_phone.py.
"""

import shutil

import pytest
from playwright.sync_api import Page, expect

from chat.models import Room
from chat.services.direct import direct_open
from chat.services.messages import message_post
from tests.browser.harness import ARTIFACTS, DESKTOP, off_loop
from tests.browser.pages import open_room, wait_live
from tests.e2e.servers import ROOT
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

README_SCREENSHOT = ROOT / "docs" / "screenshot.png"

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


def test_home_room_and_conversation_views_are_saved_as_screenshots(server, page_for, team) -> None:
    users, general, conversation = team
    bob_page = page_for(users["bob"])  # so that alice sees someone online
    open_room(bob_page, general)

    alice_page = page_for(users["alice"])
    wait_live(alice_page)
    expect(alice_page.locator("#directory li[data-room-id]")).to_have_count(5)
    save(alice_page, "home")

    open_room(alice_page, general)
    expect(alice_page.locator("#timeline li.message.kind-text")).to_have_count(len(GENERAL))
    for online in ("alice", "bob"):
        dot = alice_page.locator(f"#members li[data-username='{online}'] .dot.online")
        expect(dot).to_have_count(1)
    bob_page.locator("form#composer textarea[name=body]").press_sequentially("See you")
    expect(alice_page.locator("#typing")).to_have_text("Bob Okafor is typing…")
    expect(alice_page.locator("#timeline li.message.kind-text").last).to_be_in_viewport(ratio=1)
    assert alice_page.viewport_size == DESKTOP
    save(alice_page, "room")
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(ARTIFACTS / "room.png", README_SCREENSHOT)

    open_room(alice_page, conversation)
    expect(alice_page.locator("#timeline li.message.kind-text")).to_have_count(3)
    save(alice_page, "direct")

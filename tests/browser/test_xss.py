"""Hostile text (message bodies, display names, room names) is shown as text, never run."""

import re

import pytest
from playwright.sync_api import Page, expect

from chat.services.direct import direct_open
from chat.services.messages import message_post
from tests.browser.harness import off_loop
from tests.browser.pages import open_room, send, text_message, wait_live
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

# Each would open a dialog if it ran; every page records its dialogs (there must be none).
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
SVG = "<svg onload=alert(3)>"
PAYLOAD = f"{SCRIPT} {IMAGE} {SVG}"  # 76 characters: fits a room name (80)


@pytest.fixture
def hostile():
    """mallory and trudy are named PAYLOAD; mallory made a room named PAYLOAD and posted it."""

    def build():
        alice = UserFactory(username="alice", display_name="Alice")
        mallory = UserFactory(username="mallory", display_name=PAYLOAD)
        trudy = UserFactory(username="trudy", display_name=PAYLOAD)
        room = make_room(mallory, name=PAYLOAD, members=[alice])
        message_post(mallory, room_id=room.public_id, body=PAYLOAD)
        conversation = direct_open(mallory, username="alice")
        message_post(mallory, room_id=conversation.public_id, body=f"direct {PAYLOAD}")
        return alice, mallory, trudy, room, conversation

    return off_loop(build)


def assert_nothing_ran(page: Page) -> None:
    """No markup from the payload made it into the DOM, so none of it can run; none did."""
    injected = page.evaluate(
        """() => ({
            images: document.querySelectorAll('img:not(#lightbox > img)').length,
            svgs: document.querySelectorAll('svg').length,
            scripts: [...document.scripts].filter(s => s.text.includes('alert')).length,
            handlers: document.querySelectorAll('[onerror], [onload]').length,
        })"""
    )
    assert injected == {"images": 0, "svgs": 0, "scripts": 0, "handlers": 0}


def test_hostile_names_and_bodies_render_as_text_in_server_rendered_pages(
    server, page_for, browsing, hostile
) -> None:
    alice, _, _, room, conversation = hostile
    page = page_for(alice)
    expect(page.locator(f"#directory li[data-room-id='{room.public_id}']")).to_contain_text(PAYLOAD)
    for shown in (room, conversation):
        link = page.locator(f"#sidebar a.room-link[data-room-id='{shown.public_id}']")
        expect(link.locator(".room-name")).to_contain_text(PAYLOAD)
    expect(page.locator("#sidebar")).to_contain_text(f"direct {SCRIPT}")  # the preview line
    assert_nothing_ran(page)

    open_room(page, room)
    expect(page).to_have_title(re.compile(re.escape(PAYLOAD)))
    expect(page.locator("#room-title")).to_contain_text(PAYLOAD)
    message = text_message(page, PAYLOAD)
    expect(message).to_have_count(1)
    expect(message).to_be_visible()
    expect(message.locator(".author")).to_have_text(PAYLOAD)
    expect(page.locator("#timeline .system", has_text=f"{PAYLOAD} joined").first).to_be_visible()
    expect(page.locator("#members li[data-username='mallory']")).to_contain_text(PAYLOAD)
    assert_nothing_ran(page)

    open_room(page, conversation)
    expect(page.locator("#room-title")).to_contain_text(PAYLOAD)
    expect(text_message(page, f"direct {PAYLOAD}")).to_be_visible()
    assert_nothing_ran(page)
    assert browsing.dialogs == []


def test_hostile_names_and_bodies_arriving_live_render_as_text(
    server, page_for, browsing, hostile
) -> None:
    alice, mallory, trudy, room, _ = hostile
    alice_page = page_for(alice)
    open_room(alice_page, room)
    mallory_page = page_for(mallory)
    open_room(mallory_page, room)

    # Typing: the notice carries mallory's display name.
    mallory_page.locator("form#composer textarea[name=body]").press_sequentially("typing")
    expect(alice_page.locator("#typing")).to_have_text(f"{PAYLOAD} is typing…")
    # A message, and then an edit of it.
    send(mallory_page, f"live {PAYLOAD}")
    message = text_message(alice_page, f"live {PAYLOAD}")
    expect(message).to_be_visible()
    expect(message.locator(".author")).to_have_text(PAYLOAD)
    expect(alice_page.locator("#typing")).to_be_empty()
    seq = message.get_attribute("data-seq")
    mine = mallory_page.locator(f"#timeline li.message[data-seq='{seq}']")
    mine.hover()
    mine.locator("button.edit").click()
    mine.locator("textarea.edit-box").fill(f"edited {PAYLOAD}")
    mine.locator("textarea.edit-box").press("Enter")
    edited = alice_page.locator(f"#timeline li.message[data-seq='{seq}'] .body")
    expect(edited).to_have_text(f"edited {PAYLOAD}")

    # trudy joins from the directory: a joined line and a member, both named PAYLOAD.
    trudy_page = page_for(trudy)
    trudy_page.locator(
        f"#directory li[data-room-id='{room.public_id}'] form.join-form button"
    ).click()
    wait_live(trudy_page)
    joined = alice_page.locator("#timeline li.message.kind-joined .system")
    expect(joined.filter(has_text=f"{PAYLOAD} joined")).to_have_count(2)  # mallory, then trudy
    expect(alice_page.locator("#members li[data-username='trudy']")).to_contain_text(PAYLOAD)

    # trudy opens a conversation with alice: it appears in alice's sidebar under trudy's name.
    trudy_page.goto("/")
    direct = trudy_page.locator("form#open-direct")
    direct.locator("input[name=username]").fill("alice")
    direct.locator("button[type=submit]").click()
    trudy_page.wait_for_url(re.compile(r"/rooms/[0-9a-f-]{36}/$"))
    conversation_id = trudy_page.locator("#room").get_attribute("data-room-id")
    wait_live(trudy_page)
    new_link = alice_page.locator(f"#sidebar a.room-link[data-room-id='{conversation_id}']")
    expect(new_link.locator(".room-name")).to_contain_text(PAYLOAD)
    send(trudy_page, f"direct live {PAYLOAD}")
    expect(new_link.locator(".preview")).to_contain_text(f"direct live {SCRIPT}")
    expect(new_link.locator(".badge.unread")).to_have_text(re.compile(r"^\s*1\s*$"))
    expect(new_link.locator(".badge.unread")).to_be_visible()

    # mallory creates a room with a hostile name through the form.
    mallory_page.goto("/")
    create = mallory_page.locator("form#create-room")
    create.locator("input[name=name]").fill(f"new {SCRIPT}")
    create.locator("button[type=submit]").click()
    wait_live(mallory_page)
    expect(mallory_page.locator("#room-title")).to_have_text(re.compile(re.escape(f"new {SCRIPT}")))

    for page in (alice_page, mallory_page, trudy_page):
        assert_nothing_ran(page)
    assert browsing.dialogs == []

"""The SvelteKit client (frontend/, served at /app/) against a real server, in chromium.

Two people chat in a room and in a direct conversation, live both ways; the app survives a
server restart (nothing lost or doubled, a post written offline stored once), an outage longer
than the replay limit (the gap filled), a blip during which messages were edited and deleted,
hostile names, and the end of its user's access (4003: back to log in).
"""

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from chat.models import Message
from chat.services.messages import message_delete, message_edit, message_post
from tests.browser.axe import accessibility_violations, describe_violations
from tests.browser.harness import PHONE, off_loop
from tests.browser.test_files import png
from tests.factories import PASSWORD, UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

BUILD = Path(__file__).resolve().parents[2] / "frontend" / "build" / "index.html"
REPLAY_MAX = 20


@pytest.fixture(autouse=True)
def _app_is_built() -> None:
    if not BUILD.is_file():  # fail, never skip: `make test` builds the app first
        pytest.fail("The SvelteKit app is not built: run `make app`.", pytrace=False)


@pytest.fixture
def people() -> tuple[Any, Any, Any]:
    def build() -> tuple[Any, Any, Any]:
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        room = make_room(alice, name="General", members=[bob])
        message_post(alice, room_id=room.public_id, body="hello from before")
        return alice, bob, room

    return off_loop(build)


def app_page(browsing: Any, user: Any, *, phone: bool = False) -> Page:
    """A new browser, logged in through the app's own log-in form, on /app/."""
    page = browsing.new_page(phone=phone)
    page.goto("/app/")
    expect(page).to_have_url(f"{browsing.server.origin}/app/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_live(page)
    return page


def wait_live(page: Page, timeout: float = 15_000) -> None:
    expect(page.locator(".connection")).to_have_attribute("data-state", "live", timeout=timeout)


def open_room(page: Page, room: Any) -> None:
    page.locator(".sidebar a", has=page.locator(".name", has_text=room.name)).click()
    expect(page).to_have_url(f"{page.url.split('/app')[0]}/app/rooms/{room.public_id}")
    expect(page.locator(".timeline li[data-seq]").first).to_be_attached()


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def message(page: Page, body: str) -> Locator:
    return page.locator(".timeline li.message").filter(has=page.locator(".body", has_text=body))


def shown_seqs(page: Page) -> list[int]:
    return page.eval_on_selector_all(
        ".timeline li[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )


def expect_seqs(page: Page, expected: list[int]) -> None:
    """The timeline shows exactly these entries, each once, in order (waiting for it)."""
    page.wait_for_function(
        "expected => JSON.stringify([...document.querySelectorAll('.timeline li[data-seq]')]"
        ".map(li => Number(li.dataset.seq))) === JSON.stringify(expected)",
        arg=expected,
        timeout=20_000,
    )


def cut_off(page: Page, server: Any) -> None:
    """The server dies without a goodbye; the page notices and starts reconnecting."""
    server.kill()
    expect(page.locator(".connection")).to_have_attribute("data-state", "reconnecting")


def room_seqs(room: Any) -> list[int]:
    return off_loop(lambda: list(Message.objects.filter(room=room).values_list("seq", flat=True)))


def test_two_people_chat_live_in_a_room_and_a_direct_conversation(browsing, people) -> None:
    alice, bob, room = people
    alice_page = app_page(browsing, alice)
    bob_page = app_page(browsing, bob)
    open_room(alice_page, room)
    open_room(bob_page, room)
    expect(message(bob_page, "hello from before")).to_have_count(1)

    send(alice_page, "hi Bob, see https://example.com/x")
    expect(message(bob_page, "hi Bob")).to_have_count(1)
    link = message(bob_page, "hi Bob").locator("a")
    expect(link).to_have_attribute("href", "https://example.com/x")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")

    # Markdown, rendered by the server; Edit would start from the source.
    send(alice_page, "**bold** and `code`")
    formatted = message(bob_page, "bold and code").locator(".body")
    expect(formatted.locator("strong")).to_have_text("bold")
    expect(formatted.locator("code")).to_have_text("code")

    bob_page.get_by_label("Message", exact=True).press_sequentially("typing")
    expect(alice_page.locator(".typing")).to_contain_text("Bob is typing")
    bob_page.get_by_label("Message", exact=True).fill("")
    send(bob_page, "hi Alice")
    expect(message(alice_page, "hi Alice")).to_have_count(1)
    expect(alice_page.locator(".typing")).to_have_text("")
    expect(alice_page.locator(".members li.online")).to_have_count(2)

    # Edit and delete, seen live by the other.
    seq = message(alice_page, "hi Bob").get_attribute("data-seq")
    mine = alice_page.locator(f".timeline li[data-seq='{seq}']")
    mine.hover()
    mine.get_by_role("button", name="Edit message").click()
    edit = mine.get_by_label("Edit message")
    edit.fill("hi Bob (edited)")
    edit.press("Enter")
    expect(message(bob_page, "hi Bob (edited)").locator(".edited")).to_have_text("(edited)")
    mine.hover()
    mine.get_by_role("button", name="Delete message").click()
    mine.get_by_role("button", name="Delete", exact=True).click()
    expect(bob_page.locator(".timeline .tombstone")).to_have_text("message deleted")

    # Alice starts a conversation with Bob by name; Bob sees it arrive unread, then they talk.
    alice_page.get_by_label("Message someone").fill("bob")
    alice_page.get_by_role("button", name="Start").click()
    expect(alice_page.locator("#room-title")).to_have_text("Bob")
    send(alice_page, "just between us")
    bob_conversation = bob_page.locator(
        ".sidebar a", has=bob_page.locator(".name", has_text="Alice")
    )
    expect(bob_conversation.locator(".badge")).to_have_text("1")
    expect(bob_page).to_have_title("(1) Parley")
    bob_conversation.click()
    expect(message(bob_page, "just between us")).to_have_count(1)
    unread_line = bob_page.locator(".timeline li.unread-line + li.message .body")
    expect(unread_line).to_have_text("just between us")
    expect(bob_conversation.locator(".badge")).to_have_count(0)
    send(bob_page, "agreed")
    expect(message(alice_page, "agreed")).to_have_count(1)


def test_a_server_restart_loses_nothing_and_doubles_nothing(
    browsing, server, restart_server, people
) -> None:
    alice, bob, room = people
    bob_page = app_page(browsing, bob)
    open_room(bob_page, room)

    cut_off(bob_page, server)
    send(bob_page, "written while offline")
    expect(bob_page.locator(".timeline li.pending")).to_have_count(1)
    off_loop(
        lambda: [message_post(alice, room_id=room.public_id, body=f"away {n}") for n in range(10)]
    )
    restart_server()
    wait_live(bob_page, timeout=30_000)
    expect(bob_page.locator(".timeline li.pending")).to_have_count(0)
    expect(message(bob_page, "written while offline")).to_have_count(1)
    stored = room_seqs(room)
    assert off_loop(lambda: Message.objects.filter(body="written while offline").count()) == 1
    expect_seqs(bob_page, stored)


def test_an_outage_longer_than_the_replay_limit_is_filled(
    browsing, server, restart_server, people
) -> None:
    alice, bob, room = people
    bob_page = app_page(browsing, bob)
    open_room(bob_page, room)

    server.kill()
    off_loop(
        lambda: [
            message_post(alice, room_id=room.public_id, body=f"missed {n}")
            for n in range(3 * REPLAY_MAX)
        ]
    )
    restart_server(PARLEY_REPLAY_MAX=str(REPLAY_MAX))
    wait_live(bob_page, timeout=30_000)
    expect_seqs(bob_page, room_seqs(room))
    expect(bob_page.locator(".timeline li.gap")).to_have_count(0)


def test_edits_and_deletes_during_a_blip_show_without_a_reload(
    browsing, server, restart_server, people
) -> None:
    alice, bob, room = people
    posted = off_loop(
        lambda: [message_post(alice, room_id=room.public_id, body=f"note {n}") for n in range(3)]
    )
    bob_page = app_page(browsing, bob)
    open_room(bob_page, room)
    expect(message(bob_page, "note 2")).to_have_count(1)

    cut_off(bob_page, server)
    off_loop(message_edit, alice, room_id=room.public_id, seq=posted[0].seq, body="note 0, fixed")
    off_loop(message_delete, alice, room_id=room.public_id, seq=posted[1].seq)
    restart_server()
    wait_live(bob_page, timeout=30_000)
    expect(message(bob_page, "note 0, fixed")).to_have_count(1)
    expect(bob_page.locator(f".timeline li[data-seq='{posted[1].seq}'] .tombstone")).to_be_visible()
    expect(message(bob_page, "note 1")).to_have_count(0)


def test_hostile_names_and_bodies_are_text(browsing, people) -> None:
    alice, bob, room = people
    hostile = "\u202eevil<img src=x onerror=alert(1)>"

    def rename() -> None:
        alice.display_name = hostile
        alice.save()
        message_post(alice, room_id=room.public_id, body="<script>alert(2)</script>")
        message_post(alice, room_id=room.public_id, body="[click](javascript:alert(3))")

    off_loop(rename)
    bob_page = app_page(browsing, bob)
    open_room(bob_page, room)
    entry = message(bob_page, "<script>alert(2)</script>")
    expect(entry).to_have_count(1)
    expect(entry.locator("bdi.author")).to_have_text(hostile)
    expect(bob_page.locator(".timeline img[src='x']")).to_have_count(0)
    expect(message(bob_page, "click")).to_have_count(1)
    expect(bob_page.locator(".timeline a[href^='javascript' i]")).to_have_count(0)
    assert browsing.dialogs == []


def test_logging_out_in_another_tab_sends_the_app_to_log_in(browsing, people) -> None:
    _alice, bob, _room = people
    bob_page = app_page(browsing, bob)
    other_tab = bob_page.context.new_page()
    other_tab.goto("/app/")
    other_tab.get_by_role("button", name="Log out").click()
    expect(other_tab).to_have_url(f"{browsing.server.origin}/app/login")
    # The session's socket in the first tab is closed (4001/4003): it asks to log in, once.
    expect(bob_page).to_have_url(f"{browsing.server.origin}/app/login", timeout=15_000)
    expect(bob_page.get_by_label("Username")).to_be_visible()


def test_a_picture_goes_from_one_person_to_the_other(browsing, people) -> None:
    alice, bob, room = people
    alice_page = app_page(browsing, alice)
    bob_page = app_page(browsing, bob)
    open_room(alice_page, room)
    open_room(bob_page, room)
    alice_page.locator("#attach").set_input_files(
        [{"name": "harbour.png", "mimeType": "image/png", "buffer": png()}]
    )
    upload = alice_page.locator(".uploads li")
    expect(upload).to_contain_text("harbour.png")
    expect(upload).not_to_contain_text("uploading")
    send(alice_page, "the view")
    picture = message(bob_page, "the view").locator(".attachments img")
    expect(picture).to_have_attribute("alt", "harbour.png")
    expect(picture).to_have_js_property("complete", True)
    assert picture.evaluate("img => img.naturalWidth") > 0


SCREENS = ("login", "home", "room", "directory")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_app_is_accessible_on_desktop_and_phone(browsing, people, phone) -> None:
    alice, _bob, room = people
    page = browsing.new_page(phone=phone)
    page.goto("/app/")
    found = {"login": accessibility_violations(page)}
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_live(page)
    found["home"] = accessibility_violations(page)
    open_room(page, room)
    found["room"] = accessibility_violations(page)
    if phone:  # the room fills the screen; the way back leads to the list
        timeline = page.locator(".timeline").bounding_box()
        assert timeline and timeline["height"] >= 0.55 * PHONE["height"]
        page.get_by_role("link", name="All rooms and conversations").click()
        expect(page.locator(".sidebar")).to_be_visible()
    page.goto("/app/rooms")
    expect(page.locator("main h1")).to_have_text("Rooms")
    found["directory"] = accessibility_violations(page)
    failures = {screen: describe_violations(found[screen]) for screen in SCREENS if found[screen]}
    assert not failures, failures


def test_reactions_toggle_live_both_ways(browsing, people) -> None:
    alice, bob, room = people
    alice_page = app_page(browsing, alice)
    bob_page = app_page(browsing, bob)
    open_room(alice_page, room)
    open_room(bob_page, room)
    for page in (alice_page, bob_page):
        expect(message(page, "hello from before")).to_have_count(1)

    theirs = message(bob_page, "hello from before")
    theirs.get_by_role("button", name="Add reaction").click()
    theirs.get_by_role("button", name="React with 👍").click()
    chip = message(alice_page, "hello from before").locator(".chip")
    expect(chip).to_have_attribute("aria-label", "👍 1: bob")
    expect(chip).to_have_attribute("aria-pressed", "false")
    chip.click()
    expect(chip).to_have_attribute("aria-label", "👍 2: bob, alice")
    expect(chip).to_have_attribute("aria-pressed", "true")
    bob_chip = theirs.locator(".chip")
    expect(bob_chip).to_have_attribute("aria-label", "👍 2: bob, alice")
    bob_chip.click()
    expect(chip).to_have_attribute("aria-label", "👍 1: alice")
    chip.click()
    expect(message(bob_page, "hello from before").locator(".chip")).to_have_count(0)


def test_a_mention_is_badged_and_highlighted_live_and_after_a_reload(browsing, people) -> None:
    alice, bob, room = people
    design = off_loop(make_room, alice, name="Design", members=[bob])
    alice_page = app_page(browsing, alice)
    bob_page = app_page(browsing, bob)
    open_room(alice_page, room)
    open_room(bob_page, design)
    general_link = bob_page.locator(".sidebar a", has=bob_page.locator(".name", has_text="General"))

    send(alice_page, "@bob can you look?")

    badge = general_link.locator(".badge.mention")
    expect(badge).to_have_text("@1")
    bob_page.reload()
    wait_live(bob_page)
    expect(badge).to_have_text("@1")
    open_room(bob_page, room)
    mentioned = message(bob_page, "@bob can you look?")
    expect(mentioned).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mentioned.locator(".mention.me")).to_have_text("@bob")
    expect(badge).to_have_count(0)
    expect(message(alice_page, "@bob can you look?")).not_to_have_class(
        re.compile(r"\bmentions-me\b")
    )

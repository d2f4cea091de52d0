"""Talking in a room through the real pages: joining, live messages, the composer, edits."""

import re

import pytest
from playwright.sync_api import Page, expect

from chat.models import Message
from tests.browser.harness import off_loop
from tests.browser.pages import (
    message_at,
    open_room,
    room_path,
    send,
    text_message,
    wait_for_text,
    wait_live,
)
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_WITHIN = 1.0  # seconds from pressing Enter to the message on the other page


@pytest.fixture
def general():
    """alice and bob, not yet members of "General", which carol created (so is in)."""

    def build():
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        carol = UserFactory(username="carol", display_name="Carol")
        return alice, bob, carol, make_room(carol, name="General")

    return off_loop(build)


def join_from_directory(page: Page, room) -> None:
    entry = page.locator(f"#directory li[data-room-id='{room.public_id}']")
    expect(entry).to_contain_text(room.name)
    entry.locator("form.join-form button").click()
    page.wait_for_url(f"**{room_path(room)}")
    expect(page.locator("#room")).to_have_attribute("data-room-id", str(room.public_id))
    wait_live(page)


def joined_line(page: Page, name: str):
    return page.locator("#timeline li.message.kind-joined .system").filter(
        has_text=re.compile(rf"^\s*{re.escape(name)} joined\s*$")
    )


def test_two_users_join_from_the_directory_and_see_each_others_messages_within_a_second(
    server, page_for, general
) -> None:
    alice, bob, carol, room = general
    carol_page = page_for(carol)
    open_room(carol_page, room)
    alice_page = page_for(alice, login_form=True)
    join_from_directory(alice_page, room)
    bob_page = page_for(bob, login_form=True)
    join_from_directory(bob_page, room)

    expect(joined_line(carol_page, "Alice")).to_have_count(1)
    expect(joined_line(carol_page, "Bob")).to_have_count(1)
    expect(joined_line(alice_page, "Bob")).to_have_count(1)
    for name in ("alice", "bob"):
        expect(carol_page.locator(f"#members li[data-username='{name}']")).to_have_count(1)

    pressed = send(alice_page, "Hello from Alice")
    alice_to_bob = wait_for_text(bob_page, "Hello from Alice") - pressed
    pressed = send(bob_page, "Hi Alice, Bob here")
    bob_to_alice = wait_for_text(alice_page, "Hi Alice, Bob here") - pressed
    print(f"live delivery: alice->bob {alice_to_bob:.3f}s, bob->alice {bob_to_alice:.3f}s")
    assert alice_to_bob < LIVE_WITHIN
    assert bob_to_alice < LIVE_WITHIN

    for page in (alice_page, bob_page, carol_page):
        for body, author in (("Hello from Alice", "Alice"), ("Hi Alice, Bob here", "Bob")):
            message = text_message(page, body)
            expect(message).to_have_count(1)
            expect(message.locator(".author")).to_have_text(author)
            expect(message.locator("time")).to_have_count(1)
    expect(text_message(alice_page, "Hello from Alice")).to_have_class(re.compile(r"\bmine\b"))
    expect(text_message(bob_page, "Hello from Alice")).not_to_have_class(re.compile(r"\bmine\b"))
    for page in (alice_page, bob_page):
        link = page.locator(f"#sidebar a.room-link[data-room-id='{room.public_id}']")
        expect(link.locator(".room-name")).to_have_text(re.compile(r"^#\s*General$"))


def test_enter_sends_and_shift_enter_breaks_the_line(server, page_for, pair) -> None:
    alice, bob, room = pair
    alice_page = page_for(alice)
    open_room(alice_page, room)
    bob_page = page_for(bob)
    open_room(bob_page, room)

    box = alice_page.locator("form#composer textarea[name=body]")
    box.click()
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    box.press("Enter")
    expect(box).to_have_value("")

    arrived = bob_page.locator("#timeline li.message.kind-text", has_text="second line")
    expect(arrived).to_have_count(1)
    expect(arrived.locator(".body")).to_have_text("first line\nsecond line", use_inner_text=True)
    seq = int(arrived.get_attribute("data-seq"))
    stored = off_loop(lambda: Message.objects.get(room=room, seq=seq).body)
    assert stored == "first line\nsecond line"


def test_editing_and_deleting_my_message_updates_the_other_page_live(
    server, page_for, browsing, pair
) -> None:
    alice, bob, room = pair
    alice_page = page_for(alice, accept_dialogs=True)
    open_room(alice_page, room)
    bob_page = page_for(bob)
    open_room(bob_page, room)

    send(bob_page, "a message by bob")
    theirs = text_message(alice_page, "a message by bob")
    expect(theirs).to_have_count(1)
    expect(theirs.locator("button.edit")).to_have_count(0)
    expect(theirs.locator("button.delete")).to_have_count(0)

    send(alice_page, "lunch at noon?")
    wait_for_text(bob_page, "lunch at noon?")
    mine = text_message(alice_page, "lunch at noon?")
    expect(mine).to_have_class(re.compile(r"\bmine\b"))
    seq = int(mine.get_attribute("data-seq"))
    mine = message_at(alice_page, seq)

    mine.hover()
    mine.locator("button.edit").click()
    editor = mine.locator("textarea.edit-box")
    expect(editor).to_have_value("lunch at noon?")
    editor.fill("lunch at 12:30?")
    editor.press("Enter")
    expect(message_at(bob_page, seq).locator(".body")).to_have_text("lunch at 12:30?")
    expect(message_at(bob_page, seq).locator(".edited")).to_be_visible()
    expect(mine.locator(".body")).to_have_text("lunch at 12:30?")
    expect(mine.locator("textarea.edit-box")).to_have_count(0)

    assert browsing.dialogs == []
    mine.hover()
    mine.locator("button.delete").click()
    for page in (bob_page, alice_page):
        gone = message_at(page, seq)
        expect(gone.locator(".tombstone")).to_have_text("message deleted")
        expect(gone).not_to_contain_text("lunch")
    assert [kind for _, kind, _ in browsing.dialogs] == ["confirm"]
    deleted = off_loop(lambda: Message.objects.get(room=room, seq=seq))
    assert deleted.is_deleted
    assert deleted.body == ""

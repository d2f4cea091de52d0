"""Mentions in the server-rendered page: the mentioned person's entry and name highlighted, a
mention badge in their sidebar and the tab title, live and after a reload; the Mentions page
links to the entry; notifications are asked for only from the button."""

import re

import pytest
from playwright.sync_api import expect

from chat.services.messages import message_post
from tests.browser.harness import off_loop
from tests.browser.pages import open_room, send, text_message
from tests.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)


def mention_badge(page, room):
    return page.locator(f"#sidebar a.room-link[data-room-id='{room.public_id}'] .badge.mention")


def test_a_mention_is_highlighted_and_counted_live_and_after_a_reload(
    server, page_for, pair
) -> None:
    alice, bob, general = pair
    design = off_loop(make_room, alice, name="Design", members=[bob])
    alice_page, bob_page = page_for(alice), page_for(bob)
    open_room(alice_page, general)
    open_room(bob_page, design)
    badge = mention_badge(bob_page, general)
    expect(badge).to_be_hidden()

    send(alice_page, "@bob can you look at this?")
    send(alice_page, "and nothing for bob here")

    expect(badge).to_have_text("1")
    expect(badge).to_be_visible()
    expect(bob_page).to_have_title(re.compile(r"^\(2 · @1\) Design · Parley$"))
    entry = text_message(alice_page, "@bob can you look at this?")
    expect(entry).not_to_have_class(re.compile(r"\bmentions-me\b"))  # alice wrote it
    expect(entry.locator(".body .mention")).to_have_attribute("data-username", "bob")

    bob_page.reload()
    expect(badge).to_have_text("1")
    expect(badge).to_be_visible()
    open_room(bob_page, general)
    mentioned = text_message(bob_page, "@bob can you look at this?")
    expect(mentioned).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mentioned.locator(".body .mention.me")).to_have_text("@bob")
    expect(text_message(bob_page, "and nothing for bob here")).not_to_have_class(
        re.compile(r"\bmentions-me\b")
    )
    # Reading the room cleared the badge, in a new tab too.
    other_tab = page_for(bob)
    open_room(other_tab, design)
    expect(mention_badge(other_tab, general)).to_be_hidden()
    expect(bob_page).to_have_title("General · Parley")

    # A mention in a room bob is not reading, live.
    open_room(alice_page, design)
    send(alice_page, "@bob one more, in Design")
    expect(mention_badge(bob_page, design)).to_have_text("1")
    expect(mention_badge(bob_page, design)).to_be_visible()


def test_the_mentions_page_lists_mentions_and_links_to_the_entry(server, page_for, pair) -> None:
    alice, bob, general = pair
    message = off_loop(message_post, alice, room_id=general.public_id, body="**@bob** the plan")
    page = page_for(bob)

    page.goto("/mentions/")

    entry = page.locator("#mentions li.mention-entry")
    expect(entry).to_have_count(1)
    expect(entry.locator(".body strong .mention")).to_have_attribute("data-username", "bob")
    entry.locator("a.mention-link").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{general.public_id}/\?at={message.seq}$"))
    # Opened at the message, which is highlighted for a moment (as a reply's quote does).
    expect(page.locator(f"#timeline li.message[data-seq='{message.seq}']")).to_have_class(
        re.compile(r"\bhighlighted\b")
    )


def test_notifications_are_asked_for_only_from_the_button(server, page_for, pair) -> None:
    _, bob, general = pair
    page = page_for(bob)
    page.add_init_script(
        """
        window.permissionAsked = 0;
        Object.defineProperty(window, "Notification", { value: class {
            static permission = "default";
            static requestPermission() {
                window.permissionAsked += 1;
                return Promise.resolve("granted");
            }
        } });
        """
    )
    open_room(page, general)

    button = page.get_by_role("button", name="Enable notifications")
    expect(button).to_be_visible()
    assert page.evaluate("window.permissionAsked") == 0
    button.click()
    expect(button).to_be_hidden()
    assert page.evaluate("window.permissionAsked") == 1

    mute = page.get_by_role("button", name="Mute notifications")
    mute.click()
    expect(page.get_by_role("button", name="Unmute notifications")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.reload()
    expect(page.get_by_role("button", name="Unmute notifications")).to_be_visible()

"""Replies in the server-rendered page: two people reply live, the quote stays after a reload,
jumps to a message older than the loaded page, and shows a deleted target as deleted."""

import re

import pytest
from playwright.sync_api import expect

from chat.services.messages import message_post
from chat.services.reads import read_mark
from tests.browser.harness import off_loop
from tests.browser.pages import message_at, open_room, send, text_message, wait_live

pytestmark = pytest.mark.django_db(transaction=True)

HIGHLIGHTED = re.compile(r"\bhighlighted\b")


def test_two_people_reply_live_and_the_quote_stays_after_a_reload(server, page_for, pair):
    alice, bob, room = pair
    off_loop(message_post, alice, room_id=room.public_id, body="Lunch at noon?\nOr one?")
    alice_page, bob_page = page_for(alice), page_for(bob)
    open_room(alice_page, room)
    open_room(bob_page, room)

    question = text_message(bob_page, "Lunch at noon?\nOr one?")
    question.hover()
    question.get_by_role("button", name="Reply to message").click()
    bar = bob_page.locator("#reply-bar")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Replying to Alice: Lunch at noon?")
    send(bob_page, "noon <b>works</b>")
    expect(bar).to_be_hidden()

    reply = text_message(alice_page, "noon <b>works</b>")
    quote = reply.locator("button.quote")
    expect(quote).to_have_text("Alice Lunch at noon?")
    expect(quote.locator("b")).to_have_count(0)

    # Alice answers the answer, then thinks better of a reply: Escape cancels it.
    reply.hover()
    reply.get_by_role("button", name="Reply to message").click()
    send(alice_page, "great")
    box = alice_page.locator("form#composer textarea[name=body]")
    text_message(alice_page, "great").hover()
    text_message(alice_page, "great").get_by_role("button", name="Reply to message").click()
    expect(alice_page.locator("#reply-bar")).to_be_visible()
    box.press("Escape")
    expect(alice_page.locator("#reply-bar")).to_be_hidden()
    send(alice_page, "reply cancelled")
    expect(text_message(alice_page, "reply cancelled").locator("button.quote")).to_be_hidden()
    expect(text_message(bob_page, "great").locator("button.quote")).to_have_text(
        "Bob noon <b>works</b>"
    )

    # Alice edits her question: the quote follows, live and after a reload.
    question_here = alice_page.locator("#timeline li.message[data-seq]").filter(
        has=alice_page.locator(".body", has_text="Lunch at noon?")
    )
    question_here.hover()
    question_here.get_by_role("button", name="Edit message").click()
    editor = question_here.locator("textarea.edit-box")
    editor.fill("Lunch at one?")
    editor.press("Enter")
    bob_quote = text_message(bob_page, "noon <b>works</b>").locator("button.quote")
    expect(bob_quote).to_have_text("Alice Lunch at one?")

    bob_page.reload()
    expect(bob_quote).to_have_text("Alice Lunch at one?")
    expect(text_message(bob_page, "great").locator("button.quote")).to_have_text(
        "Bob noon <b>works</b>"
    )


def test_a_quote_jumps_to_an_older_message_and_a_deleted_one_shows_deleted(
    server, page_for, pair
) -> None:
    alice, bob, room = pair
    old = off_loop(message_post, alice, room_id=room.public_id, body="the very first plan")
    gone = off_loop(message_post, alice, room_id=room.public_id, body="a plan to delete")
    for n in range(150):
        filler = off_loop(message_post, alice, room_id=room.public_id, body=f"filler {n}")
    off_loop(message_post, bob, room_id=room.public_id, body="nearby", reply_to=filler.seq)
    off_loop(message_post, bob, room_id=room.public_id, body="back to that", reply_to=old.seq)
    last = off_loop(message_post, bob, room_id=room.public_id, body="and this", reply_to=gone.seq)
    off_loop(read_mark, bob, room_id=room.public_id, seq=last.seq)  # the newest page only
    bob_page = page_for(bob)
    open_room(bob_page, room)
    expect(message_at(bob_page, old.seq)).to_have_count(0)

    # Deleted live, by alice on a page opened at it: the quote already shown says so.
    alice_page = page_for(alice, accept_dialogs=True)
    alice_page.goto(f"/rooms/{room.public_id}/?at={gone.seq}")
    wait_live(alice_page)
    doomed = message_at(alice_page, gone.seq)
    expect(doomed).to_be_in_viewport()
    doomed.hover()
    doomed.get_by_role("button", name="Delete message").click()
    expect(text_message(bob_page, "and this").locator("button.quote")).to_have_text(
        "Alice deleted message"
    )

    text_message(bob_page, "back to that").locator("button.quote").click()
    target = message_at(bob_page, old.seq)
    expect(target).to_be_in_viewport()
    expect(target).to_have_class(HIGHLIGHTED)
    assert f"at={old.seq}" in bob_page.url
    bob_page.wait_for_timeout(1_000)  # the gap below the page may load meanwhile
    expect(target).to_be_in_viewport()
    # The page between the anchor's page and the live end is a gap that fills as it is reached,
    # and live messages still arrive at the end.
    send(alice_page, "live after the jump")
    bob_page.locator("#timeline-scroll").evaluate("box => box.scrollTop = box.scrollHeight")
    expect(text_message(bob_page, "live after the jump")).to_have_count(1)
    expect(text_message(bob_page, "filler 149")).to_have_count(1, timeout=10_000)
    seqs = bob_page.eval_on_selector_all(
        "#timeline li.message[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )
    assert seqs == sorted(seqs)
    assert len(seqs) == len(set(seqs))

    # After a reload the deleted target shows as deleted from the server's page too.
    bob_page.goto(f"/rooms/{room.public_id}/")
    expect(text_message(bob_page, "and this").locator("button.quote")).to_have_text(
        "Alice deleted message"
    )
    # A loaded target: scrolled to and highlighted in place, without leaving the page.
    text_message(bob_page, "nearby").locator("button.quote").click()
    expect(message_at(bob_page, filler.seq)).to_have_class(HIGHLIGHTED)
    assert "at=" not in bob_page.url

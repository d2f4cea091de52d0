"""Replies in the SvelteKit client: answered live with the quote shown both ways, Escape
cancels, kept after a reload, a quote jumps to a message older than the loaded page (the
entries between left as a hole to load), and a deleted target shows as deleted."""

import re

import pytest
from playwright.sync_api import expect

from chat.services.messages import message_post
from chat.services.reads import read_mark
from tests.browser.harness import off_loop
from tests.browser.test_sveltekit_app import (
    _app_is_built,  # noqa: F401 (the fixture: fail when the app is not built)
    app_page,
    message,
    open_room,
    people,  # noqa: F401 (a fixture)
    send,
    wait_live,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_replies_live_after_a_reload_and_deleted(browsing, people) -> None:  # noqa: F811
    alice, bob, room = people
    alice_page = app_page(browsing, alice)
    bob_page = app_page(browsing, bob)
    open_room(alice_page, room)
    open_room(bob_page, room)

    message(bob_page, "hello from before").get_by_role("button", name="Reply to message").click()
    expect(bob_page.locator(".replying")).to_contain_text("Replying to Alice: hello from before")
    send(bob_page, "hi <i>there</i>")
    expect(bob_page.locator(".replying")).to_have_count(0)
    quote = message(alice_page, "hi <i>there</i>").locator("button.quote")
    expect(quote).to_have_text(re.compile(r"Alice\s+hello from before"))
    expect(quote.locator("i")).to_have_count(0)

    message(alice_page, "hi <i>there</i>").get_by_role("button", name="Reply to message").click()
    box = alice_page.get_by_label("Message", exact=True)
    box.press("Escape")
    expect(alice_page.locator(".replying")).to_have_count(0)
    send(alice_page, "not a reply")
    expect(message(bob_page, "not a reply")).to_have_count(1)
    expect(message(bob_page, "not a reply").locator("button.quote")).to_have_count(0)

    bob_page.reload()
    wait_live(bob_page)
    kept = message(bob_page, "hi <i>there</i>").locator("button.quote")
    expect(kept).to_have_text(re.compile(r"Alice\s+hello from before"))

    # Alice edits, then deletes, what Bob answered: his quote follows at once.
    first = message(alice_page, "hello from before")
    first.get_by_role("button", name="Edit message").click()
    editor = alice_page.get_by_role("textbox", name="Edit message")
    editor.fill("hello, edited")
    editor.press("Enter")
    expect(kept).to_have_text(re.compile(r"Alice\s+hello, edited"))
    first = message(alice_page, "hello, edited")
    first.get_by_role("button", name="Delete message").click()
    first.get_by_role("button", name="Delete", exact=True).click()
    expect(kept).to_have_text(re.compile(r"Alice\s+deleted message"))


def test_a_quote_jumps_to_a_message_older_than_the_page(browsing, people) -> None:  # noqa: F811
    alice, bob, room = people
    old = off_loop(message_post, alice, room_id=room.public_id, body="the original plan")
    for n in range(120):
        off_loop(message_post, alice, room_id=room.public_id, body=f"filler {n}")
    last = off_loop(message_post, bob, room_id=room.public_id, body="back to it", reply_to=old.seq)
    off_loop(read_mark, bob, room_id=room.public_id, seq=last.seq)
    bob_page = app_page(browsing, bob)
    open_room(bob_page, room)
    target = bob_page.locator(f".timeline li[data-seq='{old.seq}']")
    expect(target).to_have_count(0)

    message(bob_page, "back to it").locator("button.quote").click()

    expect(target).to_be_in_viewport()
    expect(target).to_have_class(re.compile(r"\bhighlighted\b"))
    hole = bob_page.locator(".timeline li.hole")
    expect(hole).to_have_count(1)
    for _ in range(5):
        if hole.count() == 0:
            break
        hole.get_by_role("button", name="Load them").click()
        bob_page.wait_for_timeout(300)
    expect(hole).to_have_count(0)
    seqs = bob_page.eval_on_selector_all(
        ".timeline li[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )
    assert seqs == sorted(set(seqs))
    assert seqs[-1] == last.seq
    assert list(range(seqs[0], last.seq + 1)) == seqs

"""Reactions in the server-rendered page: added from the row of common emoji, toggled on the
chip, seen live by the other person and kept after a reload."""

import pytest
from playwright.sync_api import expect

from chat.services.messages import message_post
from tests.browser.harness import off_loop
from tests.browser.pages import open_room, text_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_reactions_toggle_live_and_stay_after_a_reload(server, page_for, pair) -> None:
    alice, bob, room = pair
    off_loop(message_post, alice, room_id=room.public_id, body="lunch at noon?")
    alice_page, bob_page = page_for(alice), page_for(bob)
    open_room(alice_page, room)
    open_room(bob_page, room)

    theirs = text_message(bob_page, "lunch at noon?")
    theirs.hover()
    theirs.get_by_role("button", name="Add reaction").click()
    theirs.get_by_role("button", name="React with 🎉").click()
    chip = text_message(alice_page, "lunch at noon?").locator("button.reaction")
    expect(chip).to_have_attribute("aria-label", "🎉 1: bob")
    expect(chip).to_have_attribute("aria-pressed", "false")
    chip.click()
    expect(chip).to_have_attribute("aria-label", "🎉 2: bob, alice")
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(theirs.locator("button.reaction")).to_have_attribute("aria-label", "🎉 2: bob, alice")

    bob_page.reload()
    kept = text_message(bob_page, "lunch at noon?").locator("button.reaction")
    expect(kept).to_have_attribute("aria-label", "🎉 2: bob, alice")
    expect(kept).to_have_attribute("aria-pressed", "true")
    kept.click()
    expect(chip).to_have_attribute("aria-label", "🎉 1: alice")
    chip.click()
    expect(text_message(bob_page, "lunch at noon?").locator("button.reaction")).to_have_count(0)

"""Markdown in the server-rendered page: shown formatted live and after a reload, the same
markup both ways, edited from its source, and hostile Markdown inert."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import open_room, send, text_message

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "**bold**, _soft_ and `code`\n> quoted\n- one\n- two"


def test_markdown_is_formatted_live_and_after_a_reload_and_edited_as_source(
    server, page_for, pair
) -> None:
    alice, bob, room = pair
    alice_page, bob_page = page_for(alice), page_for(bob)
    open_room(alice_page, room)
    open_room(bob_page, room)

    send(alice_page, SOURCE)
    live = bob_page.locator("#timeline li.message .body").filter(has=bob_page.locator("strong"))
    expect(live.locator("strong")).to_have_text("bold")
    expect(live.locator("em")).to_have_text("soft")
    expect(live.locator("code")).to_have_text("code")
    expect(live.locator("blockquote")).to_have_text("quoted")
    expect(live.locator("li")).to_have_text(["one", "two"])
    shown_live = live.inner_html()

    bob_page.reload()
    reloaded = bob_page.locator("#timeline li.message .body").filter(has=bob_page.locator("strong"))
    expect(reloaded.locator("strong")).to_have_text("bold")
    assert reloaded.inner_html().strip() == shown_live.strip()

    mine = alice_page.locator("#timeline li.message.mine").last
    mine.hover()
    mine.locator("button.edit").click()
    expect(mine.locator("textarea.edit-box")).to_have_value(SOURCE)


def test_hostile_markdown_is_inert(server, page_for, pair, browsing) -> None:
    alice, bob, room = pair
    alice_page, bob_page = page_for(alice), page_for(bob)
    open_room(alice_page, room)
    open_room(bob_page, room)
    for body in ("[x](javascript:alert(1))", "<img src=x onerror=alert(2)>", "```\n<b>hi</b>\n```"):
        send(alice_page, body)
    expect(bob_page.locator("#timeline li.message.kind-text")).to_have_count(3)
    timeline = bob_page.locator("#timeline")
    expect(timeline.locator("a[href^='javascript' i]")).to_have_count(0)
    expect(timeline.locator(".body img")).to_have_count(0)
    expect(timeline.locator(".body b")).to_have_count(0)
    expect(text_message(bob_page, "<img src=x onerror=alert(2)>")).to_have_count(1)
    expect(timeline.locator("pre code").last).to_have_text("<b>hi</b>")
    assert browsing.dialogs == []

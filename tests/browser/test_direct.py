"""Direct conversations through the pages: opened by username, live for both, hidden from others."""

import re

import pytest
from playwright.sync_api import expect

from chat.services.direct import direct_open
from tests.browser.harness import off_loop
from tests.browser.pages import send, text_message, wait_for_text, wait_live
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOM_URL = re.compile(r"/rooms/([0-9a-f-]{36})/$")


@pytest.fixture
def people():
    def build():
        return tuple(
            UserFactory(username=name, display_name=name.title())
            for name in ("alice", "bob", "carol")
        )

    return off_loop(build)


def test_a_conversation_opened_by_username_is_live_for_both_and_a_404_for_anyone_else(
    server, page_for, people
) -> None:
    alice, bob, carol = people
    bob_page = page_for(bob)
    wait_live(bob_page)
    alice_page = page_for(alice)
    form = alice_page.locator("form#open-direct")
    form.locator("input[name=username]").fill("bob")
    form.locator("button[type=submit]").click()
    alice_page.wait_for_url(ROOM_URL)
    room_id = ROOM_URL.search(alice_page.url).group(1)
    expect(alice_page.locator("#room")).to_have_attribute("data-room-id", room_id)
    expect(alice_page.locator("#room-title")).to_contain_text("Bob")
    wait_live(alice_page)

    # bob was on his home page: the conversation appears in his sidebar as it is opened.
    link = bob_page.locator(f"#sidebar a.room-link[data-room-id='{room_id}']")
    expect(link).to_contain_text("Alice")
    link.click()
    bob_page.wait_for_url(f"**/rooms/{room_id}/")
    wait_live(bob_page)

    send(alice_page, "just between us, bob")
    wait_for_text(bob_page, "just between us, bob")
    send(bob_page, "agreed, alice")
    wait_for_text(alice_page, "agreed, alice")
    for page in (alice_page, bob_page):
        expect(text_message(page, "just between us, bob").locator(".author")).to_have_text("Alice")
        expect(text_message(page, "agreed, alice").locator(".author")).to_have_text("Bob")

    carol_page = page_for(carol)
    response = carol_page.goto(f"/rooms/{room_id}/")
    assert response is not None
    assert response.status == 404
    expect(carol_page.locator("body")).to_contain_text("No such room.")
    page_text = carol_page.locator("body").inner_text()
    html = carol_page.content()
    for secret in ("just between us", "agreed, alice"):
        assert secret not in page_text
        assert secret not in html
    expect(carol_page.locator(f"#sidebar a.room-link[data-room-id='{room_id}']")).to_have_count(0)
    # The partials the room page loads are closed to carol too, with her session.
    for partial in ("older/?before=100", "members/"):
        hidden = carol_page.request.get(f"/rooms/{room_id}/{partial}")
        assert hidden.status == 404, partial
        assert "just between us" not in hidden.text()


def test_the_sidebar_shows_a_conversation_partner_come_online_and_go(
    server, page_for, people
) -> None:
    alice, bob, _ = people
    off_loop(lambda: direct_open(alice, username="bob"))
    bob_page = page_for(bob)
    wait_live(bob_page)
    dot = bob_page.locator("#sidebar .dot[data-peer='alice']")
    expect(dot).to_have_count(1)
    expect(dot).not_to_have_class(re.compile(r"\bonline\b"))

    alice_page = page_for(alice)
    wait_live(alice_page)
    expect(dot).to_have_class(re.compile(r"\bonline\b"))  # a batched presence frame
    alice_page.close()
    expect(dot).not_to_have_class(re.compile(r"\bonline\b"), timeout=10_000)

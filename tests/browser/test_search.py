"""Search in the server-rendered page: the box in the top bar, results from the user's own rooms
only with the match marked, more results on demand, and a result opening its room."""

import pytest
from playwright.sync_api import expect

from chat.models import Room
from chat.services.direct import direct_open
from chat.services.messages import message_post
from tests.browser.harness import off_loop
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


def build_rooms(alice, bob) -> tuple[Room, Room]:
    carol = UserFactory(username="carol", display_name="Carol")
    elsewhere = make_room(bob, name="Elsewhere", visibility=Room.Visibility.INVITE)
    message_post(bob, room_id=elsewhere.public_id, body="quarterly numbers, not for alice")
    others = direct_open(bob, username="carol")
    message_post(carol, room_id=others.public_id, body="quarterly numbers between us")
    general = Room.objects.get(name="General")
    for number in range(1, 24):
        message_post(bob, room_id=general.public_id, body=f"quarterly report draft {number}")
    return general, elsewhere


def test_a_user_searches_sees_only_their_rooms_and_opens_a_result(server, page_for, pair) -> None:
    alice, bob, _ = pair
    general, _ = off_loop(build_rooms, alice, bob)
    page = page_for(alice)

    box = page.get_by_role("searchbox", name="Search messages")
    box.fill("Quarterly </>")
    box.press("Enter")

    results = page.locator("#search-results li.search-result")
    expect(results).to_have_count(20)  # the first page, newest first
    first = results.first
    expect(first.locator(".excerpt")).to_have_text("quarterly report draft 23")
    expect(first.locator("mark")).to_have_text("quarterly")
    expect(first.locator(".search-room")).to_have_text("#General")
    expect(first.locator(".author")).to_have_text("Bob")
    expect(first.locator("time")).to_have_attribute("data-local", "")
    expect(page.locator("#search-results")).not_to_contain_text("not for alice")
    expect(page.locator("#search-results")).not_to_contain_text("between us")
    expect(page.locator("#search-results b")).to_have_count(0)

    page.get_by_role("button", name="More results").click()
    expect(results).to_have_count(23)
    expect(results.last.locator(".excerpt")).to_have_text("quarterly report draft 1")
    expect(page.get_by_role("button", name="More results")).to_have_count(0)
    expect(page.locator("#search-results")).not_to_contain_text("not for alice")

    oldest = off_loop(lambda: general.messages.get(body="quarterly report draft 1").seq)
    last = results.last.locator("a")
    expect(last).to_have_attribute("href", f"/rooms/{general.public_id}/?at={oldest}")
    last.click()
    expect(page.locator("#room")).to_have_attribute("data-room-id", str(general.public_id))


def test_the_filters_and_errors_show_on_the_page(server, page_for, pair) -> None:
    alice, bob, room = pair
    off_loop(message_post, alice, room_id=room.public_id, body="standup notes")
    off_loop(message_post, bob, room_id=room.public_id, body="standup moved")
    page = page_for(alice)
    page.goto("/search/?q=standup")

    page.get_by_label("Author").fill("bob")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#search-results .excerpt")).to_have_text(["standup moved"])

    page.get_by_label("Words").fill(" ")
    page.get_by_label("Author").fill("")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Type something to search for.")


def test_the_sveltekit_app_searches_and_opens_a_result(server, browsing, pair) -> None:
    from tests.browser.test_sveltekit_app import app_page

    alice, bob, general = pair
    off_loop(build_rooms, alice, bob)
    page = app_page(browsing, alice)

    box = page.get_by_role("searchbox", name="Search messages")
    box.fill("report </>")
    box.press("Enter")

    results = page.locator(".search-results li")
    expect(results).to_have_count(20)
    expect(results.first.locator(".excerpt")).to_have_text("quarterly report draft 23")
    expect(results.first.locator("mark")).to_have_text("report")
    expect(page.locator(".search-results mark")).to_have_count(20)
    page.get_by_role("button", name="More results").click()
    expect(results).to_have_count(23)
    expect(page.locator(".search-results")).not_to_contain_text("not for alice")
    expect(page.locator(".search-results")).not_to_contain_text("between us")

    seq = off_loop(lambda: general.messages.get(body="quarterly report draft 23").seq)
    results.first.locator("a").click()
    expect(page).to_have_url(f"{server.origin}/app/rooms/{general.public_id}?at={seq}")
    expect(page.locator(".timeline li[data-seq]").first).to_be_attached()

"""On a phone-sized touch screen the room is usable: readable, nothing off screen, can send."""

import pytest
from playwright.sync_api import expect

from chat.services.messages import message_post
from tests.browser.harness import ARTIFACTS, PHONE, off_loop
from tests.browser.pages import fully_shown, open_room, send, text_message, wait_for_text
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = [
    ("bob", "Morning! Is the train running on time today?"),
    ("alice", "Ten minutes late, as usual."),
    ("bob", "Then I'll grab coffee first. Want one?"),
    ("alice", "Yes please, a flat white."),
    ("bob", "On it. See you at the platform."),
    (
        "alice",
        "A long line to see that text wraps on a narrow screen instead of running off the "
        "right-hand edge: https://example.invalid/a/very/long/address/without/any/spaces/at/all",
    ),
]


@pytest.fixture
def commuters():
    def build():
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        room = make_room(alice, name="Commute", members=[bob])
        people = {"alice": alice, "bob": bob}
        for name, body in CONVERSATION:
            message_post(people[name], room_id=room.public_id, body=body)
        return alice, bob, room

    return off_loop(build)


def assert_fits_the_screen(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_a_phone_shows_the_newest_messages_and_the_composer_and_can_send(
    server, page_for, commuters
) -> None:
    alice, bob, room = commuters
    phone = page_for(alice, phone=True)
    assert phone.viewport_size == PHONE
    assert_fits_the_screen(phone)
    # The longest thing the connection badge says must not widen the bar either.
    phone.locator("#connection").evaluate("badge => { badge.textContent = 'Reconnecting…'; }")
    assert_fits_the_screen(phone)
    open_room(phone, room)
    expect(phone.locator("#members li[data-username='bob']")).to_have_count(1)  # loaded last
    assert_fits_the_screen(phone)

    for shown in ("#room-title", "form#composer textarea[name=body]", "form#composer button"):
        assert fully_shown(phone.locator(shown)), f"{shown} is cut off or off screen"
    newest = text_message(phone, CONVERSATION[-1][1])
    expect(newest).to_be_visible()
    assert fully_shown(newest), "the newest message is cut off"
    timeline = phone.locator("#timeline-scroll").bounding_box()
    assert timeline["height"] >= 0.55 * PHONE["height"], f"the timeline gets {timeline['height']}px"

    # Rooms and members wait behind buttons, and come back out of the way.
    link = phone.locator(f"#sidebar a.room-link[data-room-id='{room.public_id}']")
    expect(link).to_be_hidden()
    phone.get_by_role("button", name="Rooms").tap()
    expect(link).to_be_in_viewport(ratio=1)  # once it has slid in
    phone.keyboard.press("Escape")
    expect(link).to_be_hidden()
    members = phone.locator("#members")
    phone.get_by_role("button", name="Members").tap()
    expect(members.locator("li[data-username='alice']")).to_be_visible()
    phone.locator("#timeline-scroll").tap(position={"x": 20, "y": 20})  # beside the panel
    expect(members.locator("li[data-username='alice']")).to_be_hidden()

    bob_page = page_for(bob)
    open_room(bob_page, room)
    expect(phone.locator("#members li[data-username='bob'] .dot.online")).to_have_count(1)
    phone.locator("form#composer textarea[name=body]").tap()
    phone.locator("form#composer textarea[name=body]").fill("Sent from my phone")
    phone.locator("form#composer button").tap()
    wait_for_text(bob_page, "Sent from my phone")
    expect(phone.locator("form#composer textarea[name=body]")).to_have_value("")

    send(bob_page, "Got it, see you soon")
    reply = text_message(phone, "Got it, see you soon")
    expect(reply).to_be_visible()
    assert fully_shown(reply), "a new message arrives out of sight"
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(ARTIFACTS / "room-phone.png"))

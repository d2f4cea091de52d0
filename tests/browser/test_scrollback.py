"""Scrolling a long room back to its first message, a page at a time."""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from chat.services.messages import message_post
from tests.browser.harness import off_loop
from tests.browser.pages import message_at, open_room, shown_seqs
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = 120  # more than two pages of history (50 each)


@pytest.fixture
def long_room():
    """A room whose timeline is two "joined" lines, then MESSAGES messages by alice and bob."""

    def build():
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        room = make_room(alice, name="Archive of everything", members=[bob])
        with transaction.atomic():  # one commit for all: quicker, and the same timeline
            for n in range(1, MESSAGES + 1):
                author = alice if n % 3 else bob
                last = message_post(author, room_id=room.public_id, body=f"message number {n}")
        return alice, room, last.seq

    return off_loop(build)


def test_scrolling_up_loads_older_pages_until_the_first_message(
    server, page_for, long_room
) -> None:
    alice, room, last = long_room
    page = page_for(alice)
    open_room(page, room)
    scroller = page.locator("#timeline-scroll")

    newest = shown_seqs(page)
    assert newest[-1] == last
    assert newest[0] > 1, "the page shows only the newest page, not the whole timeline"
    assert newest == list(range(newest[0], last + 1))
    expect(message_at(page, last)).to_be_in_viewport()
    scrollable = scroller.evaluate("box => box.scrollHeight > box.clientHeight")
    assert scrollable, "#timeline-scroll scrolls (it is not as tall as its content)"

    scroller.hover()
    loads = 0
    while (first := shown_seqs(page)[0]) != 1:
        assert loads < 10, f"no progress scrolling back: first seq {first}"
        page.mouse.wheel(0, -5_000)
        page.wait_for_function(
            """first => {
                const top = document.querySelector('#timeline li.message[data-seq]');
                return top !== null && Number(top.dataset.seq) < first;
            }""",
            arg=first,
        )
        loads += 1
        # Older messages go above what was on screen; the reader's place is kept.
        expect(message_at(page, first)).to_be_in_viewport()
    assert loads >= 2, f"{MESSAGES} messages take more than one page to load"

    expect(page.locator("#older")).to_have_count(0)  # nothing left to load at the top
    assert shown_seqs(page) == list(range(1, last + 1))
    bodies = page.locator("#timeline li.message.kind-text .body").all_inner_texts()
    assert bodies == [f"message number {n}" for n in range(1, MESSAGES + 1)]

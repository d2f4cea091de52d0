"""The page survives a server restart: it shows that it is reconnecting, then catches up."""

import pytest
from playwright.sync_api import expect

from chat.models import Message
from chat.services.messages import message_post
from tests.browser.harness import off_loop
from tests.browser.pages import message_at, open_room, send, shown_seqs, text_message, wait_live
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

WHILE_AWAY = 20


@pytest.fixture
def pair():
    def build():
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        room = make_room(alice, name="General", members=[bob])
        message_post(alice, room_id=room.public_id, body="before the outage")
        return alice, bob, room

    return off_loop(build)


def test_after_a_server_restart_the_page_shows_every_message_once_in_seq_order(
    server, restart_server, page_for, pair
) -> None:
    alice, bob, room = pair
    bob_page = page_for(bob)
    open_room(bob_page, room)
    shown_before = shown_seqs(bob_page)
    assert shown_before, "the room page shows its timeline"

    server.kill()  # no goodbye from the server: the socket just drops
    connection = bob_page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "reconnecting")
    expect(connection).to_be_visible()
    expect(connection).to_have_text("Reconnecting…")

    send(bob_page, "written while offline")
    expect(bob_page.locator("#composer-error")).to_contain_text("Offline")

    def post_while_away() -> list[int]:
        return [
            message_post(alice, room_id=room.public_id, body=f"while away {n}").seq
            for n in range(WHILE_AWAY)
        ]

    posted = off_loop(post_while_away)
    assert posted == list(range(shown_before[-1] + 1, shown_before[-1] + 1 + WHILE_AWAY))
    restart_server()
    wait_live(bob_page, timeout=30_000)
    expect(connection).to_have_text("Live")
    expect(message_at(bob_page, posted[-1])).to_be_attached()
    expect(text_message(bob_page, "written while offline")).to_have_count(1)
    expect(bob_page.locator("#composer-error")).to_be_hidden()

    # One socket delivers in seq order: once this one is shown, every earlier frame was handled.
    send(bob_page, "back online")
    latest = text_message(bob_page, "back online")
    expect(latest).to_have_count(1)
    last = int(latest.get_attribute("data-seq"))

    seqs = shown_seqs(bob_page)
    assert len(seqs) == len(set(seqs)), f"duplicated seqs: {seqs}"
    assert seqs == list(range(seqs[0], last + 1)), f"out of order or with gaps: {seqs}"
    assert set(shown_before) | set(posted) <= set(seqs)
    for n in range(WHILE_AWAY):
        expect(text_message(bob_page, f"while away {n}")).to_have_count(1)
    stored = off_loop(
        lambda: Message.objects.filter(room=room, body="written while offline").count()
    )
    assert stored == 1, "the message written offline was sent exactly once"

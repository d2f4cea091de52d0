"""The page client keeps the promises of docs/protocol.md section 5 (delivery and catch-up)
across server outages: a long outage leaves a visible gap that fills itself, edits and deletes
made meanwhile show up, a gap survives the server dying while it fills, a deleted room is let
go of, and a message typed offline is sent once and before the page says "Live"."""

import os
import re
import signal
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from chat.models import Message
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.rooms import room_delete
from tests.browser.harness import off_loop
from tests.browser.pages import (
    message_at,
    open_room,
    send,
    shown_seqs,
    text_message,
    wait_live,
)
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

GAP_PAGE = 100  # what parley.js loads per step of a gap
BEFORE = ("good morning", "this one changes", "this one goes", "see you later")
RECONNECT = 30_000  # ms: the page's backoff after a few refused reconnects can reach 16 s

# Watches the timeline from before the server comes back: whenever an entry is followed by a
# later one that is not the next seq, a shown gap marker must stand between them, and a live
# page whose newest entry is not the room's newest must end with one. Anything else would be a
# silent jump in the conversation. A reload would lose `silentJumps` (and fail the test).
WATCH_FOR_SILENT_JUMPS = """
({ after, newest }) => {
  const list = document.getElementById("timeline");
  const badge = document.getElementById("connection");
  const jumps = (window.silentJumps = []);
  const shown = (node) => node.isConnected && !node.hidden
    && getComputedStyle(node).display !== "none";
  const check = () => {
    let previous = null;
    let marked = false;
    for (const node of list.children) {
      if (node.matches("li.gap")) {
        marked = marked || shown(node);
        continue;
      }
      if (!node.matches("li.message[data-seq]")) continue;
      const seq = Number(node.dataset.seq);
      if (previous !== null && previous >= after && seq > previous + 1 && !marked) {
        jumps.push(`${previous} is followed by ${seq} with no gap marker between`);
      }
      previous = seq;
      marked = false;
    }
    if (badge.dataset.state === "live" && previous !== null && previous < newest && !marked) {
      jumps.push(`live with ${previous} as the newest entry of ${newest}, no gap marker after it`);
    }
  };
  new MutationObserver(check).observe(list, { childList: true });
  new MutationObserver(check).observe(badge, { attributes: true });
}
"""

# Records, in the order the page does them, what it hands to its socket and what its badge
# says: the transport sets the state and sends in one task, an observer sees the state after.
RECORD_SENDS_AND_STATES = """
() => {
  const log = (window.sendsAndStates = []);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const frame = JSON.parse(data);
    log.push(["send", frame.type, frame.body ?? null]);
    return send.call(this, data);
  };
  const badge = document.getElementById("connection");
  new MutationObserver(() => log.push(["state", badge.dataset.state, badge.textContent]))
    .observe(badge, { attributes: true, childList: true, characterData: true, subtree: true });
}
"""


@pytest.fixture
def replay_max() -> int | None:
    """PARLEY_REPLAY_MAX for this test's servers; None for the server's default (1000)."""
    return None


@pytest.fixture
def server_environment(server_environment: dict[str, str], replay_max: int | None):
    """The conftest's environment, with this module's replay limit when a test sets one."""
    if replay_max is None:
        return server_environment
    return {**server_environment, "PARLEY_REPLAY_MAX": str(replay_max)}


@pytest.fixture
def chat():
    """alice (staff, for room_delete and the admin) and bob in "General", which has alice's
    BEFORE messages; with their seqs."""

    def build():
        alice = UserFactory(
            username="alice", display_name="Alice", is_staff=True, is_superuser=True
        )
        bob = UserFactory(username="bob", display_name="Bob")
        room = make_room(alice, name="General", members=[bob])
        seqs = [message_post(alice, room_id=room.public_id, body=body).seq for body in BEFORE]
        return alice, bob, room, dict(zip(BEFORE, seqs, strict=True))

    return off_loop(build)


@pytest.fixture
def bob_page(server, page_for, chat) -> Page:
    """bob's page on "General", live, showing the whole (short) timeline."""
    _, bob, room, seqs = chat
    page = page_for(bob)
    open_room(page, room)
    expect(message_at(page, seqs[BEFORE[-1]])).to_be_attached()
    return page


def post_many(author: Any, room: Any, count: int, label: str) -> list[int]:
    """`count` messages by `author`, posted through the service in one transaction."""

    def post() -> list[int]:
        with transaction.atomic():
            return [
                message_post(author, room_id=room.public_id, body=f"{label} {n}").seq
                for n in range(1, count + 1)
            ]

    return off_loop(post)


def freeze(server: Any) -> None:
    """SIGSTOP: the server keeps its sockets open but answers nothing (until killed)."""
    os.kill(server.process.pid, signal.SIGSTOP)


def go_down(server: Any, page: Page) -> None:
    """SIGKILL (a frozen server too): the page's socket drops and it starts reconnecting."""
    server.kill()
    expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")


def scroll_until_no_gap(page: Page, *, most: int) -> int:
    """Scroll the timeline to its top until no gap marker is left; the steps it took."""
    scroller = page.locator("#timeline-scroll")
    gaps = page.locator("#timeline li.gap")
    steps = 0
    while gaps.count():
        assert steps < most, f"the gap is not filled after {steps} scrolls: {describe(page)}"
        before = len(shown_seqs(page))
        scroller.evaluate("box => { box.scrollTop = 0; }")
        page.wait_for_function(
            """before => !document.querySelector("#timeline li.gap")
                || document.querySelectorAll("#timeline li.message[data-seq]").length > before""",
            arg=before,
        )
        steps += 1
    return steps


def describe(page: Page) -> str:
    seqs = shown_seqs(page)
    gaps = page.eval_on_selector_all(
        "#timeline li.gap", "gaps => gaps.map(gap => [gap.dataset.after, gap.dataset.through])"
    )
    return f"{len(seqs)} entries, {seqs[:3]}…{seqs[-3:]}, gaps {gaps}"


def assert_contiguous(page: Page, newest: int) -> list[int]:
    seqs = shown_seqs(page)
    assert len(seqs) == len(set(seqs)), "an entry is shown twice"
    assert seqs == list(range(seqs[0], newest + 1)), f"not every seq once, in order: {seqs}"
    return seqs


def test_a_long_outage_leaves_a_visible_gap_that_fills_as_the_reader_scrolls_up(
    server, restart_server, bob_page, chat
) -> None:
    alice, _, room, before = chat
    last_shown = shown_seqs(bob_page)[-1]
    assert last_shown == before[BEFORE[-1]]

    go_down(server, bob_page)
    missed = post_many(alice, room, 2_000, "while the server was down")
    newest = missed[-1]
    assert missed == list(range(last_shown + 1, newest + 1))
    bob_page.evaluate(WATCH_FOR_SILENT_JUMPS, {"after": last_shown, "newest": newest})
    restart_server()
    wait_live(bob_page, timeout=RECONNECT)

    # More were missed than the server replays: the page says so where they belong, and shows
    # the newest at once.
    gap = bob_page.locator("#timeline li.gap")
    expect(gap).to_have_count(1)
    expect(gap).to_be_visible()
    expect(gap).to_have_attribute("data-after", str(last_shown))
    expect(gap.locator("button.gap-load")).to_be_visible()
    expect(message_at(bob_page, newest)).to_be_attached()
    expect(text_message(bob_page, "while the server was down 2000")).to_be_in_viewport()
    assert bob_page.evaluate("window.silentJumps") == []

    steps = scroll_until_no_gap(bob_page, most=len(missed) // GAP_PAGE + 5)
    assert steps >= len(missed) // GAP_PAGE - 2, "the gap fills a page at a time, as it shows"
    seqs = assert_contiguous(bob_page, newest)
    assert seqs[0] <= last_shown
    assert bob_page.evaluate("window.silentJumps") == [], "the timeline jumped silently"
    for n in (1, 1_000, 2_000):
        expect(text_message(bob_page, f"while the server was down {n}")).to_have_count(1)


def test_after_a_short_blip_edits_deletes_and_new_messages_show_without_a_reload(
    server, restart_server, bob_page, chat
) -> None:
    alice, _, room, seqs = chat
    bob_page.evaluate("window.notReloaded = true")

    go_down(server, bob_page)

    def meanwhile() -> int:
        message_edit(alice, room_id=room.public_id, seq=seqs[BEFORE[1]], body="changed offline")
        message_delete(alice, room_id=room.public_id, seq=seqs[BEFORE[2]])
        return message_post(alice, room_id=room.public_id, body="new after the blip").seq

    newest = off_loop(meanwhile)
    restart_server()
    wait_live(bob_page, timeout=RECONNECT)

    edited = message_at(bob_page, seqs[BEFORE[1]])
    expect(edited.locator(".body")).to_have_text("changed offline")
    expect(edited.locator(".edited")).to_be_visible()
    expect(edited.locator(".edited")).to_have_text("(edited)")
    deleted = message_at(bob_page, seqs[BEFORE[2]])
    expect(deleted).to_have_class(re.compile(r"\bdeleted\b"))
    expect(deleted.locator(".tombstone")).to_be_visible()
    expect(deleted.locator(".body")).to_be_hidden()
    expect(deleted.locator(".body")).to_have_text("")
    expect(text_message(bob_page, BEFORE[2])).to_have_count(0)
    expect(text_message(bob_page, "new after the blip")).to_have_count(1)
    expect(message_at(bob_page, newest)).to_have_count(1)
    untouched = message_at(bob_page, seqs[BEFORE[0]])
    expect(untouched.locator(".edited")).to_be_hidden()
    expect(untouched.locator(".body")).to_have_text(BEFORE[0])
    assert bob_page.evaluate("window.notReloaded") is True
    assert_contiguous(bob_page, newest)


@pytest.mark.parametrize("replay_max", [GAP_PAGE])
def test_a_gap_still_fills_when_the_server_dies_while_it_loads(
    server, restart_server, bob_page, chat
) -> None:
    alice, _, room, before = chat
    last_shown = before[BEFORE[-1]]
    # Frozen while alice posts, then killed: bob's page misses more than the server replays,
    # without a long run of refused reconnects (so without a long backoff) before the test.
    freeze(server)
    missed = post_many(alice, room, 3 * GAP_PAGE + 50, "missed")
    newest = missed[-1]
    go_down(server, bob_page)
    bob_page.evaluate(WATCH_FOR_SILENT_JUMPS, {"after": last_shown, "newest": newest})
    server = restart_server()
    wait_live(bob_page, timeout=RECONNECT)
    gap = bob_page.locator("#timeline li.gap")
    expect(gap).to_be_visible()
    expect(message_at(bob_page, newest)).to_be_attached()  # the gap's first page is in
    # While the marker stays near the view it may load further pages before this looks: it
    # has taken whole pages, newest first, and some are still missing.
    through = int(gap.get_attribute("data-through"))
    assert last_shown < through <= newest - GAP_PAGE and (newest - through) % GAP_PAGE == 0

    # The server stops answering; the reader scrolls up, so the marker asks for its next page;
    # then the server dies with that request unanswered.
    freeze(server)
    bob_page.locator("#timeline-scroll").evaluate("box => { box.scrollTop = 0; }")
    expect(bob_page.locator("#timeline li.gap[data-loading]")).to_have_count(1)
    go_down(server, bob_page)
    expect(bob_page.locator("#timeline li.gap[data-loading]")).to_have_count(0)
    expect(gap).to_be_visible()
    # The page that was being loaded when the server died is still missing.
    assert int(gap.get_attribute("data-through")) <= through
    restart_server()
    wait_live(bob_page, timeout=RECONNECT)

    scroll_until_no_gap(bob_page, most=len(missed) // GAP_PAGE + 5)
    seqs = assert_contiguous(bob_page, newest)
    assert seqs[0] <= last_shown
    assert bob_page.evaluate("window.silentJumps") == [], "the timeline jumped silently"
    for n in (1, GAP_PAGE, len(missed)):
        expect(text_message(bob_page, f"missed {n}")).to_have_count(1)


def test_a_room_deleted_while_the_server_was_down_is_let_go_of(
    server, restart_server, bob_page, browsing, chat
) -> None:
    alice, _, room, _ = chat
    go_down(server, bob_page)
    off_loop(room_delete, alice, room=room)
    restart_server()
    wait_live(bob_page, timeout=RECONNECT)
    assert_left(bob_page, room, browsing)


def test_a_room_deleted_while_the_page_is_open_is_let_go_of(
    server, page_for, bob_page, browsing, chat
) -> None:
    alice, _, room, _ = chat
    # Deleted in the server's own process (the admin calls room_delete), so the live event
    # reaches bob's socket without Redis too.
    admin = page_for(alice)
    admin.goto(f"/admin/chat/room/{room.pk}/delete/")
    admin.locator("input[type=submit]").click()
    expect(admin.locator(".messagelist")).to_contain_text("deleted")
    assert_left(bob_page, room, browsing)


def assert_left(page: Page, room: Any, browsing: Any) -> None:
    """The page says bob is no longer in the room, and keeps saying it."""
    error = page.locator("#composer-error")
    expect(error).to_be_visible()
    # Whatever the page does next because of it (the member list refreshes 300 ms after a
    # change) must not take the notice away.
    page.wait_for_timeout(1_500)
    assert error.is_visible(), f"the notice is gone; the page shows: {page.inner_text('body')}"
    expect(error).to_contain_text("no longer in this room")
    expect(page.locator("#composer textarea[name=body]")).to_be_disabled()
    expect(page.locator("#composer button[type=submit]")).to_be_disabled()
    in_sidebar = page.locator(f"#room-list a.room-link[data-room-id='{room.public_id}']")
    expect(in_sidebar).to_have_count(0)
    assert browsing.page_errors == []


def test_a_message_typed_offline_is_sent_once_and_before_the_page_says_live(
    server, restart_server, bob_page, chat
) -> None:
    _, bob, room, _ = chat
    bob_page.evaluate(RECORD_SENDS_AND_STATES)
    go_down(server, bob_page)
    typed = ["typed offline 1", "typed offline 2"]
    for body in typed:
        send(bob_page, body)
    expect(bob_page.locator("#composer-error")).to_contain_text("Offline")
    expect(bob_page.locator("#connection")).not_to_have_text("Live")
    restart_server()
    wait_live(bob_page, timeout=RECONNECT)
    for body in typed:
        expect(text_message(bob_page, body)).to_have_count(1)
    expect(bob_page.locator("#composer-error")).to_be_hidden()

    # The first "Live" after the outage comes after both posts went out on that socket (after
    # its resume), never before. (A socket that dropped before the acks would resend them with
    # the same client_id: allowed, and the server stores each once.)
    log = bob_page.evaluate("window.sendsAndStates")
    live = next(n for n, entry in enumerate(log) if entry[:2] == ["state", "live"])
    resume = max(n for n, entry in enumerate(log[:live]) if entry[:2] == ["send", "resume"])
    sent = [entry[2] for entry in log[resume:live] if entry[:2] == ["send", "message.send"]]
    assert sent == typed, f"'Live' while a message typed offline waited in the outbox: {log}"

    stored = off_loop(
        lambda: list(
            Message.objects.filter(room=room, author=bob, body__in=typed)
            .order_by("seq")
            .values_list("body", flat=True)
        )
    )
    assert stored == typed, "each message typed offline is posted exactly once"

"""Reading and writing comfortably: the keyboard alone, names that try to reverse the line,
links, grouping, day and unread lines, the tab title, the quick switcher and the dark theme."""

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import F
from playwright.sync_api import Locator, Page, expect

from chat.models import Message
from chat.services.messages import message_post
from chat.services.reads import read_mark
from tests.browser.harness import off_loop, session_cookie
from tests.browser.pages import (
    message_at,
    open_room,
    room_path,
    send,
    shown_seqs,
    text_message,
)
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: reverses what follows it, up to the end of the line
CHARACTER_LEFTS = """element => {
    const lefts = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            if (!/\\S/.test(node.data[i])) continue;
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const box = range.getBoundingClientRect();
            if (box.width > 0) lefts.push(box.left);
        }
    }
    return lefts;
}"""


@pytest.fixture
def in_room(browsing: Any) -> Callable[..., Page]:
    """`in_room(user, room)`: a new desktop page signed in as `user`, open on `room` and live.

    Like `page_for` then `open_room`, without the home page on the way.
    """

    def open_as(user, room, *, accept_dialogs: bool = False) -> Page:
        page = browsing.new_page(accept_dialogs=accept_dialogs)
        cookie = off_loop(session_cookie, user)
        page.context.add_cookies([{**cookie, "url": browsing.server.origin}])
        open_room(page, room)
        return page

    return open_as


def post(user, room, body: str) -> Message:
    """Post before a page is open (without Redis, the test process's events reach no socket)."""
    return off_loop(message_post, user, room_id=room.public_id, body=body)


def say(page: Page, body: str) -> int:
    """Send `body` from `page` (open on a room), as its user does; the seq it got."""
    send(page, body)
    mine = text_message(page, body)
    expect(mine).to_have_count(1)
    return int(mine.get_attribute("data-seq"))


def composer(page: Page) -> Locator:
    return page.locator("form#composer textarea[name=body]")


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement?.matches(s) ?? false", selector)


def tab_to(page: Page, selector: str, *, key: str = "Tab", limit: int = 25) -> None:
    """Press `key` until the focused element matches `selector`."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page, selector):
            return
    pytest.fail(f"{limit} presses of {key} never reached {selector}")


def reads_left_to_right(locator: Locator) -> bool:
    """Whether the element's visible characters are laid out left to right, in text order."""
    lefts = locator.evaluate(CHARACTER_LEFTS)
    return len(lefts) > 1 and lefts == sorted(lefts)


def right_of(box: Locator, earlier: str, later: str) -> bool:
    """Whether, inside `box`, what `later` selects is laid out right of what `earlier` selects
    (measured at one moment: the member list is replaced whenever someone comes or goes)."""
    return box.evaluate(
        """(box, [earlier, later]) => {
            const first = box.querySelector(earlier).getBoundingClientRect();
            const second = box.querySelector(later).getBoundingClientRect();
            return first.width > 0 && second.width > 0 && second.left >= first.right - 1;
        }""",
        [earlier, later],
    )


def no_sideways_scroll(page: Page) -> dict[str, int]:
    """How far the page and the timeline scroll sideways (0 each when nothing is too wide)."""
    return page.evaluate(
        """() => {
            const over = (box) => Math.max(0, box.scrollWidth - box.clientWidth);
            return {
                page: over(document.documentElement),
                timeline: over(document.getElementById('timeline-scroll')),
            };
        }"""
    )


# 1. The keyboard alone


def test_keyboard_alone_edits_cancels_and_deletes_my_message(
    server, in_room, browsing, pair
) -> None:
    alice, bob, room = pair
    post(bob, room, "morning, anyone there?")
    alice_page = in_room(alice, room, accept_dialogs=True)
    bob_page = in_room(bob, room)

    box = composer(alice_page)
    box.focus()
    alice_page.keyboard.type("lunch at noon?")
    alice_page.keyboard.press("Enter")
    mine = text_message(alice_page, "lunch at noon?")
    expect(mine).to_have_class(re.compile(r"\bmine\b"))
    seq = int(mine.get_attribute("data-seq"))
    mine = message_at(alice_page, seq)
    expect(message_at(bob_page, seq)).to_have_count(1)

    # Tab from the timeline reaches the Edit button, which shows while it has focus.
    alice_page.locator("#timeline-scroll").focus()
    tab_to(alice_page, f"li.message.mine[data-seq='{seq}'] button.edit")
    expect(mine.locator(".actions")).to_have_css("opacity", "1")
    alice_page.keyboard.press("Enter")
    editor = mine.locator("textarea.edit-box")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("lunch at noon?")
    alice_page.keyboard.press("ControlOrMeta+a")
    alice_page.keyboard.type("lunch at 12:30?")
    alice_page.keyboard.press("Enter")
    theirs = message_at(bob_page, seq)
    expect(theirs.locator(".body")).to_have_text("lunch at 12:30?")
    expect(theirs.locator(".edited")).to_have_text("(edited)")
    expect(theirs.locator(".edited")).to_be_visible()
    expect(editor).to_have_count(0)
    expect(box).to_be_focused()

    # Up in the empty composer edits the last message; Escape leaves it as it was.
    alice_page.keyboard.press("ArrowUp")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("lunch at 12:30?")
    alice_page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(mine.locator(".body")).to_have_text("lunch at 12:30?")
    expect(mine.locator(".body")).to_be_visible()
    expect(box).to_be_focused()

    # Back from the composer to Delete; Enter, and the confirmation accepted.
    assert browsing.dialogs == []
    tab_to(alice_page, f"li.message.mine[data-seq='{seq}'] button.delete", key="Shift+Tab")
    alice_page.keyboard.press("Enter")
    for page in (bob_page, alice_page):
        expect(message_at(page, seq).locator(".tombstone")).to_have_text("message deleted")
        expect(message_at(page, seq)).not_to_contain_text("lunch")
    assert [kind for _, kind, _ in browsing.dialogs] == ["confirm"]
    assert off_loop(lambda: Message.objects.get(room=room, seq=seq).is_deleted)


# 2. Names with a right-to-left override, and a very long word


@pytest.fixture
def overrider():
    """eve, whose display name ends in U+202E, made "General" (so is its admin); bob is in it.

    accounts/profiles.py refuses direction controls at sign-up and on the profile page now: eve
    is made directly, as a name saved before that rule would be.
    """

    def build():
        eve = UserFactory(username="eve", display_name=f"Eve{RLO}")
        bob = UserFactory(username="bob", display_name="Bob")
        room = make_room(eve, name="General", members=[bob])
        return eve, bob, room

    return off_loop(build)


def assert_time_follows_the_name(page: Page, message: Message) -> None:
    item = message_at(page, message.seq)
    name = item.locator(".meta .author")
    expect(name).to_have_text(f"Eve{RLO}")
    assert name.evaluate("element => element.tagName") == "BDI"
    time = item.locator(".meta time")
    zone = page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    local = message.created_at.astimezone(ZoneInfo(zone))
    shown = time.evaluate("element => element.innerText")
    assert re.search(r"\d\d:\d\d", shown), shown
    assert shown in {f"{local:%H:%M}", f"{local:%I:%M %p}"}, (shown, local)
    assert reads_left_to_right(time), f"the time {shown!r} is laid out reversed"
    assert right_of(item, ".meta .author", ".meta time"), "the time is not right of the name"


def test_a_right_to_left_override_in_a_name_reverses_nothing_after_it(
    server, in_room, overrider
) -> None:
    eve, bob, room = overrider
    first = post(eve, room, "hello from eve")
    bob_page = in_room(bob, room)

    assert_time_follows_the_name(bob_page, first)  # rendered by the server
    eve_page = in_room(eve, room)
    composer(eve_page).press_sequentially("typing")
    notice = bob_page.locator("#typing")
    expect(notice).to_have_text(f"Eve{RLO} is typing…")
    expect(notice.locator("bdi")).to_have_text(f"Eve{RLO}")
    assert reads_left_to_right(notice), "the typing notice is laid out reversed"

    say(bob_page, "hi Eve")  # so that eve's next message starts a group, with name and time
    seq = say(eve_page, "and again, live")
    expect(message_at(bob_page, seq)).to_have_count(1)
    second = off_loop(Message.objects.get, room=room, seq=seq)
    assert_time_follows_the_name(bob_page, second)  # cloned from the template

    preview = bob_page.locator(f"#sidebar a.room-link[data-room-id='{room.public_id}'] .preview")
    author = preview.locator(".preview-author")
    expect(author).to_have_text(f"Eve{RLO}")
    expect(preview.locator(".preview-text")).to_have_text("and again, live")
    assert author.evaluate("element => element.tagName") == "BDI"
    assert right_of(preview, ".preview-author", ".preview-text")
    assert reads_left_to_right(preview.locator(".preview-text"))

    member = bob_page.locator("#members li[data-username='eve']")
    expect(member.locator("bdi")).to_have_text(f"Eve{RLO}")
    expect(member.locator(".tag")).to_have_text("admin")
    assert right_of(member, "bdi", ".tag")
    assert reads_left_to_right(member.locator(".tag"))


def test_a_four_thousand_character_word_wraps_instead_of_widening_the_page(
    server, in_room, pair
) -> None:
    alice, bob, room = pair
    word = "w" * 4_000
    post(bob, room, word)
    page = in_room(alice, room)
    expect(text_message(page, word)).to_be_visible()
    assert no_sideways_scroll(page) == {"page": 0, "timeline": 0}
    say(page, f"{word[:-1]}v")  # shown as it comes back over the socket, too
    expect(text_message(page, f"{word[:-1]}v")).to_be_visible()
    assert no_sideways_scroll(page) == {"page": 0, "timeline": 0}


def test_the_admin_tag_in_the_member_list_stays_on_one_line(server, in_room) -> None:
    def build():
        alice = UserFactory(username="alice", display_name="Alice Moreau")
        return alice, make_room(alice, name="General")

    alice, room = off_loop(build)
    page = in_room(alice, room)
    tag = page.locator("#members li[data-username='alice'] .tag")
    expect(tag).to_have_text("admin")
    lines = tag.evaluate(
        """tag => {
            const range = document.createRange();
            range.selectNodeContents(tag);
            return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size;
        }"""
    )
    assert lines == 1, f"'admin' is broken over {lines} lines"


# 3. Links


LINKED = (
    "see https://example.org/x?y=1. or javascript:alert(1) or "
    "data:text/html,<script>alert(2)</script> or vbscript:msgbox(3), "
    "then www.example.org <b>bold</b>"
)


def assert_only_web_addresses_are_links(page: Page) -> None:
    body = text_message(page, LINKED).locator(".body")
    expect(body).to_have_text(LINKED)  # all of it, as text
    links = body.locator("a")
    expect(links).to_have_count(2)
    first = body.locator("a[href='https://example.org/x?y=1']")
    expect(first).to_have_text("https://example.org/x?y=1")  # the full stop left out
    www = body.locator("a[href^='https://www.example.org']")
    expect(www).to_have_text("www.example.org")
    for link in (first, www):
        expect(link).to_have_attribute("target", "_blank")
        rel = link.get_attribute("rel").split()
        assert {"noopener", "noreferrer"} <= set(rel), rel
    assert body.locator("b, script").count() == 0
    hrefs = body.evaluate("b => [...b.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert not [href for href in hrefs if re.match(r"(?i)\s*(javascript|data|vbscript):", href)]


def test_web_addresses_become_safe_links_and_other_schemes_and_html_stay_text(
    server, in_room, browsing, pair
) -> None:
    alice, bob, room = pair
    page = in_room(alice, room)
    bob_page = in_room(bob, room)
    say(bob_page, LINKED)
    assert_only_web_addresses_are_links(page)  # arrived live
    open_room(page, room)
    assert_only_web_addresses_are_links(page)  # rendered by the server
    assert browsing.dialogs == []


# 4. Reading aids


def test_messages_group_by_author_and_each_day_starts_with_a_separator(
    server, in_room, pair
) -> None:
    alice, bob, room = pair

    def build() -> tuple[list[int], list[int]]:
        old = [message_post(bob, room_id=room.public_id, body=f"yesterday {n}") for n in (1, 2)]
        Message.objects.filter(room=room, seq__lte=old[-1].seq).update(
            created_at=F("created_at") - timedelta(days=1)
        )
        new = [message_post(bob, room_id=room.public_id, body=f"today {n}") for n in (1, 2)]
        new.append(message_post(alice, room_id=room.public_id, body="today, alice"))
        return [m.seq for m in old], [m.seq for m in new]

    old, new = off_loop(build)
    page = in_room(alice, room)

    separators = page.locator("#timeline li.day-separator")
    expect(separators).to_have_count(2)
    expect(separators).to_have_text(["Yesterday", "Today"])
    after_separators = page.eval_on_selector_all(
        "#timeline li.day-separator + li.message",
        "items => items.map(li => Number(li.dataset.seq))",
    )
    assert after_separators == [shown_seqs(page)[0], new[0]]

    continued = page.eval_on_selector_all(
        "#timeline li.message.continued", "items => items.map(li => Number(li.dataset.seq))"
    )
    # Each day's second message by bob continues his first; a new day or author starts afresh.
    assert continued == [old[1], new[1]]
    expect(message_at(page, new[1]).locator(".meta .author")).to_be_hidden()

    bob_page = in_room(bob, room)
    live = say(bob_page, "today 3")  # after alice's: a group of its own
    expect(message_at(page, live)).not_to_have_class(re.compile(r"\bcontinued\b"))
    again = say(bob_page, "today 4")
    expect(message_at(page, again)).to_have_class(re.compile(r"\bcontinued\b"))
    expect(separators).to_have_count(2)


def test_the_new_messages_line_sits_right_before_the_first_unread_message(
    server, in_room, pair
) -> None:
    alice, bob, room = pair
    read = post(bob, room, "read already")
    off_loop(read_mark, alice, room_id=room.public_id, seq=read.seq)
    unread = [post(bob, room, f"unread {n}").seq for n in (1, 2, 3)]
    page = in_room(alice, room)

    line = page.locator("#timeline li.unread-line")
    expect(line).to_have_count(1)
    expect(line).to_have_text("New messages")
    after = line.evaluate("line => Number(line.nextElementSibling.dataset.seq)")
    assert after == unread[0]
    before = line.evaluate("line => Number(line.previousElementSibling.dataset.seq)")
    assert before < unread[0]


def test_a_message_in_another_room_puts_the_unread_count_in_the_tab_title(
    server, in_room, pair
) -> None:
    alice, bob, general = pair
    design = off_loop(make_room, alice, name="Design", members=[bob])
    page = in_room(alice, general)
    expect(page).to_have_title("General · Parley")

    bob_page = in_room(bob, design)
    say(bob_page, "new icons are in")
    expect(page).to_have_title(re.compile(r"^\(1\) General · Parley$"))
    badge = page.locator(f"#sidebar a.room-link[data-room-id='{design.public_id}'] .badge.unread")
    expect(badge).to_have_text("1")
    open_room(bob_page, general)
    say(bob_page, "here, where alice reads")  # seen as it arrives: not counted
    expect(text_message(page, "here, where alice reads")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(1\) "))


def test_new_messages_below_shows_while_scrolled_up_and_takes_the_reader_down(
    server, in_room, pair
) -> None:
    alice, bob, room = pair

    def build() -> None:
        with transaction.atomic():
            for n in range(1, 41):  # fewer than a page: no older history to load
                message_post(bob if n % 2 else alice, room_id=room.public_id, body=f"line {n}")

    off_loop(build)
    bob_page = in_room(bob, room)
    page = in_room(alice, room)
    scroller = page.locator("#timeline-scroll")
    hint = page.locator("#new-below")
    assert scroller.evaluate("box => box.scrollHeight > box.clientHeight + 400")
    expect(hint).to_be_hidden()

    scroller.hover()
    page.mouse.wheel(0, -2_000)
    page.wait_for_function("() => document.getElementById('timeline-scroll').scrollTop < 100")
    newest = message_at(page, say(bob_page, "are you still there?"))
    expect(newest).to_have_count(1)
    expect(hint).to_be_visible()
    expect(newest).not_to_be_in_viewport()  # the reader's place is kept

    hint.click()
    expect(newest).to_be_in_viewport(ratio=1)
    expect(hint).to_be_hidden()
    expect(composer(page)).to_be_focused()


# 5. The quick switcher


def test_ctrl_k_finds_a_room_by_part_of_its_name_and_enter_opens_it(server, in_room, pair) -> None:
    alice, bob, general = pair

    def build():
        return make_room(alice, name="Design reviews"), make_room(
            bob, name="Random", members=[alice]
        )

    _, random = off_loop(build)
    page = in_room(alice, general)
    switcher = page.locator("#switcher")
    options = page.locator("#switcher-results [role=option]")
    expect(switcher).to_be_hidden()

    page.keyboard.press("Control+k")
    expect(switcher).to_be_visible()
    expect(page.locator("#switcher-input")).to_be_focused()
    expect(options).to_have_count(3)
    page.keyboard.type("REVIEW")
    expect(options).to_have_text(["# Design reviews"])
    page.keyboard.press("Escape")  # not just clearing the search field: closing
    expect(switcher).to_be_hidden()
    assert page.url.endswith(room_path(general))

    page.keyboard.press("Control+k")
    expect(switcher).to_be_visible()
    expect(page.locator("#switcher-input")).to_have_value("")
    page.keyboard.type("rand")
    expect(options).to_have_text(["# Random"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{room_path(random)}")
    expect(page.locator("#room")).to_have_attribute("data-room-id", str(random.public_id))


# 6. The dark theme


def background(page: Page) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_the_page_starts_in_the_system_theme_and_the_toggle_choice_survives_a_reload(
    server, in_room, pair
) -> None:
    alice, _, room = pair
    page = in_room(alice, room)
    html = page.locator("html")
    toggle = page.locator("#theme-toggle")
    expect(html).to_have_attribute("data-theme", "light")  # the system's, light by default
    expect(toggle).to_have_attribute("aria-pressed", "false")
    light = background(page)

    page.emulate_media(color_scheme="dark")
    page.reload()  # no choice stored: a dark system starts the page dark
    assert page.evaluate("() => localStorage.getItem('parley-theme')") is None
    expect(html).to_have_attribute("data-theme", "dark")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    dark = background(page)
    assert dark != light

    toggle.click()  # a choice beats the system's, and stays
    expect(html).to_have_attribute("data-theme", "light")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert background(page) == light
    page.reload()
    expect(html).to_have_attribute("data-theme", "light")
    expect(toggle).to_have_attribute("aria-pressed", "false")

    page.emulate_media(color_scheme="light")
    toggle.click()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => localStorage.getItem('parley-theme')") == "dark"
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert background(page) == dark


# 7. Who is online


def test_my_own_dot_in_the_member_list_turns_online_once_my_socket_is_live(
    server, browsing, pair
) -> None:
    alice, _, room = pair
    page = browsing.new_page()
    page.context.add_cookies([{**off_loop(session_cookie, alice), "url": server.origin}])
    # The socket reaches the server only after the member list has loaded: what it sends
    # meanwhile is kept, then passed on.
    held: dict[str, Any] = {"waiting": []}

    def from_page(message: str | bytes) -> None:
        if "server" in held:
            held["server"].send(message)
        else:
            held["waiting"].append(message)

    def on_socket(socket: Any) -> None:
        held["socket"] = socket
        socket.on_message(from_page)

    page.route_web_socket("**/ws/**", on_socket)
    page.goto(room_path(room))
    dot = page.locator("#members li[data-username='alice'] .dot")
    expect(dot).to_have_count(1)
    expect(dot).not_to_have_class(re.compile(r"\bonline\b"))  # listed before the socket was
    held["server"] = held["socket"].connect_to_server()
    for message in held.pop("waiting"):
        held["server"].send(message)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(dot).to_have_class(re.compile(r"\bonline\b"), timeout=2_000)

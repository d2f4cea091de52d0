"""The room page's reactions: chips under each text message, and what live ones are cloned from."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.services.messages import message_delete, message_post
from chat.services.reactions import reaction_add
from tests.factories import make_room

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entry(html: str, seq: int) -> str:
    """The markup of one timeline entry of the page."""
    start = html.index(f'data-seq="{seq}"')
    return html[start : html.index("</span></div>", html.index("reactions-bar", start))]


def test_chips_show_count_names_and_whether_you_reacted(alice, bob) -> None:
    room = make_room(members=[alice, bob])
    posted = message_post(alice, room_id=room.public_id, body="lunch?")
    reaction_add(alice, room_id=room.public_id, seq=posted.seq, emoji="👍")
    reaction_add(bob, room_id=room.public_id, seq=posted.seq, emoji="👍")
    reaction_add(bob, room_id=room.public_id, seq=posted.seq, emoji="🎉")

    html = logged_in(alice).get(reverse("chat:room", args=[room.public_id])).content.decode()

    shown = entry(html, posted.seq)
    chips = re.findall(r'<button type="button" class="reaction"[^>]*>', shown)
    assert chips == [
        '<button type="button" class="reaction" data-emoji="👍" aria-pressed="true" '
        'aria-label="👍 2: alice, bob">',
        '<button type="button" class="reaction" data-emoji="🎉" aria-pressed="false" '
        'aria-label="🎉 1: bob">',
    ]
    assert 'aria-label="Add reaction"' in shown
    assert shown.count('class="react-pick secondary"') == 6


def test_the_live_entry_template_has_an_empty_reactions_list_and_a_chip_to_clone(alice) -> None:
    room = make_room(members=[alice])

    html = logged_in(alice).get(reverse("chat:room", args=[room.public_id])).content.decode()

    template = html[html.index('<template id="entry-templates">') :]
    text_entry = template[template.index("kind-text") :]
    assert '<ul class="reactions" aria-label="Reactions"></ul>' in text_entry
    assert '<ul class="reaction-template"><li><button type="button" class="reaction"' in template


def test_a_deleted_message_shows_no_reactions(alice, bob) -> None:
    room = make_room(members=[alice, bob])
    posted = message_post(alice, room_id=room.public_id, body="oops")
    reaction_add(bob, room_id=room.public_id, seq=posted.seq, emoji="👍")
    message_delete(alice, room_id=room.public_id, seq=posted.seq)

    html = logged_in(alice).get(reverse("chat:room", args=[room.public_id])).content.decode()

    shown = entry(html, posted.seq)
    assert '<div class="reactions-bar" hidden>' in shown
    assert 'class="reaction"' not in shown


def test_the_page_reads_reactions_in_one_query_whatever_its_size(alice, bob) -> None:
    room = make_room(members=[alice, bob])
    client = logged_in(alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("chat:room", args=[room.public_id]))
        return len([q for q in captured if "chat_reaction" in q["sql"]])

    for n in range(3):
        posted = message_post(alice, room_id=room.public_id, body=f"m{n}")
        reaction_add(bob, room_id=room.public_id, seq=posted.seq, emoji="👍")
    few = queries()
    for n in range(12):
        posted = message_post(alice, room_id=room.public_id, body=f"n{n}")
        reaction_add(bob, room_id=room.public_id, seq=posted.seq, emoji="👀")
    # The page statement asks which messages have reactions (EXISTS); one more reads them.
    assert queries() == few == 2

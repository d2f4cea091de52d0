"""The Mentions page and the sidebar's mention badge, through Django's test client."""

import pytest
from django.test import Client
from django.urls import reverse

from chat.services.messages import message_post
from chat.services.rooms import room_leave
from tests.factories import make_room

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_mentions_page_lists_mine_with_links_to_their_place(alice, bob) -> None:
    room = make_room(name="Plans", members=[alice, bob])
    first = message_post(alice, room_id=room.public_id, body="@bob <b>first</b>")
    second = message_post(alice, room_id=room.public_id, body="@bob second")

    html = logged_in(bob).get(reverse("chat:mentions")).content.decode()

    links = [f'href="/rooms/{room.public_id}/?at={message.seq}"' for message in (second, first)]
    assert html.index(links[0]) < html.index(links[1])
    assert '<span class="mention" data-username="bob">@bob</span>' in html
    assert "<b>first</b>" not in html  # the sanitized rendering, never the raw text
    assert "&lt;b&gt;first&lt;/b&gt;" in html


def test_the_mentions_page_pages_and_hides_rooms_left(alice, bob, settings) -> None:
    settings.PARLEY_HISTORY_PAGE_SIZE = 1
    room = make_room(members=[alice, bob])
    message_post(alice, room_id=room.public_id, body="@bob first words")
    message_post(alice, room_id=room.public_id, body="@bob second words")
    client = logged_in(bob)

    html = client.get(reverse("chat:mentions")).content.decode()
    assert "second words" in html and "first words" not in html
    assert "Older mentions" in html

    room_leave(bob, room_id=room.public_id)
    assert "No one has mentioned you yet." in client.get(reverse("chat:mentions")).content.decode()


def test_bad_paging_on_the_mentions_page_is_ignored_or_refused(bob) -> None:
    client = logged_in(bob)

    assert client.get(reverse("chat:mentions"), {"before": "x"}).status_code == 200
    assert client.get(reverse("chat:mentions"), {"before": "0"}).status_code == 400


def test_the_sidebar_shows_unread_mentions_beside_unread_messages(alice, bob) -> None:
    room = make_room(name="Plans", members=[alice, bob])
    other = make_room(name="Elsewhere", members=[bob])
    message_post(alice, room_id=room.public_id, body="@bob look")

    html = logged_in(bob).get(reverse("chat:room", args=[other.public_id])).content.decode()

    item = html[html.index(f'data-room-id="{room.public_id}"') :]
    item = item[: item.index("</li>")]
    assert '<span class="badge mention" title="unread mentions of you">1</span>' in item


def test_the_mentions_page_needs_a_login() -> None:
    assert Client().get(reverse("chat:mentions")).status_code == 302

"""chat.views.search: the search page, its "more" partial and its refusals."""

import re

import pytest
from django.test import Client

from accounts.models import User
from chat.models import Room
from chat.services.messages import message_post
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: User, bob: User) -> Room:
    return make_room(name="General", members=[alice, bob])


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_page_lists_results_linking_to_the_message(
    client: Client, bob: User, room: Room
) -> None:
    message = message_post(bob, room_id=room.public_id, body="the <b>build</b> is green")

    response = client.get("/search/", {"q": "build"})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="/rooms/{room.public_id}/?at={message.seq}"' in html
    # The excerpt is text: the body's markup is escaped, only the match is marked.
    assert "the &lt;b&gt;<mark>build</mark>&lt;/b&gt; is green" in html
    assert "<b>build" not in html


def results_of(html: str) -> list[str]:
    """The excerpts shown, as HTML."""
    return re.findall(r'<span class="excerpt" dir="auto">(.*?)</span>', html)


def test_the_header_of_every_app_page_has_a_labelled_search_box(client: Client) -> None:
    html = client.get("/").content.decode()
    assert 'role="search"' in html
    assert '<label for="topbar-search"' in html


def test_more_results_come_as_a_partial_with_the_next_more_item(
    client: Client, alice: User, room: Room, monkeypatch
) -> None:
    monkeypatch.setattr("chat.selectors.search.PAGE_SIZE", 2)
    for number in range(5):
        message_post(alice, room_id=room.public_id, body=f"item {number}")

    first = client.get("/search/", {"q": "item"}).content.decode()
    cursor = re.search(r"cursor=([0-9]+)", first).group(1)
    more = client.get("/search/", {"q": "item", "cursor": cursor}, HTTP_HX_REQUEST="true")

    html = more.content.decode()
    assert "<html" not in html
    assert results_of(html) == ["<mark>item</mark> 2", "<mark>item</mark> 1"]
    assert 'id="search-more"' in html


@pytest.mark.parametrize(("q", "status"), [("   ", 400), ("x" * 300, 400), ("a\x00b", 400)])
def test_a_bad_query_shows_its_error_on_the_page(client: Client, q: str, status: int) -> None:
    response = client.get("/search/", {"q": q})
    assert response.status_code == status
    assert 'id="search-error"' in response.content.decode()


def test_the_room_filter_keeps_to_that_room(
    client: Client, alice: User, bob: User, room: Room
) -> None:
    other = make_room(name="Other", members=[alice])
    message_post(bob, room_id=room.public_id, body="deploy here")
    message_post(alice, room_id=other.public_id, body="deploy there")

    html = client.get("/search/", {"q": "deploy", "room": str(other.public_id)}).content.decode()
    assert results_of(html) == ["<mark>deploy</mark> there"]


def test_searching_needs_a_login() -> None:
    response = Client().get("/search/", {"q": "x"})
    assert response.status_code == 302

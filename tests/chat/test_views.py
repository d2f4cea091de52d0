"""chat.views: the pages, through the Django test client."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import Membership, Message, Room
from chat.services.messages import message_post
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def without_csrf_tokens(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def test_home_requires_login() -> None:
    response = Client().get(reverse("chat:home"))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_home_lists_my_rooms_and_the_directory() -> None:
    me = UserFactory()
    mine = make_room(name="My corner", members=[me])
    make_room(name="Open plaza")
    make_room(name="Hidden club", visibility=Room.Visibility.INVITE)

    response = logged_in(me).get(reverse("chat:home"))

    assert response.status_code == 200
    assert [room["name"] for room in response.context["my_rooms"]] == ["My corner"]
    assert [room.name for room in response.context["directory"]] == ["My corner", "Open plaza"]
    html = response.content.decode()
    assert reverse("chat:room", args=[mine.public_id]) in html
    assert "Open plaza" in html
    assert "Hidden club" not in html


def test_join_then_post_then_leave_through_the_pages() -> None:
    me = UserFactory()
    room = make_room(name="Open plaza")
    client = logged_in(me)

    joined = client.post(reverse("chat:join", args=[room.public_id]))
    assert joined.status_code == 302
    assert joined.url == reverse("chat:room", args=[room.public_id])
    assert Membership.objects.filter(room=room, user=me).exists()

    posted = client.post(reverse("chat:post", args=[room.public_id]), {"body": "  hello all  "})
    assert posted.status_code == 302
    assert posted.url == reverse("chat:room", args=[room.public_id])
    message = Message.objects.get(room=room, kind=Message.Kind.TEXT)
    assert (message.author, message.body) == (me, "hello all")

    page = client.get(reverse("chat:room", args=[room.public_id]))
    assert page.status_code == 200
    assert "hello all" in page.content.decode()

    left = client.post(reverse("chat:leave", args=[room.public_id]))
    assert left.status_code == 302
    assert left.url == reverse("chat:home")
    assert not Membership.objects.filter(room=room, user=me).exists()
    assert Message.objects.filter(room=room).order_by("seq").last().kind == Message.Kind.LEFT


def test_posting_with_a_client_id_twice_stores_one_message() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    client = logged_in(me)
    url = reverse("chat:post", args=[room.public_id])

    client.post(url, {"body": "once", "client_id": "form-1"})
    client.post(url, {"body": "once", "client_id": "form-1"})

    assert Message.objects.filter(room=room, kind=Message.Kind.TEXT).count() == 1


def test_join_and_post_require_post() -> None:
    me = UserFactory()
    room = make_room()
    client = logged_in(me)

    for name in ("chat:join", "chat:post"):
        assert client.get(reverse(name, args=[room.public_id])).status_code == 405
    assert not Membership.objects.filter(room=room, user=me).exists()


def test_leave_asks_to_confirm_and_only_the_post_leaves() -> None:
    me = UserFactory()
    room = make_room(name="Book club", members=[me])
    client = logged_in(me)
    url = reverse("chat:leave", args=[room.public_id])

    page = client.get(url)

    assert page.status_code == 200
    assert "Leave <bdi>Book club</bdi>?" in page.content.decode()
    assert Membership.objects.filter(room=room, user=me).exists()
    assert client.post(url).status_code == 302
    assert not Membership.objects.filter(room=room, user=me).exists()


def test_leave_confirmation_of_a_room_you_are_not_in_is_refused() -> None:
    me = UserFactory()
    room = make_room()

    assert logged_in(me).get(reverse("chat:leave", args=[room.public_id])).status_code == 403


def test_room_page_reaches_back_to_the_first_unread_message_and_says_where_it_is() -> None:
    me, other = UserFactory(), UserFactory()
    room = make_room(members=[me, other])
    for n in range(30):
        message_post(other, room_id=room.public_id, body=f"read {n}")
    client = logged_in(me)
    client.get(reverse("chat:room", args=[room.public_id]))  # read up to here
    read = Membership.objects.get(room=room, user=me).last_read_seq
    for n in range(80):
        message_post(other, room_id=room.public_id, body=f"unread {n}")

    page = client.get(reverse("chat:room", args=[room.public_id]))

    assert page.context["parley_config"]["read_before"] == read
    shown = [message.seq for message in page.context["page"].messages]
    assert shown == list(range(read - 9, read + 81)), "the 80 unread and 10 before them"
    assert Membership.objects.get(room=room, user=me).last_read_seq == shown[-1]


def test_posting_an_empty_body_shows_the_service_error_and_stores_nothing() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    room.refresh_from_db()
    last_seq = room.last_seq
    client = logged_in(me)

    response = client.post(
        reverse("chat:post", args=[room.public_id]), {"body": "   "}, follow=True
    )

    assert response.status_code == 200
    assert "A message cannot be empty." in response.content.decode()
    assert not Message.objects.filter(room=room, kind=Message.Kind.TEXT).exists()
    room.refresh_from_db()
    assert room.last_seq == last_seq


def test_posting_a_too_long_body_shows_the_limit() -> None:
    me = UserFactory()
    room = make_room(members=[me])

    response = logged_in(me).post(
        reverse("chat:post", args=[room.public_id]), {"body": "x" * 4001}, follow=True
    )

    assert "the limit is 4000" in response.content.decode()
    assert not Message.objects.filter(room=room, kind=Message.Kind.TEXT).exists()


def test_posting_without_being_a_member_stores_nothing() -> None:
    room = make_room()

    response = logged_in(UserFactory()).post(
        reverse("chat:post", args=[room.public_id]), {"body": "hi"}, follow=True
    )

    assert "You are not a member of this room." in response.content.decode()
    assert not Message.objects.filter(room=room, kind=Message.Kind.TEXT).exists()


def test_invisible_room_and_random_uuid_give_the_same_404_page() -> None:
    me = UserFactory()
    invisible = make_room(name="Hidden club", visibility=Room.Visibility.INVITE)
    client = logged_in(me)

    hidden = client.get(reverse("chat:room", args=[invisible.public_id]))
    missing = client.get(reverse("chat:room", args=[uuid.uuid4()]))

    assert hidden.status_code == missing.status_code == 404
    assert "No such room." in hidden.content.decode()
    assert "Hidden club" not in hidden.content.decode()
    assert without_csrf_tokens(hidden.content.decode()) == without_csrf_tokens(
        missing.content.decode()
    )


def test_staff_only_room_page_is_404_for_non_staff() -> None:
    room = make_room(visibility=Room.Visibility.STAFF)

    response = logged_in(UserFactory(is_staff=False)).get(
        reverse("chat:room", args=[room.public_id])
    )

    assert response.status_code == 404


def test_joining_an_invisible_room_gives_the_404_page_and_no_membership() -> None:
    me = UserFactory()
    invisible = make_room(visibility=Room.Visibility.INVITE)

    response = logged_in(me).post(reverse("chat:join", args=[invisible.public_id]))

    assert response.status_code == 404
    assert "No such room." in response.content.decode()
    assert not Membership.objects.filter(room=invisible, user=me).exists()


def test_room_page_of_a_public_room_you_are_not_in_is_403() -> None:
    room = make_room()

    response = logged_in(UserFactory()).get(reverse("chat:room", args=[room.public_id]))

    assert response.status_code == 403
    assert "You are not a member of this room." in response.content.decode()


def test_joining_twice_through_the_page_is_409() -> None:
    me = UserFactory()
    room = make_room(members=[me])

    response = logged_in(me).post(reverse("chat:join", args=[room.public_id]))

    assert response.status_code == 409
    assert Membership.objects.filter(room=room, user=me).count() == 1


def test_html_in_a_message_body_is_escaped_in_the_room_page() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    message_post(me, room_id=room.public_id, body="<script>alert(1)</script>")

    html = logged_in(me).get(reverse("chat:room", args=[room.public_id])).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def message_body_div(html: str, seq: int) -> str:
    """The .body element of the timeline entry with that seq, as the page has it."""
    entry = re.search(rf'<li class="message[^"]*" data-seq="{seq}".*?</li>', html, re.DOTALL)
    assert entry is not None
    body = re.search(r'<div class="body[^"]*".*?</div>', entry.group(0), re.DOTALL)
    assert body is not None
    return body.group(0)


def test_a_message_shows_formatted_and_keeps_its_source_for_editing() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    source = '**bold** and `<b>` "quoted"\n[site](https://example.com)'
    message = message_post(me, room_id=room.public_id, body=source)

    html = logged_in(me).get(reverse("chat:room", args=[room.public_id])).content.decode()

    assert message_body_div(html, message.seq) == (
        '<div class="body formatted" dir="auto" data-source="**bold** and `&lt;b&gt;` '
        '&quot;quoted&quot;\n[site](https://example.com)"><p><strong>bold</strong> and '
        '<code>&lt;b&gt;</code> "quoted"<br>\n<a href="https://example.com" '
        'target="_blank" rel="noopener noreferrer nofollow">site</a></p></div>'
    )


def test_a_message_stored_without_html_shows_its_source_as_text() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    message = message_post(me, room_id=room.public_id, body="**<i>old</i>**")
    Message.objects.filter(pk=message.pk).update(body_html="")  # as before formatting

    html = logged_in(me).get(reverse("chat:room", args=[room.public_id])).content.decode()

    assert message_body_div(html, message.seq) == (
        '<div class="body" dir="auto" data-source="**&lt;i&gt;old&lt;/i&gt;**">'
        "**&lt;i&gt;old&lt;/i&gt;**</div>"
    )


def test_html_in_a_room_name_is_escaped_on_home_and_room_pages() -> None:
    me = UserFactory()
    room = make_room(name="<b>bold</b>", members=[me])
    client = logged_in(me)

    home = client.get(reverse("chat:home")).content.decode()
    page = client.get(reverse("chat:room", args=[room.public_id])).content.decode()

    for html in (home, page):
        assert "&lt;b&gt;bold&lt;/b&gt;" in html
        assert "<b>bold" not in html


def test_html_in_a_display_name_is_escaped_in_the_room_page() -> None:
    me = UserFactory(display_name="<img src=x onerror=alert(1)>")
    room = make_room(members=[me])
    message_post(me, room_id=room.public_id, body="hi")

    html = logged_in(me).get(reverse("chat:room", args=[room.public_id])).content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html


def test_creating_a_room_from_the_form_makes_me_its_admin_and_opens_it() -> None:
    me = UserFactory()

    response = logged_in(me).post(
        reverse("chat:create_room"), {"name": "Book club", "visibility": "invite"}
    )

    room = Room.objects.get(name="Book club")
    assert response.status_code == 302
    assert response.url == reverse("chat:room", args=[room.public_id])
    assert room.visibility == Room.Visibility.INVITE
    assert Membership.objects.get(room=room, user=me).role == Membership.Role.ADMIN


def test_creating_a_room_with_a_taken_name_shows_the_error_and_creates_nothing() -> None:
    make_room(name="Book club")

    response = logged_in(UserFactory()).post(
        reverse("chat:create_room"), {"name": "book CLUB", "visibility": "public"}, follow=True
    )

    assert "A room with that name already exists." in response.content.decode()
    assert Room.objects.count() == 1


def test_creating_a_room_without_a_name_shows_an_error_and_creates_nothing() -> None:
    response = logged_in(UserFactory()).post(
        reverse("chat:create_room"), {"name": "", "visibility": "public"}, follow=True
    )

    assert response.status_code == 200
    assert "Give the room a name of at most 80 characters." in response.content.decode()
    assert not Room.objects.exists()


def test_the_room_form_does_not_offer_staff_only_rooms_even_to_staff() -> None:
    response = logged_in(UserFactory(is_staff=True)).post(
        reverse("chat:create_room"), {"name": "Lounge", "visibility": "staff"}
    )

    assert response.status_code == 302
    assert response.url == reverse("chat:home")
    assert not Room.objects.exists()


def test_anonymous_room_page_redirects_to_login() -> None:
    room = make_room()
    url = reverse("chat:room", args=[room.public_id])

    response = Client().get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_open_a_conversation_from_the_page_and_a_third_user_gets_404(client) -> None:
    alice, bob, carol = UserFactory(), UserFactory(display_name="Bobby"), UserFactory()
    client.force_login(alice)
    response = client.post(reverse("chat:open_direct"), {"username": bob.username.upper()})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Bobby" in page.content.decode()
    client.force_login(carol)
    assert client.get(response["Location"]).status_code == 404


@pytest.mark.django_db
def test_opening_a_conversation_with_an_unknown_user_shows_the_error(client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("chat:open_direct"), {"username": "nobody"}, follow=True)
    assert "No such user." in response.content.decode()

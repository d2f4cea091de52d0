"""chat.views: the room page opened at a message (?at=), and quotes in the rendered entries."""

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import Membership
from chat.services.messages import message_delete, message_post
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_room_opened_at_a_seq_shows_the_page_around_it_and_reads_nothing() -> None:
    me, other = UserFactory(), UserFactory()
    room = make_room(members=[me, other])
    posted = [message_post(other, room_id=room.public_id, body=f"m{n}") for n in range(120)]
    read = Membership.objects.get(room=room, user=me).last_read_seq
    anchor = posted[60].seq

    page = logged_in(me).get(reverse("chat:room", args=[room.public_id]), {"at": anchor})

    assert page.status_code == 200
    shown = [message.seq for message in page.context["page"].messages]
    assert shown == list(range(anchor - 25, anchor + 25))
    config = page.context["parley_config"]
    room.refresh_from_db()
    assert config["at"] == anchor
    assert config["cursor"] == room.last_seq, "live delivery goes on from the room's end"
    assert config["gap_after"] == shown[-1]
    assert Membership.objects.get(room=room, user=me).last_read_seq == read


def test_a_room_opened_at_its_last_messages_has_no_gap() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    last = message_post(me, room_id=room.public_id, body="last")

    page = logged_in(me).get(reverse("chat:room", args=[room.public_id]), {"at": last.seq})

    assert page.context["parley_config"]["gap_after"] is None


@pytest.mark.parametrize("at", ["0", "-1", "abc", "1.5", "99999999999999999999", ""])
def test_a_bad_at_gives_a_clear_error_page(at: str) -> None:
    me = UserFactory()
    room = make_room(members=[me])

    page = logged_in(me).get(reverse("chat:room", args=[room.public_id]), {"at": at})

    assert page.status_code == 400
    assert "must be a seq" in page.content.decode()


def test_quotes_are_rendered_as_text_and_deleted_targets_as_deleted() -> None:
    me = UserFactory()
    room = make_room(members=[me])
    target = message_post(me, room_id=room.public_id, body="<script>x</script> **hi**\nmore")
    message_post(me, room_id=room.public_id, body="answer", reply_to=target.seq)
    gone = message_post(me, room_id=room.public_id, body="soon gone")
    message_post(me, room_id=room.public_id, body="answer 2", reply_to=gone.seq)
    message_delete(me, room_id=room.public_id, seq=gone.seq)

    html = logged_in(me).get(reverse("chat:room", args=[room.public_id])).content.decode()

    assert "&lt;script&gt;x&lt;/script&gt; **hi**</span>" in html
    assert "<script>x" not in html
    assert f'class="quote secondary" data-seq="{target.seq}"' in html
    assert f'class="quote secondary quote-deleted" data-seq="{gone.seq}"' in html
    assert "deleted message</span>" in html

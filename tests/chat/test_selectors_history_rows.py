"""chat.selectors.history_rows: a page read with written-out SQL shows exactly what the ORM's
objects show, on both backends, in a fixed number of statements."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import wire
from chat.models import Message
from chat.selectors.history_rows import attach_details, page_rows
from chat.selectors.messages import history_page
from chat.services.attachments import attachment_upload
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reactions import reaction_add
from chat.services.rooms import room_leave
from tests.factories import UserFactory, make_room
from tests.files import media_root, png, upload

__all__ = ["media_root"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def lively_room(alice, bob, media_root):
    """A room whose timeline holds every kind of entry a page shows."""
    carol = UserFactory(username="carol", display_name="Carol ⟨C⟩")
    room = make_room(members=[alice, bob, carol])
    first = message_post(alice, room_id=room.public_id, body="**hello** @bob")
    picture = attachment_upload(bob, room_id=room.public_id, upload=upload("a.png", png()))
    message_post(bob, room_id=room.public_id, body="", attachments=[str(picture.public_id)])
    reply = message_post(carol, room_id=room.public_id, body="yes\nmore", reply_to=first.seq)
    gone = message_post(bob, room_id=room.public_id, body="to be deleted")
    message_post(alice, room_id=room.public_id, body="answer", reply_to=gone.seq)
    message_delete(bob, room_id=room.public_id, seq=gone.seq)
    message_edit(carol, room_id=room.public_id, seq=reply.seq, body="yes, edited @alice")
    for user, emoji in ((bob, "👍"), (carol, "👍"), (alice, "🎉")):
        reaction_add(user, room_id=room.public_id, seq=first.seq, emoji=emoji)
    room_leave(carol, room_id=room.public_id)
    return room


def _orm_page(room) -> list[Message]:
    """The same page through the ORM, as the history read made it before."""
    messages = list(Message.objects.filter(room=room).select_related("author", "reply_to__author"))
    for message in messages:
        message.attachment_list = list(message.attachments.order_by("pk"))
        message.reaction_list = list(message.reactions.select_related("user").order_by("pk"))
        message.mention_list = list(
            message.mentions.filter(by_name=True).select_related("user").order_by("pk")
        )
    return sorted(messages, key=lambda message: message.seq)


def test_a_page_shows_on_the_wire_what_the_orms_objects_show(alice, lively_room):
    page = history_page(alice, room_id=lively_room.public_id)
    shown = [wire.message_data(message) for message in page.messages]

    assert shown == [wire.message_data(message) for message in _orm_page(lively_room)]
    kinds = [entry["kind"] for entry in shown]
    assert kinds.count("text") == 5 and "left" in kinds and "joined" in kinds
    assert any(entry["attachments"] for entry in shown)
    assert any(entry["reactions"] for entry in shown)
    assert any(entry["mentions"] for entry in shown)
    assert any(entry["reply_to"] and entry["reply_to"]["deleted"] for entry in shown)


def test_rows_are_model_instances_with_the_values_the_orm_reads(lively_room):
    read = page_rows(lively_room.pk, newest_first=False, limit=100)
    expected = list(Message.objects.filter(room=lively_room).order_by("seq"))

    for row, orm in zip(read, expected, strict=True):
        assert isinstance(row, Message) and row.pk == orm.pk
        for field in Message._meta.concrete_fields:
            assert getattr(row, field.attname) == getattr(orm, field.attname), field.name
        assert row.author == orm.author
        assert row.author.shown_name == orm.author.shown_name


def test_bounds_and_order(lively_room):
    everything = [m.seq for m in page_rows(lively_room.pk, newest_first=False, limit=100)]

    assert [m.seq for m in page_rows(lively_room.pk, newest_first=True, limit=2)] == everything[
        :-3:-1
    ]
    middle = everything[len(everything) // 2]
    assert [
        m.seq for m in page_rows(lively_room.pk, newest_first=True, limit=100, before=middle)
    ] == [seq for seq in everything if seq < middle][::-1]
    assert [
        m.seq for m in page_rows(lively_room.pk, newest_first=False, limit=100, after=middle)
    ] == [seq for seq in everything if seq > middle]
    assert [
        m.seq for m in page_rows(lively_room.pk, newest_first=False, limit=100, from_seq=middle)
    ] == [seq for seq in everything if seq >= middle]


def test_a_page_costs_the_same_statements_however_lively_its_messages(alice, lively_room):
    with CaptureQueriesContext(connection) as queries:
        page = history_page(alice, room_id=lively_room.public_id)
        [wire.message_data(message) for message in page.messages]

    # The gate, the page, then files, reactions and mentions.
    assert len(queries) == 5


def test_only_details_some_message_on_the_page_has_are_read(alice, bob):
    room = make_room(members=[alice, bob])
    plain = message_post(alice, room_id=room.public_id, body="no one named here")

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = history_page(alice, room_id=room.public_id)
            [wire.message_data(message) for message in page.messages]
        return len(queries)

    assert statements() == 2  # the gate and the page
    reaction_add(bob, room_id=room.public_id, seq=plain.seq, emoji="👍")
    assert statements() == 3
    message_post(bob, room_id=room.public_id, body="@alice look")
    assert statements() == 4
    page = history_page(alice, room_id=room.public_id)
    assert [m.details_present for m in page.messages if m.kind == "text"] == [
        (False, True, False),
        (False, False, True),
    ]


def test_details_are_not_read_for_system_lines_and_deleted_messages(alice, bob):
    room = make_room(members=[alice, bob])
    posted = message_post(alice, room_id=room.public_id, body="soon gone")
    message_delete(alice, room_id=room.public_id, seq=posted.seq)
    messages = page_rows(room.pk, newest_first=False, limit=10)

    with CaptureQueriesContext(connection) as queries:
        attach_details(messages)

    assert len(queries) == 0
    assert all(m.attachment_list == m.reaction_list == m.mention_list == [] for m in messages)

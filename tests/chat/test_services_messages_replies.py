"""chat.services.messages: a message that replies to an earlier one of the same room."""

import pytest

from chat import wire
from chat.models import Message
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.rooms import room_leave
from core.errors import InvalidInput, ReplyNotFound
from tests.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice, bob):
    return make_room(members=[alice, bob])


@pytest.fixture
def question(alice, room) -> Message:
    return message_post(alice, room_id=room.public_id, body="Lunch at noon?\nOr later?")


def test_a_reply_quotes_the_author_and_first_line_of_its_target(bob, room, question) -> None:
    reply = message_post(bob, room_id=room.public_id, body="noon works", reply_to=question.seq)

    assert Message.objects.get(pk=reply.pk).reply_to_id == question.pk
    assert wire.message_data(reply)["reply_to"] == {
        "seq": question.seq,
        "author": {"username": "alice", "display_name": "Alice"},
        "excerpt": "Lunch at noon?",
        "deleted": False,
    }


def test_a_message_without_reply_to_has_none(alice, room) -> None:
    posted = message_post(alice, room_id=room.public_id, body="hi")

    assert wire.message_data(posted)["reply_to"] is None
    assert Message.objects.get(pk=posted.pk).reply_to_id is None


def test_a_long_first_line_is_cut_to_the_excerpt_length(alice, bob, room) -> None:
    long = message_post(alice, room_id=room.public_id, body="\n\n  " + "x" * 500)
    reply = message_post(bob, room_id=room.public_id, body="ok", reply_to=long.seq)

    excerpt = wire.message_data(reply)["reply_to"]["excerpt"]
    assert len(excerpt) == wire.REPLY_EXCERPT_LENGTH
    assert excerpt == "x" * (wire.REPLY_EXCERPT_LENGTH - 1) + "\u2026"


def test_the_target_deleted_later_shows_as_deleted_without_text(alice, bob, room, question):
    reply = message_post(bob, room_id=room.public_id, body="noon works", reply_to=question.seq)
    message_delete(alice, room_id=room.public_id, seq=question.seq)

    quoted = wire.message_data(Message.objects.get(pk=reply.pk))["reply_to"]
    assert quoted["deleted"] is True
    assert quoted["excerpt"] == ""
    assert quoted["seq"] == question.seq


def test_an_edit_of_the_target_shows_in_the_quote_when_read_again(alice, bob, room, question):
    reply = message_post(bob, room_id=room.public_id, body="noon works", reply_to=question.seq)
    message_edit(alice, room_id=room.public_id, seq=question.seq, body="Lunch at one?")

    assert wire.message_data(Message.objects.get(pk=reply.pk))["reply_to"]["excerpt"] == (
        "Lunch at one?"
    )


def test_a_deleted_reply_quotes_nothing(bob, room, question) -> None:
    reply = message_post(bob, room_id=room.public_id, body="noon works", reply_to=question.seq)

    deleted = message_delete(bob, room_id=room.public_id, seq=reply.seq)

    assert wire.message_data(deleted)["reply_to"] is None


def test_a_retry_with_the_same_client_id_returns_the_first_reply(bob, room, question) -> None:
    first = message_post(
        bob, room_id=room.public_id, body="noon", client_id="r-1", reply_to=question.seq
    )
    again = message_post(
        bob, room_id=room.public_id, body="noon", client_id="r-1", reply_to=question.seq
    )

    assert again.pk == first.pk
    assert Message.objects.filter(room=room, kind=Message.Kind.TEXT).count() == 2


def test_a_retry_gets_the_first_reply_even_once_its_target_is_deleted(
    alice, bob, room, question
) -> None:
    first = message_post(
        bob, room_id=room.public_id, body="noon", client_id="r-2", reply_to=question.seq
    )
    message_delete(alice, room_id=room.public_id, seq=question.seq)

    again = message_post(
        bob, room_id=room.public_id, body="noon", client_id="r-2", reply_to=question.seq
    )

    assert again.pk == first.pk


@pytest.mark.parametrize("reply_to", [0, -1, 2**53 + 1, 2**70, "1", 1.0, True, [1], {"seq": 1}])
def test_a_reply_to_that_is_not_a_seq_is_invalid(bob, room, question, reply_to) -> None:
    with pytest.raises(InvalidInput) as refused:
        message_post(bob, room_id=room.public_id, body="x", reply_to=reply_to)

    assert refused.value.code == "invalid"
    assert refused.value.details == {"field": "reply_to"}
    assert Message.objects.filter(room=room).count() == question.seq


def test_a_seq_of_another_room_is_not_a_target_here(alice, bob, room, question) -> None:
    other = make_room(members=[alice, bob])
    for n in range(10):
        elsewhere = message_post(alice, room_id=other.public_id, body=f"elsewhere {n}")
    before = room.messages.count()

    with pytest.raises(ReplyNotFound) as refused:
        message_post(bob, room_id=room.public_id, body="x", reply_to=elsewhere.seq)

    assert refused.value.code == "reply_not_found"
    assert refused.value.details == {"field": "reply_to"}
    assert room.messages.count() == before
    # A seq both rooms have means this room's message.
    reply = message_post(bob, room_id=other.public_id, body="y", reply_to=question.seq)
    assert reply.reply_to.room_id == other.pk
    assert wire.message_data(reply)["reply_to"]["excerpt"] != "Lunch at noon?"


def test_a_reply_to_a_future_seq_is_refused(bob, room, question) -> None:
    # The next seq would be the new message itself: not earlier, so refused too.
    for future in (question.seq + 1, question.seq + 2, 2**53):
        with pytest.raises(ReplyNotFound):
            message_post(bob, room_id=room.public_id, body="x", reply_to=future)

    assert room.messages.count() == question.seq


def test_a_reply_to_a_deleted_message_is_refused(alice, bob, room, question) -> None:
    message_delete(alice, room_id=room.public_id, seq=question.seq)

    with pytest.raises(ReplyNotFound) as refused:
        message_post(bob, room_id=room.public_id, body="x", reply_to=question.seq)

    assert "deleted" in refused.value.message
    assert room.messages.count() == question.seq


def test_a_reply_to_a_system_line_is_refused(alice, bob, room) -> None:
    line = room_leave(bob, room_id=room.public_id)

    with pytest.raises(ReplyNotFound):
        message_post(alice, room_id=room.public_id, body="bye", reply_to=line.seq)


def test_a_refused_reply_to_keeps_the_connection_usable_and_loses_nothing(
    bob, room, question
) -> None:
    with pytest.raises(ReplyNotFound):
        message_post(bob, room_id=room.public_id, body="x", reply_to=999)

    posted = message_post(bob, room_id=room.public_id, body="x", reply_to=question.seq)
    assert posted.seq == question.seq + 1

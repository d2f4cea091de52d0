"""chat.services.messages: posting to a room's timeline."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import wire
from chat.models import Message, Room
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.rooms import room_update
from core.errors import (
    BodyEmpty,
    BodyInvalid,
    BodyTooLong,
    InvalidInput,
    NotMember,
    RoomArchived,
    RoomNotFound,
)
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@contextmanager
def nothing_written(room: Room) -> Iterator[None]:
    """Asserts that the block created no message anywhere and did not advance the room's seq."""
    room.refresh_from_db()
    last_seq = room.last_seq
    messages = Message.objects.count()
    yield
    assert Message.objects.count() == messages
    room.refresh_from_db()
    assert room.last_seq == last_seq


def member_and_room() -> tuple[object, Room]:
    member = UserFactory()
    return member, make_room(members=[member])


def test_posts_get_consecutive_seqs_after_the_join_lines() -> None:
    member, room = member_and_room()
    start = room.last_seq

    posted = [message_post(member, room_id=room.public_id, body=f"m{n}") for n in range(5)]

    assert [message.seq for message in posted] == list(range(start + 1, start + 6))
    room.refresh_from_db()
    assert room.last_seq == start + 5
    stored = Message.objects.filter(room=room, kind=Message.Kind.TEXT).order_by("seq")
    assert [(m.seq, m.body, m.author_id) for m in stored] == [
        (start + n + 1, f"m{n}", member.pk) for n in range(5)
    ]


def test_seqs_are_per_room() -> None:
    member = UserFactory()
    first = make_room(member)
    second = make_room(member)

    in_first = message_post(member, room_id=first.public_id, body="a")
    in_second = message_post(member, room_id=second.public_id, body="b")

    assert in_first.seq == 2
    assert in_second.seq == 2


def test_body_is_trimmed_and_line_endings_normalised() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="  \r\n one\r\ntwo\rthree\n\n  ")

    assert message.body == "one\ntwo\nthree"
    assert Message.objects.get(pk=message.pk).body == "one\ntwo\nthree"


def test_tab_and_newline_inside_the_body_are_kept() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="a\tb\nc")

    assert Message.objects.get(pk=message.pk).body == "a\tb\nc"


def test_html_is_stored_verbatim_as_text() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="<script>alert(1)</script>")

    stored = Message.objects.get(pk=message.pk)
    assert stored.body == "<script>alert(1)</script>"
    assert stored.body_html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


# Formatting: the source is stored as written, its rendering beside it (chat.formatting)


def test_a_post_stores_its_source_and_its_rendered_html() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="**Lunch** at\n_noon_?")

    stored = Message.objects.get(pk=message.pk)
    assert stored.body == message.body == "**Lunch** at\n_noon_?"
    assert (
        stored.body_html
        == message.body_html
        == ("<p><strong>Lunch</strong> at<br>\n<em>noon</em>?</p>")
    )


def test_an_edit_renders_the_new_source() -> None:
    member, room = member_and_room()
    posted = message_post(member, room_id=room.public_id, body="plain")

    edited = message_edit(member, room_id=room.public_id, seq=posted.seq, body="- one\n- two")

    stored = Message.objects.get(pk=posted.pk)
    assert (stored.body, stored.body_html) == ("- one\n- two", edited.body_html)
    assert edited.body_html == "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
    assert wire.message_data(edited)["body_html"] == edited.body_html


def test_a_deleted_message_keeps_no_html() -> None:
    member, room = member_and_room()
    posted = message_post(member, room_id=room.public_id, body="`secret`")

    message_delete(member, room_id=room.public_id, seq=posted.seq)

    stored = Message.objects.get(pk=posted.pk)
    assert (stored.body, stored.body_html) == ("", "")
    assert wire.message_data(stored)["body_html"] == ""


def test_system_lines_carry_no_html() -> None:
    creator = UserFactory(is_staff=True)
    room = make_room(creator, members=[UserFactory()])
    room_update(creator, room=room, name="Renamed **room**")

    lines = Message.objects.filter(room=room).exclude(kind=Message.Kind.TEXT)

    assert {line.kind for line in lines} >= {"joined", "renamed"}
    assert {line.body_html for line in lines} == {""}
    assert {wire.message_data(line)["body_html"] for line in lines} == {""}


def test_emoji_and_non_latin_text_are_stored_unchanged() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="héllo 世界 👋🏽")

    assert Message.objects.get(pk=message.pk).body == "héllo 世界 👋🏽"


def test_a_body_with_zero_width_characters_around_visible_text_is_kept_whole() -> None:
    member, room = member_and_room()
    body = "\u200bhi \U0001f469\u200d\U0001f4bb"  # zero-width space, then an emoji with a joiner

    message = message_post(member, room_id=room.public_id, body=body)

    assert Message.objects.get(pk=message.pk).body == body


@pytest.mark.parametrize(
    "body",
    [
        *("", " ", "   \t  ", "\n", "\r\n\r\n", " \u00a0\u2003 "),
        # Nothing that shows: zero-width space, joiner, BOM, direction mark, blank glyphs.
        *("\u200b", "\u200b\u200d\ufeff", " \u200e\n\u2060 ", "\u3164", "\u2800\u2800"),
    ],
    ids=repr,
)
def test_empty_or_whitespace_only_body_is_body_empty(body: str) -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(BodyEmpty) as raised:
        message_post(member, room_id=room.public_id, body=body)

    assert raised.value.code == "body_empty"


def test_body_of_exactly_4000_characters_is_accepted() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="x" * 4000)

    assert len(Message.objects.get(pk=message.pk).body) == 4000


def test_body_of_4001_characters_is_body_too_long() -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(BodyTooLong) as raised:
        message_post(member, room_id=room.public_id, body="x" * 4001)

    assert raised.value.code == "body_too_long"
    assert raised.value.details == {"max_length": 4000}


def test_length_is_counted_after_trimming() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="  " + "x" * 4000 + "\n\n")

    assert len(message.body) == 4000


def test_length_is_counted_in_code_points_not_bytes() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="é" * 4000)

    assert Message.objects.get(pk=message.pk).body == "é" * 4000


def test_length_limit_follows_the_setting(settings: object) -> None:
    settings.PARLEY_MESSAGE_MAX_LENGTH = 10
    member, room = member_and_room()

    accepted = message_post(member, room_id=room.public_id, body="x" * 10)
    with nothing_written(room), pytest.raises(BodyTooLong) as raised:
        message_post(member, room_id=room.public_id, body="x" * 11)

    assert accepted.body == "x" * 10
    assert raised.value.details == {"max_length": 10}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("nul\x00byte", id="nul"),
        pytest.param("bell\x07", id="bell"),
        pytest.param("back\x08space", id="backspace"),
        pytest.param("vertical\x0btab", id="vertical-tab"),
        pytest.param("form\x0cfeed", id="form-feed"),
        pytest.param("\x1b[31mred", id="escape"),
        pytest.param("unit\x1fseparator", id="unit-separator"),
        pytest.param("del\x7f", id="del"),
        pytest.param("lone \ud800 surrogate", id="lone-high-surrogate"),
        pytest.param("lone \udfff surrogate", id="lone-low-surrogate"),
    ],
)
def test_control_characters_and_lone_surrogates_are_body_invalid(body: str) -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(BodyInvalid) as raised:
        message_post(member, room_id=room.public_id, body=body)

    assert raised.value.code == "body_invalid"


@pytest.mark.parametrize("body", ["csi\x9b31mred", "next\x85line"], ids=["csi", "nel"])
def test_c1_control_characters_are_body_invalid(body: str) -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(BodyInvalid):
        message_post(member, room_id=room.public_id, body=body)


@pytest.mark.parametrize("body", [None, 42, b"bytes", ["list"], {"text": "hi"}], ids=repr)
def test_non_string_body_is_invalid_input(body: object) -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(InvalidInput) as raised:
        message_post(member, room_id=room.public_id, body=body)

    assert type(raised.value) is InvalidInput
    assert raised.value.details == {"field": "body"}


def test_posting_when_not_a_member_is_not_member() -> None:
    room = make_room(members=[UserFactory()])

    with nothing_written(room), pytest.raises(NotMember):
        message_post(UserFactory(), room_id=room.public_id, body="hello")


def test_posting_after_leaving_is_not_member() -> None:
    from chat.services.rooms import room_leave

    member, room = member_and_room()
    room_leave(member, room_id=room.public_id)

    with nothing_written(room), pytest.raises(NotMember):
        message_post(member, room_id=room.public_id, body="hello")


def test_posting_to_an_archived_room_is_room_archived() -> None:
    admin = UserFactory()
    member = UserFactory()
    room = make_room(admin, members=[member])
    room_update(admin, room=room, is_archived=True)

    with nothing_written(room), pytest.raises(RoomArchived):
        message_post(member, room_id=room.public_id, body="hello")


def test_posting_to_a_staff_only_room_as_non_staff_is_room_not_found() -> None:
    room = make_room(visibility=Room.Visibility.STAFF)

    with nothing_written(room), pytest.raises(RoomNotFound):
        message_post(UserFactory(is_staff=False), room_id=room.public_id, body="hello")


def test_posting_to_an_invite_only_room_you_are_not_in_is_room_not_found() -> None:
    room = make_room(visibility=Room.Visibility.INVITE)

    with nothing_written(room), pytest.raises(RoomNotFound):
        message_post(UserFactory(), room_id=room.public_id, body="hello")


def test_a_member_who_lost_sight_of_a_room_made_staff_only_cannot_post() -> None:
    admin = UserFactory(is_staff=True)
    member = UserFactory(is_staff=False)
    room = make_room(admin, members=[member])
    Room.objects.filter(pk=room.pk).update(visibility=Room.Visibility.STAFF)

    with nothing_written(room), pytest.raises(RoomNotFound):
        message_post(member, room_id=room.public_id, body="hello")


def test_a_staff_member_posts_in_a_staff_only_room() -> None:
    admin = UserFactory(is_staff=True)
    room = make_room(admin, visibility=Room.Visibility.STAFF)

    message = message_post(admin, room_id=room.public_id, body="hello")

    assert Message.objects.get(room=room, seq=message.seq).body == "hello"


def test_a_deactivated_member_cannot_post() -> None:
    member, room = member_and_room()
    member.is_active = False
    member.save()

    with nothing_written(room), pytest.raises(RoomNotFound):
        message_post(member, room_id=room.public_id, body="hello")


def test_the_message_returned_is_the_one_stored_with_its_room_as_stored() -> None:
    member, room = member_and_room()

    message = message_post(member, room_id=room.public_id, body="hello", client_id="c-9")

    stored = Message.objects.select_related("room", "author").get(pk=message.pk)
    assert wire.message_data(message) == wire.message_data(stored)
    assert (message.room_id, message.author_id) == (room.pk, member.pk)
    for field in Room._meta.concrete_fields:
        assert getattr(message.room, field.attname) == getattr(stored.room, field.attname)


@pytest.mark.postgres
def test_on_postgresql_a_post_is_one_statement() -> None:
    """timeline_post, not the checked path; that one would pass every other test too."""
    member, room = member_and_room()

    with CaptureQueriesContext(connection) as queries:
        message_post(member, room_id=room.public_id, body="hello")

    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1
    assert "INSERT INTO" in statements[0]
    assert Message.objects.get(room=room, seq=room.last_seq + 1).body_html == "<p>hello</p>"


@pytest.mark.parametrize("room_id", ["nope", "00000000-0000-0000-0000-000000000000", None, 7])
def test_posting_to_a_malformed_or_unknown_room_id_is_room_not_found(room_id: object) -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(RoomNotFound):
        message_post(member, room_id=room_id, body="hello")


def test_retry_with_same_client_id_returns_first_message_and_creates_nothing() -> None:
    member, room = member_and_room()
    first = message_post(member, room_id=room.public_id, body="hello", client_id="c-1")

    with nothing_written(room):
        retried = message_post(
            member, room_id=room.public_id, body="different text", client_id="c-1"
        )

    assert retried.pk == first.pk
    assert retried.seq == first.seq
    assert retried.body == "hello"
    assert Message.objects.filter(author=member, client_id="c-1").count() == 1


def test_different_client_ids_create_different_messages() -> None:
    member, room = member_and_room()

    first = message_post(member, room_id=room.public_id, body="same", client_id="c-1")
    second = message_post(member, room_id=room.public_id, body="same", client_id="c-2")

    assert second.pk != first.pk
    assert second.seq == first.seq + 1


def test_same_client_id_from_two_users_creates_two_messages() -> None:
    alice = UserFactory()
    bob = UserFactory()
    room = make_room(members=[alice, bob])

    from_alice = message_post(alice, room_id=room.public_id, body="hi", client_id="shared")
    from_bob = message_post(bob, room_id=room.public_id, body="hi", client_id="shared")

    assert from_alice.pk != from_bob.pk
    assert (from_alice.author, from_bob.author) == (alice, bob)


def test_posts_without_client_id_are_never_deduplicated() -> None:
    member, room = member_and_room()

    first = message_post(member, room_id=room.public_id, body="same")
    second = message_post(member, room_id=room.public_id, body="same")

    assert first.pk != second.pk
    assert first.client_id is None


def test_client_id_of_64_printable_characters_is_accepted() -> None:
    member, room = member_and_room()
    client_id = "A~!" + "z" * 61

    message = message_post(member, room_id=room.public_id, body="hi", client_id=client_id)

    assert Message.objects.get(pk=message.pk).client_id == client_id


@pytest.mark.parametrize(
    "client_id",
    [
        pytest.param("x" * 65, id="65-characters"),
        pytest.param("", id="empty"),
        pytest.param("has space", id="space"),
        pytest.param("tab\there", id="tab"),
        pytest.param("ünïcode", id="non-ascii"),
        pytest.param("new\nline", id="newline"),
        pytest.param(12345, id="int"),
        pytest.param(["c-1"], id="list"),
        pytest.param(True, id="bool"),
    ],
)
def test_invalid_client_id_is_invalid_input(client_id: object) -> None:
    member, room = member_and_room()

    with nothing_written(room), pytest.raises(InvalidInput) as raised:
        message_post(member, room_id=room.public_id, body="hello", client_id=client_id)

    assert raised.value.details == {"field": "client_id"}

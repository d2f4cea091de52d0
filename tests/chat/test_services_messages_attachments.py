"""Messages with files: chat.services.messages (posting, deleting), the history read
(chat.selectors.messages) and their wire shape (chat.wire)."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import wire
from chat.models import Attachment, Message, Room
from chat.selectors.messages import history_page
from chat.services.attachments import attachment_upload
from chat.services.messages import message_delete, message_edit, message_post
from core.errors import BodyEmpty, InvalidInput
from tests.factories import UserFactory, make_room
from tests.files import media_root, png, stored_files, upload

pytestmark = pytest.mark.django_db
__all__ = ["media_root"]


@pytest.fixture
def room(alice, bob) -> Room:
    return make_room(members=[alice, bob])


def uploaded(user, room: Room, name: str = "notes.txt", data: bytes = b"hello\n") -> Attachment:
    return attachment_upload(user, room_id=room.public_id, upload=upload(name, data))


def assert_nothing_posted(room: Room, last_seq: int) -> None:
    room.refresh_from_db()
    assert room.last_seq == last_seq
    assert not Attachment.objects.filter(message__isnull=False).exists()


def test_files_are_attached_in_upload_order_and_shown_on_the_wire(alice, room, media_root):
    photo = uploaded(alice, room, "photo.png", png(800, 400))
    notes = uploaded(alice, room)

    message = message_post(
        alice,
        room_id=room.public_id,
        body="look",
        attachments=[str(notes.public_id), str(photo.public_id)],
    )

    assert list(message.attachments.order_by("pk")) == [photo, notes]
    [image, text] = wire.message_data(message)["attachments"]
    assert image == {
        "id": str(photo.public_id),
        "name": "photo.png",
        "size": photo.size,
        "content_type": "image/png",
        "kind": "image",
        "width": 800,
        "height": 400,
        "url": f"/files/{photo.public_id}/photo.png",
        "thumbnail_url": f"/files/{photo.public_id}/thumbnail",
    }
    assert text == {
        "id": str(notes.public_id),
        "name": "notes.txt",
        "size": 6,
        "content_type": "text/plain",
        "kind": "file",
        "width": None,
        "height": None,
        "url": f"/files/{notes.public_id}/notes.txt",
        "thumbnail_url": None,
    }
    stored = Message.objects.get(pk=message.pk)
    assert wire.message_data(stored) == wire.message_data(message)


def test_a_message_without_files_has_an_empty_list(alice, room) -> None:
    message = message_post(alice, room_id=room.public_id, body="plain")

    assert wire.message_data(message)["attachments"] == []


def test_a_message_with_files_may_have_no_text(alice, room, media_root) -> None:
    notes = uploaded(alice, room)

    message = message_post(
        alice, room_id=room.public_id, body=None, attachments=[str(notes.public_id)]
    )
    blank = message_post(
        alice, room_id=room.public_id, body="  ", attachments=[str(uploaded(alice, room).public_id)]
    )

    assert message.body == blank.body == ""
    with pytest.raises(BodyEmpty):
        message_post(alice, room_id=room.public_id, body="", attachments=[])


def test_someone_elses_upload_is_refused_and_nothing_is_posted(alice, bob, room, media_root):
    theirs = uploaded(bob, room)
    mine = uploaded(alice, room)
    last_seq = Room.objects.get(pk=room.pk).last_seq

    with pytest.raises(InvalidInput) as raised:
        message_post(
            alice,
            room_id=room.public_id,
            body="mine now",
            attachments=[str(mine.public_id), str(theirs.public_id)],
        )

    assert raised.value.code == "invalid"
    assert raised.value.details == {"field": "attachments", "ids": [str(theirs.public_id)]}
    assert_nothing_posted(room, last_seq)


def test_an_upload_to_another_room_is_refused(alice, room, media_root) -> None:
    elsewhere = make_room(members=[alice])
    other = uploaded(alice, elsewhere)
    last_seq = Room.objects.get(pk=room.pk).last_seq

    with pytest.raises(InvalidInput):
        message_post(alice, room_id=room.public_id, body="x", attachments=[str(other.public_id)])

    assert_nothing_posted(room, last_seq)


def test_an_upload_posted_once_cannot_be_posted_again(alice, room, media_root) -> None:
    notes = uploaded(alice, room)
    message_post(alice, room_id=room.public_id, body="first", attachments=[str(notes.public_id)])

    with pytest.raises(InvalidInput):
        message_post(
            alice, room_id=room.public_id, body="again", attachments=[str(notes.public_id)]
        )


@pytest.mark.parametrize(
    "attachments",
    [
        "not a list",
        [7],
        ["not-a-uuid"],
        ["00000000-0000-0000-0000-000000000000"],
        ["00000000-0000-0000-0000-000000000001"] * 2,
        [f"00000000-0000-0000-0000-{n:012d}" for n in range(11)],
    ],
)
def test_malformed_or_unknown_attachment_ids_are_refused(alice, room, attachments) -> None:
    with pytest.raises(InvalidInput) as raised:
        message_post(alice, room_id=room.public_id, body="x", attachments=attachments)

    assert raised.value.details["field"] == "attachments"


def test_files_per_message_come_from_settings(alice, room, media_root, settings) -> None:
    settings.PARLEY_ATTACHMENTS_PER_MESSAGE = 2
    ids = [str(uploaded(alice, room).public_id) for _ in range(3)]

    with pytest.raises(InvalidInput) as raised:
        message_post(alice, room_id=room.public_id, body="x", attachments=ids)

    assert raised.value.details == {"field": "attachments", "max_count": 2}
    message_post(alice, room_id=room.public_id, body="x", attachments=ids[:2])


def test_a_retry_with_the_same_client_id_returns_the_first_message(alice, room, media_root):
    notes = uploaded(alice, room)
    ids = [str(notes.public_id)]
    first = message_post(alice, room_id=room.public_id, body="", client_id="c1", attachments=ids)

    retried = message_post(alice, room_id=room.public_id, body="", client_id="c1", attachments=ids)

    assert retried.pk == first.pk
    assert [item["id"] for item in wire.message_data(retried)["attachments"]] == ids
    assert Message.objects.filter(client_id="c1").count() == 1


def test_an_edit_keeps_the_files(alice, room, media_root) -> None:
    notes = uploaded(alice, room)
    message = message_post(
        alice, room_id=room.public_id, body="v1", attachments=[str(notes.public_id)]
    )

    edited = message_edit(alice, room_id=room.public_id, seq=message.seq, body="v2")

    assert [item["id"] for item in wire.message_data(edited)["attachments"]] == [
        str(notes.public_id)
    ]


def test_deleting_a_message_deletes_its_files_after_the_commit(
    alice, room, media_root, django_capture_on_commit_callbacks
) -> None:
    photo = uploaded(alice, room, "photo.png", png())
    other = uploaded(alice, room)
    message = message_post(
        alice, room_id=room.public_id, body="x", attachments=[str(photo.public_id)]
    )
    files = [Path(photo.file.path), Path(photo.thumbnail.path)]

    with django_capture_on_commit_callbacks() as callbacks:
        deleted = message_delete(alice, room_id=room.public_id, seq=message.seq)
        assert all(path.exists() for path in files)  # not before the commit

    for callback in callbacks:
        callback()
    assert not Attachment.objects.filter(pk=photo.pk).exists()
    assert stored_files(media_root) == [Path(other.file.path)]
    assert wire.message_data(deleted)["attachments"] == []
    assert wire.message_data(Message.objects.get(pk=message.pk))["attachments"] == []


def test_a_history_page_reads_the_files_of_all_its_messages_in_one_query(
    alice, room, media_root
) -> None:
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = history_page(alice, room_id=room.public_id)
            [wire.message_data(message) for message in page.messages]
        return len(queries)

    def post_with_files(count: int) -> None:
        for n in range(count):
            files = [str(uploaded(alice, room, f"f{n}-{k}.txt").public_id) for k in range(2)]
            message_post(alice, room_id=room.public_id, body=f"m{n}", attachments=files)

    post_with_files(2)
    few = queries_for_page()
    post_with_files(10)
    many = queries_for_page()

    assert few == many
    page = history_page(alice, room_id=room.public_id)
    with_files = [m for m in page.messages if wire.message_data(m)["attachments"]]
    assert len(with_files) == 12


def test_the_history_shows_a_posted_file_to_other_members(alice, bob, room, media_root):
    notes = uploaded(alice, room)
    message_post(alice, room_id=room.public_id, body="x", attachments=[str(notes.public_id)])

    [last] = history_page(bob, room_id=room.public_id, limit=1).messages

    assert [item["id"] for item in wire.message_data(last)["attachments"]] == [str(notes.public_id)]


def test_system_lines_read_no_files(alice) -> None:
    joined = UserFactory()
    room = make_room(members=[joined])
    [line] = Message.objects.filter(room=room, author=joined)

    with CaptureQueriesContext(connection) as queries:
        data = wire.message_data(line)

    assert data["attachments"] == []
    assert [q for q in queries if "chat_attachment" in q["sql"]] == []

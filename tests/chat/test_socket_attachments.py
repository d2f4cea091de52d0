"""`message.send` with `attachments` over the socket (docs/protocol.md, section 3)."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Attachment, Message, Room
from chat.services.attachments import attachment_upload
from tests.factories import make_room
from tests.files import PDF, media_root, png, upload
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["media_root"]


@pytest.fixture
def room(alice, bob) -> Room:
    return make_room(name="General", members=[alice, bob])


@database_sync_to_async
def uploaded(user, room: Room, name: str, data: bytes) -> str:
    attachment = attachment_upload(user, room_id=room.public_id, upload=upload(name, data))
    return str(attachment.public_id)


async def test_files_sent_in_a_message_reach_every_member(alice, bob, room, media_root) -> None:
    photo = await uploaded(alice, room, "photo.png", png(100, 50))
    document = await uploaded(alice, room, "doc.pdf", PDF)
    a = await SocketClient(alice).connect()
    b = await SocketClient(bob).connect()

    ack = await a.request(
        {
            "type": "message.send",
            "room": str(room.public_id),
            "attachments": [photo, document],
            "client_id": "f1",
        }
    )

    assert ack["type"] == "ack"
    for client in (a, b):
        [*_, frame] = await client.receive_until(lambda f: f["type"] == "message.new")
        message = frame["message"]
        assert message["seq"] == ack["seq"]
        assert message["body"] == ""
        assert [(f["id"], f["kind"], f["name"]) for f in message["attachments"]] == [
            (photo, "image", "photo.png"),
            (document, "file", "doc.pdf"),
        ]
        assert message["attachments"][0]["url"] == f"/files/{photo}/photo.png"
        assert (message["attachments"][0]["width"], message["attachments"][0]["height"]) == (
            100,
            50,
        )
    history = await a.request({"type": "history.fetch", "room": str(room.public_id), "limit": 1})
    assert [f["id"] for f in history["messages"][0]["attachments"]] == [photo, document]
    await a.close()
    await b.close()


async def test_someone_elses_upload_is_an_error_and_the_socket_stays_usable(
    alice, bob, room, media_root
) -> None:
    theirs = await uploaded(bob, room, "theirs.pdf", PDF)
    a = await SocketClient(alice).connect()

    error = await a.request(
        {"type": "message.send", "room": str(room.public_id), "body": "x", "attachments": [theirs]}
    )

    assert error["type"] == "error"
    assert error["code"] == "invalid"
    assert error["details"] == {"field": "attachments", "ids": [theirs]}
    assert not await database_sync_to_async(Message.objects.filter(body="x").exists)()
    attachment = await database_sync_to_async(Attachment.objects.get)(public_id=theirs)
    assert attachment.message_id is None
    ack = await a.request({"type": "message.send", "room": str(room.public_id), "body": "ok"})
    assert ack["type"] == "ack"
    await a.close()


async def test_a_malformed_attachments_field_is_invalid(alice, room) -> None:
    a = await SocketClient(alice).connect()

    error = await a.request(
        {"type": "message.send", "room": str(room.public_id), "body": "x", "attachments": "abc"}
    )

    assert (error["type"], error["code"]) == ("error", "invalid")
    assert error["details"]["field"] == "attachments"
    await a.close()

"""The socket's commands: each parses its frame's fields, calls one service or selector, and
answers with an `ack` or the data asked for (docs/protocol.md, section 3).

A command that fails raises a domain error (core.errors); the socket turns it into an `error`
frame with the frame's `ref`. A new command is a function here and a line in `COMMANDS`.
"""

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from chat import wire
from chat.consumers.fields import (
    MAX_SEQ,
    canonical_room_id,
    int_field,
    optional_int,
    text_field,
)
from chat.db import in_thread
from chat.selectors.members import room_members_with_presence
from chat.selectors.messages import history_page
from chat.selectors.search import search_messages
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reactions import reaction_add, reaction_remove
from chat.services.reads import read_mark
from chat.services.rooms import room_join, room_leave
from chat.services.typing import typing_start
from core import metrics
from core.errors import InvalidInput, RoomNotFound

if TYPE_CHECKING:
    from chat.consumers.socket import ParleySocket

Frame = dict[str, Any]
# A command: the socket, the parsed frame, and its ref (any JSON value, echoed in the reply).
Command = Callable[["ParleySocket", Frame, object], Awaitable[None]]


async def send_message(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    message = await in_thread(message_post)(
        socket.user,
        room_id=text_field(frame, "room"),
        body=frame.get("body"),
        client_id=frame.get("client_id"),
        attachments=frame.get("attachments"),
        reply_to=frame.get("reply_to"),
    )
    await _ack(socket, ref, message.room.public_id, message.seq, client_id=message.client_id)


async def edit_message(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    message = await in_thread(message_edit)(
        socket.user,
        room_id=text_field(frame, "room"),
        seq=int_field(frame, "seq"),
        body=frame.get("body"),
    )
    await _ack(socket, ref, message.room.public_id, message.seq)


async def delete_message(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    message = await in_thread(message_delete)(
        socket.user, room_id=text_field(frame, "room"), seq=int_field(frame, "seq")
    )
    await _ack(socket, ref, message.room.public_id, message.seq)


async def add_reaction(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    message = await in_thread(reaction_add)(
        socket.user,
        room_id=text_field(frame, "room"),
        seq=int_field(frame, "seq"),
        emoji=text_field(frame, "emoji"),
    )
    await _ack(socket, ref, message.room.public_id, message.seq)


async def remove_reaction(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    message = await in_thread(reaction_remove)(
        socket.user,
        room_id=text_field(frame, "room"),
        seq=int_field(frame, "seq"),
        emoji=text_field(frame, "emoji"),
    )
    await _ack(socket, ref, message.room.public_id, message.seq)


async def join_room(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    membership = await in_thread(room_join)(socket.user, room_id=text_field(frame, "room"))
    await _ack(socket, ref, membership.room.public_id, membership.last_read_seq)


async def leave_room(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    line = await in_thread(room_leave)(socket.user, room_id=text_field(frame, "room"))
    await _ack(socket, ref, line.room.public_id, line.seq)


async def fetch_history(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    page = await in_thread(history_page)(
        socket.user,
        room_id=text_field(frame, "room"),
        before=optional_int(frame, "before"),
        after=optional_int(frame, "after"),
        around=optional_int(frame, "around"),
        limit=optional_int(frame, "limit"),
    )
    reply: Frame = {
        "type": "history",
        "ref": ref,
        "room": str(page.room.public_id),
        "messages": [wire.message_data(message) for message in page.messages],
        "has_more": page.has_more,
    }
    if page.has_more_after is not None:
        reply["has_more_after"] = page.has_more_after
    await socket.send_frame(reply)


async def search(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    page = await in_thread(search_messages)(
        socket.user,
        query=frame.get("q"),
        room_id=frame.get("room"),
        author=frame.get("author"),
        cursor=frame.get("cursor"),
        limit=optional_int(frame, "limit"),
    )
    await socket.send_frame(
        {
            "type": "search.results",
            "ref": ref,
            "results": [wire.search_hit_data(**vars(hit)) for hit in page.hits],
            "next_cursor": page.next_cursor,
        }
    )


async def resume(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    cursors = frame.get("cursors")
    if not isinstance(cursors, dict) or len(cursors) > 10_000:
        raise InvalidInput("'cursors' must be an object of room id to seq.", field="cursors")
    report: dict[str, Any] = {}
    for raw_id, seq in cursors.items():
        report[raw_id] = await _resume_room(socket, canonical_room_id(raw_id), seq)
    await socket.send_frame({"type": "resumed", "ref": ref, "rooms": report})


async def _resume_room(socket: "ParleySocket", room_id: str, seq: object) -> dict[str, Any]:
    if not socket.delivery.subscribed(room_id):
        return {"error": RoomNotFound.code}
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        return {"error": InvalidInput.code, "message": "A cursor is a seq of 0 or more."}
    socket.delivery.resume(room_id, seq)
    replayed, last_seq, gap = await socket.catch_up(room_id, limit=settings.PARLEY_REPLAY_MAX)
    metrics.CATCHUP_REPLAYED.inc(replayed)
    result: dict[str, Any] = {"replayed": replayed, "last_seq": last_seq}
    if seq > last_seq:
        result["error"] = "cursor_ahead"
        result["message"] = "The cursor is past the room's last seq; it was reset to it."
    if gap is not None:
        result["gap"] = gap
    return result


async def open_direct(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    room = await in_thread(direct_open)(socket.user, username=frame.get("username"))
    await _ack(socket, ref, room.public_id, room.last_seq)


async def mark_read(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    membership = await in_thread(read_mark)(
        socket.user, room_id=text_field(frame, "room"), seq=int_field(frame, "seq")
    )
    await _ack(socket, ref, membership.room.public_id, membership.last_read_seq)


async def list_members(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    room_id = canonical_room_id(text_field(frame, "room"))
    listed = await in_thread(room_members_with_presence)(socket.user, room_id=room_id)
    await socket.send_frame({"type": "members", "ref": ref, "room": room_id, **listed})


async def start_typing(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    room_id = canonical_room_id(text_field(frame, "room"))
    now = time.monotonic()
    if now - socket.typing_sent.get(room_id, -1e9) < settings.PARLEY_TYPING_INTERVAL:
        return  # already announced recently: not an error, just not repeated
    await in_thread(typing_start)(socket.user, room_id=room_id)
    socket.typing_sent[room_id] = now


async def ping(socket: "ParleySocket", frame: Frame, ref: object) -> None:
    await socket.send_frame({"type": "pong", "ref": ref})


async def _ack(
    socket: "ParleySocket", ref: object, room_id: object, seq: int, **extra: object
) -> None:
    await socket.send_frame({"type": "ack", "ref": ref, "room": str(room_id), "seq": seq, **extra})

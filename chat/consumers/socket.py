"""The Parley socket: one per browser tab, carrying every room of its user.

The protocol is docs/protocol.md. Commands are parsed here and handed to one service or
selector; live events arrive from the channel layer already serialized and are forwarded.

Each room has a cursor: the last seq this socket has delivered. A live entry with the next seq
is forwarded as it is; an older one is a duplicate and dropped; a newer one means something was
missed (a lost or reordered doorbell), so the gap is read from the database first. The same
catch-up serves `resume` after a reconnect. Delivery is therefore gapless, in seq order and
exactly once per socket whatever the channel layer does.

A client that connects to `/ws/?resume=1` promises `resume` as its first frame: until then (at
most PARLEY_RESUME_GRACE seconds) live entries are held back and then read from the database,
so that the replay sends each once rather than after it went out live. A client that does not
take its frames within PARLEY_SOCKET_SEND_TIMEOUT is closed (4008) instead of having its events
queue up here.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from accounts.revocation import access_is_current, session_fingerprint
from chat import wire
from chat.consumers.fields import (
    MAX_SEQ,
    FrameError,
    canonical_room_id,
    int_field,
    optional_int,
    parse_frame,
    ref_of,
    text_field,
)
from chat.consumers.loop import OneReaderPerSource
from chat.db import in_thread
from chat.ratelimit import LocalBucket
from chat.realtime import (
    fanout,
    heartbeats,
    presence,
    presence_notices,
    publish,
    shared_frames,
    watchdog,
)
from chat.realtime.groups import user_group
from chat.selectors.messages import history_page
from chat.selectors.rooms import (
    presence_audience,
    room_ids_of_user,
    room_members,
    rooms_with_state,
)
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reads import read_mark
from chat.services.rooms import room_join, room_leave
from core import metrics
from core.errors import (
    OUTAGES,
    InvalidInput,
    NotMember,
    ParleyError,
    RateLimited,
    RoomNotFound,
    Unavailable,
)

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4001
CLOSE_FRAME_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013  # the database or Redis failed while opening or catching up
CLOSE_TOO_SLOW = 4008  # the client did not take its frames in time
CLOSE_ACCESS_REVOKED = 4003  # logged out, token revoked or account deactivated while open
CLOSE_TOO_MANY_SOCKETS = 4009  # the user has PARLEY_SOCKETS_PER_USER sockets open already
# How long a socket dropped for being slow may take to accept its close frame.
CLOSE_WAIT = 10.0
# Seconds an entry that arrived past a gap waits for the missing ones before they are read
# from the database.
GAP_WAIT = 0.25
# A send that takes longer than this waited for the client to read (a free one takes
# microseconds).
CLIENT_WAIT = 0.05
# Wake-ups of sockets holding entries past a gap, kept referenced until they are sent.
_WAKE_UPS: set[asyncio.Future[None]] = set()
# Room events that are only passed on to the client.
PASSED_ON = frozenset({"member.joined", "member.left", "typing.started", "presence.changed"})


def connection_gone(error: Exception) -> bool:
    """Whether a send or close failed because the socket is closed already, its disconnect
    queued for the client reader, which does the cleanup: the connection was lost (uvicorn's
    ClientDisconnected, an OSError as ASGI says), or uvicorn closed it itself on a client that
    broke the protocol (1002, 1007) and refuses frames after that with a RuntimeError. Raised
    from a live event's handler, either ended the consumer before its disconnect ran, and the
    user stayed online."""
    return isinstance(error, OSError) or "after sending 'websocket.close'" in str(error)


class ParleySocket(OneReaderPerSource, AsyncWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: set[str] | None = None  # rooms with entries held back until the first frame
        # Live entries that arrived past a gap, by room and seq, until the missing ones come.
        self.early: dict[str, dict[int, str]] = {}
        self.gap_opened_at: dict[str, float] = {}
        self.closing = False
        self.released = False
        self.waited_for_client_at = -math.inf
        self.write_shared: Callable[[shared_frames.SharedFrame], bool] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when a handler failed and the disconnect never ran: a consumer that ended
            # must not stay in its rooms' fan-out.
            if hasattr(self, "user"):
                await self._release()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale DB connections before every message, a thread hop per live
        # event; in_thread() already does that around the database work that needs it.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if "sent_at" in message and self._falling_behind(message["sent_at"]):
            await self._drop_too_slow("live events are falling behind")
        try:
            await handler(message)
        except OUTAGES:
            # A catch-up could not read the database, so delivery cannot go on in order: the
            # client reconnects and resumes later.
            logger.warning("socket closed: database unavailable", exc_info=True)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)

    # Connection

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.cursors: dict[str, int] = {}
        if user is None or not user.is_authenticated or not user.is_active:
            metrics.SOCKETS_REFUSED.labels(reason="unauthenticated").inc()
            logger.info("socket refused: not authenticated (close %s)", CLOSE_UNAUTHENTICATED)
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.opened_at = time.monotonic()
        self.frame_allowance = LocalBucket(
            rate=settings.PARLEY_SOCKET_FRAME_RATE, burst=settings.PARLEY_SOCKET_FRAME_BURST
        )
        session_key = getattr(self.scope.get("session"), "session_key", None)
        # What an access.revoked event names when it is this socket's login that ended.
        self.session = session_fingerprint(session_key) if session_key else None
        self.token_id = self.scope.get("token_id")
        extension = self.scope.get("extensions", {}).get(shared_frames.EXTENSION)
        if extension is not None:
            self.write_shared = extension["write"]
        await self.accept()
        try:
            came_online = await presence.store().claim(
                user.pk, self.channel_name, limit=settings.PARLEY_SOCKETS_PER_USER
            )
            self.claimed = True
            rooms, current = await self._subscribe(user, session_key)
        except presence.TooManySockets:
            metrics.SOCKETS_REFUSED.labels(reason="sockets_per_user").inc()
            logger.info(
                "socket refused: user %s has %d sockets open (close %s)",
                user.pk,
                settings.PARLEY_SOCKETS_PER_USER,
                CLOSE_TOO_MANY_SOCKETS,
            )
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        except OUTAGES:
            logger.warning("socket closed: database or Redis unavailable", exc_info=True)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if not current:
            metrics.SOCKETS_REFUSED.labels(reason="unauthenticated").inc()
            logger.info(
                "socket refused: login ended while connecting (close %s)", CLOSE_UNAUTHENTICATED
            )
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.typing_sent: dict[str, float] = {}
        await self.send_frame(
            {
                "type": "hello",
                "protocol": wire.PROTOCOL_VERSION,
                "user": wire.user_data(user),
                "rooms": rooms,
                "limits": {
                    "body_max_length": settings.PARLEY_MESSAGE_MAX_LENGTH,
                    "frame_max_bytes": settings.PARLEY_FRAME_MAX_BYTES,
                    "history_max_page": settings.PARLEY_HISTORY_MAX_PAGE_SIZE,
                    "replay_max": settings.PARLEY_REPLAY_MAX,
                },
            }
        )
        metrics.SOCKETS_OPEN.inc()
        self.counted_open = True
        logger.info("socket open: user %s, %d rooms", user.pk, len(self.cursors))
        if "resume" in parse_qs(self.scope.get("query_string", b"").decode("latin-1")):
            self.held, self.hello_at = set(), time.monotonic()
            self.quiet_start_timer = asyncio.create_task(self._end_quiet_start_later())
        watchdog.watch(self.channel_name)
        presence.ensure_sweeper(announce_offline)
        if came_online:
            await presence_notices.changed(
                user.pk, wire.user_data(user), list(self.cursors), online=True
            )
        if self.scope.get("token_expires_at") is not None:
            self.expiry_timer = asyncio.create_task(
                self._close_when_token_expires(self.scope["token_expires_at"])
            )
        heartbeats.keep(self.user.pk, self.channel_name, self.cursors, lapsed=self._announce_again)

    async def _subscribe(
        self, user: Any, session_key: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Join the user's groups and set each room's cursor. Returns the rooms as `hello` lists
        them, and whether the login the socket opened with is still valid."""
        # Subscribe before reading state, so nothing committed in between is missed.
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        for room_id in await in_thread(room_ids_of_user)(user):
            self.cursors[room_id] = 0
            await fanout.subscribe(room_id, self)
        rooms, current_login = await in_thread(_opening_reads)(user, session_key, self.token_id)
        current = {room["id"]: room["last_seq"] for room in rooms}
        for room_id in set(self.cursors) - set(current):
            await self._unsubscribe(room_id, notify=False)  # left in between the two reads
        for room_id in self.cursors:
            self.cursors[room_id] = current[room_id]
        return rooms, current_login

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):
            return
        logger.info(
            "socket closed: user %s, code %s, after %.0f s",
            self.user.pk,
            code,
            time.monotonic() - self.opened_at,
        )
        await self._release()

    async def _release(self) -> None:
        """Leave presence and every group. Once only; the layer may be unreachable."""
        if self.released:
            return
        self.released = True
        if getattr(self, "counted_open", False):
            metrics.SOCKETS_OPEN.dec()
        watchdog.forget(self.channel_name)
        if hasattr(self, "quiet_start_timer"):
            self.quiet_start_timer.cancel()
        heartbeats.drop(self.channel_name)
        if hasattr(self, "expiry_timer"):
            self.expiry_timer.cancel()
        if getattr(self, "claimed", False):
            try:
                if await presence.store().leave(self.user.pk, self.channel_name):
                    await presence_notices.changed(
                        self.user.pk, wire.user_data(self.user), list(self.cursors), online=False
                    )
            except Exception:
                logger.exception("presence update on disconnect failed")
        try:
            for room_id in list(self.cursors):
                await fanout.unsubscribe(room_id, self)
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        except Exception:
            logger.exception("leaving the socket's groups failed")

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if self.closing or self.socket_closed:
            return  # the server refuses frames after a close, ours or its; the client resumes
        # A client that stops reading makes the send wait, and its live events pile up in this
        # process meanwhile: past the limit it is closed and catches up when it reconnects.
        started = time.monotonic()
        try:
            async with asyncio.timeout(settings.PARLEY_SOCKET_SEND_TIMEOUT):
                await super().send(text_data, bytes_data, close)
        except TimeoutError:
            await self._drop_too_slow("a frame was not taken in time")
        except (OSError, RuntimeError) as error:
            if not connection_gone(error):
                raise
            self.socket_closed = True
        if time.monotonic() - started > CLIENT_WAIT:
            self.waited_for_client_at = time.monotonic()

    def _falling_behind(self, sent_at: float) -> bool:
        """A live event waited here longer than the send timeout, and the client, not this
        socket's own work (a busy sender's posts), is why: it made a send wait lately."""
        limit = settings.PARLEY_SOCKET_SEND_TIMEOUT
        client_slow = time.monotonic() - self.waited_for_client_at < limit
        return client_slow and time.time() - sent_at > limit

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        if self.closing or self.socket_closed:
            return  # closed already: the server would refuse a second close
        self.closing = True
        try:
            await super().close(code, reason)
        except (OSError, RuntimeError) as error:
            if not connection_gone(error):
                raise
            self.socket_closed = True

    async def _drop_too_slow(self, reason: str) -> None:
        """Close a socket whose client does not keep up (4008) and stop serving it."""
        logger.warning("socket too slow (%s): user %s, closing", reason, self.user.pk)
        await self._release()  # nothing more is queued for it from here on
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT):
                await self.close(code=CLOSE_TOO_SLOW)
        raise StopConsumer()

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=wire.dumps(frame))

    # Client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data or b""
        if len(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")) > (
            settings.PARLEY_FRAME_MAX_BYTES
        ):
            await self.close(code=CLOSE_FRAME_TOO_BIG)
            return
        ref = None
        try:
            if text_data is None:
                raise FrameError("Binary frames are not supported; send JSON text.")
            frame = parse_frame(text_data)
            ref = ref_of(frame)
            # Counted after parsing so that the refusal names the frame's ref.
            wait = self.frame_allowance.wait()
            if wait:
                metrics.RATE_LIMITED.labels(limit="socket_frames").inc()
                raise RateLimited("Too many frames.", retry_after=round(wait, 3))
            command = (
                self.COMMANDS.get(frame.get("type")) if isinstance(frame.get("type"), str) else None
            )
            if command is None:
                raise FrameError("Unknown frame type.", known=sorted(self.COMMANDS))
            if self.held is not None and command is not ParleySocket.resume:
                await self._end_quiet_start()
            await command(self, frame, ref)
            if self.held is not None:
                await self._end_quiet_start()  # after the client's resume
        except ParleyError as error:
            await self.send_frame(wire.error_frame(error.code, error.message, ref, **error.details))
        except StopConsumer:
            raise
        except OUTAGES:
            logger.warning("socket command failed: database or Redis unavailable", exc_info=True)
            await self.send_frame(
                wire.error_frame(Unavailable.code, Unavailable.default_message, ref)
            )
        except Exception:
            logger.exception("socket command failed")
            await self.send_frame(wire.error_frame("internal", "Something went wrong.", ref))

    async def send_message(self, frame: dict[str, Any], ref: object) -> None:
        message = await in_thread(message_post)(
            self.user,
            room_id=text_field(frame, "room"),
            body=frame.get("body"),
            client_id=frame.get("client_id"),
        )
        await self._ack(ref, message.room.public_id, message.seq, client_id=message.client_id)

    async def edit_message(self, frame: dict[str, Any], ref: object) -> None:
        message = await in_thread(message_edit)(
            self.user,
            room_id=text_field(frame, "room"),
            seq=int_field(frame, "seq"),
            body=frame.get("body"),
        )
        await self._ack(ref, message.room.public_id, message.seq)

    async def delete_message(self, frame: dict[str, Any], ref: object) -> None:
        message = await in_thread(message_delete)(
            self.user, room_id=text_field(frame, "room"), seq=int_field(frame, "seq")
        )
        await self._ack(ref, message.room.public_id, message.seq)

    async def join_room(self, frame: dict[str, Any], ref: object) -> None:
        membership = await in_thread(room_join)(self.user, room_id=text_field(frame, "room"))
        await self._ack(ref, membership.room.public_id, membership.last_read_seq)

    async def leave_room(self, frame: dict[str, Any], ref: object) -> None:
        line = await in_thread(room_leave)(self.user, room_id=text_field(frame, "room"))
        await self._ack(ref, line.room.public_id, line.seq)

    async def fetch_history(self, frame: dict[str, Any], ref: object) -> None:
        page = await in_thread(history_page)(
            self.user,
            room_id=text_field(frame, "room"),
            before=optional_int(frame, "before"),
            after=optional_int(frame, "after"),
            limit=optional_int(frame, "limit"),
        )
        await self.send_frame(
            {
                "type": "history",
                "ref": ref,
                "room": str(page.room.public_id),
                "messages": [wire.message_data(message) for message in page.messages],
                "has_more": page.has_more,
            }
        )

    async def resume(self, frame: dict[str, Any], ref: object) -> None:
        cursors = frame.get("cursors")
        if not isinstance(cursors, dict) or len(cursors) > 10_000:
            raise InvalidInput("'cursors' must be an object of room id to seq.", field="cursors")
        report: dict[str, Any] = {}
        for raw_id, seq in cursors.items():
            report[raw_id] = await self._resume_room(canonical_room_id(raw_id), seq)
        await self.send_frame({"type": "resumed", "ref": ref, "rooms": report})

    async def open_direct(self, frame: dict[str, Any], ref: object) -> None:
        room = await in_thread(direct_open)(self.user, username=frame.get("username"))
        await self._ack(ref, room.public_id, room.last_seq)

    async def mark_read(self, frame: dict[str, Any], ref: object) -> None:
        membership = await in_thread(read_mark)(
            self.user, room_id=text_field(frame, "room"), seq=int_field(frame, "seq")
        )
        await self._ack(ref, membership.room.public_id, membership.last_read_seq)

    async def list_members(self, frame: dict[str, Any], ref: object) -> None:
        members = await in_thread(room_members)(self.user, room_id=text_field(frame, "room"))
        online = await presence.store().online([member["user_id"] for member in members])
        for member in members:
            member["online"] = member.pop("user_id") in online
        await self.send_frame(
            {
                "type": "members",
                "ref": ref,
                "room": canonical_room_id(frame["room"]),
                "members": members,
                "online_count": len(online),
            }
        )

    async def start_typing(self, frame: dict[str, Any], ref: object) -> None:
        room_id = canonical_room_id(text_field(frame, "room"))
        if room_id not in self.cursors:
            raise RoomNotFound()
        now = time.monotonic()
        if now - self.typing_sent.get(room_id, -1e9) < settings.PARLEY_TYPING_INTERVAL:
            return  # already announced recently: not an error, just not repeated
        self.typing_sent[room_id] = now
        await publish.typing(room_id, self.user, expires_in=settings.PARLEY_TYPING_EXPIRY)

    async def ping(self, frame: dict[str, Any], ref: object) -> None:
        await self.send_frame({"type": "pong", "ref": ref})

    COMMANDS: dict[str, Callable[..., Awaitable[None]]] = {
        "message.send": send_message,
        "message.edit": edit_message,
        "message.delete": delete_message,
        "room.join": join_room,
        "room.leave": leave_room,
        "history.fetch": fetch_history,
        "resume": resume,
        "direct.open": open_direct,
        "read.mark": mark_read,
        "members.list": list_members,
        "typing": start_typing,
        "ping": ping,
    }

    async def _ack(self, ref: object, room_id: object, seq: int, **extra: object) -> None:
        await self.send_frame(
            {"type": "ack", "ref": ref, "room": str(room_id), "seq": seq, **extra}
        )

    # Catch-up

    async def _resume_room(self, room_id: str, seq: object) -> dict[str, Any]:
        if room_id not in self.cursors:
            return {"error": RoomNotFound.code}
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
            return {"error": InvalidInput.code, "message": "A cursor is a seq of 0 or more."}
        self.cursors[room_id] = seq
        if self.held is not None:
            self.held.discard(room_id)  # caught up from the client's own cursor here
        replayed, last_seq, gap = await self._catch_up(room_id, limit=settings.PARLEY_REPLAY_MAX)
        metrics.CATCHUP_REPLAYED.inc(replayed)
        result: dict[str, Any] = {"replayed": replayed, "last_seq": last_seq}
        if seq > last_seq:
            result["error"] = "cursor_ahead"
            result["message"] = "The cursor is past the room's last seq; it was reset to it."
        if gap is not None:
            result["gap"] = gap
        return result

    async def _catch_up(
        self, room_id: str, *, limit: int | None = None
    ) -> tuple[int, int, dict[str, int] | None]:
        """Send what the database has after this socket's cursor for a room, in seq order.

        Returns (entries sent, the room's last seq, the skipped range if `limit` was reached).
        """
        sent = 0
        page_size = settings.PARLEY_HISTORY_MAX_PAGE_SIZE
        while True:
            after = self.cursors[room_id]
            try:
                page = await in_thread(history_page)(
                    self.user, room_id=room_id, after=after, limit=page_size
                )
            except (RoomNotFound, NotMember):
                await self._unsubscribe(room_id)
                return sent, after, None
            if limit is not None and sent == 0 and page.room.last_seq - after > limit:
                # Too far behind to replay: say so, and let the client page through history.
                self.cursors[room_id] = page.room.last_seq
                return 0, page.room.last_seq, {"after": after, "through": page.room.last_seq}
            for message in page.messages:
                message.room = page.room
                await self.send_frame(wire.message_frame("message.new", message))
                self.cursors[room_id] = message.seq
                sent += 1
            if not page.has_more:
                if not page.messages and after > page.room.last_seq:
                    self.cursors[room_id] = page.room.last_seq  # the client's cursor was ahead
                return sent, max(self.cursors[room_id], page.room.last_seq), None

    async def _unsubscribe(self, room_id: str, *, notify: bool = True) -> None:
        """Stop receiving a room's events; tell the client unless it is told otherwise."""
        if self.cursors.pop(room_id, None) is None:
            return
        self.early.pop(room_id, None)
        await fanout.unsubscribe(room_id, self)
        if notify:
            await self.send_frame({"type": "room.left", "room": room_id})

    # Live events (published by chat.realtime.publish)

    def offer(self, event: dict[str, Any], frame: shared_frames.SharedFrame) -> bool:
        """A live event of one of this socket's rooms, from the process's fan-out.

        When nothing is ahead of it and there is nothing to decide, it is dealt with here and
        now: the next entry of its room, or a frame that is only passed on, is written to the
        connection as the shared frame, and a duplicate is dropped. Anything else (a gap, the
        quiet start, a client that is not reading, a handler still running, no shared frames
        under this server) goes to the handler loop, behind what is queued there. True if a
        timeline entry was delivered here (the fan-out counts them).
        """
        if self.released or self.closing or self.socket_closed:
            return False  # nothing more is sent to it
        if self.write_shared is None or self.held is not None or not self.idle():
            self.local_events.put_nowait(event)
            return False
        room_id, kind = event["room"], event["type"]
        cursor = self.cursors.get(room_id)
        if cursor is None:
            return False  # left the room meanwhile
        if room_id in self.early:
            self.local_events.put_nowait(event)
            return False
        if kind == "message.new":
            if event["seq"] <= cursor:
                return False  # delivered already
            if event["seq"] == cursor + 1 and self.write_shared(frame):
                self.cursors[room_id] = event["seq"]
                return True
        elif kind in ("message.edited", "message.deleted"):
            if event["seq"] > cursor:
                return False  # arrives, as it is now, with the entry itself
            if self.write_shared(frame):
                return False
        elif kind in PASSED_ON and self.write_shared(frame):
            return False
        self.local_events.put_nowait(event)
        return False

    async def _end_quiet_start(self) -> None:
        """Deliver what was held back since `hello`, from the database, in seq order."""
        held, self.held = self.held or set(), None
        for room_id in held:
            if room_id in self.cursors:
                await self._catch_up(room_id)

    async def _end_quiet_start_later(self) -> None:
        """Wake this socket's own handler loop when the grace is over (quiet_start_over)."""
        await asyncio.sleep(settings.PARLEY_RESUME_GRACE)
        try:
            await self.channel_layer.send(self.channel_name, {"type": "quiet.start.over"})
        except Exception:
            logger.warning("channel layer unreachable: the quiet start ends with the next event")

    async def quiet_start_over(self, event: dict[str, Any]) -> None:
        if self.held is not None:
            await self._end_quiet_start()

    async def message_new(self, event: dict[str, Any]) -> None:
        room_id, seq = event["room"], event["seq"]
        cursor = self.cursors.get(room_id)
        if cursor is None or seq <= cursor:
            return
        if self.held is not None:
            if time.monotonic() - self.hello_at < settings.PARLEY_RESUME_GRACE:
                self.held.add(room_id)
                return
            await self._end_quiet_start()  # the grace is over; its wake-up may come later
            return await self.message_new(event)
        if seq == cursor + 1:
            await self._forward(room_id, seq, event["text"], event.get("sent_at"))
            if room_id in self.early:
                await self._forward_early(room_id)
            return
        # Entries committed one after another are published from different threads and
        # processes, so they may arrive out of order: hold this one for the missing ones rather
        # than read the database at once (a read per socket in the room, which at high rates
        # snowballed), and read it only if they do not come within GAP_WAIT.
        early = self.early.setdefault(room_id, {})
        if not early:
            self.gap_opened_at[room_id] = time.monotonic()
            asyncio.get_running_loop().call_later(GAP_WAIT, self._wake_for_gap, room_id, early)
        early[seq] = event["text"]
        if time.monotonic() - self.gap_opened_at[room_id] > 4 * GAP_WAIT:
            # The wake-up never came (the channel layer refused it): fill the gap here.
            await self.gap_fill({"room": room_id})

    async def _forward(self, room_id: str, seq: int, text: str, sent_at: float | None) -> None:
        self.cursors[room_id] = seq
        await self.send(text_data=text)
        metrics.DELIVERIES.inc()
        if sent_at is not None:
            metrics.FANOUT_LATENCY.observe(max(0.0, time.time() - sent_at))

    async def _forward_early(self, room_id: str) -> None:
        """Send the held entries of a room that are next now, in seq order."""
        early = self.early[room_id]
        while room_id in self.cursors:
            cursor = self.cursors[room_id]
            for seq in [seq for seq in early if seq <= cursor]:
                del early[seq]  # delivered meanwhile by a catch-up
            text = early.pop(cursor + 1, None)
            if text is None:
                break
            await self._forward(room_id, cursor + 1, text, None)
        if not early:
            self.early.pop(room_id, None)

    def _wake_for_gap(self, room_id: str, early: dict[int, str]) -> None:
        """GAP_WAIT after a gap opened: if it is still open, have the handler loop fill it."""
        if self.early.get(room_id) is early and not self.released:
            waking = asyncio.ensure_future(self._send_gap_fill(room_id))
            _WAKE_UPS.add(waking)
            waking.add_done_callback(_WAKE_UPS.discard)

    async def _send_gap_fill(self, room_id: str) -> None:
        try:
            await self.channel_layer.send(self.channel_name, {"type": "gap.fill", "room": room_id})
        except Exception:
            # Entries held meanwhile are read when the layer is back (layer_recovered).
            logger.warning("channel layer unreachable: a gap is filled when it is back")

    async def gap_fill(self, event: dict[str, Any]) -> None:
        room_id = event["room"]
        held = self.early.pop(room_id, None)  # the database has these too
        if held and room_id in self.cursors and max(held) > self.cursors[room_id]:
            metrics.GAP_FILLS.inc()
            await self._catch_up(room_id)

    async def message_edited(self, event: dict[str, Any]) -> None:
        # An entry this socket has not delivered yet will arrive, as it now is, via catch-up.
        self.early.get(event["room"], {}).pop(event["seq"], None)
        if self.cursors.get(event["room"], 0) >= event["seq"]:
            await self.send(text_data=event["text"])

    message_deleted = message_edited

    async def member_joined(self, event: dict[str, Any]) -> None:
        if event["room"] in self.cursors:  # not a room it left while this waited
            await self.send(text_data=event["text"])

    member_left = typing_started = presence_changed = member_joined

    async def room_subscribe(self, event: dict[str, Any]) -> None:
        room_id = event["room"]
        if room_id in self.cursors:
            return
        self.cursors[room_id] = event["seq"] - 1
        await fanout.subscribe(room_id, self)
        await self.send(text_data=event["text"])
        await self._catch_up(room_id)

    async def room_unsubscribe(self, event: dict[str, Any]) -> None:
        await self._unsubscribe(event["room"])

    async def _close_when_token_expires(self, expires_at: datetime) -> None:
        """Revoke this socket's own access when its token expires, through its handler loop."""
        await asyncio.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()))
        event = {"type": "access.revoked", "session": None, "token": self.token_id}
        try:
            await self.channel_layer.send(self.channel_name, event)
        except Exception:
            logger.exception("could not close socket %s at its token's expiry", self.channel_name)

    async def access_revoked(self, event: dict[str, Any]) -> None:
        """A login of this user ended (accounts.revocation): close if it is this socket's."""
        if event["session"] is not None and event["session"] != self.session:
            return  # another session of the same user logged out
        if event["token"] is not None and event["token"] != self.token_id:
            return
        if event.get("every_session") and self.session is None:
            return  # a new password ends the user's sessions, not their tokens
        logger.info("socket closed: access revoked, user %s", self.user.pk)
        await self._release()  # nothing more reaches it from here on
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT):
                await self.close(code=CLOSE_ACCESS_REVOKED)
        raise StopConsumer()

    async def groups_renew(self, event: dict[str, Any]) -> None:
        """Add this socket to its groups again, before the layer's group expiry forgets it.

        Runs here, between the socket's other events, so that it cannot re-add a room that a
        `room.leave` is taking away.
        """
        if self.released:
            return
        await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        for room_id in list(self.cursors):
            await fanout.subscribe(room_id, self)

    async def layer_recovered(self, event: dict[str, Any]) -> None:
        """The channel layer reconnected (chat/realtime/watchdog.py): entries published while
        it was away never arrive live, so read every room's from the database."""
        self.held = None  # everything is read from the database now
        self.early.clear()
        for room_id in list(self.cursors):
            await self._catch_up(room_id)

    async def rooms_behind(self, event: dict[str, Any]) -> None:
        """Rooms whose newest entry this socket has not had for a whole heartbeat (its publish
        was lost, chat/realtime/heartbeats.py): read them from the database."""
        if self.held is not None:
            return  # the quiet start reads every held room from the database anyway
        for room_id in event["rooms"]:
            if room_id in self.cursors:
                self.early.pop(room_id, None)  # the database has these too
                await self._catch_up(room_id)

    async def read_updated(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    # Presence

    async def _announce_again(self) -> None:
        """This socket's presence entry had lapsed (chat/realtime/heartbeats.py): the user may
        have been announced offline meanwhile."""
        await presence_notices.changed(
            self.user.pk, wire.user_data(self.user), list(self.cursors), online=True
        )


def _opening_reads(
    user: Any, session_key: str | None, token_id: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """The reads that follow joining the groups, in one trip to a worker thread: the rooms with
    their state, and whether the login is still valid (a logout between the handshake's check
    and joining the user's group went unheard)."""
    return (
        rooms_with_state(user),
        access_is_current(user.pk, session_key=session_key, token_id=token_id),
    )


async def announce_offline(user_ids: list[int]) -> None:
    """Users whose sockets all expired (their process died): tell their rooms."""
    for user_id, user_data, room_ids in await in_thread(presence_audience)(user_ids):
        await presence_notices.changed(user_id, user_data, room_ids, online=False)

"""The Parley socket: one per browser tab, carrying every room of its user.

The protocol is docs/protocol.md. This module opens and closes the socket and holds the
command table: each client frame is parsed here and handed to one service or selector, and
the result or the error becomes a frame. Live events and catch-up are chat/consumers/live.py
(deciding with chat/realtime/delivery.py), sending is chat/consumers/transport.py, and what the
process does for all its sockets is chat/consumers/runtime.py.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from django.conf import settings

from accounts.revocation import access_is_current, session_fingerprint
from chat import wire
from chat.consumers import commands
from chat.consumers.fields import (
    FrameError,
    parse_frame,
    ref_of,
)
from chat.consumers.live import CLOSE_TRY_AGAIN_LATER, LiveEvents
from chat.consumers.loop import OneReaderPerSource
from chat.consumers.runtime import runtime
from chat.db import in_thread
from chat.realtime import presence, presence_notices, shared_frames
from chat.realtime.delivery import Delivery
from chat.realtime.fanout import group_add
from chat.realtime.groups import user_group
from chat.selectors import search
from chat.selectors.rooms import room_ids_of_user
from chat.selectors.sidebar import rooms_with_state
from core import metrics
from core.errors import OUTAGES, ParleyError, RateLimited, Unavailable
from core.ratelimit import LocalBucket

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4001
CLOSE_FRAME_TOO_BIG = 1009
CLOSE_TOO_MANY_SOCKETS = 4009  # the user has PARLEY_SOCKETS_PER_USER sockets open already


class ParleySocket(OneReaderPerSource, LiveEvents):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivery = Delivery()
        self.released = False
        self.write_shared: Callable[[shared_frames.SharedFrame], bool] | None = None
        self.typing_sent: dict[str, float] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when a handler failed and the disconnect never ran: a consumer that ended
            # must not stay in its rooms' fan-out.
            if hasattr(self, "user"):
                await self.release()

    # Opening and closing

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.accept()
            await self._refuse(CLOSE_UNAUTHENTICATED, "unauthenticated", "not authenticated")
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
        self.runtime = runtime()
        await self.accept()
        try:
            came_online = await presence.store().claim(
                user.pk, self.channel_name, limit=settings.PARLEY_SOCKETS_PER_USER
            )
            self.claimed = True
            rooms, current = await self._subscribe(session_key)
        except presence.TooManySockets:
            limit = settings.PARLEY_SOCKETS_PER_USER
            await self._refuse(
                CLOSE_TOO_MANY_SOCKETS, "sockets_per_user", f"{limit} sockets open already"
            )
            return
        except OUTAGES:
            logger.warning("socket closed: database or Redis unavailable", exc_info=True)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if not current:
            await self._refuse(CLOSE_UNAUTHENTICATED, "unauthenticated", "login ended meanwhile")
            return
        await self.send_frame(_hello(user, rooms))
        metrics.SOCKETS_OPEN.inc()
        self.counted_open = True
        logger.info("socket open: user %s, %d rooms", user.pk, len(rooms))
        if "resume" in parse_qs(self.scope.get("query_string", b"").decode("latin-1")):
            self.delivery.start_quietly(time.monotonic())
            self.quiet_start_timer = asyncio.create_task(self.end_quiet_start_later())
        if came_online:
            await self._announce_presence(online=True)
        if self.scope.get("token_expires_at") is not None:
            self.expiry_timer = asyncio.create_task(
                self.close_when_token_expires(self.scope["token_expires_at"])
            )
        self.runtime.watch(
            user_id=user.pk,
            channel_name=self.channel_name,
            cursors=self.delivery.cursors,
            lapsed=self._announce_presence,
        )

    async def _refuse(self, code: int, reason: str, why: str) -> None:
        """Close an accepted socket that may not be served, counting why."""
        metrics.SOCKETS_REFUSED.labels(reason=reason).inc()
        logger.info("socket refused: %s (close %s)", why, code)
        await self.close(code=code)

    async def _subscribe(self, session_key: str | None) -> tuple[list[dict[str, Any]], bool]:
        """Join the user's groups and set each room's cursor. Returns the rooms as `hello` lists
        them, and whether the login the socket opened with is still valid."""
        # Subscribe before reading state, so nothing committed in between is missed.
        await group_add(self.channel_layer, user_group(self.user.pk), self.channel_name)
        for room_id in await in_thread(room_ids_of_user)(self.user):
            self.delivery.subscribe(room_id, cursor=0)
            await self.runtime.fanout.subscribe(room_id, self)
        rooms, current_login = await in_thread(_opening_reads)(
            self.user, session_key, self.token_id
        )
        last_seqs = {room["id"]: room["last_seq"] for room in rooms}
        for room_id in self.delivery.rooms():
            if room_id not in last_seqs:
                await self.unsubscribe(room_id, notify=False)  # left in between the two reads
            else:
                self.delivery.cursors[room_id] = last_seqs[room_id]
        return rooms, current_login

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):
            return
        seconds = time.monotonic() - self.opened_at
        logger.info("socket closed: user %s, code %s, after %.0f s", self.user.pk, code, seconds)
        await self.release()

    async def release(self) -> None:
        """Leave presence and every group. Once only; the layer may be unreachable."""
        if self.released:
            return
        self.released = True
        if getattr(self, "counted_open", False):
            metrics.SOCKETS_OPEN.dec()
        for timer in ("quiet_start_timer", "expiry_timer"):
            if hasattr(self, timer):
                getattr(self, timer).cancel()
        if hasattr(self, "runtime"):
            self.runtime.forget(self.channel_name)
        if getattr(self, "claimed", False):
            try:
                if await presence.store().leave(self.user.pk, self.channel_name):
                    await self._announce_presence(online=False)
            except Exception:
                logger.exception("presence update on disconnect failed")
        try:
            for room_id in self.delivery.rooms():
                await self.runtime.fanout.unsubscribe(room_id, self)
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        except Exception:
            logger.exception("leaving the socket's groups failed")

    async def _announce_presence(self, *, online: bool = True) -> None:
        """Tell the user's rooms; also called when the presence entry had lapsed (heartbeats)."""
        user_data = wire.user_data(self.user)
        await presence_notices.changed(
            self.user.pk, user_data, self.delivery.rooms(), online=online
        )

    # Client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data or b""
        size = len(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
        if size > settings.PARLEY_FRAME_MAX_BYTES:
            await self.close(code=CLOSE_FRAME_TOO_BIG)
            return
        ref = None
        try:
            try:
                if text_data is None:
                    raise FrameError("Binary frames are not supported; send JSON text.")
                frame = parse_frame(text_data)
                ref = ref_of(frame)
            finally:
                # Every frame counts, a malformed one too (its refusal then says rate_limited);
                # after parsing, so that the refusal names the frame's ref when it has one.
                self._count_frame()
            kind = frame.get("type")
            command = self.COMMANDS.get(kind) if isinstance(kind, str) else None
            if command is None:
                raise FrameError("Unknown frame type.", known=sorted(self.COMMANDS))
            if self.delivery.in_quiet_start and command is not commands.resume:
                await self.end_quiet_start()
            await command(self, frame, ref)
            if self.delivery.in_quiet_start:
                await self.end_quiet_start()  # after the client's resume
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

    def _count_frame(self) -> None:
        wait = self.frame_allowance.wait()
        if wait:
            metrics.RATE_LIMITED.labels(limit="socket_frames").inc()
            raise RateLimited("Too many frames.", retry_after=round(wait, 3))

    COMMANDS: dict[str, commands.Command] = {
        "message.send": commands.send_message,
        "message.edit": commands.edit_message,
        "message.delete": commands.delete_message,
        "reaction.add": commands.add_reaction,
        "reaction.remove": commands.remove_reaction,
        "room.join": commands.join_room,
        "room.leave": commands.leave_room,
        "history.fetch": commands.fetch_history,
        "search": commands.search,
        "resume": commands.resume,
        "direct.open": commands.open_direct,
        "read.mark": commands.mark_read,
        "members.list": commands.list_members,
        "typing": commands.start_typing,
        "ping": commands.ping,
    }


def _hello(user: Any, rooms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": wire.PROTOCOL_VERSION,
        "user": wire.user_data(user),
        "rooms": rooms,
        "limits": {
            "body_max_length": settings.PARLEY_MESSAGE_MAX_LENGTH,
            "frame_max_bytes": settings.PARLEY_FRAME_MAX_BYTES,
            "history_max_page": settings.PARLEY_HISTORY_MAX_PAGE_SIZE,
            "search_query_max_length": search.QUERY_MAX_LENGTH,
            "search_max_page": search.MAX_PAGE_SIZE,
            "replay_max": settings.PARLEY_REPLAY_MAX,
            "attachments_per_message": settings.PARLEY_ATTACHMENTS_PER_MESSAGE,
            "upload_max_bytes": settings.PARLEY_UPLOAD_MAX_BYTES,
        },
    }


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

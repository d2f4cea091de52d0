"""A socket's live events and catch-up: what chat/realtime/delivery.py decides, done.

Live events come from the process's fan-out (`offer`, for the room events every socket of a
room gets) or on the socket's own channel (its user's events, its wake-ups), and are
dispatched to the handlers below, named after the event type (`message.new` ->
`message_new`). Catch-up reads the database after a room's cursor and sends what it finds.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from channels.consumer import get_handler_name
from django.conf import settings
from django.utils import timezone

from chat import wire
from chat.consumers.runtime import ProcessRuntime
from chat.consumers.transport import GuardedTransport
from chat.db import in_thread
from chat.realtime.delivery import GAP_WAIT, Delivery, Offer
from chat.realtime.groups import user_group
from chat.realtime.shared_frames import SharedFrame
from chat.selectors.messages import history_page
from core import metrics
from core.errors import OUTAGES, NotMember, RoomNotFound

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013  # the database or Redis failed while opening or catching up
CLOSE_ACCESS_REVOKED = 4003  # logged out, token revoked or account deactivated while open
# Wake-ups of sockets holding entries past a gap, kept referenced until they are sent.
_WAKE_UPS: set[asyncio.Future[None]] = set()


class LiveEvents(GuardedTransport):
    """Mixin for the socket consumer: handlers of live events, catch-up, resume."""

    user: Any
    delivery: Delivery
    runtime: ProcessRuntime
    released: bool
    session: str | None
    token_id: int | None
    write_shared: Callable[[SharedFrame], bool] | None
    local_events: asyncio.Queue[dict[str, Any]]
    idle: Callable[[], bool]

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale DB connections before every message, a thread hop per live
        # event; in_thread() already does that around the database work that needs it.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if "sent_at" in message and self.falling_behind(message["sent_at"]):
            await self.drop_too_slow("live events are falling behind")
        try:
            await handler(message)
        except OUTAGES:
            # A catch-up could not read the database, so delivery cannot go on in order: the
            # client reconnects and resumes later.
            logger.warning("socket closed: database unavailable", exc_info=True)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)

    # From the fan-out

    def offer(self, event: dict[str, Any], frame: SharedFrame) -> bool:
        """A live event of one of this socket's rooms, from the process's fan-out.

        When nothing is ahead of it and there is nothing to decide, it is written to the
        connection here and now as the shared frame; anything else goes to the handler loop,
        behind what is queued there. True if a timeline entry was delivered here (the fan-out
        counts them).
        """
        if self.released or self.closing or self.socket_closed:
            return False  # nothing more is sent to it
        idle = self.write_shared is not None and self.idle()
        decision = self.delivery.offer(event, handler_idle=idle)
        if decision is Offer.DROP:
            return False
        if decision is Offer.WRITE and self.write_shared is not None and self.write_shared(frame):
            return self.delivery.written(event)
        self.local_events.put_nowait(event)
        return False

    # Timeline entries

    async def message_new(self, event: dict[str, Any]) -> None:
        now = time.monotonic()
        if self.delivery.quiet_start_over(now, settings.PARLEY_RESUME_GRACE):
            await self.end_quiet_start()  # its wake-up may come later
        room_id = event["room"]
        decision = self.delivery.new_entry(room_id, event["seq"], event["text"], now=now)
        for text in decision.texts:
            await self.send(text_data=text)
        if decision.texts:
            metrics.DELIVERIES.inc(len(decision.texts))
            if event.get("sent_at") is not None:
                metrics.FANOUT_LATENCY.observe(max(0.0, time.time() - event["sent_at"]))
        if decision.wait_for_gap:
            asyncio.get_running_loop().call_later(
                GAP_WAIT, self._wake_for_gap, room_id, decision.gap
            )
        if decision.catch_up:
            metrics.GAP_FILLS.inc()
            await self.catch_up(room_id)

    def _wake_for_gap(self, room_id: str, gap: int) -> None:
        """GAP_WAIT after a gap opened: if it is still open, have the handler loop fill it."""
        if self.delivery.gap_still_open(room_id, gap) and not self.released:
            waking = asyncio.ensure_future(self.ask_for_gap_fill(room_id))
            _WAKE_UPS.add(waking)
            waking.add_done_callback(_WAKE_UPS.discard)

    async def ask_for_gap_fill(self, room_id: str) -> None:
        try:
            await self.channel_layer.send(self.channel_name, {"type": "gap.fill", "room": room_id})
        except Exception:
            # Entries held meanwhile are read when the layer is back (layer_recovered).
            logger.warning("channel layer unreachable: a gap is filled when it is back")

    async def gap_fill(self, event: dict[str, Any]) -> None:
        if self.delivery.gap_fill(event["room"]):
            metrics.GAP_FILLS.inc()
            await self.catch_up(event["room"])

    async def message_edited(self, event: dict[str, Any]) -> None:
        if self.delivery.change(event["room"], event["seq"]):
            await self.send(text_data=event["text"])

    message_deleted = reaction_updated = message_edited

    async def member_joined(self, event: dict[str, Any]) -> None:
        if self.delivery.subscribed(event["room"]):  # not a room it left while this waited
            await self.send(text_data=event["text"])

    member_left = typing_started = presence_changed = member_joined

    async def read_updated(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    # Rooms joined and left elsewhere (another tab, the API, the admin)

    async def room_subscribe(self, event: dict[str, Any]) -> None:
        room_id = event["room"]
        if not self.delivery.subscribe(room_id, cursor=event["seq"] - 1):
            return
        await self.runtime.fanout.subscribe(room_id, self)
        await self.send(text_data=event["text"])
        await self.catch_up(room_id)

    async def room_unsubscribe(self, event: dict[str, Any]) -> None:
        await self.unsubscribe(event["room"])

    async def unsubscribe(self, room_id: str, *, notify: bool = True) -> None:
        """Stop receiving a room's events; tell the client unless it is told otherwise."""
        if not self.delivery.unsubscribe(room_id):
            return
        await self.runtime.fanout.unsubscribe(room_id, self)
        if notify:
            await self.send_frame({"type": "room.left", "room": room_id})

    # Catch-up

    async def catch_up(
        self, room_id: str, *, limit: int | None = None
    ) -> tuple[int, int, dict[str, int] | None]:
        """Send what the database has after this socket's cursor for a room, in seq order.

        Returns (entries sent, the room's last seq, the skipped range if more than `limit`
        entries were missed: the client pages through history for those).
        """
        sent = 0
        page_size = settings.PARLEY_HISTORY_MAX_PAGE_SIZE
        while True:
            after = self.delivery.cursors[room_id]
            try:
                page = await in_thread(history_page)(
                    self.user, room_id=room_id, after=after, limit=page_size
                )
            except (RoomNotFound, NotMember):
                await self.unsubscribe(room_id)
                return sent, after, None
            last_seq = page.room.last_seq
            if sent == 0 and self.delivery.skip_to(
                room_id, after=after, last_seq=last_seq, limit=limit
            ):
                return 0, last_seq, {"after": after, "through": last_seq}
            for message in page.messages:
                message.room = page.room
                await self.send_frame(wire.message_frame("message.new", message))
                self.delivery.sent(room_id, message.seq)
                sent += 1
            if not page.has_more:
                empty = not page.messages
                return (
                    sent,
                    self.delivery.caught_up(room_id, last_seq=last_seq, page_was_empty=empty),
                    None,
                )

    async def end_quiet_start(self) -> None:
        """Deliver what was held back since `hello`, from the database, in seq order."""
        for room_id in self.delivery.end_quiet_start():
            await self.catch_up(room_id)

    async def end_quiet_start_later(self) -> None:
        """Wake this socket's own handler loop when the grace is over (quiet_start_over)."""
        await asyncio.sleep(settings.PARLEY_RESUME_GRACE)
        try:
            await self.channel_layer.send(self.channel_name, {"type": "quiet.start.over"})
        except Exception:
            logger.warning("channel layer unreachable: the quiet start ends with the next event")

    async def quiet_start_over(self, event: dict[str, Any]) -> None:
        if self.delivery.in_quiet_start:
            await self.end_quiet_start()

    async def layer_recovered(self, event: dict[str, Any]) -> None:
        """The channel layer reconnected (chat/realtime/watchdog.py): entries published while
        it was away never arrive live, so read every room's from the database."""
        for room_id in self.delivery.layer_recovered():
            await self.catch_up(room_id)

    async def rooms_behind(self, event: dict[str, Any]) -> None:
        """Rooms whose newest entry this socket has not had for a whole heartbeat (its publish
        was lost, chat/realtime/heartbeats.py): read them from the database."""
        for room_id in self.delivery.behind(event["rooms"]):
            await self.catch_up(room_id)

    async def groups_renew(self, event: dict[str, Any]) -> None:
        """Add this socket to its groups again, before the layer's group expiry forgets it.

        Runs here, between the socket's other events, so that it cannot re-add a room that a
        `room.leave` is taking away.
        """
        if self.released:
            return
        await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        for room_id in self.delivery.rooms():
            await self.runtime.fanout.subscribe(room_id, self)

    # Access ending while the socket is open

    async def close_when_token_expires(self, expires_at: datetime) -> None:
        """Revoke this socket's own access when its token expires, through its handler loop."""
        await asyncio.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()))
        event = {"type": "access.revoked", "session": None, "token": self.token_id}
        try:
            await self.channel_layer.send(self.channel_name, event)
        except Exception:
            logger.exception("could not close socket %s at its token's expiry", self.channel_name)

    async def profile_changed(self, event: dict[str, Any]) -> None:
        """The user changed how they are shown (chat.realtime.publish.profile_changed)."""
        self.user = await in_thread(type(self.user).objects.get)(pk=self.user.pk)

    async def access_revoked(self, event: dict[str, Any]) -> None:
        """A login of this user ended (accounts.signals): close if it is this socket's."""
        if event["session"] is not None and event["session"] != self.session:
            return  # another session of the same user logged out
        if event["token"] is not None and event["token"] != self.token_id:
            return
        if event.get("every_session") and self.session is None:
            return  # a new password ends the user's sessions, not their tokens
        logger.info("socket closed: access revoked, user %s", self.user.pk)
        await self.close_and_stop(CLOSE_ACCESS_REVOKED)

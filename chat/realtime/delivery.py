"""What one socket delivers, and when it must read the database instead: pure state, no I/O.

Each room has a cursor: the last seq the socket has delivered. A live entry with the next seq
is sent as it is; an older one is a duplicate and dropped; a newer one means something was
missed (a lost or reordered publish), so it waits up to GAP_WAIT for the missing ones and then
the gap is read from the database. The same catch-up serves `resume` after a reconnect.
Delivery is therefore gapless, in seq order and exactly once per socket whatever the channel
layer does.

A socket opened with `/ws/?resume=1` is in its quiet start until the client's `resume` (at most
PARLEY_RESUME_GRACE seconds): live entries are held back meanwhile and read from the database
afterwards, so that the replay sends each once rather than after it went out live.

The socket (chat/consumers/live.py) asks this object what to do with each event, does the
sending and the reading, and reports back; the decisions are unit-tested without a socket.
"""

import enum
from dataclasses import dataclass, field
from typing import Any

# Seconds an entry that arrived past a gap waits for the missing ones before they are read
# from the database.
GAP_WAIT = 0.25
# A gap still open this long had its wake-up lost (the channel layer refused it): the next
# entry of the room fills it.
GAP_GIVE_UP = 4 * GAP_WAIT
# Room events that are only passed on to a socket in the room.
PASSED_ON = frozenset({"member.joined", "member.left", "typing.started", "presence.changed"})
# Timeline changes: sent to a socket that has delivered the entry they change (an entry not
# delivered yet comes later in its current state, reactions included).
CHANGES = frozenset({"message.edited", "message.deleted", "reaction.updated"})


class Offer(enum.Enum):
    """What the process's fan-out may do with a live event for this socket right now."""

    WRITE = "write"  # write the shared frame now, then report it with `written`
    DROP = "drop"  # nothing to send: a duplicate, a room left, a change that comes later
    QUEUE = "queue"  # the handler loop decides, behind what is queued there


@dataclass(frozen=True)
class NewEntry:
    """What to do with a live `message.new`: send `texts` in order (the entry, then held
    entries that are next now); `wait_for_gap` asks for a gap check of the room after GAP_WAIT
    (pass `gap` back to `gap_still_open`); `catch_up` asks for the room to be read now."""

    texts: tuple[str, ...] = ()
    wait_for_gap: bool = False
    gap: int = 0
    catch_up: bool = False


@dataclass
class Delivery:
    """One socket's delivery state: cursors, entries held back or early, the quiet start."""

    cursors: dict[str, int] = field(default_factory=dict)
    # Rooms with entries held back during the quiet start; None once it is over (or never was).
    held: set[str] | None = None
    quiet_start_at: float = 0.0
    # Live entries that arrived past a gap, by room and seq, until the missing ones come.
    early: dict[str, dict[int, str]] = field(default_factory=dict)
    gap_opened_at: dict[str, float] = field(default_factory=dict)
    # Counts gaps per room, so that a wake-up can tell whether its gap is the one still open.
    gaps_opened: dict[str, int] = field(default_factory=dict)

    # Rooms

    def subscribed(self, room_id: str) -> bool:
        return room_id in self.cursors

    def rooms(self) -> list[str]:
        return list(self.cursors)

    def subscribe(self, room_id: str, *, cursor: int) -> bool:
        """Start delivering a room after `cursor`; False if it is delivered already."""
        if room_id in self.cursors:
            return False
        self.cursors[room_id] = cursor
        return True

    def unsubscribe(self, room_id: str) -> bool:
        """Stop delivering a room; False if it was not delivered."""
        if self.cursors.pop(room_id, None) is None:
            return False
        self.early.pop(room_id, None)
        return True

    # The quiet start

    def start_quietly(self, now: float) -> None:
        """Hold live entries back until the client's `resume` or the grace's end."""
        self.held, self.quiet_start_at = set(), now

    @property
    def in_quiet_start(self) -> bool:
        return self.held is not None

    def quiet_start_over(self, now: float, grace: float) -> bool:
        return self.held is not None and now - self.quiet_start_at >= grace

    def end_quiet_start(self) -> list[str]:
        """End the quiet start; the rooms whose held entries must be read from the database."""
        held, self.held = self.held or set(), None
        return [room_id for room_id in held if room_id in self.cursors]

    # Live events

    def offer(self, event: dict[str, Any], *, handler_idle: bool) -> Offer:
        """Decide at once, from the fan-out, when there is nothing to wait for or to decide:
        the next entry of a room, a change of an entry delivered, an event only passed on."""
        if not handler_idle or self.held is not None:
            return Offer.QUEUE
        room_id, kind = event["room"], event["type"]
        cursor = self.cursors.get(room_id)
        if cursor is None:
            return Offer.DROP  # left the room meanwhile
        if room_id in self.early:
            return Offer.QUEUE
        if kind == "message.new":
            if event["seq"] <= cursor:
                return Offer.DROP  # delivered already
            return Offer.WRITE if event["seq"] == cursor + 1 else Offer.QUEUE
        if kind in CHANGES:
            # An entry not delivered yet arrives, as it is now, with the entry itself.
            return Offer.DROP if event["seq"] > cursor else Offer.WRITE
        return Offer.WRITE if kind in PASSED_ON else Offer.QUEUE

    def written(self, event: dict[str, Any]) -> bool:
        """The fan-out wrote an event that `offer` said to write; True if it was an entry."""
        if event["type"] != "message.new":
            return False
        self.cursors[event["room"]] = event["seq"]
        return True

    def new_entry(self, room_id: str, seq: int, text: str, *, now: float) -> NewEntry:
        """A live `message.new` in the handler loop (the quiet start ended first if over)."""
        cursor = self.cursors.get(room_id)
        if cursor is None or seq <= cursor:
            return NewEntry()
        if self.held is not None:
            self.held.add(room_id)
            return NewEntry()
        if seq == cursor + 1:
            self.cursors[room_id] = seq
            return NewEntry(texts=(text, *self._next_early(room_id)))
        # Entries committed one after another are published from different threads and
        # processes, so they may arrive out of order: hold this one for the missing ones rather
        # than read the database at once (a read per socket in the room, which at high rates
        # snowballed), and read it only if they do not come within GAP_WAIT.
        early = self.early.setdefault(room_id, {})
        opened = not early
        if opened:
            self.gap_opened_at[room_id] = now
            self.gaps_opened[room_id] = self.gaps_opened.get(room_id, 0) + 1
        early[seq] = text
        if now - self.gap_opened_at[room_id] > GAP_GIVE_UP:
            return NewEntry(catch_up=self.gap_fill(room_id))
        return NewEntry(wait_for_gap=opened, gap=self.gaps_opened[room_id])

    def _next_early(self, room_id: str) -> list[str]:
        """Take the held entries of a room that are next now, in seq order."""
        early = self.early.get(room_id)
        if early is None:
            return []
        texts = []
        cursor = self.cursors[room_id]
        for seq in [seq for seq in early if seq <= cursor]:
            del early[seq]  # delivered meanwhile by a catch-up
        while (text := early.pop(cursor + 1, None)) is not None:
            cursor += 1
            texts.append(text)
        self.cursors[room_id] = cursor
        if not early:
            del self.early[room_id]
        return texts

    def gap_still_open(self, room_id: str, gap: int) -> bool:
        """Whether the gap a wake-up was asked for is still the room's open gap."""
        return room_id in self.early and self.gaps_opened.get(room_id) == gap

    def gap_fill(self, room_id: str) -> bool:
        """Give up waiting for a room's missing entries: True if it must be read now."""
        held = self.early.pop(room_id, None)  # the database has these too
        if not held:
            return False
        return room_id in self.cursors and max(held) > self.cursors[room_id]

    def change(self, room_id: str, seq: int) -> bool:
        """An entry was edited or deleted: True if the socket should send the change."""
        self.early.get(room_id, {}).pop(seq, None)  # it arrives, as it is now, via catch-up
        return self.cursors.get(room_id, 0) >= seq

    def layer_recovered(self) -> list[str]:
        """The channel layer lost events: every room is read from the database."""
        self.held = None
        self.early.clear()
        return list(self.cursors)

    def behind(self, room_ids: list[str]) -> list[str]:
        """Rooms a heartbeat found this socket behind on, to read from the database."""
        if self.held is not None:
            return []  # the quiet start reads every held room from the database anyway
        rooms = [room_id for room_id in room_ids if room_id in self.cursors]
        for room_id in rooms:
            self.early.pop(room_id, None)  # the database has these too
        return rooms

    # Catching up from the database

    def resume(self, room_id: str, seq: int) -> None:
        """The client says where it stopped in a room it is subscribed to."""
        self.cursors[room_id] = seq
        if self.held is not None:
            self.held.discard(room_id)  # caught up from the client's own cursor here

    def skip_to(self, room_id: str, *, after: int, last_seq: int, limit: int | None) -> bool:
        """Before the first page of a catch-up: too far behind to replay (more than `limit`)?
        Then the cursor jumps to the room's last seq and the client pages through history."""
        if limit is None or last_seq - after <= limit:
            return False
        self.cursors[room_id] = last_seq
        return True

    def sent(self, room_id: str, seq: int) -> None:
        """A catch-up sent an entry."""
        self.cursors[room_id] = seq

    def caught_up(self, room_id: str, *, last_seq: int, page_was_empty: bool) -> int:
        """The last page is sent: a cursor ahead of the room is reset. The room's last seq."""
        if page_was_empty and self.cursors[room_id] > last_seq:
            self.cursors[room_id] = last_seq  # the client's cursor was ahead
        return max(self.cursors[room_id], last_seq)

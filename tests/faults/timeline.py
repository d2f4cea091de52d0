"""What the database holds, and how each member's records compare with it.

The database is the truth: a member must hold every entry of its rooms committed after it
started watching, exactly once, as stored; every ack must name a stored message.
"""

from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async

from chat.models import Message, Room
from tests.faults.member import Member


@dataclass
class Figures:
    """One scenario's counts, as they go into docs/reliability.md."""

    sent: int = 0  # distinct messages the clients tried to post (distinct client_ids)
    persisted: int = 0  # of those, rows in the database
    acked: int = 0  # of those, acknowledged to their sender
    delivered: int = 0  # timeline entries members received (live, replayed or paged)
    lost: int = 0  # entries a member should hold and does not
    duplicated: int = 0  # extra copies of an entry a member already held
    misordered: int = 0  # live entries that did not continue their socket's seq order
    phantom: int = 0  # entries delivered that differ from the database (never persisted)
    acked_unpersisted: int = 0  # acks naming no stored message with that client_id
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        names = ["lost", "duplicated", "misordered", "phantom", "acked_unpersisted"]
        return [f"{name}={getattr(self, name)}" for name in names if getattr(self, name)]


@database_sync_to_async
def last_seqs(room_ids: list[str]) -> dict[str, int]:
    rooms = Room.objects.filter(public_id__in=room_ids).values_list("public_id", "last_seq")
    return {str(public_id): last_seq for public_id, last_seq in rooms}


async def assert_caught_up(members: list[Any], rooms: list[str], *, timeout: float) -> None:
    """Every member holds each room's timeline up to the room's last seq, within `timeout`."""
    final = await last_seqs(rooms)
    for member in members:
        assert await member.wait_caught_up(final, timeout=timeout), member.name


@database_sync_to_async
def stored_timeline(room_id: str) -> dict[int, dict[str, Any]]:
    rows = Message.objects.filter(room__public_id=room_id).values(
        "seq", "kind", "body", "client_id", "deleted_at"
    )
    return {row["seq"]: row for row in rows}


@database_sync_to_async
def stored_client_ids(client_ids: list[str]) -> dict[str, tuple[str, int]]:
    rows = Message.objects.filter(client_id__in=client_ids).values_list(
        "client_id", "room__public_id", "seq"
    )
    return {client_id: (str(room), seq) for client_id, room, seq in rows}


async def check(members: list[Member], sent: set[str]) -> Figures:
    """Compare every member's records with the database; `sent` is every client_id posted."""
    rooms = sorted({room for member in members for room in member.start})
    timelines = {room: await stored_timeline(room) for room in rooms}
    stored = await stored_client_ids(sorted(sent))
    figures = Figures(sent=len(sent), persisted=len(stored))
    acks: dict[str, tuple[str, int]] = {}
    for member in members:
        acks.update(member.acks)
        figures.misordered += len(member.misordered)
        for room, copies in member.copies.items():
            timeline = timelines[room]
            last = max(timeline, default=0)
            for seq in range(member.start[room] + 1, last + 1):
                figures.lost += copies[seq] == 0
            for seq, count in copies.items():
                figures.delivered += count
                figures.duplicated += count - 1
                row = timeline.get(seq)
                entry = member.entries[room][seq]
                if row is None or not _same(entry, row) or seq <= member.start[room]:
                    figures.phantom += 1
    figures.acked = len(acks)
    figures.acked_unpersisted = sum(stored.get(client_id) != ack for client_id, ack in acks.items())
    return figures


def _same(entry: dict[str, Any], row: dict[str, Any]) -> bool:
    if entry["kind"] != row["kind"] or entry["client_id"] != row["client_id"]:
        return False
    return entry["deleted"] or row["deleted_at"] is not None or entry["body"] == row["body"]

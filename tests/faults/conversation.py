"""A conversation to run faults against: every member posts its share, in turn to each room,
resending after lost sockets, while a fault is played at a chosen point."""

import asyncio
from collections.abc import Awaitable, Callable

from tests.faults.member import Member


class Conversation:
    def __init__(self, members: list[Member], rooms: list[str], messages: int) -> None:
        self.members = members
        self.rooms = rooms
        self.per_member = max(1, messages // len(members))
        self.sent: set[str] = set()
        self.acked = 0
        self._milestones: list[tuple[int, asyncio.Event]] = []

    def after_acks(self, fraction: float) -> asyncio.Event:
        """An event set once this fraction of all messages is acked."""
        event = asyncio.Event()
        self._milestones.append((int(fraction * self.per_member * len(self.members)), event))
        return event

    async def run(self, timeout: float) -> None:
        talks = (self._talk(index, member) for index, member in enumerate(self.members))
        await asyncio.wait_for(asyncio.gather(*talks), timeout)

    async def _talk(self, index: int, member: Member) -> None:
        for n in range(self.per_member):
            room = self.rooms[(index + n) % len(self.rooms)]
            client_id = f"{member.name}-{n}"
            self.sent.add(client_id)
            await member.post_until_acked(room, f"{member.name} says {n}", client_id)
            self.acked += 1
            for threshold, event in self._milestones:
                if self.acked >= threshold:
                    event.set()


async def play_at(event: asyncio.Event, fault: Callable[[], Awaitable[None]]) -> None:
    await event.wait()
    await fault()

"""The client model of the fault suite: one person's client, as docs/protocol.md describes it,
that keeps every copy of every timeline entry it is sent.

It keeps a cursor per room (the last seq up to which it holds every entry), sends `resume` with
those cursors as soon as a new socket is open, pages through history when told of a gap and
resends unacknowledged posts with the same `client_id`. It deduplicates nothing: a second copy
of a seq, a seq out of order on a socket, or a gap the server did not report all stay in its
records for the checks in tests/faults/timeline.py.
"""

import asyncio
import itertools
import json
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, WebSocketException

from tests.e2e.servers import Server


class Disconnected(Exception):
    """The socket closed before the reply arrived."""


class Member:
    def __init__(self, name: str, cookie: str) -> None:
        self.name = name
        self.cookie = cookie
        self.server: Server | None = None
        self.ws: Any = None
        self.limits: dict[str, int] = {}
        # Per room: the last seq before this member started watching, and what it holds since.
        self.start: dict[str, int] = {}
        self.cursor: dict[str, int] = {}
        self.copies: dict[str, Counter[int]] = {}
        self.entries: dict[str, dict[int, dict[str, Any]]] = {}
        self.shown: dict[str, list[int]] = {}  # seqs in the order they arrived (what it shows)
        # The seq each room's live delivery on the current socket must continue with.
        self.next_live: dict[str, int] = {}
        self.misordered: list[tuple[str, int, int]] = []
        self.arrivals: dict[str, float] = {}  # client_id -> when its first copy arrived
        self.acks: dict[str, tuple[str, int]] = {}  # client_id -> (room, seq)
        self.errors: Counter[str] = Counter()
        self.closes: list[int | None] = []
        self.gaps: list[dict[str, int]] = []
        self.presence: list[tuple[str, bool, float]] = []  # (username, online, when) announced
        self.connections = 0
        self._refs = itertools.count(1)
        self._pending: dict[str, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self.closed = asyncio.Event()  # the current socket is gone
        self.up = asyncio.Event()  # a socket is open and resumed
        self.leaving = False
        self.reading = asyncio.Event()  # cleared: the client stops reading its socket
        self.reading.set()

    # Connection

    async def connect(
        self, server: Server, *, timeout: float = 30, receive_buffer: int | None = None
    ) -> "Member":
        """Open a socket; resume every room held so far, in the same breath as the handshake.

        `receive_buffer` shrinks the socket's kernel buffer, so that a client that stops
        reading pushes back on the server after a few frames rather than megabytes.
        """
        self.server = server
        self.leaving = False
        self.closed = asyncio.Event()
        self._reader = None
        options: dict[str, Any] = {}
        if receive_buffer is not None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
            # Uncompressed, so that every frame fills the buffers as much as it weighs.
            options = {"sock": sock, "max_queue": 1, "compression": None}
        # With cursors to resume, ask the socket to hold live entries until the resume.
        self.ws = await websockets.connect(
            server.ws_url + ("?resume=1" if self.cursor else ""),
            additional_headers={"Cookie": self.cookie, "Origin": server.origin},
            max_size=2**24,
            open_timeout=timeout,
            ping_interval=None,
            **options,
        )
        self.connections += 1
        try:
            await self._start(timeout)
        except BaseException:
            await self.ws.close()
            if self._reader is None:  # closed before hello: the reader never saw it
                self.closes.append(_code(self.ws.close_code))
            self.closed.set()
            raise
        self.up.set()
        return self

    async def _start(self, timeout: float) -> None:
        resume_ref = None
        if self.cursor:
            resume_ref = f"resume-{next(self._refs)}"
            await self.ws.send(
                json.dumps({"type": "resume", "ref": resume_ref, "cursors": dict(self.cursor)})
            )
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert hello["type"] == "hello", hello
        self.limits = hello["limits"]
        self.next_live = {}
        for room in hello["rooms"]:
            room_id = room["id"]
            if room_id not in self.start:
                self._watch(room_id, room["last_seq"])
            # A resumed room restarts at the cursor; any other at the socket's own start.
            self.next_live[room_id] = (
                self.cursor[room_id] + 1 if resume_ref else room["last_seq"] + 1
            )
        future = self._expect(resume_ref) if resume_ref else None
        self._reader = asyncio.create_task(self._read(self.ws, self.closed))
        if future is not None:
            resumed = await asyncio.wait_for(future, timeout)
            await self._fill_gaps(resumed)

    async def keep_connected(self, pick: Callable[[], Server]) -> None:
        """Reconnect whenever the socket closes (not after 4001), with backoff; run as a task."""
        while True:
            await self.closed.wait()
            if self.leaving or self.close_code == 4001:
                return
            delay = 0.05
            while not self.leaving:
                try:
                    await self.connect(pick())
                    break
                except (OSError, TimeoutError, WebSocketException, Disconnected):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        self.leaving = True
        self.reading.set()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    @property
    def close_code(self) -> int | None:
        return self.closes[-1] if self.closes else None

    # Requests

    async def request(self, frame: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """Send a frame and wait for its reply (ack, history, error ...)."""
        if self.ws is None or self.closed.is_set():
            raise Disconnected()
        ref = f"{self.name}-{next(self._refs)}"
        future = self._expect(ref)
        try:
            await self.ws.send(json.dumps({**frame, "ref": ref}))
        except ConnectionClosed:
            raise Disconnected() from None
        return await asyncio.wait_for(future, timeout)

    async def post_until_acked(
        self,
        room: str,
        body: str,
        client_id: str,
        *,
        timeout: float = 120,
        retry_on: frozenset[str] = frozenset({"unavailable", "rate_limited"}),
    ) -> dict[str, Any]:
        """Post, and after a lost socket or a refusal in `retry_on` post again with the same
        client_id (docs/protocol.md, section 5, step 8) until the ack."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.up.wait(), deadline - time.monotonic())
                reply = await self.post(room, body, client_id)
            except (Disconnected, TimeoutError):
                continue
            if reply["type"] == "ack":
                return reply
            if reply["code"] not in retry_on:
                raise AssertionError(f"{self.name}: {reply}")
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name}: {client_id} was not acked within {timeout} s")

    async def post(self, room: str, body: str, client_id: str) -> dict[str, Any]:
        """Post once; the reply is an ack or an error. Records acks."""
        reply = await self.request(
            {"type": "message.send", "room": room, "body": body, "client_id": client_id}
        )
        if reply["type"] == "ack":
            self.acks[client_id] = (reply["room"], reply["seq"])
        else:
            self.errors[reply["code"]] += 1
        return reply

    # Checks

    def caught_up(self, last_seqs: dict[str, int]) -> bool:
        return all(self.cursor.get(room, 0) >= seq for room, seq in last_seqs.items())

    async def wait_caught_up(self, last_seqs: dict[str, int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.caught_up(last_seqs):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    # Internals

    def _watch(self, room_id: str, last_seq: int) -> None:
        self.start[room_id] = last_seq
        self.cursor[room_id] = last_seq
        self.copies[room_id] = Counter()
        self.entries[room_id] = {}
        self.shown[room_id] = []

    def _expect(self, ref: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        return future

    def _hold(self, room_id: str, message: dict[str, Any]) -> None:
        seq = message["seq"]
        self.copies[room_id][seq] += 1
        self.shown[room_id].append(seq)
        self.entries[room_id].setdefault(seq, message)
        if message.get("client_id"):
            self.arrivals.setdefault(message["client_id"], time.monotonic())
        while self.copies[room_id][self.cursor[room_id] + 1]:
            self.cursor[room_id] += 1

    def _live(self, frame: dict[str, Any]) -> None:
        room_id, message = frame["room"], frame["message"]
        if room_id not in self.start:
            self.misordered.append((room_id, message["seq"], -1))
            return
        expected = self.next_live.get(room_id)
        if message["seq"] != expected:
            self.misordered.append((room_id, message["seq"], expected or -1))
        self.next_live[room_id] = message["seq"] + 1
        self._hold(room_id, message)

    async def _read(self, ws: Any, closed: asyncio.Event) -> None:
        try:
            while True:
                await self.reading.wait()
                frame = json.loads(await ws.recv())
                kind = frame.get("type")
                if kind == "message.new":
                    self._live(frame)
                elif kind == "room.joined":
                    room = frame["room"]
                    if room["id"] not in self.start:
                        self._watch(room["id"], room["last_seq"] - 1)
                    self.next_live[room["id"]] = room["last_seq"]
                elif kind == "resumed":
                    self._note_gaps(frame)
                elif kind == "presence":
                    for change in frame["changes"]:
                        user, online = change["user"]["username"], change["online"]
                        self.presence.append((user, online, time.monotonic()))
                if "ref" in frame and frame["ref"] in self._pending:
                    future = self._pending.pop(frame["ref"])
                    if not future.done():
                        future.set_result(frame)
                elif kind == "error":
                    self.errors[frame["code"]] += 1
        except ConnectionClosed:
            pass
        finally:
            self.closes.append(_code(ws.close_code))
            self.up.clear()
            closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(Disconnected())
            self._pending.clear()

    def _note_gaps(self, resumed: dict[str, Any]) -> None:
        """Live delivery of a room with a gap continues after it (read before later frames)."""
        for room_id, report in resumed["rooms"].items():
            if "gap" in report:
                self.gaps.append(report["gap"])
                self.next_live[room_id] = report["gap"]["through"] + 1

    async def _fill_gaps(self, resumed: dict[str, Any]) -> None:
        """Page through history for every room the server reported a gap in."""
        for room_id, report in resumed["rooms"].items():
            gap = report.get("gap")
            if gap is None:
                continue
            after = gap["after"]
            while after < gap["through"]:
                page = await self.request(
                    {
                        "type": "history.fetch",
                        "room": room_id,
                        "after": after,
                        "limit": self.limits["history_max_page"],
                    }
                )
                assert page["type"] == "history", page
                for message in page["messages"]:
                    if message["seq"] <= gap["through"]:
                        self._hold(room_id, message)
                after = page["messages"][-1]["seq"] if page["messages"] else gap["through"]


def _code(code: int | None) -> int | None:
    return None if code is None else int(code)

"""The load client: a separate process holding every socket, driven by the runner over a pipe.

`python -m bench.loadclient` reads one JSON command per line on stdin and answers one JSON line
on stdout. It never decides anything: the runner (bench.runner) says which sockets to open,
which rate to offer for how long, and checks the answers against the database.

Sends are open-loop: message i of a step is due at t0 + i / rate whatever happened before, and
its latency is measured from that due time, so a server (or this client) falling behind shows
up as latency instead of silently lowering the offered rate. The client's own CPU time over
each step is reported; above 90% of a core the runner marks the step invalid.
"""

import asyncio
import contextlib
import functools
import json
import resource
import sys
import time
from array import array
from collections import Counter
from typing import Any

from bench import dbbaseline
from bench.stats import percentiles
from bench.wsclient import WebSocket, connect

IN_TIME_SECONDS = 1.0  # a delivery later than this after its due time does not count as "in time"
BODY_BYTES = 100


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def body_for(step: str, index: int) -> str:
    """A message body of exactly BODY_BYTES ASCII characters that names its step and index."""
    head = f"{step}|{index}|"
    return head + "x" * (BODY_BYTES - len(head))


class Peer:
    """One socket and what it has received."""

    __slots__ = ("cursors", "hello", "kind", "number", "room", "seen", "start", "step_count", "ws")

    def __init__(self, number: int, kind: str, room: str | None) -> None:
        self.number = number
        self.kind = kind
        self.room = room  # the one room of a baseline socket; Parley sockets learn theirs
        self.ws: WebSocket | None = None
        self.hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.cursors: dict[str, int] = {}  # Parley: room -> last seq delivered
        self.start: dict[str, int] = {}
        self.step_count = 0
        self.seen = bytearray()  # baselines: one byte per message index of the current step

    @property
    def rooms(self) -> list[str]:
        return list(self.cursors) if self.kind == "parley" else [self.room]

    @property
    def is_open(self) -> bool:
        return self.ws is not None and self.ws.is_open


class Step:
    """The state of one offered-rate step."""

    def __init__(self, name: str, count: int, rooms: list[str], slow: set[int]) -> None:
        self.name = name
        self.prefix = f"{name}|"
        self.count = count
        self.rooms = rooms
        self.due = array("d", bytes(8 * count))
        self.sent = bytearray(count)
        self.latencies = array("d")
        self.slow_latencies = array("d")
        self.ack_latencies = array("d")
        self.send_lag = array("d")
        self.in_time = 0
        self.delivered = 0
        self.slow_delivered = 0
        self.duplicates = 0
        self.gaps = 0
        self.unexpected = 0
        self.errors: Counter[str] = Counter()
        self.slow = slow
        self.progress = asyncio.Event()
        self.members: Counter[str] = Counter()  # room -> sockets that should get its messages
        self.expected = 0  # deliveries to the sockets that keep reading

    def room_of(self, index: int) -> str:
        return self.rooms[index % len(self.rooms)]


class Driver:
    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self.step: Step | None = None
        self.pending: dict[Any, asyncio.Future[float]] = {}  # history and search requests by ref
        self.errors: Counter[str] = Counter()
        self.sent_by_room: Counter[str] = Counter()  # the last step's messages, for verify
        self.frames: Counter[str] = Counter()  # Parley frames other than message.new, by type
        self.last_frame_at = 0.0

    # Receiving

    def on_text(self, peer: Peer, ws: WebSocket, data: bytes) -> None:
        now = self.last_frame_at = time.monotonic()
        if peer.kind == "parley":
            self._parley_frame(peer, json.loads(data), now)
        elif peer.kind == "b1":
            self._baseline_body(peer, json.loads(data)["message"], now)
        else:
            self._baseline_body(peer, data.decode().partition("|")[2], now)

    def _parley_frame(self, peer: Peer, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        step = self.step
        if kind != "message.new":
            self.frames[kind] += 1
        if kind == "message.new":
            room, message = frame["room"], frame["message"]
            seq = message["seq"]
            cursor = peer.cursors.get(room)
            if cursor is None:
                if step:
                    step.unexpected += 1
                return
            if seq <= cursor:
                if step:
                    step.duplicates += 1
                return
            if seq > cursor + 1 and step:
                step.gaps += seq - cursor - 1
            peer.cursors[room] = seq
            client_id = message.get("client_id") or ""
            if step and client_id.startswith(step.prefix):
                self._delivered(step, peer, int(client_id[len(step.prefix) :]), now)
        elif kind == "ack":
            ref = frame.get("ref")
            if step and isinstance(ref, int) and 0 <= ref < step.count:
                step.ack_latencies.append(now - step.due[ref])
                step.progress.set()
            elif ref in self.pending:
                self.pending.pop(ref).set_result(now)
        elif kind == "hello":
            peer.cursors = {room["id"]: room["last_seq"] for room in frame["rooms"]}
            if not peer.hello.done():
                peer.hello.set_result(None)
        elif kind in ("history", "search.results"):
            if frame.get("ref") in self.pending:
                self.pending.pop(frame["ref"]).set_result(now)
        elif kind == "error":
            code = frame.get("code", "?")
            ref = frame.get("ref")
            if step and isinstance(ref, int) and 0 <= ref < step.count:
                step.errors[code] += 1
                step.expected -= step.members[step.room_of(ref)]  # nothing to deliver
                step.progress.set()
            else:
                self.errors[code] += 1
            if ref in self.pending:
                # A refused request is no measurement: the timed run fails with the reason.
                self.pending.pop(ref).set_exception(RuntimeError(f"refused: {code}"))

    def _baseline_body(self, peer: Peer, body: str, now: float) -> None:
        step = self.step
        if step is None or not body.startswith(step.prefix):
            return
        index = int(body[len(step.prefix) :].partition("|")[0])
        if step.room_of(index) != peer.room:
            step.unexpected += 1
            return
        if peer.seen[index]:
            step.duplicates += 1
            return
        peer.seen[index] = 1
        self._delivered(step, peer, index, now)

    def _delivered(self, step: Step, peer: Peer, index: int, now: float) -> None:
        latency = now - step.due[index]
        peer.step_count += 1
        if peer.number in step.slow:
            step.slow_delivered += 1
            step.slow_latencies.append(latency)
        else:
            step.delivered += 1
            step.latencies.append(latency)
            if latency <= IN_TIME_SECONDS:
                step.in_time += 1
        step.progress.set()

    # Commands

    async def connect(self, command: dict[str, Any]) -> dict[str, Any]:
        kind = command["kind"]
        limit = asyncio.Semaphore(command.get("concurrency", 100))
        timeout = command.get("timeout", 30.0)
        latencies = array("d")
        failures: Counter[str] = Counter()
        new_peers = []

        async def open_one(spec: dict[str, Any]) -> None:
            peer = Peer(len(self.peers), kind, spec.get("room"))
            self.peers.append(peer)
            new_peers.append(peer)
            async with limit:
                started = time.monotonic()
                try:
                    peer.ws = await connect(
                        "127.0.0.1",
                        spec["port"],
                        *self._path_and_headers(kind, spec),
                        functools.partial(self.on_text, peer),
                        timeout=timeout,
                        receive_buffer=spec.get("receive_buffer"),
                    )
                    if kind == "parley":
                        await asyncio.wait_for(peer.hello, timeout)
                    latencies.append(time.monotonic() - started)
                except Exception as error:
                    failures[type(error).__name__] += 1

        cpu_before, started = cpu_seconds(), time.monotonic()
        await asyncio.gather(*(open_one(spec) for spec in command["sockets"]))
        elapsed = time.monotonic() - started
        return {
            "ids": [peer.number for peer in new_peers],
            "connected": len(latencies),
            "failed": dict(failures),
            "seconds": elapsed,
            "per_second": len(latencies) / elapsed if elapsed else 0.0,
            "latency": percentiles(latencies),
            "client_cpu": (cpu_seconds() - cpu_before) / elapsed if elapsed else 0.0,
            "rooms": {str(peer.number): peer.rooms for peer in new_peers if peer.is_open},
        }

    @staticmethod
    def _path_and_headers(kind: str, spec: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if kind == "parley":
            return "/ws/", {"Authorization": f"Bearer {spec['token']}"}
        if kind == "b1":
            return f"/ws/chat/{spec['room']}/", {"Origin": f"http://127.0.0.1:{spec['port']}"}
        return f"/{spec['room']}", {}

    async def step_run(self, command: dict[str, Any]) -> dict[str, Any]:
        rate, duration = command["rate"], command["duration"]
        rooms: list[str] = command["rooms"]
        senders: dict[str, list[int]] = command["senders"]
        slow = set(command.get("slow", []))
        count = max(1, round(rate * duration))
        step = Step(command["step"], count, rooms, slow)
        members = step.members
        slow_members: Counter[str] = Counter()
        for peer in self.peers:
            if not peer.is_open:
                continue
            peer.step_count = 0
            peer.start = dict(peer.cursors)
            if peer.kind != "parley":
                peer.seen = bytearray(count)
            for room in peer.rooms:
                (slow_members if peer.number in slow else members)[room] += 1
        step.expected = sum(members[step.room_of(i)] for i in range(count))
        slow_expected = sum(slow_members[step.room_of(i)] for i in range(count))
        for number in slow:
            self.peers[number].ws.pause()
        self.step = step
        cpu_before = cpu_seconds()
        started = time.monotonic()
        t0 = started + 0.1
        for index in range(count):
            step.due[index] = t0 + index / rate
        send_done = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().create_task(self._send_all(step, senders, send_done))
        await send_done
        schedule_end = time.monotonic()

        async def wait_for(predicate: Any, limit: float) -> bool:
            deadline = time.monotonic() + limit
            quiet_since = time.monotonic()
            seen = -1
            while not predicate():
                now = time.monotonic()
                total = step.delivered + step.slow_delivered + len(step.ack_latencies)
                if total != seen:
                    seen, quiet_since = total, now
                if now >= deadline or now - quiet_since > command.get("quiet", 2.0):
                    return False
                step.progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(step.progress.wait(), 0.1)
            return True

        def acks_done() -> bool:
            return (
                self.peers[0].kind != "parley"
                or len(step.ack_latencies) + sum(step.errors.values()) >= count
            )

        def others_done() -> bool:
            return step.delivered >= step.expected and acks_done()

        drain = command.get("drain", 5.0)
        complete = await wait_for(others_done, drain)
        others_end = time.monotonic()
        cpu_others = cpu_seconds() - cpu_before
        for number in slow:
            self.peers[number].ws.resume()
        slow_complete = True
        if slow:
            slow_complete = await wait_for(
                lambda: step.slow_delivered >= slow_expected, command.get("slow_drain", 20.0)
            )
        self.step = None
        wall = others_end - started
        sent = sum(step.sent)
        self.sent_by_room = Counter(step.room_of(i) for i in range(count) if step.sent[i])
        return {
            "offered_rate": rate,
            "duration": duration,
            "scheduled": count,
            "sent": sent,
            "schedule_seconds": schedule_end - t0,
            "send_lag": percentiles(step.send_lag),
            "acked": len(step.ack_latencies),
            "ack_latency": percentiles(step.ack_latencies),
            "errors": dict(step.errors),
            "expected": step.expected,
            "delivered": step.delivered,
            "in_time": step.in_time,
            "latency": percentiles(step.latencies),
            "duplicates": step.duplicates,
            "gaps": step.gaps,
            "unexpected": step.unexpected,
            "drained": complete,
            "drain_seconds": others_end - schedule_end,
            "client_cpu": cpu_others / wall if wall else 0.0,
            "slow": {
                "sockets": len(slow),
                "expected": slow_expected,
                "delivered": step.slow_delivered,
                "drained": slow_complete,
                "latency": percentiles(step.slow_latencies),
            }
            if slow
            else None,
        }

    async def _send_all(
        self, step: Step, senders: dict[str, list[int]], done: asyncio.Future[None]
    ) -> None:
        try:
            rooms = step.rooms
            turn: Counter[str] = Counter()
            index = 0
            while index < step.count:
                now = time.monotonic()
                due = step.due[index]
                if due > now:
                    await asyncio.sleep(due - now)
                    continue
                # Everything due by now goes out in this pass.
                while index < step.count and step.due[index] <= now:
                    room = rooms[index % len(rooms)]
                    candidates = senders[room]
                    peer = self.peers[candidates[turn[room] % len(candidates)]]
                    turn[room] += 1
                    if peer.is_open:
                        peer.ws.send_text(self._frame_for(peer, step, room, index))
                        step.sent[index] = 1
                        step.send_lag.append(now - due)
                    index += 1
            done.set_result(None)
        except Exception as error:
            done.set_exception(error)

    @staticmethod
    def _frame_for(peer: Peer, step: Step, room: str, index: int) -> str:
        body = body_for(step.name, index)
        if peer.kind == "parley":
            return json.dumps(
                {
                    "type": "message.send",
                    "ref": index,
                    "room": room,
                    "body": body,
                    "client_id": f"{step.name}|{index}",
                }
            )
        if peer.kind == "b1":
            return json.dumps({"message": body})
        return f"{room}|{body}"

    def verify(self, command: dict[str, Any]) -> dict[str, Any]:
        """Compare what each open socket holds with the truth: the database's last seq per room
        (Parley) or every message sent (baselines)."""
        last_seq: dict[str, int] = command.get("last_seq", {})
        sent = self.sent_by_room
        slow = set(command.get("slow", []))
        report = Counter()
        for peer in self.peers:
            if peer.ws is None:
                continue
            if not peer.is_open:
                report["closed_sockets"] += 1  # closed by the server: it knows to resume
                continue
            key = "slow_" if peer.number in slow else ""
            for room in peer.rooms:
                if room not in last_seq and room not in sent:
                    continue
                report[key + "checked"] += 1
                if peer.kind == "parley":
                    wanted = last_seq[room] - peer.start.get(room, last_seq[room])
                    missing = max(0, last_seq[room] - peer.cursors[room])
                    report[key + "expected"] += wanted
                else:
                    wanted = sent[room]
                    missing = wanted - peer.step_count
                    report[key + "expected"] += wanted
                if missing:
                    report[key + "missing"] += missing
                    report[key + "sockets_missing"] += 1
                if peer.kind == "parley" and peer.cursors[room] > last_seq[room]:
                    report[key + "ahead"] += 1
        return dict(report)

    def _open_peer(self, number: int) -> "Peer":
        """The socket a timed run uses, or the reason it cannot: a request written to a closed
        socket would only time out, saying nothing of why."""
        peer = self.peers[number]
        if not peer.is_open:
            code = peer.ws.close_code if peer.ws is not None else None
            raise RuntimeError(f"socket {number} is closed (close code {code})")
        return peer

    async def history(self, command: dict[str, Any]) -> dict[str, Any]:
        peer = self._open_peer(command["socket"])
        latencies = array("d")
        for number in range(command["count"]):
            ref = f"h{number}"
            answer = asyncio.get_running_loop().create_future()
            self.pending[ref] = answer
            started = time.monotonic()
            frame = {"type": "history.fetch", "ref": ref, "room": command["room"]}
            if command.get("limit"):
                frame["limit"] = command["limit"]
            peer.ws.send_text(json.dumps(frame))
            latencies.append(await asyncio.wait_for(answer, 10) - started)
        return {"latency": percentiles(latencies), "count": len(latencies)}

    async def search(self, command: dict[str, Any]) -> dict[str, Any]:
        """Time `count` searches, one after another, taking the `queries` in turn."""
        peer = self._open_peer(command["socket"])
        latencies = array("d")
        queries = command["queries"]
        for number in range(command["count"]):
            ref = f"s{number}"
            answer = asyncio.get_running_loop().create_future()
            self.pending[ref] = answer
            started = time.monotonic()
            frame = {"type": "search", "ref": ref, "q": queries[number % len(queries)]}
            peer.ws.send_text(json.dumps(frame))
            latencies.append(await asyncio.wait_for(answer, 10) - started)
        return {"latency": percentiles(latencies), "count": len(latencies)}

    def close(self, command: dict[str, Any]) -> dict[str, Any]:
        """Drop the sockets named by `ids` (or all, forgetting them) without a close handshake."""
        ids = command.get("ids")
        chosen = self.peers if ids is None else [self.peers[number] for number in ids]
        closed = 0
        for peer in chosen:
            if peer.ws is not None and peer.ws.transport is not None:
                peer.ws.transport.abort()
                closed += 1
            peer.ws = None  # retired: no longer counted anywhere
        if ids is None:
            self.peers.clear()
        return {"closed": closed}

    async def quiet(self, command: dict[str, Any]) -> dict[str, Any]:
        """Wait until no frame has arrived for `seconds` (at most `limit`): what the servers
        still had queued for the sockets (presence announcements, say) has been delivered."""
        started = time.monotonic()
        frames_before = sum(self.frames.values())
        while time.monotonic() - started < command["limit"]:
            if time.monotonic() - self.last_frame_at >= command["seconds"]:
                break
            await asyncio.sleep(0.1)
        return {
            "seconds": round(time.monotonic() - started, 2),
            # When the last of what was still queued arrived, counted from the call.
            "last_frame_after": round(max(0.0, self.last_frame_at - started), 2),
            "quiet": time.monotonic() - self.last_frame_at >= command["seconds"],
            "frames": sum(self.frames.values()) - frames_before,
        }

    def status(self) -> dict[str, Any]:
        return {
            "open": sum(peer.is_open for peer in self.peers),
            "total": len(self.peers),
            "frames": dict(self.frames),
            "errors": dict(self.errors),
            "close_codes": dict(
                Counter(
                    str(peer.ws.close_code) for peer in self.peers if peer.ws and not peer.is_open
                )
            ),
        }


async def serve() -> None:
    """Answer commands from stdin until it closes."""
    driver = Driver()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    handlers = {
        "connect": driver.connect,
        "step": driver.step_run,
        "history": driver.history,
        "search": driver.search,
        "b2_insert": dbbaseline.insert_rate,
        "b2_history": dbbaseline.newest_page,
        "quiet": driver.quiet,
    }
    while line := await reader.readline():
        command = json.loads(line)
        name = command["cmd"]
        try:
            if name in handlers:
                answer = await handlers[name](command)
            elif name == "verify":
                answer = driver.verify(command)
            elif name == "close":
                answer = driver.close(command)
            elif name == "status":
                answer = driver.status()
            else:
                answer = {"error": f"unknown command {name!r}"}
        except Exception as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve())
    else:
        uvloop.run(serve())


if __name__ == "__main__":
    main()

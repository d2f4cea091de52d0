"""Scenario 11: hostile frames against a real server process.

A raw client (tests/faults/raw_socket.py) sends what browsers and the `websockets` client never
would: binary and empty frames, invalid UTF-8, reserved opcodes and bits, JSON nested past any
parser's depth, NaN and 1e309, lone surrogates, NUL, bidirectional overrides and zero-width
characters, emoji at the length limit, frames at, over and far over the size limit. Meanwhile two
other people talk in the same room on the same process. Each frame must get the reply the
protocol promises (docs/protocol.md, sections 1 and 6) or close the socket with the code it
names; the server must log no unhandled exception, the others must get every message, and the
big frames, repeated, must not grow the server's memory.
"""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable

import pytest

from tests.e2e.servers import Server
from tests.faults.cluster import Cluster, http_status, people, rss_kib
from tests.faults.raw_socket import RawSocket
from tests.faults.report import scaled
from tests.faults.timeline import check, last_seqs

pytestmark = pytest.mark.django_db(transaction=True)

TEXT, BINARY, CONTINUATION, PING = 0x1, 0x2, 0x0, 0x9
FRAME_MAX = 64 * 1024  # PARLEY_FRAME_MAX_BYTES' default
BODY_MAX = 4000  # PARLEY_MESSAGE_MAX_LENGTH's default, in code points
EMOJI = "\U0001f600"  # one code point, two UTF-16 units, four UTF-8 bytes
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one glyph, five code points
BIG_REPEATS = int(scaled(50, 200))
MEMORY_GROWTH_MAX_KIB = 32 * 1024
REPLIES = {"ack", "history", "resumed", "members", "pong", "error"}


def dumps(**fields: object) -> str:
    """Compact JSON, every non-ASCII character escaped (surrogates too)."""
    return json.dumps(fields, separators=(",", ":"))


def padded_ping(size: int) -> str:
    """A `ping` frame of exactly `size` UTF-8 bytes."""
    bare = dumps(type="ping", ref="padded", pad="")
    return dumps(type="ping", ref="padded", pad="x" * (size - len(bare)))


class Attacker:
    """The raw client: sends one hostile frame per case and notes what came back."""

    def __init__(self, server: Server, cookie: str, room: str) -> None:
        self.server, self.cookie, self.room = server, cookie, room
        self.socket: RawSocket | None = None

    async def fresh(self) -> RawSocket:
        if self.socket is None or self.socket.closed:
            if self.socket is not None:
                await self.socket.close()
            self.socket = RawSocket(self.server, self.cookie)
            await self.socket.open()
        return self.socket

    def post(self, body: str, *, ascii_only: bool = True) -> str:
        fields = {"type": "message.send", "room": self.room, "body": body}
        fields["client_id"] = f"hostile-{uuid.uuid4().hex}"
        return json.dumps(fields, ensure_ascii=ascii_only, separators=(",", ":"))

    async def outcome(self, send: Callable[[RawSocket], Awaitable[None]]) -> str:
        """The reply's type or error code, or `close <code>`; a frame that leaves the socket
        open must leave it usable (a `ping` after it gets its `pong`)."""
        socket = await self.fresh()
        await send(socket)
        reply = await reply_to(socket)
        if reply is None:
            return f"close {socket.close_code}"
        result = reply["code"] if reply["type"] == "error" else reply["type"]
        if reply["type"] == "resumed":
            result = ",".join(sorted({room.get("error", "ok") for room in reply["rooms"].values()}))
        await socket.send_text(dumps(type="ping", ref="after"))
        pong = await reply_to(socket)
        if pong is None or pong.get("ref") != "after":
            return f"{result}, then unusable ({pong or socket.close_code})"
        return result


async def reply_to(socket: RawSocket) -> dict | None:
    """The next reply to a client frame, past the live events in between."""
    while (frame := await socket.receive()) is not None and frame["type"] not in REPLIES:
        pass
    return frame


def text(frame: str) -> Callable[[RawSocket], Awaitable[None]]:
    return lambda socket: socket.send_text(frame)


def then(*sends: Callable[[RawSocket], Awaitable[None]]) -> Callable[[RawSocket], Awaitable]:
    async def send(socket: RawSocket) -> None:
        for one in sends:
            await one(socket)

    return send


def raw(opcode: int, payload: bytes, **options: object) -> Callable[[RawSocket], Awaitable[None]]:
    return lambda socket: socket.send_raw(opcode, payload, **options)


def cases(attacker: Attacker, room: str) -> list[tuple[str, Callable, str]]:
    """(what is sent, how, the outcome the protocol promises)."""
    ping = b'{"type":"ping","ref":'
    deep = "[" * 60_000  # under the frame limit: the parser's depth is what is tried
    deep_body = '{"a":' * 10_000 + "1" + "}" * 10_000
    return [
        ("a binary frame", raw(BINARY, b"\x00\xff\x00binary"), "bad_frame"),
        ("an empty text frame", text(""), "bad_frame"),
        ("whitespace only", text(" \n\t "), "bad_frame"),
        ("60,000 levels of [", text(deep), "bad_frame"),
        (
            "a body nested 10,000 objects deep",
            text(f'{{"type":"message.send","room":"{room}","body":{deep_body}}}'),
            "bad_frame",
        ),
        ("NaN as ref", text('{"type":"ping","ref":NaN}'), "bad_frame"),
        (
            "Infinity as body",
            text(f'{{"type":"message.send","room":"{room}","body":Infinity}}'),
            "bad_frame",
        ),
        ("1e309 as ref", text('{"type":"ping","ref":1e309}'), "invalid"),
        (
            "1e309 as seq",
            text(f'{{"type":"message.edit","room":"{room}","seq":1e309,"body":"x"}}'),
            "invalid",
        ),
        (
            "1e309 as a resume cursor",
            text(f'{{"type":"resume","cursors":{{"{room}":1e309}}}}'),
            "invalid",
        ),
        (
            "1e309 as history limit",
            text(f'{{"type":"history.fetch","room":"{room}","limit":1e309}}'),
            "invalid",
        ),
        ("a 5,000-digit integer", text('{"type":"ping","ref":' + "9" * 5000 + "}"), "bad_frame"),
        ("a lone surrogate in a body", text(attacker.post("a\ud800b")), "body_invalid"),
        (
            "a lone surrogate as room",
            text(dumps(type="history.fetch", room="\udc00")),
            "room_not_found",
        ),
        ("a lone surrogate as ref", text(dumps(type="ping", ref="\ud800")), "pong"),
        ("a lone surrogate as type", text(dumps(type="\ud800")), "bad_frame"),
        ("a lone surrogate as a key", text('{"\\ud800":1,"type":"ping"}'), "pong"),
        (
            "a lone surrogate as username",
            text(dumps(type="direct.open", username="\ud800")),
            "invalid",
        ),
        (
            "a lone surrogate as client_id",
            text(dumps(type="message.send", room=room, body="x", client_id="\ud800")),
            "invalid",
        ),
        ("NUL in a body", text(attacker.post("a\x00b")), "body_invalid"),
        (
            "NUL in a room id",
            text(dumps(type="message.send", room=room[:8] + "\x00" + room[9:], body="x")),
            "room_not_found",
        ),
        ("NUL in history's room", text(dumps(type="history.fetch", room="\x00")), "room_not_found"),
        ("NUL in a username", text(dumps(type="direct.open", username="a\x00b")), "invalid"),
        ("NUL as type", text(dumps(type="\x00")), "bad_frame"),
        (
            "NUL in a client_id",
            text(dumps(type="message.send", room=room, body="x", client_id="a\x00b")),
            "invalid",
        ),
        ("a right-to-left override", text(attacker.post("\u202eevil.exe\u202c ok")), "ack"),
        ("zero-width characters", text(attacker.post("a\u200b\u200c\u200d\u2060\ufeffb")), "ack"),
        ("only zero-width characters", text(attacker.post("\u200b\ufeff")), "body_empty"),
        (f"{BODY_MAX} emoji", text(attacker.post(EMOJI * BODY_MAX)), "ack"),
        (
            f"{BODY_MAX} emoji as raw UTF-8",
            text(attacker.post(EMOJI * BODY_MAX, ascii_only=False)),
            "ack",
        ),
        (
            f"{BODY_MAX} emoji inside whitespace",
            text(attacker.post(f"  {EMOJI * BODY_MAX}\n")),
            "ack",
        ),
        (f"{BODY_MAX + 1} emoji", text(attacker.post(EMOJI * (BODY_MAX + 1))), "body_too_long"),
        (
            f"{BODY_MAX // 5} family emoji (5 code points each)",
            text(attacker.post(FAMILY * (BODY_MAX // 5))),
            "ack",
        ),
        (
            f"{BODY_MAX // 5 + 1} family emoji",
            text(attacker.post(FAMILY * (BODY_MAX // 5 + 1))),
            "body_too_long",
        ),
        ("a frame of exactly 64 KiB", text(padded_ping(FRAME_MAX)), "pong"),
        # A control ping is answered by the protocol layer alone; the `ping` after it by Parley.
        ("a ping control frame", then(raw(PING, b"hi"), text(dumps(type="ping"))), "pong"),
        # These close the socket: the protocol layer's rules, then Parley's size limit.
        ("invalid UTF-8", raw(TEXT, ping + b'"\xff"}'), "close 1007"),
        ("a UTF-8-encoded surrogate", raw(TEXT, ping + b'"\xed\xa0\x80"}'), "close 1007"),
        ("an overlong encoding", raw(TEXT, ping + b'"\xc0\xaf"}'), "close 1007"),
        ("a truncated sequence", raw(TEXT, b'{"type":"ping"}\xe2\x82'), "close 1007"),
        ("a reserved opcode", raw(0x3, b"{}"), "close 1002"),
        ("a reserved bit", raw(TEXT, b'{"type":"ping"}', rsv=4), "close 1002"),
        ("an unmasked frame", raw(TEXT, b'{"type":"ping"}', mask=False), "close 1002"),
        ("a continuation with no start", raw(CONTINUATION, b"{}"), "close 1002"),
        ("a frame of 64 KiB + 1 byte", text(padded_ping(FRAME_MAX + 1)), "close 1009"),
        ("100,000 levels of [", text("[" * 100_000), "close 1009"),
        ("a 1 MiB text frame", text(padded_ping(2**20)), "close 1009"),
        ("a 1 MiB binary frame", raw(BINARY, b"\x00" * 2**20), "close 1009"),
    ]


async def test_hostile_frames_get_their_reply_and_hurt_nobody_else(
    tmp_path, private_redis, reliability
) -> None:
    (attacker_member, poster, watcher), rooms = await people(3, 1)
    room = rooms[0]
    cluster = Cluster(
        tmp_path,
        redis_url=private_redis.url if private_redis else None,
        PARLEY_SOCKETS_PER_USER="0",
        # Large blocks go straight back to the system, so resident memory follows what the
        # process holds (as in scenario 6).
        MALLOC_MMAP_THRESHOLD_="16384",
        MALLOC_ARENA_MAX="2",
    )
    server = await asyncio.to_thread(cluster.start)
    attacker = Attacker(server, attacker_member.cookie, room)
    sent: set[str] = set()
    stop = asyncio.Event()

    async def talk() -> None:
        n = 0
        while not stop.is_set():
            sent.add(f"steady-{n}")
            await poster.post_until_acked(room, f"steady {n}", f"steady-{n}", timeout=30)
            n += 1
            await asyncio.sleep(0.05)

    outcomes: dict[str, str] = {}
    unexpected: dict[str, tuple[str, str]] = {}
    try:
        await poster.connect(server)
        await watcher.connect(server)
        talking = asyncio.create_task(talk())
        for name, send, expected in cases(attacker, room):
            outcome = await asyncio.wait_for(attacker.outcome(send), 60)
            outcomes[name] = outcome
            if outcome != expected:
                unexpected[name] = (expected, outcome)

        memory: list[int] = []
        for n in range(BIG_REPEATS):
            if n in (BIG_REPEATS // 5, BIG_REPEATS - 1):
                memory.append(rss_kib(server))
            outcome = await attacker.outcome(text(padded_ping(2**20)))
            big_at_limit = await attacker.outcome(text(padded_ping(FRAME_MAX)))
            if (outcome, big_at_limit) != ("close 1009", "pong"):
                unexpected[f"big frames, round {n}"] = ("close 1009, pong", outcome + big_at_limit)
        http = await asyncio.to_thread(http_status, server, "/ws/")  # no upgrade
        stop.set()
        await talking
        final = await last_seqs(rooms)
        assert await watcher.wait_caught_up(final, timeout=30)
        assert await poster.wait_caught_up(final, timeout=30)
        for member in (poster, watcher):
            await member.close()
        if attacker.socket is not None:
            await attacker.socket.close()
    finally:
        cluster.stop()

    log = server.log.read_text()
    failures = [line for line in log.splitlines() if "Traceback" in line or " ERROR " in line]
    figures = await check([poster, watcher], sent)
    growth = memory[-1] - memory[0]
    figures.notes += [
        f"{len(outcomes)} kinds of hostile frame, {len(unexpected)} not answered as the "
        "protocol says",
        f"{BIG_REPEATS} x (a 1 MiB frame, closed 1009, and a 64 KiB one, answered): server "
        f"memory {growth / 1024:+.1f} MB from round {BIG_REPEATS // 5} to the last",
        f"{len(failures)} errors in the server's log; GET /ws/ without upgrading: {http}",
        f"a bystander in the room got all {len(sent)} messages posted meanwhile"
        if not figures.problems()
        else "a bystander missed messages",
    ]
    reliability.record("11. hostile frames", figures, layer=cluster.layer)
    assert not unexpected, unexpected
    assert not failures, "\n".join(failures) + "\n" + log[-4000:]
    assert http < 500, http
    assert not figures.problems(), figures
    assert figures.acked == figures.persisted == figures.sent
    assert growth < MEMORY_GROWTH_MAX_KIB, growth

"""A lean WebSocket client on a bare asyncio protocol, so one process can hold thousands.

The load client's own cost is part of every measurement, so it does the least it can: no
extensions, no per-frame task or queue, text frames handed to a callback as bytes. It speaks
just enough of RFC 6455 for the servers under test: the upgrade handshake, masked text frames
out, unmasked frames in (with continuation frames), ping answered with pong, and close.
"""

import asyncio
import base64
import hashlib
import os
import socket
import struct
from collections.abc import Callable

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def _mask(payload: bytes, key: bytes) -> bytes:
    """XOR `payload` with the 4-byte `key` repeated, as one big-integer operation."""
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return masked.to_bytes(len(payload), "big")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    key = os.urandom(4)
    return header + key + _mask(payload, key)


class HandshakeError(Exception):
    pass


class WebSocket(asyncio.Protocol):
    """One client connection. `opened` resolves after the 101; text frames go to `on_text`."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        headers: dict[str, str],
        on_text: Callable[["WebSocket", bytes], None],
    ) -> None:
        self.host, self.port, self.path, self.headers = host, port, path, headers
        self.on_text = on_text
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.is_open = False
        self.close_code: int | None = None
        self.key = base64.b64encode(os.urandom(16))

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key.decode()}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.is_open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            if not self._handshake_ok(head):
                if not self.opened.done():
                    self.opened.set_exception(HandshakeError(head.splitlines()[0]))
                self.transport.close()
                return
            self.is_open = True
            if not self.opened.done():
                self.opened.set_result(None)
        self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_open = False
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)

    # Frames

    def _handshake_ok(self, head: str) -> bool:
        status, *header_lines = head.split("\r\n")
        if not status.startswith("HTTP/1.1 101"):
            return False
        expected = base64.b64encode(hashlib.sha1(self.key + _GUID).digest()).decode()  # noqa: S324
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-accept":
                return value.strip() == expected
        return False

    def _read_frames(self) -> None:
        buffer = self.buffer
        position = 0
        size = len(buffer)
        while size - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length = second & 0x7F
            offset = position + 2
            if length == 126:
                if size - offset < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, offset)
                offset += 2
            elif length == 127:
                if size - offset < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, offset)
                offset += 8
            if second & 0x80:  # servers never mask; skip a key if one is there anyway
                offset += 4
            if size - offset < length:
                break
            payload = bytes(buffer[offset : offset + length])
            position = offset + length
            self._frame(first & 0x0F, bool(first & 0x80), payload)
            if self.transport is None or self.transport.is_closing():
                break
        del buffer[:position]

    def _frame(self, opcode: int, final: bool, payload: bytes) -> None:
        if opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            if not final:
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join([*self.fragments, payload])
                self.fragments.clear()
            self.on_text(self, payload)
        elif opcode == OP_PING:
            self.transport.write(encode_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.transport.write(encode_frame(OP_CLOSE, payload[:2]))
            self.transport.close()

    # Use

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(OP_TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(OP_CLOSE, struct.pack("!H", code)))
            self.transport.close()

    def pause(self) -> None:
        """Stop reading: the kernel buffers fill and the server sees a slow reader."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


async def connect(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    on_text: Callable[[WebSocket, bytes], None],
    *,
    timeout: float,
    receive_buffer: int | None = None,
) -> WebSocket:
    """Open a connection and complete the upgrade, or raise.

    `receive_buffer` shrinks the kernel's receive buffer (set before connecting, so the TCP
    window is small from the start): a reader that stops then pushes back on the server soon.
    """
    loop = asyncio.get_running_loop()

    def factory() -> WebSocket:
        return WebSocket(host, port, path, headers, on_text)

    async def opening() -> WebSocket:
        if receive_buffer is None:
            _, protocol = await loop.create_connection(factory, host, port)
        else:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            raw.setblocking(False)
            try:
                await loop.sock_connect(raw, (host, port))
            except BaseException:
                raw.close()
                raise
            _, protocol = await loop.create_connection(factory, sock=raw)
        await protocol.opened
        return protocol

    return await asyncio.wait_for(opening(), timeout)

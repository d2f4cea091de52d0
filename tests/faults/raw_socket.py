"""A WebSocket client that sends frames no well-behaved client would: invalid UTF-8, binary,
any size. The handshake and the server's frames go through websockets' sans-I/O protocol; the
client's frames are written to the TCP stream as they are given, unchecked."""

import asyncio
import contextlib
import json
import os
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Origin
from websockets.uri import parse_uri
from websockets.utils import apply_mask

from tests.e2e.servers import Server


class RawSocket:
    def __init__(self, server: Server, cookie: str) -> None:
        self.server = server
        self.cookie = cookie
        self.protocol = ClientProtocol(
            parse_uri(server.ws_url), origin=Origin(server.origin), max_size=None
        )
        self.frames: list[Frame] = []
        self.close_code: int | None = None
        self.closed = False

    async def open(self, timeout: float = 30) -> dict[str, Any]:
        """Handshake; returns `hello`."""
        request = self.protocol.connect()
        request.headers["Cookie"] = self.cookie
        self.protocol.send_request(request)
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        await self._flush()
        while not any(isinstance(event, Response) for event in self.frames):
            await self._read(timeout)
        response = next(event for event in self.frames if isinstance(event, Response))
        self.frames.remove(response)
        if response.status_code != 101:
            raise ConnectionError(f"handshake refused: {response.status_code}")
        hello = await self.receive(timeout)
        assert hello is not None and hello["type"] == "hello", hello
        return hello

    async def send_raw(
        self, opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = True
    ) -> None:
        """One frame as given: any opcode, reserved bits, payload, masked or not (RFC 6455, 5.2)."""
        head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
        size = len(payload)
        bit = 0x80 if mask else 0
        if size < 126:
            head += bytes([bit | size])
        elif size < 2**16:
            head += bytes([bit | 126]) + size.to_bytes(2, "big")
        else:
            head += bytes([bit | 127]) + size.to_bytes(8, "big")
        if mask:
            key = os.urandom(4)
            head += key
            payload = apply_mask(payload, key)
        # The server may close while the frame is still going out: what it said before is read
        # by receive().
        with contextlib.suppress(ConnectionError):
            self.writer.write(head + payload)
            await self.writer.drain()

    async def send_text(self, text: str) -> None:
        """A text frame; lone surrogates are encoded as they are (invalid UTF-8)."""
        await self.send_raw(Opcode.TEXT, text.encode("utf-8", "surrogatepass"))

    async def receive(self, timeout: float = 20) -> dict[str, Any] | None:
        """The next JSON text frame from the server, or None once the server closed."""
        while True:
            for frame in list(self.frames):
                self.frames.remove(frame)
                if frame.opcode is Opcode.TEXT:
                    return json.loads(frame.data)
                if frame.opcode is Opcode.CLOSE:
                    self.close_code = Close.parse(frame.data).code if frame.data else 1005
                    self.closed = True
            if self.closed:
                return None
            await self._read(timeout)

    async def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    async def _read(self, timeout: float) -> None:
        try:
            data = await asyncio.wait_for(self.reader.read(2**16), timeout)
        except OSError:
            data = b""
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
            if self.close_code is None:
                self.close_code = 1006
            self.closed = True
        self.frames += self.protocol.events_received()
        await self._flush()

    async def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and not self.writer.is_closing():
            try:
                self.writer.writelines(data)
                await self.writer.drain()
            except OSError:
                pass

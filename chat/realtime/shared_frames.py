"""Frames built once and written to many sockets: Parley's extension of uvicorn's WebSocket
protocol.

A live event goes to every socket of a room in a process with the same text. Through ASGI,
each socket's `websocket.send` would encode that text and build a frame of its own: profiled at
1,000 sockets in a room, that was about 40% of a process's time. Parley's workers run uvicorn
with `SharedFrameProtocol` (scripts/parley-worker, `--ws`), which offers the application one
more scope extension, `parley.shared_frames`: a `write` function that puts a `SharedFrame`
(built once per event) straight into the connection's transport, or returns False when the
frame has to go through `websocket.send` instead: before the handshake is done, after a close,
or while the client is not reading (the transport's buffer is over its high-water mark, where
`websocket.send` waits and the socket's send deadline applies). Under any other server (Daphne,
Channels' test communicator) the extension is missing and every frame goes through ASGI.

A shared frame is unmasked and uncompressed (RSV1 clear). RFC 7692 lets either side send
uncompressed messages on a connection that negotiated permessage-deflate, and the connection's
compressor never sees them, which is what lets one frame serve every connection.
"""

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

EXTENSION = "parley.shared_frames"


class SharedFrame:
    """A text frame for many sockets; its bytes are built on first use, once."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = Frame(Opcode.TEXT, self.text.encode()).serialize(mask=False)
        return self._wire


class SharedFrameProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, plus the `parley.shared_frames` extension."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # otherwise refused: there is no application
            self.scope["extensions"][EXTENSION] = {"write": self.write_shared}

    def write_shared(self, frame: SharedFrame) -> bool:
        """Write `frame` now, or return False: it must go through `websocket.send`."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame.wire)
        return True

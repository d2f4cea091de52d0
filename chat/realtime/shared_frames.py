"""Frames built once and written to many sockets: the `parley.shared_frames` scope extension.

A live event goes to every socket of a room in a process with the same text. Through ASGI,
each socket's `websocket.send` would encode that text and build a frame of its own: profiled at
1,000 sockets in a room, that was about 40% of a process's time. A server may offer the
application one more scope extension, `parley.shared_frames`: `{"write": write}`, where
`write(frame)` puts a `SharedFrame` (built once per event) straight into the connection, or
returns False when the frame has to go through `websocket.send` instead (before the handshake
is done, after a close, while the client is not reading, or whenever the server cannot). It
never raises. Parley's workers run uvicorn with the protocol in
chat/realtime/uvicorn_protocol.py (`--ws`), which offers it; under any other server (Daphne,
Channels' test communicator) the extension is missing and every frame goes through ASGI.

A shared frame is unmasked and uncompressed (RSV1 clear). RFC 7692 lets either side send
uncompressed messages on a connection that negotiated permessage-deflate, and the connection's
compressor never sees them, which is what lets one frame serve every connection.

Nothing here imports a server: the application depends on this module only.
"""

EXTENSION = "parley.shared_frames"


class SharedFrame:
    """A text frame for many sockets; its bytes are built on first use, once."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The frame as it goes on the wire; needs the websockets library (the server has it)."""
        if self._wire is None:
            # Imported here: the application uses `text` only, and may run without websockets.
            from websockets.frames import Frame, Opcode

            self._wire = Frame(Opcode.TEXT, self.text.encode()).serialize(mask=False)
        return self._wire

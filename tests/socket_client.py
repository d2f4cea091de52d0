"""Helpers for talking to the Parley socket in-process with Channels' WebsocketCommunicator."""

import asyncio
import json
from typing import Any

from channels.testing import WebsocketCommunicator

from chat.consumers.socket import ParleySocket
from chat.realtime.shared_frames import EXTENSION, SharedFrame


class SocketClient:
    """One connected socket as `user`, with frame-level helpers.

    Like a socket under Parley's workers, it offers the `parley.shared_frames` extension: live
    frames that the socket writes directly arrive here as they would over the connection.
    `shared_frames=False` is a server without it (every frame through `websocket.send`).
    """

    def __init__(
        self,
        user: object,
        *,
        ignore: frozenset[str] = frozenset({"presence"}),
        shared_frames: bool = True,
    ) -> None:
        self.communicator = WebsocketCommunicator(ParleySocket.as_asgi(), "/ws/")
        self.communicator.scope["user"] = user
        self.shared_writes: list[dict[str, Any]] = []  # frames written as shared frames
        if shared_frames:
            self.communicator.scope["extensions"] = {EXTENSION: {"write": self._write_shared}}
        self.hello: dict[str, Any] = {}
        self._ref = 0
        # Frame types most tests do not look at (presence notices come and go with sockets).
        self.ignore = ignore

    def _write_shared(self, frame: SharedFrame) -> bool:
        self.shared_writes.append(json.loads(frame.text))
        self.communicator.output_queue.put_nowait({"type": "websocket.send", "text": frame.text})
        return True

    async def connect(self) -> "SocketClient":
        connected, _ = await self.communicator.connect()
        assert connected
        self.hello = await self.receive()
        assert self.hello["type"] == "hello"
        return self

    async def send(self, frame: dict[str, Any]) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def receive(self, timeout: float = 3) -> dict[str, Any]:
        while True:
            frame = json.loads(await self.communicator.receive_from(timeout=timeout))
            if frame.get("type") not in self.ignore:
                return frame

    async def request(self, frame: dict[str, Any], timeout: float = 3) -> dict[str, Any]:
        """Send a frame with a fresh ref; return the reply to it, keeping other frames aside."""
        self._ref += 1
        ref = f"r{self._ref}"
        await self.send({**frame, "ref": ref})
        while True:
            reply = await self.receive(timeout)
            if reply.get("ref") == ref:
                return reply

    async def receive_until(self, predicate: Any, timeout: float = 3) -> list[dict[str, Any]]:
        """Frames up to and including the first one for which predicate(frame) is true."""
        frames = []
        while True:
            frame = await self.receive(timeout)
            frames.append(frame)
            if predicate(frame):
                return frames

    async def nothing_more(self, timeout: float = 0.2) -> bool:
        """True if no frame (other than ignored ones) arrives within `timeout`."""
        # receive_nothing, unlike a timed-out receive, leaves the application running.
        while not await self.communicator.receive_nothing(timeout=timeout):
            frame = json.loads(await self.communicator.receive_from())
            if frame.get("type") not in self.ignore:
                return False
        return True

    async def close(self) -> None:
        await self.communicator.disconnect()


def timeline(frames: list[dict[str, Any]], room_id: str) -> list[int]:
    """Seqs of the message.new frames for one room, in the order received."""
    return [
        frame["message"]["seq"]
        for frame in frames
        if frame.get("type") == "message.new" and frame.get("room") == room_id
    ]


async def settle() -> None:
    await asyncio.sleep(0.05)

"""A TCP relay between Parley and a real service (PostgreSQL, Redis) that a test can cut.

It runs its own event loop in a thread, so it keeps relaying while the test's loop is busy.
`down()` resets every relayed connection and refuses new ones, the way a crashed or restarted
service looks to its clients; `up()` relays again. The service itself is never touched.
"""

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepting = True
        self.relayed = 0  # connections relayed since the start
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> "TcpProxy":
        self._thread.start()
        self._run(self._listen())
        return self

    def down(self) -> None:
        """Reset every open connection and refuse new ones until `up()`."""
        self._run(self._set(accepting=False))

    def up(self) -> None:
        self._run(self._set(accepting=True))

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def url(self, scheme: str, path: str = "", user: str = "") -> str:
        credentials = f"{user}@" if user else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}{path}"

    # In the proxy's own loop

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set(self, *, accepting: bool) -> None:
        self.accepting = accepting
        if not accepting:
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()

    async def _close(self) -> None:
        await self._set(accepting=False)
        if self._server is not None:
            self._server.close()

    async def _relay(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter):
        if not self.accepting:
            _reset(client)
            return
        try:
            service_reader, service = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client)
            return
        self.relayed += 1
        self._writers.update((client, service))
        try:
            await asyncio.gather(_pipe(client_reader, service), _pipe(service_reader, client))
        finally:
            self._writers.discard(client)
            self._writers.discard(service)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN, as a dead peer looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

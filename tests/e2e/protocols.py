"""Protocols for uvicorn's `--ws` that only tests run: Parley's protocol on a uvicorn that is not
the one it was written for."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chat.realtime.uvicorn_protocol import SharedFrameProtocol


class WritableRenamedProtocol(SharedFrameProtocol):
    """As if uvicorn had renamed its `writable` event to `may_write`.

    uvicorn's own code (here, the overrides standing in for it) uses the new name, so the
    protocol works as uvicorn's; Parley's seam looks for `writable` and finds it missing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_write: asyncio.Event = self.__dict__.pop("writable")

    @contextmanager
    def _old_name(self) -> Iterator[None]:
        # For the span of one inherited call that uses the old name and does not yield to the
        # loop in between, so that nothing else can see it.
        self.writable = self.may_write
        try:
            yield
        finally:
            del self.writable

    def pause_writing(self) -> None:
        self.may_write.clear()

    def resume_writing(self) -> None:
        self.may_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        with self._old_name():
            super().connection_lost(exc)

    async def send(self, message: Any) -> None:
        await self.may_write.wait()
        # uvicorn's send waits on the event first, which is set now: it goes on without
        # yielding to the loop.
        with self._old_name():
            await super().send(message)

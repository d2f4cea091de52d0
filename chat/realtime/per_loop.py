"""State kept once per event loop: what a process's sockets share (the fan-out, heartbeats,
presence batches, the watchdog). Keyed weakly, so that a loop that ends (each test has its
own) takes its state with it, and a new loop never finds a dead one's."""

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        """The running loop's state, made on first use."""
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = self._factory()
        return state

    def existing(self) -> T | None:
        """The running loop's state if it has been made."""
        return self._states.get(asyncio.get_running_loop())

"""Database work from async code (sockets, the process's own tasks)."""

from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.db import close_old_connections


def in_thread(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ORM work in the thread pool, in parallel with other sockets' work.

    Channels' default runs all database work of a process on one thread; every call here is
    self-contained (its own transaction), so it does not need that. The connection goes back to
    the pool at the end of the call, from inside it: Channels' own close after the call runs
    outside the call's context and was seen to miss the call's connection (asgiref 3.13), so a
    thread kept it, and one that ended took a pooled connection with it.
    """

    def returning_the_connection(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return DatabaseSyncToAsync(returning_the_connection, thread_sensitive=False)

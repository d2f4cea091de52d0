"""Request bodies over their limit are refused before Django reads them.

Under ASGI, Django reads a request's whole body (to memory, then to a temporary file) before
any view runs, so a view that checks Content-Length has already received the 2 GB it refuses.
This wrapper answers 413 from the Content-Length alone, and cuts off a body sent without one
(chunked) once it passes the limit: the app then sees the client go (Django aborts the request,
and nothing of it is kept). nginx (deploy/nginx/parley.conf) applies the same limits first.
"""

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Room for the multipart envelope around a file: boundaries, headers, other fields.
ENVELOPE = 64 * 1024


class BodyLimit:
    """`limits`: (path pattern, largest body in bytes), the first match wins; `default` for
    every other path."""

    def __init__(self, app: App, *, limits: Sequence[tuple[str, int]], default: int) -> None:
        self.app = app
        self.limits = [(re.compile(pattern), size) for pattern, size in limits]
        self.default = default

    def limit_for(self, path: str) -> int:
        for pattern, size in self.limits:
            if pattern.fullmatch(path):
                return size
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    text = f"The request is too large: at most {limit // 1024:,} KiB here."
    if scope["path"].startswith("/api/"):
        body = json.dumps({"error": {"code": "request_too_large", "message": text}}).encode()
        content_type = b"application/json"
    else:
        body, content_type = text.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

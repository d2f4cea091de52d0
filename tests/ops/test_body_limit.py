"""ops.body_limit: a body over its limit is refused before anything reads it (by its
Content-Length), or cut off as it passes the limit (chunked)."""

import asyncio
import json
from typing import Any

import pytest

from ops.body_limit import BodyLimit

UPLOADS = r"/api/v1/rooms/[^/]+/uploads"


class Recorder:
    """An app that reads the whole body, and what it heard."""

    def __init__(self) -> None:
        self.called = False
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, scope, receive, send) -> None:
        self.called = True
        while True:
            message = await receive()
            self.messages.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def request(path: str, *, length: int | None, chunks: list[bytes]) -> tuple[Any, Any, list]:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "path": path, "headers": headers}
    pending = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    read: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        message = pending.pop(0)
        read.append(message)
        return message

    return scope, receive, read


def run(app: BodyLimit, scope, receive) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def limited(recorder: Recorder) -> BodyLimit:
    return BodyLimit(recorder, limits=[(UPLOADS, 1000)], default=100)


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    recorder = Recorder()
    scope, receive, read = request("/api/v1/rooms/r/uploads", length=2 * 1024**3, chunks=[b"x"])

    sent = run(limited(recorder), scope, receive)

    assert not recorder.called
    assert read == [], "not one byte of the body was read"
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "request_too_large"


def test_each_path_has_its_own_limit() -> None:
    for path, size, allowed in [
        ("/api/v1/rooms/r/uploads", 900, True),
        ("/api/v1/rooms/r/messages", 900, False),
        ("/rooms/r/post/", 90, True),
    ]:
        recorder = Recorder()
        scope, receive, _ = request(path, length=size, chunks=[b"x" * size])
        sent = run(limited(recorder), scope, receive)
        assert recorder.called is allowed, path
        assert sent[0]["status"] == (204 if allowed else 413), path


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit() -> None:
    recorder = Recorder()
    scope, receive, read = request("/rooms/r/post/", length=None, chunks=[b"x" * 60] * 10)

    run(limited(recorder), scope, receive)

    assert recorder.messages[-1] == {"type": "http.disconnect"}
    assert len(read) == 2, "reading stopped at the chunk that passed the limit"


def test_sockets_pass_untouched() -> None:
    called = []

    async def app(scope, receive, send) -> None:
        called.append(scope["type"])

    asyncio.run(BodyLimit(app, limits=[], default=0)({"type": "websocket"}, None, None))
    assert called == ["websocket"]


@pytest.mark.django_db
def test_parley_refuses_a_two_gigabyte_upload_before_reading_it() -> None:
    from config.asgi import application

    scope, receive, read = request("/api/v1/rooms/r/uploads", length=2 * 1024**3, chunks=[b"x"])
    scope.update({"method": "POST", "query_string": b"", "server": ("testserver", 80)})

    sent = run(application, scope, receive)

    assert sent[0]["status"] == 413
    assert read == []

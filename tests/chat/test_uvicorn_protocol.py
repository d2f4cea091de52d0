"""The seam to uvicorn (chat/realtime/uvicorn_protocol.py): real uvicorn protocol objects on
real local connections, in this process, with a small ASGI application."""

import asyncio
import copy
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
import websockets
from prometheus_client import REGISTRY
from uvicorn.config import Config
from uvicorn.server import ServerState

from chat.realtime import uvicorn_protocol
from chat.realtime.shared_frames import EXTENSION, SharedFrame
from tests.e2e.protocols import WritableRenamedProtocol

LOGGER = "chat.realtime.uvicorn_protocol"


class App:
    """Accepts, tries one shared frame, sends one frame through ASGI, then waits for the end."""

    def __init__(self, protocols: list[Any]) -> None:
        self.protocols = protocols
        self.offered: list[bool] = []  # per connection: was the extension in its scope
        self.before_accept: list[Any] = []  # a copy of each connection as the check saw it
        self.ended = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        self.before_accept.append(copy.copy(self.protocols[-1]))
        extension = scope["extensions"].get(EXTENSION)
        self.offered.append(extension is not None)
        await send({"type": "websocket.accept"})
        if extension is not None:
            extension["write"](SharedFrame('"shared"'))
        await send({"type": "websocket.send", "text": '"asgi"'})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        self.ended += 1

    async def all_ended(self) -> None:
        for _ in range(100):
            if self.ended == len(self.offered):
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("the application did not see every disconnect")


class Served:
    def __init__(self, port: int, app: App, protocols: list[Any]) -> None:
        self.url = f"ws://127.0.0.1:{port}/"
        self.app = app
        self.protocols = protocols

    async def talk(self) -> list[str]:
        """Connect, read the application's frames, close."""
        async with websockets.connect(self.url) as client:
            frames = [await asyncio.wait_for(client.recv(), 5)]
            if frames[0] != '"asgi"':
                frames.append(await asyncio.wait_for(client.recv(), 5))
        return frames


async def serve(protocol_class: type[asyncio.Protocol]) -> tuple[asyncio.Server, Served]:
    protocols: list[Any] = []
    app = App(protocols)
    config = Config(app=app, ws=protocol_class, lifespan="off", log_config=None)
    config.load()
    server_state = ServerState()

    def connection() -> asyncio.Protocol:
        protocol = protocol_class(config=config, server_state=server_state, app_state={})
        protocols.append(protocol)
        return protocol

    server = await asyncio.get_running_loop().create_server(connection, "127.0.0.1", 0)
    return server, Served(server.sockets[0].getsockname()[1], app, protocols)


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new process as far as the switch and its warnings go."""
    monkeypatch.setattr(uvicorn_protocol, "state", uvicorn_protocol.SharedFramesSwitch(None))


@pytest.fixture
async def normal() -> AsyncIterator[Served]:
    server, served = await serve(uvicorn_protocol.SharedFrameProtocol)
    async with server:
        yield served


@pytest.fixture
async def renamed() -> AsyncIterator[Served]:
    server, served = await serve(WritableRenamedProtocol)
    async with server:
        yield served


def written() -> float:
    return REGISTRY.get_sample_value("parley_shared_frames_written_total") or 0.0


def warnings_from_seam(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


async def test_a_connection_is_offered_shared_frames_and_each_write_is_counted(normal) -> None:
    before = written()
    assert await normal.talk() == ['"shared"', '"asgi"']
    assert normal.app.offered == [True]
    assert written() == before + 1


async def test_the_first_connection_meets_everything_the_seam_reads(normal) -> None:
    async with websockets.connect(normal.url) as client:
        await asyncio.wait_for(client.recv(), 5)
        assert uvicorn_protocol.missing_on_connection(normal.app.before_accept[0]) == []


@pytest.mark.parametrize(
    "attribute",
    [
        "response",
        "scope",
        "handshake_complete",
        "close_sent",
        "disconnected",
        "initial_response",
        "writable",
        "conn",
        "transport",
    ],
)
async def test_the_check_names_each_attribute_a_connection_lacks(normal, attribute) -> None:
    async with websockets.connect(normal.url) as client:
        await asyncio.wait_for(client.recv(), 5)
        connection = normal.app.before_accept[0]
        delattr(connection, attribute)
        missing = uvicorn_protocol.missing_on_connection(connection)
    assert missing
    assert all(name.startswith(attribute) for name in missing)


async def test_the_check_finds_an_attribute_whose_meaning_changed(normal) -> None:
    async with websockets.connect(normal.url) as client:
        await asyncio.wait_for(client.recv(), 5)
        connection = normal.app.before_accept[0]
        connection.handshake_complete = True  # as if set before the application accepts
        assert uvicorn_protocol.missing_on_connection(connection) == ["handshake_complete"]


async def test_a_missing_attribute_turns_shared_frames_off_with_one_warning(
    renamed, caplog
) -> None:
    before = written()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert await renamed.talk() == ['"asgi"']
        assert await renamed.talk() == ['"asgi"']
    assert renamed.app.offered == [False, False]
    assert written() == before
    [warning] = warnings_from_seam(caplog)
    assert "shared frames are OFF" in warning.getMessage()
    assert "writable.is_set()" in warning.getMessage()


class BrokenTransport:
    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        raise OSError("the transport broke")


async def test_a_write_that_fails_returns_false_and_turns_off_that_connection_only(
    normal, caplog
) -> None:
    async with websockets.connect(normal.url) as first, websockets.connect(normal.url) as second:
        for client in (first, second):
            assert await asyncio.wait_for(client.recv(), 5) == '"shared"'
        one, other = normal.protocols
        working, one.transport = one.transport, BrokenTransport()
        before = written()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert one.write_shared(SharedFrame('"lost?"')) is False
            assert one.write_shared(SharedFrame('"lost?"')) is False
            one.transport = working
            assert one.write_shared(SharedFrame('"after"')) is False  # off for this connection
            assert other.write_shared(SharedFrame('"other"')) is True
        assert written() == before + 1
        [warning] = warnings_from_seam(caplog)
        assert warning.exc_info is not None and "the transport broke" in str(warning.exc_info[1])
        assert await asyncio.wait_for(first.recv(), 5) == '"asgi"'  # ASGI still works
        assert await asyncio.wait_for(second.recv(), 5) == '"asgi"'
        assert await asyncio.wait_for(second.recv(), 5) == '"other"'


async def test_a_write_with_the_transport_gone_returns_false(normal) -> None:
    async with websockets.connect(normal.url) as client:
        assert await asyncio.wait_for(client.recv(), 5) == '"shared"'
        [protocol] = normal.protocols
        working, protocol.transport = protocol.transport, None
        assert protocol.write_shared(SharedFrame('"x"')) is False
        protocol.transport = working  # for uvicorn's own closing


async def test_a_write_before_the_handshake_or_after_the_close_is_refused(normal) -> None:
    async with websockets.connect(normal.url) as client:
        assert await asyncio.wait_for(client.recv(), 5) == '"shared"'
        [protocol] = normal.protocols
    # The client's close completes once the server has answered it.
    assert protocol.write_shared(SharedFrame('"late"')) is False
    assert normal.app.before_accept[0].write_shared(SharedFrame('"early"')) is False


def load_without_sansio(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh copy of the seam in a process whose uvicorn has no websockets-sansio protocol
    (as before 0.35); the copy in sys.modules is left alone."""
    monkeypatch.setitem(sys.modules, uvicorn_protocol.SANSIO_MODULE, None)
    monkeypatch.setitem(sys.modules, "uvicorn.protocols.websockets.auto", None)
    spec = importlib.util.spec_from_file_location(
        uvicorn_protocol.__name__, uvicorn_protocol.__file__
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Importing uvicorn's legacy websockets protocol warns that it is deprecated, twice.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::uvicorn.config.UvicornDeprecationWarning")
async def test_without_the_sansio_module_it_is_uvicorns_default_protocol_with_one_warning(
    monkeypatch, caplog
) -> None:
    module = load_without_sansio(monkeypatch)
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol

    assert issubclass(module.SharedFrameProtocol, WebSocketProtocol)
    assert uvicorn_protocol.SANSIO_MODULE in module.state.off_reason
    server, served = await serve(module.SharedFrameProtocol)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with server:
            assert await served.talk() == ['"asgi"']
            assert await served.talk() == ['"asgi"']
            await served.app.all_ended()
    assert served.app.offered == [False, False]
    [warning] = warnings_from_seam(caplog)
    assert "websockets_sansio_impl" in warning.getMessage()

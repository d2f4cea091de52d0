"""uvicorn's WebSocket protocol plus the `parley.shared_frames` extension: the one place where
Parley reads uvicorn's internals.

Only uvicorn's `--ws` option names this module (scripts/parley-worker, the Makefile's `run`,
tests/e2e/servers.py); the application knows the extension by chat/realtime/shared_frames.py
alone. Writing a frame past `websocket.send` means reading connection state that uvicorn does
not promise to keep: the class `WebSocketsSansIOProtocol` (uvicorn 0.35 and later) and the
attributes in `CONNECTION_NEEDS`. pyproject.toml pins uvicorn to the releases this was tested
with; in case that is not what runs, this checks at import that the class is there, and on the
first connection of the process that every attribute it reads is. If anything is missing the
extension is off for the whole process, with one warning naming what is missing, and the
protocol is uvicorn's own: every frame goes through `websocket.send`, slower but never lost.
A write that fails anyway returns False, so the caller sends that frame through ASGI, and turns
the extension off for its connection (one warning per process).
"""

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chat.realtime.shared_frames import EXTENSION, SharedFrame
from core import metrics

logger = logging.getLogger(__name__)

SANSIO_MODULE = "uvicorn.protocols.websockets.websockets_sansio_impl"

# uvicorn's own choice of WebSocket protocol (`--ws auto`) across releases, for when the
# websockets-sansio one does not import.
UVICORN_DEFAULTS = (
    ("uvicorn.protocols.websockets.auto", "AutoWebSocketsProtocol"),
    ("uvicorn.protocols.websockets.websockets_impl", "WebSocketProtocol"),
    ("uvicorn.protocols.websockets.wsproto_impl", "WSProtocol"),
)


def uvicorn_default_protocol() -> type[asyncio.Protocol]:
    """The protocol uvicorn itself would run for `--ws auto`, on any release."""
    for module_name, class_name in UVICORN_DEFAULTS:
        try:
            protocol = getattr(importlib.import_module(module_name), class_name, None)
        except ImportError:
            continue
        if protocol is not None:
            return protocol
    raise ImportError("uvicorn has no WebSocket protocol that imports: install websockets")


def _load() -> tuple[type[asyncio.Protocol], Any, str | None]:
    """The base class, websockets' connection states, and why shared frames are off (or None)."""
    try:
        base = importlib.import_module(SANSIO_MODULE).WebSocketsSansIOProtocol
        from websockets.protocol import State
    except (ImportError, AttributeError) as error:
        return uvicorn_default_protocol(), None, f"{SANSIO_MODULE} is not usable ({error!r})"
    if not hasattr(State, "OPEN"):
        return base, State, "websockets.protocol.State.OPEN is missing"
    if not callable(getattr(base, "handle_connect", None)):
        return base, State, "WebSocketsSansIOProtocol.handle_connect is missing"
    try:
        built = SharedFrame("").wire
    except Exception as error:
        return base, State, f"websockets.frames cannot build a frame ({error!r})"
    if built != b"\x81\x00":  # FIN, text, unmasked, empty
        return base, State, f"websockets.frames builds {built!r} for an empty text frame"
    return base, State, None


if TYPE_CHECKING:
    from uvicorn.protocols.websockets.websockets_sansio_impl import (
        WebSocketsSansIOProtocol as _Base,
    )
    from websockets.protocol import State

    _problem_at_import: str | None
else:
    _Base, State, _problem_at_import = _load()


# What handle_connect and write_shared read of a connection, as each must be on a connection
# whose handshake has arrived and that the application has not accepted yet.
CONNECTION_NEEDS: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("response.status_code", lambda connection: connection.response.status_code == 101),
    ("scope['extensions']", lambda connection: isinstance(connection.scope["extensions"], dict)),
    ("handshake_complete", lambda connection: connection.handshake_complete is False),
    ("close_sent", lambda connection: connection.close_sent is False),
    ("disconnected", lambda connection: connection.disconnected is False),
    ("initial_response", lambda connection: connection.initial_response is None),
    ("writable.is_set()", lambda connection: isinstance(connection.writable.is_set(), bool)),
    ("conn.state", lambda connection: isinstance(connection.conn.state, State)),
    ("transport.is_closing()", lambda connection: connection.transport.is_closing() is False),
    ("transport.write", lambda connection: callable(connection.transport.write)),
)


def _holds(present: Callable[[Any], bool], connection: Any) -> bool:
    try:
        return present(connection)
    except Exception:
        return False  # an AttributeError or any other: not there as expected, either way


def missing_on_connection(connection: Any) -> list[str]:
    """What of CONNECTION_NEEDS `connection` lacks; call when its handshake has just arrived."""
    return [name for name, present in CONNECTION_NEEDS if not _holds(present, connection)]


class SharedFramesSwitch:
    """Whether this process writes shared frames, and the warnings when it cannot (once each)."""

    def __init__(self, off_reason: str | None) -> None:
        self.off_reason = off_reason
        self.connection_checked = False
        self.reported = False
        self.write_failure_reported = False

    def turn_off(self, reason: str) -> None:
        if self.off_reason is None:
            self.off_reason = reason
        self.report()

    def report(self) -> None:
        # Logged with the first connection rather than at import: uvicorn imports `--ws`
        # before the application, whose logging configuration the warning should go through.
        if self.off_reason is None or self.reported:
            return
        self.reported = True
        logger.warning(
            "shared frames are OFF in this process: %s. Every frame now goes through "
            "websocket.send (nothing is lost; fan-out costs more). The uvicorn release running "
            "is not one chat/realtime/uvicorn_protocol.py was tested with (see pyproject.toml).",
            self.off_reason,
        )

    def write_failed(self) -> None:
        if self.write_failure_reported:
            return
        self.write_failure_reported = True
        logger.exception(
            "shared frames: a write failed; shared frames are off for that connection (its "
            "frames go through websocket.send). Reported once per process."
        )


state = SharedFramesSwitch(_problem_at_import)


class SharedFrameProtocol(_Base):
    """uvicorn's websockets-sansio protocol, plus the `parley.shared_frames` extension.

    When shared frames are off for the process it is uvicorn's protocol unchanged (the
    websockets-sansio one, or whichever uvicorn runs by default if that does not import).
    """

    # Set on a connection whose shared write failed: its frames go through websocket.send.
    parley_shared_frames_off = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        state.report()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if state.off_reason is not None:
            return
        try:
            self._offer_shared_frames()
        except Exception as error:
            state.turn_off(f"offering the extension failed ({error!r})")

    def _offer_shared_frames(self) -> None:
        response = getattr(self, "response", None)
        if response is None or not isinstance(getattr(response, "status_code", None), int):
            state.turn_off("not as expected on uvicorn's connection: response.status_code")
            return
        if response.status_code != 101:
            return  # refused at the handshake: no application runs
        if not state.connection_checked:
            missing = missing_on_connection(self)
            if missing:
                state.turn_off("not as expected on uvicorn's connection: " + ", ".join(missing))
                return
            state.connection_checked = True
        self.scope["extensions"][EXTENSION] = {"write": self.write_shared}

    def write_shared(self, frame: SharedFrame) -> bool:
        """Write `frame` now, or return False: it must go through `websocket.send`.

        Never raises: the fan-out calls it for every socket of a room in turn.
        """
        if self.parley_shared_frames_off:
            return False
        try:
            if (
                not self.handshake_complete
                or self.close_sent
                or self.disconnected
                or self.initial_response is not None
                # Over the transport's high-water mark: websocket.send waits, with the
                # socket's send deadline, for a client that does not read.
                or not self.writable.is_set()
                or self.conn.state is not State.OPEN
                or self.transport.is_closing()
            ):
                return False
            self.transport.write(frame.wire)
        except Exception:
            self.parley_shared_frames_off = True
            state.write_failed()
            return False
        metrics.SHARED_FRAMES_WRITTEN.inc()
        return True

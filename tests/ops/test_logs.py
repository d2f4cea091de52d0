import logging
import sys

from ops.logs import ClientFaultsAreWarnings


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    try:
        b"\xff".decode()
    except UnicodeDecodeError:
        exc_info = sys.exc_info()
    return logging.LogRecord("uvicorn.error", level, __file__, 1, message, None, exc_info)


def test_invalid_utf8_from_a_client_is_one_warning_line() -> None:
    record = _record("Invalid UTF-8 sequence received from client.")

    assert ClientFaultsAreWarnings().filter(record)

    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")
    assert record.exc_info is None


def test_other_errors_keep_their_level_and_traceback() -> None:
    record = _record("Exception in ASGI application\n")

    assert ClientFaultsAreWarnings().filter(record)

    assert record.levelno == logging.ERROR
    assert record.exc_info is not None

"""Reading the fields of a client frame; a wrong shape becomes an InvalidInput error."""

import uuid
from typing import Any

from core import json_limits
from core.errors import InvalidInput

# Seqs, cursors and refs are JSON numbers; beyond 2**53 clients cannot represent them exactly.
MAX_SEQ = 2**53


class FrameError(InvalidInput):
    code = "bad_frame"
    default_message = "The frame is not a JSON object with a 'type'."


def parse_frame(text: str) -> dict[str, Any]:
    """The frame as a dict: strict JSON (no NaN or Infinity, the API's depth limit), an object
    at the top."""
    try:
        frame = json_limits.loads(text)
    except json_limits.JsonTooDeep as refusal:
        raise FrameError(str(refusal)) from None
    except ValueError:
        raise FrameError("The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("A frame must be a JSON object.")
    return frame


def ref_of(frame: dict[str, Any]) -> str | int | None:
    """The client's `ref` to echo back: a string of up to 64 characters or an integer."""
    ref = frame.get("ref")
    if ref is None:
        return None
    if isinstance(ref, str) and len(ref) <= 64:
        return ref
    if isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) < 2**53:
        return ref
    raise InvalidInput("'ref' must be a string of at most 64 characters or an integer.")


def text_field(frame: dict[str, Any], name: str) -> str:
    value = frame.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' is required and must be a string.", field=name)
    return value


def optional_int(frame: dict[str, Any], name: str) -> int | None:
    value = frame.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SEQ:
        raise InvalidInput(f"'{name}' must be a whole number up to 2**53.", field=name)
    return value


def canonical_room_id(room_id: str) -> str:
    """A room id in the form Parley sends (lower-case, hyphenated); unchanged if malformed."""
    try:
        return str(uuid.UUID(room_id))
    except ValueError:
        return room_id


def int_field(frame: dict[str, Any], name: str) -> int:
    value = optional_int(frame, name)
    if value is None:
        raise InvalidInput(f"'{name}' is required and must be a whole number.", field=name)
    return value

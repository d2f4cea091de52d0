"""Reading JSON from clients (socket frames, API bodies) under one rule: strict, and shallow.

Python's json module recurses once per level of nesting, so a small body nested a thousand
levels deep ends in RecursionError: a server error and a traceback, not a client's mistake.
The depth is measured on the text before parsing, without recursion, and refused past
MAX_DEPTH; no message Parley accepts comes near it.
"""

import json
import re
from typing import Any

MAX_DEPTH = 64

# A JSON string, escapes included: its brackets are text, not structure.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonTooDeep(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def nesting_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects in `text` nest deeper than `limit` (exact for valid JSON)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str) -> Any:
    """`text` as strict JSON (no NaN or Infinity); ValueError (JsonTooDeep: too deep) if not."""
    if nesting_exceeds(text):
        raise JsonTooDeep(f"JSON nested deeper than {MAX_DEPTH} levels is refused.")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        # Not reached for valid JSON after the check above; kept so that no input can raise it.
        raise JsonTooDeep(f"JSON nested deeper than {MAX_DEPTH} levels is refused.") from None

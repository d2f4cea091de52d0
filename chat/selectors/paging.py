"""Keyset pages with opaque cursors: the one paging style of Parley's lists.

A page is `limit` rows of a queryset in a fixed order, and `next_cursor`, the position after
its last row, or None at the end. The position is the row's sort key as the database computed
it (so the next page compares values the database itself ordered), signed with the list's
name: a cursor cannot be forged, altered or used on another list. Rows added or removed between
pages neither repeat nor hide the rows that stayed, as an offset would.
"""

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any, Generic, TypeVar

from django.core import signing
from django.db.models import Expression, F, Model, Q, QuerySet

from core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Longer than any cursor Parley hands out (a 150-character name, escaped, base64, signed).
MAX_CURSOR_LENGTH = 2000
# The primary key ends every order, so that any order is total and every row has one place.
_TIEBREAK = "page_key_pk"

Row = TypeVar("Row")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    # Pass back as `cursor` for the next page; None when this is the last one.
    next_cursor: str | None


def page_limit(limit: object) -> int:
    """The page size asked for (DEFAULT_LIMIT when None), else InvalidInput."""
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.", field="limit")
    return limit


def keyset_page(
    rows: QuerySet[M],
    *,
    order: dict[str, Expression | F],
    list_name: str,
    cursor: object,
    limit: object,
) -> Page[M]:
    """One page of `rows` ascending by `order` (annotation name: expression), then by pk.

    `list_name` names the list in its cursors; a cursor from another list is refused.
    InvalidInput for a cursor this list did not hand out or a bad limit.
    """
    size = page_limit(limit)
    keys = {**order, _TIEBREAK: F("pk")}
    names = list(keys)
    ordered = rows.annotate(**keys).order_by(*names)
    if cursor is not None:
        ordered = ordered.filter(_after(names, _position(cursor, list_name, len(names))))
    page = list(ordered[: size + 1])
    if len(page) <= size:
        return Page(rows=page, next_cursor=None)
    page = page[:size]
    last = vars(page[-1])
    position = [last[name] for name in names]
    return Page(rows=page, next_cursor=_signer(list_name).sign_object(position))


def _signer(list_name: str) -> signing.Signer:
    return signing.Signer(salt=f"parley.paging.{list_name}")


def _position(cursor: object, list_name: str, length: int) -> list[Any]:
    """The sort key a cursor of this list holds, else InvalidInput."""
    refused = InvalidInput("'cursor' must be a next_cursor from an earlier page.", field="cursor")
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        position = _signer(list_name).unsign_object(cursor)
    except (signing.BadSignature, ValueError):
        raise refused from None
    # Signed by this server, so well formed unless the list's order changed since.
    if not isinstance(position, list) or len(position) != length:
        raise refused
    if any(isinstance(value, bool) or not isinstance(value, str | int) for value in position):
        raise refused
    return position


def _after(names: list[str], position: list[Any]) -> Q:
    """Rows after `position` in the order of `names`: (a, b) > (x, y), written out."""
    clauses = []
    for index, name in enumerate(names):
        equal = dict(zip(names[:index], position[:index], strict=True))
        clauses.append(Q(**equal, **{f"{name}__gt": position[index]}))
    return reduce(or_, clauses)

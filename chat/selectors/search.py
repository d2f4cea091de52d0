"""Full-text search of the text messages a user may read, newest first, a page at a time.

The rooms searched are those whose history the user may fetch (chat.selectors.messages goes
through member_room): rooms they can see (chat.room_access) and are a member of. So rooms
never joined, rooms left, others' direct conversations and rooms they lost access to are
never searched; archived rooms keep their readable timeline and are searched.

PostgreSQL matches with the stored words of migration 0010 (to_tsvector('simple', body), in
the column body_search, with a GIN index) and websearch_to_tsquery, which accepts any text.
SQLite matches with the FTS5 table of that migration, every word of the query quoted so
nothing is read as syntax; without FTS5 it scans with icontains.
"""

import re
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.ratelimit import take_search
from chat.selectors.access import member_room
from core.errors import InvalidInput, QueryEmpty, QueryInvalid, QueryTooLong

# Characters no stored text holds (PostgreSQL refuses NUL; lone surrogates cannot be encoded).
_UNSEARCHABLE = re.compile("[\x00\ud800-\udfff]")
_WORD = re.compile(r"\w+")
# A word the PostgreSQL query excludes ("-word"): not highlighted.
_EXCLUDED = re.compile(r"(?:^|\s)-(\w+)")
# The longest query (docs/protocol.md, limits): longer ones are refused, not cut.
QUERY_MAX_LENGTH = 200
PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
# The cursor is the last result's id, as text: clients pass it back and never read it.
_CURSOR = re.compile(r"[0-9]{1,19}")
EXCERPT_LENGTH = 160
# How much text an excerpt shows before the first match.
EXCERPT_LEAD = 50
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class SearchHit:
    message: Message
    # For a direct conversation: the other person, who names it.
    peer: User | None
    excerpt: str
    # [start, end) of each matched word in `excerpt`, in Unicode code points.
    matches: list[tuple[int, int]]


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    # Pass back as `cursor` for the next (older) page; None when there is none.
    next_cursor: str | None


def clean_query(query: object) -> str:
    """The query trimmed, or the error saying why it cannot be searched for."""
    if not isinstance(query, str):
        raise InvalidInput("'q' is required and must be a string.", field="q")
    maximum = QUERY_MAX_LENGTH
    if len(query) > maximum:
        raise QueryTooLong(f"A search may be at most {maximum} characters long.", field="q")
    if _UNSEARCHABLE.search(query):
        raise QueryInvalid(field="q")
    query = query.strip()
    if not query:
        raise QueryEmpty(field="q")
    return query


def _cursor(cursor: object) -> int | None:
    if cursor is None:
        return None
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        raise InvalidInput("'cursor' must be a next_cursor from an earlier page.", field="cursor")
    return int(cursor)


def _page_size(limit: object) -> int:
    if limit is None:
        return PAGE_SIZE
    maximum = MAX_PAGE_SIZE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {maximum}.", field="limit")
    return limit


def _author(author: object) -> str | None:
    if author is None:
        return None
    if not isinstance(author, str) or len(author) > 150:
        raise InvalidInput("'author' must be a username.", field="author")
    return author


def search_messages(
    user: User,
    *,
    query: object,
    room_id: object = None,
    author: object = None,
    cursor: object = None,
    limit: object = None,
) -> SearchPage:
    """Text messages matching `query` in the rooms `user` may read, newest first.

    Filters: one room (its public id: RoomNotFound or NotMember as for history) and an
    author's username. Raises RateLimited past the user's search allowance.
    """
    text = clean_query(query)
    before_id = _cursor(cursor)
    size = _page_size(limit)
    username = _author(author)
    take_search(user.pk)
    words = _WORD.findall(text)
    if not words:
        return SearchPage(hits=[], next_cursor=None)

    if room_id is not None:
        room_ids = [member_room(user, room_id).room.pk]
    else:
        # The ids first, as a list: as a subquery, PostgreSQL guessed one room for the access
        # rule and ran the full-text index scan once per room (250 ms at 1e6 messages in 100
        # rooms, against one scan for all of them).
        readable = Room.objects.visible_to(user).filter(memberships__user=user)
        room_ids = list(readable.values_list("pk", flat=True))
    messages = Message.objects.filter(
        room_id__in=room_ids, kind=Message.Kind.TEXT, deleted_at__isnull=True
    )
    if username is not None:
        messages = messages.filter(author__username=username)
    if before_id is not None:
        messages = messages.filter(pk__lt=before_id)
    # Newest first, by id: people look for something recent first, and the id is one order
    # across all rooms (seq is per room), unique, and indexed, so a page is a keyset read.
    # Ids are not quite commit order, which matters for live delivery but not for a search.
    found = _matching(messages, text, words).select_related("room", "author").order_by("-pk")
    rows = _newest(found, size + 1)
    page = rows[:size]
    terms = _highlighted(text, words)
    peers = _peers(user, [message.room for message in page])
    hits = [
        SearchHit(message=message, peer=peers.get(message.room_id), **_excerpt(message.body, terms))
        for message in page
    ]
    next_cursor = str(page[-1].pk) if len(rows) > size else None
    return SearchPage(hits=hits, next_cursor=next_cursor)


def _newest(found: QuerySet[Message], count: int) -> list[Message]:
    if connection.vendor != "postgresql":
        return list(found[:count])
    with transaction.atomic(), connection.cursor() as cursor:
        # Parallel workers walking the id index each run far past the LIMIT, checking the words
        # of every row they pass: 230 ms instead of 87 at 1e6 messages (docs/benchmarks.md).
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return list(found[:count])


def _matching(messages: QuerySet[Message], text: str, words: list[str]) -> QuerySet[Message]:
    if connection.vendor == "postgresql":
        # body_search is to_tsvector('simple', body), stored and indexed by migration 0010.
        return messages.filter(
            RawSQL(
                "chat_message.body_search @@ websearch_to_tsquery('simple', %s)",
                [text],
                output_field=BooleanField(),
            )
        )
    if _has_fts_table(connection.alias, str(connection.settings_dict["NAME"])):
        # Each word a quoted FTS5 string: all must occur, and nothing is an operator.
        match = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        return messages.filter(
            RawSQL(
                "chat_message.id IN "
                "(SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH %s)",
                [match],
                output_field=BooleanField(),
            )
        )
    for word in words:
        messages = messages.filter(body__icontains=word)
    return messages


@cache
def _has_fts_table(alias: str, name: str) -> bool:
    """Whether migration 0010 made the FTS5 table in this SQLite database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chat_message_fts'"
        )
        return cursor.fetchone() is not None


def _highlighted(text: str, words: list[str]) -> frozenset[str]:
    excluded = {word.casefold() for word in _EXCLUDED.findall(text)}
    return frozenset(word.casefold() for word in words) - excluded


def _excerpt(body: str, terms: frozenset[str]) -> dict:
    """About EXCERPT_LENGTH characters of `body` on one line, from a little before the first
    matched word, with the ranges of the matched words in it."""
    flat = " ".join(body.split())
    found = [
        (word.start(), word.end())
        for word in _WORD.finditer(flat)
        if word.group().casefold() in terms
    ]
    start = 0
    if found and found[0][0] > EXCERPT_LEAD:
        # Begin at a word boundary, so the excerpt does not open with half a word.
        start = flat.find(" ", found[0][0] - EXCERPT_LEAD, found[0][0]) + 1
        start = start or found[0][0]
    end = min(len(flat), start + EXCERPT_LENGTH)
    if end < len(flat):
        cut = flat.rfind(" ", start + EXCERPT_LENGTH // 2, end)
        end = cut if cut > 0 else end
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(flat) else ""
    shift = len(prefix) - start
    matches = [
        (begin + shift, finish + shift)
        for begin, finish in found
        if start <= begin and finish <= end
    ]
    return {"excerpt": prefix + flat[start:end] + suffix, "matches": matches}


def _peers(user: User, rooms: list[Room]) -> dict[int, User]:
    """The other person of each direct conversation among `rooms`, in one query."""
    direct_ids = {room.pk for room in rooms if room.kind == Room.Kind.DIRECT}
    if not direct_ids:
        return {}
    others = Membership.objects.filter(room_id__in=direct_ids).exclude(user=user)
    return {membership.room_id: membership.user for membership in others.select_related("user")}

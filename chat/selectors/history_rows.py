"""A history page's rows and what each message shows beside them, read with written-out SQL.

Every room opened, page scrolled and reconnect reads history pages. Through the ORM a page of
50 with its authors, quotes, files, reactions and mentions took 8.4 ms in one process, four
fifths of it composing five queries and building objects (docs/benchmarks.md). Here the page is
one statement, which also says which messages have files, reactions or mentions, and each of
those is one more statement only when some message has it, in SQL that PostgreSQL and SQLite
both take. The rows become the model instances the ORM would have made (`Model.from_db`,
through the backend's converters), so chat.wire, the templates and every caller see the same
objects; of a user only what is shown is read (the rest loads on first use).

No access rule lives here: callers pass a room the user may read (chat.selectors.access).
"""

from collections.abc import Callable, Iterable, Sequence, Sized
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from accounts.models import User
from chat.models import Attachment, Mention, Message, Reaction

Converter = Callable[[Any, Any, Any], Any]


class _Columns:
    """Columns of a model as a statement selects them under `alias`, and a row's slice of them
    back into an instance. The primary key comes first; fields left out are deferred (read on
    first use, as with the ORM's `only()`)."""

    def __init__(self, model: type[Model], alias: str, names: Sequence[str] = ()) -> None:
        self.model = model
        self.alias = alias
        self.fields: list[Field] = [
            field
            for field in model._meta.concrete_fields
            if not names or field.primary_key or field.name in names
        ]
        self.names = [field.attname for field in self.fields]
        self.width = len(self.fields)

    def sql(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(field.column)}" for field in self.fields)

    def build(self, database: BaseDatabaseWrapper, row: Sequence[Any], start: int) -> Any:
        """The instance in row[start:start + width], or None when the join found no row."""
        values = list(row[start : start + self.width])
        if values[0] is None:
            return None
        for index, converters in _converters(self, database.vendor):
            column = self.fields[index].get_col(self.alias)
            for convert in converters:
                values[index] = convert(values[index], column, database)
        return self.model.from_db(database.alias, self.names, values)


class _People:
    """The users of one read, one instance each however many rows name them."""

    def __init__(self, database: BaseDatabaseWrapper) -> None:
        self.database = database
        self.seen: dict[Any, User] = {}

    def build(self, columns: "_Columns", row: Sequence[Any], start: int) -> User | None:
        pk = row[start]
        if pk is None:
            return None
        if pk not in self.seen:
            self.seen[pk] = columns.build(self.database, row, start)
        return self.seen[pk]


@cache
def _converters(columns: _Columns, vendor: str) -> list[tuple[int, list[Converter]]]:
    """What the backend does to each column's raw value (SQLite: text to datetime and UUID, 0
    and 1 to booleans), as the ORM's compiler applies it: the backend's, then the field's."""
    found = []
    for index, field in enumerate(columns.fields):
        column = field.get_col(columns.alias)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((index, converters))
    return found


# What chat.wire and the message template show of a person (User.shown_name, avatar_url).
_PERSON = ("username", "display_name", "avatar")


_MESSAGE = _Columns(Message, "m")
_AUTHOR = _Columns(User, "a", _PERSON)
_QUOTED = _Columns(Message, "q")
_QUOTED_AUTHOR = _Columns(User, "qa", _PERSON)
_ATTACHMENT = _Columns(Attachment, "f")
_REACTION = _Columns(Reaction, "r")
_MENTION = _Columns(Mention, "n")
_USER = _Columns(User, "u", _PERSON)

_SET_AUTHOR = Message._meta.get_field("author").set_cached_value
_SET_QUOTED = Message._meta.get_field("reply_to").set_cached_value


def page_rows(
    room_pk: int,
    *,
    newest_first: bool,
    limit: int,
    before: int | None = None,
    after: int | None = None,
    from_seq: int | None = None,
) -> list[Message]:
    """Up to `limit` entries of a room in seq order (newest first if asked), each with its
    author, the message it replies to (with that one's author) and `details_present`:
    seq < `before`, seq > `after`, seq >= `from_seq`, or from either end."""
    conditions, parameters = ["m.room_id = %s"], [room_pk]
    for bound, operator in ((before, "<"), (after, ">"), (from_seq, ">=")):
        if bound is not None:
            conditions.append(f"m.seq {operator} %s")
            parameters.append(bound)
    order = "DESC" if newest_first else "ASC"
    # The page is cut first, in a subquery, so that the planner knows the EXISTS tests run for
    # `limit` rows: estimating them for the whole room, it hashed the whole reaction table
    # instead (11 ms at 1e5 messages, docs/benchmarks.md).
    statement = (
        f"SELECT {_MESSAGE.sql()}, {_AUTHOR.sql()}, {_QUOTED.sql()}, {_QUOTED_AUTHOR.sql()},"  # noqa: S608 (names from the models, values are parameters)
        f" EXISTS (SELECT 1 FROM {_table(Attachment)} f WHERE f.message_id = m.id),"
        f" EXISTS (SELECT 1 FROM {_table(Reaction)} r WHERE r.message_id = m.id),"
        f" EXISTS (SELECT 1 FROM {_table(Mention)} n WHERE n.message_id = m.id AND n.by_name = %s)"
        f" FROM (SELECT {_MESSAGE.sql()} FROM {_table(Message)} m"
        f" WHERE {' AND '.join(conditions)} ORDER BY m.seq {order} LIMIT %s) m"
        f" LEFT JOIN {_table(User)} a ON a.id = m.author_id"
        f" LEFT JOIN {_table(Message)} q ON q.id = m.reply_to_id"
        f" LEFT JOIN {_table(User)} qa ON qa.id = q.author_id"
        f" ORDER BY m.seq {order}"
    )
    database = connections[DEFAULT_DB_ALIAS]
    people = _People(database)
    quoted_at = _MESSAGE.width + _AUTHOR.width
    messages = []
    for row in _rows(database, statement, [True, *parameters, limit]):
        message = _MESSAGE.build(database, row, 0)
        files, reactions, mentions = row[-3:]  # 0 and 1 from SQLite
        message.details_present = (bool(files), bool(reactions), bool(mentions))
        _SET_AUTHOR(message, people.build(_AUTHOR, row, _MESSAGE.width))
        quoted = _QUOTED.build(database, row, quoted_at)
        if quoted is not None:
            _SET_AUTHOR(quoted, people.build(_QUOTED_AUTHOR, row, quoted_at + _QUOTED.width))
        _SET_QUOTED(message, quoted)
        messages.append(message)
    return messages


def attach_details(messages: Iterable[Message]) -> None:
    """Set what chat.wire shows beside each message's row: `attachment_list`, `reaction_list`
    (with their users) and `mention_list` (the users mentioned by name), oldest first, one
    statement each for all of them. None is read for deleted messages and system lines, which
    show nothing of the kind, nor what a page statement found absent (`details_present`)."""
    wanted: tuple[dict[int, Message], dict[int, Message], dict[int, Message]] = ({}, {}, {})
    for message in messages:
        message.attachment_list, message.reaction_list, message.mention_list = [], [], []
        if message.kind != Message.Kind.TEXT or message.is_deleted:
            continue
        present = getattr(message, "details_present", (True, True, True))
        for by_pk, found in zip(wanted, present, strict=True):
            if found:
                by_pk[message.pk] = message
    files, reactions, mentions = wanted
    database = connections[DEFAULT_DB_ALIAS]
    people = _People(database)
    if files:
        for row in _rows(
            database,
            f"SELECT {_ATTACHMENT.sql()} FROM {_table(Attachment)} f"  # noqa: S608 (names from the models, values are parameters)
            f" WHERE f.message_id IN ({_placeholders(files)}) ORDER BY f.id",
            list(files),
        ):
            attachment = _ATTACHMENT.build(database, row, 0)
            files[attachment.message_id].attachment_list.append(attachment)
    if reactions:
        for pk, listed in _each_with_its_user(people, _REACTION, list(reactions)).items():
            reactions[pk].reaction_list = listed
    if mentions:
        by_name = ("n.by_name = %s", True)
        for pk, listed in _each_with_its_user(people, _MENTION, list(mentions), by_name).items():
            mentions[pk].mention_list = listed


def _each_with_its_user(
    people: _People,
    columns: _Columns,
    message_ids: list[int],
    condition: tuple[str, object] | None = None,
) -> dict[int, list[Any]]:
    """Rows of `columns`' model (one with a `message` and a `user`) for the messages, each with
    its user, oldest first, by message; `condition` is one more test and its parameter."""
    alias = columns.alias
    tests = [f"{alias}.message_id IN ({_placeholders(message_ids)})"]
    parameters: list[Any] = list(message_ids)
    if condition is not None:
        tests.insert(0, condition[0])
        parameters.insert(0, condition[1])
    statement = (
        f"SELECT {columns.sql()}, {_USER.sql()} FROM {_table(columns.model)} {alias}"  # noqa: S608 (names from the models, values are parameters)
        f" JOIN {_table(User)} u ON u.id = {alias}.user_id"
        f" WHERE {' AND '.join(tests)} ORDER BY {alias}.id"
    )
    set_user = columns.model._meta.get_field("user").set_cached_value  # type: ignore[union-attr]
    found: dict[int, list[Any]] = {}
    for row in _rows(people.database, statement, parameters):
        item = columns.build(people.database, row, 0)
        set_user(item, people.build(_USER, row, columns.width))
        found.setdefault(item.message_id, []).append(item)
    return found


def _placeholders(values: Sized) -> str:
    return ", ".join(["%s"] * len(values))


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(
    database: BaseDatabaseWrapper, statement: str, parameters: list[Any]
) -> list[tuple[Any, ...]]:
    with database.cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchall()

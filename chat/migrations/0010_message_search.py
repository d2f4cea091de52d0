"""Full-text search of text messages (chat.selectors.search).

PostgreSQL: the words of each body in a stored generated column, `body_search` (not on the
model: the ORM never reads or writes it), with a GIN index on it; edits are indexed as they are
written. Stored rather than an expression index because a search for newest matches often walks
the id index and tests each row it passes: recomputing to_tsvector there cost about 20 µs a row
(p99 200 to 900 ms for mid-frequency words at 1e6 messages), reading the stored one a fraction
of that. Adding the column rewrites chat_message once, under its lock: on a large table run
this migration in a quiet hour.

SQLite: an FTS5 table of the text messages that are not deleted, kept by triggers and filled
from the messages already stored. An SQLite built without FTS5 gets nothing here, and
search falls back to a plain scan.
"""

from django.db import migrations

POSTGRES_CREATE = [
    "ALTER TABLE chat_message ADD COLUMN IF NOT EXISTS body_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED",
    "CREATE INDEX IF NOT EXISTS chat_message_body_search ON chat_message USING gin (body_search)",
    # A word the statistics do not list is guessed at half the rarest listed word's frequency.
    # With the default 100 that guess was high enough for a word in no message that the planner
    # walked the whole id index for it (280 ms at 1e6); with 1,000 it uses the GIN index (4 ms).
    "ALTER TABLE chat_message ALTER COLUMN body_search SET STATISTICS 1000",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS chat_message_body_search",
    "ALTER TABLE chat_message DROP COLUMN IF EXISTS body_search",
]

# Only rows that can be found: text that is not deleted. An external-content table reads the
# body from chat_message; its 'delete' command needs the text that was indexed, which is the
# old row's body exactly when the old row was indexed.
INDEXED = "{row}.kind = 'text' AND {row}.deleted_at IS NULL"
SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE chat_message_fts USING fts5("
    "body, content='chat_message', content_rowid='id', "
    # Like PostgreSQL's 'simple' configuration: case folded, accents kept.
    "tokenize='unicode61 remove_diacritics 0')",
    f"""CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message
        WHEN {INDEXED.format(row="new")} BEGIN
        INSERT INTO chat_message_fts(rowid, body) VALUES (new.id, new.body);
    END""",
    f"""CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message
        WHEN {INDEXED.format(row="old")} BEGIN
        INSERT INTO chat_message_fts(chat_message_fts, rowid, body)
        VALUES ('delete', old.id, old.body);
    END""",
    # One trigger for both steps, so the old text leaves the index before the new text enters
    # (two triggers would fire in an order SQLite does not promise).
    f"""CREATE TRIGGER chat_message_fts_update AFTER UPDATE OF body, kind, deleted_at
        ON chat_message BEGIN
        INSERT INTO chat_message_fts(chat_message_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE {INDEXED.format(row="old")};
        INSERT INTO chat_message_fts(rowid, body)
        SELECT new.id, new.body WHERE {INDEXED.format(row="new")};
    END""",
    f"""INSERT INTO chat_message_fts(rowid, body)
        SELECT id, body FROM chat_message WHERE {INDEXED.format(row="chat_message")}""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TABLE IF EXISTS chat_message_fts",
]


def _sqlite_has_fts5(cursor) -> bool:
    cursor.execute("PRAGMA compile_options")
    return any(option == "ENABLE_FTS5" for (option,) in cursor.fetchall())


def create_search_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for statement in POSTGRES_CREATE:
                cursor.execute(statement)
        elif connection.vendor == "sqlite" and _sqlite_has_fts5(cursor):
            for statement in SQLITE_CREATE:
                cursor.execute(statement)


def drop_search_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for statement in POSTGRES_DROP:
                cursor.execute(statement)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0009_mention"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
    ]

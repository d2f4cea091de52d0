"""Full-text search of text messages (chat.selectors.search).

PostgreSQL: a GIN expression index on to_tsvector('simple', body), which the search query
names in the same words so the planner can use it; edits and deletes are indexed as they are
written. SQLite: an FTS5 table of the text messages that are not deleted, kept by triggers and
filled from the messages already stored. An SQLite built without FTS5 gets nothing here, and
search falls back to a plain scan.
"""

from django.db import migrations

POSTGRES_INDEX = (
    "CREATE INDEX IF NOT EXISTS chat_message_body_search "
    "ON chat_message USING gin (to_tsvector('simple', body))"
)
POSTGRES_DROP = "DROP INDEX IF EXISTS chat_message_body_search"

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
            cursor.execute(POSTGRES_INDEX)
        elif connection.vendor == "sqlite" and _sqlite_has_fts5(cursor):
            for statement in SQLITE_CREATE:
                cursor.execute(statement)


def drop_search_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_DROP)
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

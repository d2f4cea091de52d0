"""Migration 0010: messages stored before it are searchable after it, on both backends."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User
from chat.selectors.search import search_messages
from chat.services.messages import message_delete, message_post
from tests.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("chat", "0009_mention")]
AFTER = [("chat", "0010_message_search")]


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_messages_stored_before_the_migration_are_found_after_it(alice: User) -> None:
    room = make_room(name="Old times", members=[alice])
    migrate(BEFORE)
    try:
        message_post(alice, room_id=room.public_id, body="an archival record")
        gone = message_post(alice, room_id=room.public_id, body="an archival mistake")
        message_delete(alice, room_id=room.public_id, seq=gone.seq)
    finally:
        migrate(AFTER)

    page = search_messages(alice, query="archival")
    assert [hit.message.body for hit in page.hits] == ["an archival record"]
    # And the triggers or the index keep up from then on.
    message_post(alice, room_id=room.public_id, body="a newer archival note")
    assert len(search_messages(alice, query="archival").hits) == 2

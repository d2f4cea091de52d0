"""chat.selectors.messages: a history page loads the reactions of all its messages at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import wire
from chat.selectors.messages import history_page
from chat.services.messages import message_post
from chat.services.reactions import reaction_add
from tests.factories import make_room

pytestmark = pytest.mark.django_db


def test_a_history_page_reads_the_reactions_of_all_its_messages_in_one_query(alice, bob):
    room = make_room(members=[alice, bob])

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = history_page(alice, room_id=room.public_id)
            [wire.message_data(message) for message in page.messages]
        return len(queries)

    def post_with_reactions(count: int) -> None:
        for n in range(count):
            posted = message_post(alice, room_id=room.public_id, body=f"m{n}")
            for user, emoji in ((alice, "👍"), (bob, "👍"), (bob, "🎉")):
                reaction_add(user, room_id=room.public_id, seq=posted.seq, emoji=emoji)

    post_with_reactions(2)
    few = queries_for_page()
    post_with_reactions(10)
    many = queries_for_page()

    assert few == many
    page = history_page(bob, room_id=room.public_id)
    shown = [wire.message_data(message)["reactions"] for message in page.messages]
    assert (
        shown.count(
            [
                {"emoji": "👍", "count": 2, "users": ["alice", "bob"]},
                {"emoji": "🎉", "count": 1, "users": ["bob"]},
            ]
        )
        == 12
    )

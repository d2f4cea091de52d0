"""The `search` command and its `search.results` frame."""

import pytest

from chat.services.messages import message_post
from tests.factories import make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)


async def test_search_answers_with_a_results_frame_carrying_the_ref(alice, bob) -> None:
    from channels.db import database_sync_to_async

    room = await database_sync_to_async(make_room)(name="General", members=[alice, bob])
    for body in ["release notes", "the release is out", "unrelated"]:
        await database_sync_to_async(message_post)(bob, room_id=room.public_id, body=body)
    client = await SocketClient(alice).connect()

    frame = await client.request({"type": "search", "q": "release", "limit": 1})
    assert frame["type"] == "search.results"
    assert [result["body"] for result in frame["results"]] == ["the release is out"]
    assert frame["results"][0]["room"] == {
        "id": str(room.public_id),
        "name": "General",
        "kind": "group",
    }
    assert frame["results"][0]["matches"] == [{"start": 4, "end": 11}]

    more = await client.request(
        {
            "type": "search",
            "q": "release",
            "cursor": frame["next_cursor"],
            "author": "bob",
            "room": str(room.public_id),
        }
    )
    assert [result["body"] for result in more["results"]] == ["release notes"]
    assert more["next_cursor"] is None
    await client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "search"}, "invalid"),
        ({"type": "search", "q": " "}, "query_empty"),
        ({"type": "search", "q": "x" * 10_240}, "query_too_long"),
        ({"type": "search", "q": "a\u0000b"}, "query_invalid"),
        ({"type": "search", "q": "x", "cursor": 5}, "invalid"),
        ({"type": "search", "q": "x", "limit": 1000}, "invalid"),
        ({"type": "search", "q": "x", "room": "nope"}, "room_not_found"),
    ],
)
async def test_bad_searches_get_an_error_and_the_socket_stays_usable(alice, frame, code) -> None:
    client = await SocketClient(alice).connect()
    error = await client.request(frame)
    assert error["type"] == "error"
    assert error["code"] == code
    assert (await client.request({"type": "ping"}))["type"] == "pong"
    await client.close()

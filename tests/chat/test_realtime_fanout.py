"""chat/realtime/fanout.py's group_add: one more try when Redis dropped the connection."""

import pytest
import redis

from chat.realtime import fanout


class Layer:
    """A channel layer whose group_add fails with the given errors first, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[tuple[str, str]] = []

    async def group_add(self, group: str, channel: str) -> None:
        self.calls.append((group, channel))
        if self.failures:
            raise self.failures.pop(0)


@pytest.fixture
def layer() -> Layer:
    return Layer()


async def test_a_dead_connection_is_tried_once_more(layer: Layer) -> None:
    layer.failures = [redis.ConnectionError("Connection closed by server.")]

    await fanout.group_add(layer, "room.1", "fanout.a")

    assert layer.calls == [("room.1", "fanout.a")] * 2


async def test_redis_still_down_on_the_second_try_is_an_outage(layer: Layer) -> None:
    layer.failures = [redis.ConnectionError("closed"), redis.ConnectionError("refused")]

    with pytest.raises(redis.ConnectionError, match="refused"):
        await fanout.group_add(layer, "room.1", "fanout.a")

    assert len(layer.calls) == 2


async def test_a_timeout_is_not_tried_again(layer: Layer) -> None:
    layer.failures = [redis.TimeoutError("no answer")]

    with pytest.raises(redis.TimeoutError):
        await fanout.group_add(layer, "room.1", "fanout.a")

    assert len(layer.calls) == 1

"""The seam to channels_redis (chat/realtime/redis_layer.py): the pub/sub connections the
watchdog watches, and one warning when channels_redis' private names are not there."""

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from chat.realtime import redis_layer

LOGGER = "chat.realtime.redis_layer"
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new process as far as the one warning goes."""
    monkeypatch.setattr(redis_layer, "_missing", None)


@pytest.fixture
async def layer() -> AsyncIterator[RedisPubSubChannelLayer]:
    """channels_redis' pub/sub layer as Parley configures it, not connected until used."""
    layer = RedisPubSubChannelLayer(
        hosts=[settings.REDIS_URL or "redis://127.0.0.1:1/0"],
        prefix=f"parley-test-seam-{uuid.uuid4().hex}",
    )
    yield layer
    await layer.flush()


async def subscribe(layer: RedisPubSubChannelLayer) -> None:
    await layer.group_add("room", await layer.new_channel())


def warnings_from_seam(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


@needs_redis
async def test_a_subscribed_layer_gives_its_connection_to_watch(layer, caplog) -> None:
    await subscribe(layer)
    [connection] = redis_layer.pubsub_connections(layer)
    assert callable(connection.register_connect_callback)
    assert warnings_from_seam(caplog) == []


async def test_a_layer_not_connected_yet_has_nothing_to_watch_and_is_no_fault(
    layer, caplog
) -> None:
    assert redis_layer.pubsub_connections(layer) == []
    assert warnings_from_seam(caplog) == []


async def test_another_layer_has_nothing_to_watch(caplog) -> None:
    assert redis_layer.pubsub_connections(InMemoryChannelLayer()) == []
    assert warnings_from_seam(caplog) == []


@contextmanager
def renamed(owner: object, name: str) -> Iterator[None]:
    """As if channels_redis had renamed one of its private attributes (back after, for the
    layer's flush)."""
    value = owner.__dict__.pop(name)
    try:
        yield
    finally:
        setattr(owner, name, value)


async def test_a_renamed_shards_list_is_reported_once_and_nothing_is_watched(layer, caplog) -> None:
    with renamed(layer._get_layer(), "_shards"), caplog.at_level(logging.WARNING, logger=LOGGER):
        assert redis_layer.pubsub_connections(layer) == []
        assert redis_layer.pubsub_connections(layer) == []
    [warning] = warnings_from_seam(caplog)
    assert "RedisPubSubLoopLayer._shards" in warning.getMessage()
    assert "Reconnects of the channel layer to Redis go unseen" in warning.getMessage()


async def test_a_renamed_pubsub_is_reported(layer, caplog) -> None:
    [shard] = layer._get_layer()._shards
    with renamed(shard, "_pubsub"):
        assert redis_layer.pubsub_connections(layer) == []
    [warning] = warnings_from_seam(caplog)
    assert "RedisSingleShardConnection._pubsub" in warning.getMessage()


@needs_redis
async def test_a_renamed_connection_is_reported(layer, caplog) -> None:
    await subscribe(layer)
    [shard] = layer._get_layer()._shards
    with renamed(shard._pubsub, "connection"):
        assert redis_layer.pubsub_connections(layer) == []
    [warning] = warnings_from_seam(caplog)
    assert "PubSub.connection" in warning.getMessage()


class LayerWithoutGetLayer(RedisPubSubChannelLayer):
    _get_layer = None


async def test_a_layer_without_get_layer_is_reported(caplog) -> None:
    assert redis_layer.pubsub_connections(LayerWithoutGetLayer()) == []
    [warning] = warnings_from_seam(caplog)
    assert "RedisPubSubChannelLayer._get_layer" in warning.getMessage()

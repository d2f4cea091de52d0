"""The one place where Parley reads channels_redis' private names: the pub/sub connections of
its `RedisPubSubChannelLayer`, which the watchdog (chat/realtime/watchdog.py) watches for
reconnects.

channels_redis offers no way to learn that its connection to Redis came back, so this reads
`_get_layer()`, each loop layer's `_shards` and each shard's `_pubsub.connection` (channels_redis
4.3), then relies only on redis-py's public `register_connect_callback`. If a later release
renames any of them, the watchdog cannot see reconnects: this logs one warning per process
saying so and returns nothing to watch, instead of silently watching nothing.
"""

import logging
from typing import Any

logger = logging.getLogger(__name__)


# What was found missing, once reported: from then on there is nothing to watch.
_missing: str | None = None


def pubsub_connections(layer: Any) -> list[Any]:
    """The redis-py connections `layer` receives through, connected so far, to watch.

    [] for any layer but channels_redis' pub/sub layer (no reconnects to watch) and, after one
    warning, when channels_redis' private names are not what this reads. Call inside the
    event loop whose connections are wanted.
    """
    if _missing is not None or not _is_pubsub_layer(layer):
        return []
    try:
        return _connections(layer)
    except _Missing as missing:
        _warn(str(missing))
    except Exception as error:
        _warn(f"reading them failed ({error!r})")
    return []


class _Missing(Exception):
    pass


def _is_pubsub_layer(layer: Any) -> bool:
    try:
        from channels_redis.pubsub import RedisPubSubChannelLayer
    except ImportError:
        return False  # then no layer in this process is one
    return isinstance(layer, RedisPubSubChannelLayer)


def _connections(layer: Any) -> list[Any]:
    get_layer = getattr(type(layer), "_get_layer", None)
    if not callable(get_layer):
        raise _Missing("RedisPubSubChannelLayer._get_layer")
    loop_layer = layer._get_layer()
    shards = getattr(loop_layer, "_shards", None)
    if not isinstance(shards, list):
        raise _Missing(f"{type(loop_layer).__name__}._shards")
    connections = []
    for shard in shards:
        if not hasattr(shard, "_pubsub"):
            raise _Missing(f"{type(shard).__name__}._pubsub")
        pubsub = shard._pubsub
        if pubsub is None:
            continue  # this shard has not subscribed to anything yet
        if not hasattr(pubsub, "connection"):
            raise _Missing(f"{type(pubsub).__name__}.connection")
        connection = pubsub.connection
        if connection is None:
            continue  # not connected yet: found on a later look
        if not callable(getattr(connection, "register_connect_callback", None)):
            raise _Missing(f"{type(connection).__name__}.register_connect_callback")
        connections.append(connection)
    return connections


def _warn(missing: str) -> None:
    global _missing
    _missing = missing
    logger.warning(
        "watchdog is blind: channels_redis' %s is not as chat/realtime/redis_layer.py expects "
        "(channels_redis 4.3). Reconnects of the channel layer to Redis go unseen, so after an "
        "outage a socket finds what was published meanwhile only when its room's next entry "
        "shows the gap or a heartbeat finds the room behind, not at once.",
        missing,
    )

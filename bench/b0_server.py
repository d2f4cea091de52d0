"""B0: a bare `websockets` broadcast server, the ceiling Parley is compared with.

No Django, no persistence, no per-socket state beyond a set of connections per room. A client
connects to `/<room>`; every text frame it sends is published once to Redis (channel
`<prefix>:<room>`), and every B0 process relays what arrives on `<prefix>:*` to its own sockets
in that room with `websockets.broadcast`, which writes to each socket without waiting for it.
That is the same shape as Parley with two processes (one publish per message, each process gets
one copy and fans out to its local sockets), minus everything Parley does besides.

Run one process per port: `python -m bench.b0_server PORT` with REDIS_URL and B0_PREFIX set.
"""

import asyncio
import os
import sys
from collections import defaultdict

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, broadcast, serve


async def run(port: int, redis_url: str, prefix: str) -> None:
    rooms: dict[str, set[ServerConnection]] = defaultdict(set)
    # Many sockets publish at once: wait for a pooled connection rather than fail.
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=32)
    publisher = aioredis.Redis(connection_pool=pool)
    subscriber = publisher.pubsub(ignore_subscribe_messages=True)
    await subscriber.psubscribe(f"{prefix}:*")
    skip = len(prefix) + 1

    async def relay() -> None:
        async for message in subscriber.listen():
            if message["type"] == "pmessage":
                room = message["channel"][skip:].decode()
                broadcast(rooms.get(room, ()), message["data"], text=True)

    async def handle(connection: ServerConnection) -> None:
        room = connection.request.path.strip("/")
        channel = f"{prefix}:{room}"
        members = rooms[room]
        members.add(connection)
        try:
            async for text in connection:
                await publisher.publish(channel, text)
        finally:
            members.discard(connection)

    relaying = asyncio.create_task(relay())
    async with serve(handle, "127.0.0.1", port, compression=None) as server:
        await server.serve_forever()
    relaying.cancel()


def main() -> None:
    port = int(sys.argv[1])
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    asyncio.run(run(port, redis_url, os.environ.get("B0_PREFIX", "b0")))


if __name__ == "__main__":
    main()

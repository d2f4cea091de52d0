"""Which channels_redis layer fans out faster? One process, one group of N channels.

Usage: .venv/bin/python bench/layer_fanout.py [--sockets 1000] [--events 200]
Needs Redis at REDIS_URL (default redis://127.0.0.1:6379/0). Prints deliveries per second.
"""

import argparse
import asyncio
import contextlib
import os
import time

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


async def run(layer_class: type, sockets: int, events: int, url: str) -> float:
    layer = layer_class(hosts=[url], prefix=f"bench{time.monotonic_ns()}")
    channels = [await layer.new_channel() for _ in range(sockets)]
    for channel in channels:
        await layer.group_add("room", channel)
    received = 0
    done = asyncio.Event()

    async def reader(channel: str) -> None:
        nonlocal received
        for _ in range(events):
            await layer.receive(channel)
            received += 1
        if received == sockets * events:
            done.set()

    readers = [asyncio.create_task(reader(channel)) for channel in channels]
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    for n in range(events):
        await layer.group_send("room", {"type": "message.new", "seq": n, "text": "x" * 200})
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=120)
    elapsed = time.perf_counter() - start
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await layer.flush()
    print(
        f"{layer_class.__name__:26} {sockets} sockets x {events} events: "
        f"{received}/{sockets * events} delivered, {received / elapsed:,.0f} deliveries/s"
    )
    return received / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    for layer_class in (RedisChannelLayer, RedisPubSubChannelLayer):
        asyncio.run(run(layer_class, args.sockets, args.events, url))


if __name__ == "__main__":
    main()

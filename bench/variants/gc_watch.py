"""Parley's settings, plus a line on stderr (the server's log) for every garbage collection that
takes 10 ms or more: `--parley-settings bench.variants.gc_watch`, with BENCH_KEEP_LOGS=1."""

import gc
import sys
import time

from config.settings import *  # noqa: F403

_started: list[float] = []


def _watch(phase: str, info: dict) -> None:
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        took = (time.perf_counter() - _started[0]) * 1000
        if took >= 10:
            # Objects the collector walks on a full pass, and those frozen out of its reach.
            walked = len(gc.get_objects()) if info["generation"] == 2 else "-"
            print(
                f"gc gen{info['generation']} {took:.0f} ms, {info['collected']} collected, "
                f"{walked} tracked, {gc.get_freeze_count()} frozen",
                file=sys.stderr,
                flush=True,
            )


gc.callbacks.append(_watch)

"""Percentiles of latency samples, in milliseconds."""

import math
from collections.abc import Sequence


def percentiles(samples: Sequence[float]) -> dict[str, float] | None:
    """p50, p90, p99 and max of `samples` (seconds), in milliseconds; None when empty.

    Nearest-rank percentiles: p99 of 100 samples is the 99th smallest, a value that occurred.
    """
    if not len(samples):
        return None
    ordered = sorted(samples)

    def rank(fraction: float) -> float:
        index = max(0, math.ceil(fraction * len(ordered)) - 1)
        return round(ordered[index] * 1000, 3)

    return {
        "count": len(ordered),
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "max": rank(1.0),
    }

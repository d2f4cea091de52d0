"""Parley's Prometheus metrics, per process (scrape every process; see the README).

The code that does the work counts it here; `ops.views.metrics` exposes the registry.
"""

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

SOCKETS_OPEN = Gauge("parley_sockets_open", "Authenticated sockets open on this process.")
SOCKETS_REFUSED = Counter(
    "parley_sockets_refused_total",
    "Socket handshakes refused, by reason: origin, unauthenticated, sockets_per_user (4009), "
    "handshake_rate (4029).",
    ["reason"],
)
MESSAGES_POSTED = Counter("parley_messages_posted_total", "Messages committed by this process.")
DELIVERIES = Counter(
    "parley_deliveries_total", "Live timeline entries sent to sockets by this process."
)
FANOUT_LATENCY = Histogram(
    "parley_fanout_latency_seconds",
    "From handing a committed entry to the channel layer to sending it down a socket.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CATCHUP_REPLAYED = Counter(
    "parley_catchup_replayed_total", "Timeline entries sent from the database by resume."
)
GAP_FILLS = Counter(
    "parley_gap_fills_total",
    "Live events a socket found missing or out of order and read from the database instead: "
    "sends the channel layer dropped or reordered.",
)
RATE_LIMITED = Counter(
    "parley_rate_limited_total", "Refusals by a rate limit, by limit.", ["limit"]
)
LAYER_ERRORS = Counter(
    "parley_channel_layer_errors_total", "Sends to the channel layer that raised an error."
)


class LoopCounter:
    """A counter for a path taken once per socket per live frame, on the event loop only: an
    integer add, read when Prometheus scrapes, instead of Counter.inc and its lock (0.3 µs, a
    few percent of a delivery's CPU at fan-out)."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name, self.documentation, self.value = name, documentation, 0
        REGISTRY.register(self)

    def inc(self) -> None:
        self.value += 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.value)


SHARED_FRAMES_WRITTEN = LoopCounter(
    "parley_shared_frames_written",
    "Live frames written straight to a connection as one frame built for all its room's sockets "
    "(chat/realtime/uvicorn_protocol.py); the others went through websocket.send.",
)
DEPENDENCY_UP = Gauge(
    "parley_dependency_up",
    "1 when this process's last readiness check (/readyz) of a dependency passed, 0 when it "
    "failed, by dependency: database, redis, static (the collected static files' manifest).",
    ["dependency"],
)

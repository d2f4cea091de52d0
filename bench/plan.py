"""What a sweep measures: the full plan and the seconds-long smoke plan."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    users: int  # bench users with one socket each; the largest N adds more sockets per user
    single_room: tuple[int, ...]  # N of the one-room fan-out runs
    multi_rooms: int  # the "many rooms" run: rooms x room_size sockets
    room_size: int
    baselines: tuple[str, ...]  # which fan-out runs B0 and B1 repeat ("N=1000", "100x10")
    senders: int  # sockets that send in a one-room run
    persist_senders: int
    step_seconds: float
    max_steps: int  # offered-rate steps of a capacity search before refining
    refine: int  # bisection steps between the last pass and the first failure
    growth: float  # the ramp's rate multiplier
    fixed_rate: float | None  # smoke: one step at this rate instead of a search
    slow_fraction: float
    history_sizes: tuple[int, ...]
    history_requests: int
    b2_connections: int
    b2_seconds: float
    one_process: bool
    budget_seconds: float  # the sweep stops starting new work after this
    drain_seconds: float
    quiet_seconds: float


FULL = Plan(
    name="full",
    users=1000,
    single_room=(10, 200, 1000, 5000),
    multi_rooms=100,
    room_size=10,
    baselines=("N=1000", "100x10"),
    senders=20,
    persist_senders=20,
    step_seconds=3.0,
    max_steps=10,
    refine=2,
    growth=1.6,
    fixed_rate=None,
    slow_fraction=0.05,
    history_sizes=(1_000, 10_000, 100_000, 1_000_000),
    history_requests=300,
    b2_connections=20,
    b2_seconds=4.0,
    one_process=True,
    budget_seconds=25 * 60,
    drain_seconds=30.0,
    quiet_seconds=2.0,
)

SMOKE = Plan(
    name="smoke",
    users=10,
    single_room=(10,),
    multi_rooms=2,
    room_size=5,
    baselines=("N=10",),
    senders=5,
    persist_senders=3,
    step_seconds=1.0,
    max_steps=1,
    refine=0,
    growth=1.6,
    fixed_rate=20.0,
    slow_fraction=0.1,
    history_sizes=(1_000,),
    history_requests=20,
    b2_connections=2,
    b2_seconds=0.5,
    one_process=False,
    budget_seconds=60,
    drain_seconds=5.0,
    quiet_seconds=1.0,
)

"""The measurements of a sweep, one function per server set, in the order they run.

Users and rooms (bench.dataset): `users` users with one socket each; rooms `r<N>` holding the
first N users for each one-room N below `users`, `all` holding every user, `m000`... of
`room_size` users each, one room `s000`... per persisting sender, and `history` for a user of
its own. A one-room run with more sockets than users opens further sockets for users already
online, round robin.
"""

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bench import servers as procs
from bench.measure import Target

if TYPE_CHECKING:
    from bench.runner import Runner

SLOW_READER_BUFFER = 4096  # bytes: a stopped reader's kernel buffer fills after a few frames
# Where capacity searches start, in deliveries per second, until a run of the same server
# kind has measured something better to start from.
FIRST_GUESS = {"parley": 2000.0, "b0": 20000.0, "b1": 5000.0}


def dataset_spec(plan: Any) -> dict[str, Any]:
    users = plan.users
    rooms = [{"name": f"r{n}", "members": list(range(n))} for n in plan.single_room if n < users]
    rooms.append({"name": "all", "members": list(range(users))})
    for number in range(plan.multi_rooms):
        first = number * plan.room_size
        rooms.append(
            {"name": f"m{number:03d}", "members": list(range(first, first + plan.room_size))}
        )
    rooms += [
        {"name": f"s{number:03d}", "members": [number]} for number in range(plan.persist_senders)
    ]
    rooms.append({"name": "history", "members": [users]})
    return {"users": users + 1, "rooms": rooms}


class Context:
    """What the scenarios share: the runner, the dataset, and which user holds which socket."""

    def __init__(self, runner: "Runner", data: dict[str, Any]) -> None:
        self.runner = runner
        self.plan = runner.plan
        self.client = runner.client
        self.stepper = runner.stepper
        self.results = runner.results
        self.data = data
        self.user_sockets: dict[int, list[int]] = defaultdict(list)
        self.next_port = 0
        self.seed = dict(FIRST_GUESS)

    def room(self, name: str) -> tuple[str, int]:
        room = self.data["rooms"][name]
        return room["public_id"], room["pk"]

    def wants(self, part: str) -> bool:
        return self.runner.wants(part)

    def problem(self, text: str) -> None:
        self.results["problems"].append(text)
        self.runner.progress.say(f"PROBLEM: {text}", keep=True)

    def connect(
        self,
        kind: str,
        servers: procs.ServerSet,
        specs: list[dict[str, Any]],
        users: list[int] | None = None,
    ) -> dict[str, Any]:
        for spec in specs:
            spec["port"] = servers.ports[self.next_port % len(servers.ports)]
            self.next_port += 1
        answer = self.client.call(
            {"cmd": "connect", "kind": kind, "sockets": specs, "concurrency": 100, "timeout": 60},
            timeout=120 + len(specs) / 10,
        )
        for user, socket_id in zip(users or [], answer["ids"], strict=False):
            self.user_sockets[user].append(socket_id)
        if answer["connected"] < len(specs):
            self.problem(f"{kind}: {answer['connected']} of {len(specs)} sockets connected")
        answer.pop("rooms", None)
        answer.pop("ids", None)
        return answer

    def connect_users(
        self, servers: procs.ServerSet, users: list[int], **extra: Any
    ) -> dict[str, Any]:
        specs = [{"token": self.data["users"][user]["token"], **extra} for user in users]
        return self.connect("parley", servers, specs, users)

    def close_all(self) -> None:
        self.client.call({"cmd": "close"}, timeout=60)
        self.user_sockets.clear()

    def capacity(self, target: Target, servers: procs.ServerSet, processes: int) -> dict[str, Any]:
        start = self.seed[target.kind] * 0.5 / target.fanout
        settled = self.client.call({"cmd": "quiet", "seconds": 1.0, "limit": 120.0}, timeout=150)
        part = f"fanout-{target.label[2:]}" if target.label.startswith("N=") else "fanout-many"
        result = self.stepper.capacity(
            target, servers, start, fixed_rate=self.runner.rates.get(part)
        )
        result["settled_before"] = settled
        result["processes"] = processes
        if result["capacity_deliveries"]:
            self.seed[target.kind] = result["capacity_deliveries"]
        self.results["fanout"].append(result)
        self.runner.save()
        return result

    def skip_if_over_budget(self, what: str) -> bool:
        if self.stepper.over_budget():
            self.results["skipped"].append(what)
            self.runner.progress.say(f"skipped (time budget): {what}", keep=True)
            return True
        return False


# Targets


def parley_one_room(ctx: Context, sockets: int) -> Target:
    name = f"r{sockets}" if sockets < ctx.plan.users else "all"
    public_id, pk = ctx.room(name)
    members = ctx.data["rooms"][name]["members"][: ctx.plan.senders]
    return Target(
        "parley",
        f"N={sockets}",
        sockets,
        [public_id],
        {public_id: [ctx.user_sockets[user][0] for user in members]},
        {public_id: pk},
    )


def parley_many_rooms(ctx: Context) -> Target:
    plan = ctx.plan
    rooms, senders, pks = [], {}, {}
    for number in range(plan.multi_rooms):
        public_id, pk = ctx.room(f"m{number:03d}")
        rooms.append(public_id)
        pks[public_id] = pk
        # Consecutive users sit on alternate processes: take a different member in each room
        # so that the senders, like the receivers, are split between the processes.
        sender = number * plan.room_size + number % plan.room_size
        senders[public_id] = [ctx.user_sockets[sender][0]]
    return Target(
        "parley", f"{plan.multi_rooms}x{plan.room_size}", plan.room_size, rooms, senders, pks
    )


def baseline_target(
    ctx: Context, servers: procs.ServerSet, kind: str, label: str
) -> tuple[Target, dict[str, Any]]:
    """Connect a baseline's sockets for `label` ("N=1000" or "100x10") and describe them."""
    if label.startswith("N="):
        sockets = int(label[2:])
        layout = [("one", sockets)]
    else:
        count, size = (int(part) for part in label.split("x"))
        layout = [(f"m{number:03d}", size) for number in range(count)]
    specs = [{"room": room} for room, size in layout for _ in range(size)]
    # The client numbers sockets in the order asked for, after those it already holds.
    position = ctx.client.call({"cmd": "status"}, timeout=30)["total"]
    answer = ctx.connect(kind, servers, specs)
    senders = {}
    # As in Parley's runs: up to `senders` sockets send in one room, one in each of many.
    if len(layout) == 1:
        senders[layout[0][0]] = list(range(position, position + min(sockets, ctx.plan.senders)))
    else:  # one sender per room, alternating between the processes as in Parley's run
        for number, (room, size) in enumerate(layout):
            senders[room] = [position + number * size + number % size]
    return Target(kind, label, layout[0][1], [room for room, _ in layout], senders), answer


# Runs


def baseline(ctx: Context, kind: str) -> None:
    if ctx.skip_if_over_budget(f"{kind} baseline"):
        return
    servers = ctx.runner.start_servers(kind, 2)
    try:
        for label in ctx.plan.baselines:
            if ctx.skip_if_over_budget(f"{kind} {label}"):
                break
            target, _ = baseline_target(ctx, servers, kind, label)
            ctx.capacity(target, servers, processes=2)
            ctx.close_all()
    finally:
        servers.stop()
        ctx.close_all()


def _measure_connect(
    ctx: Context, servers: procs.ServerSet, users: list[int], label: str, processes: int
) -> None:
    """Connect a socket for each of `users`: the connect rate, and memory per idle socket."""
    import time

    settle = 3.0 if ctx.plan.name == "full" else 0.5
    time.sleep(settle)
    rss_before, redis_before = servers.rss_bytes(), ctx.runner.redis.used_memory()
    ctx.runner.progress.say(f"parley: connecting {len(users)} sockets ({label})", keep=True)
    meter = ctx.stepper.meter
    cpu_before = meter.read(servers)
    frames_before = ctx.client.call({"cmd": "status"}, timeout=30)["frames"]
    answer = ctx.connect_users(servers, users)
    usage = meter.usage(cpu_before, meter.read(servers), answer["client_cpu"])
    # What the connections set off (presence announcements to the rooms of each user coming
    # online) may still be queued in the servers: wait for it, and count it.
    answer["aftermath"] = ctx.client.call(
        {"cmd": "quiet", "seconds": 2.0, "limit": 300.0}, timeout=330
    )
    frames_after = ctx.client.call({"cmd": "status"}, timeout=30)["frames"]
    answer["frames_received"] = {
        kind: count - frames_before.get(kind, 0)
        for kind, count in frames_after.items()
        if count - frames_before.get(kind, 0)
    }
    answer["cpu"] = usage
    # CPU time the servers spent per connection: unlike the rate, barely moved by other work.
    answer["server_cpu_ms_per_socket"] = round(
        sum(usage["servers"]) * answer["seconds"] * 1000 / max(answer["connected"], 1), 2
    )
    time.sleep(settle)
    rss_after, redis_after = servers.rss_bytes(), ctx.runner.redis.used_memory()
    connected = max(answer["connected"], 1)
    ctx.results["connect"].append({"label": label, "processes": processes, **answer})
    ctx.results["memory"].append(
        {
            "label": label,
            "processes": processes,
            "sockets": answer["connected"],
            "server_rss_before": rss_before,
            "server_rss_after": rss_after,
            "redis_before": redis_before,
            "redis_after": redis_after,
            "server_bytes_per_socket": round((rss_after - rss_before) / connected),
            "redis_bytes_per_socket": round((redis_after - redis_before) / connected),
            "bytes_per_socket": round(
                (rss_after - rss_before + redis_after - redis_before) / connected
            ),
        }
    )
    ctx.runner.progress.say(
        f"parley: {answer['connected']} sockets at {answer['per_second']:.0f}/s,"
        f" {ctx.results['memory'][-1]['bytes_per_socket'] / 1024:.1f} KB each",
        keep=True,
    )


def _connect_users_of_plan(ctx: Context, servers: procs.ServerSet, processes: int) -> None:
    users = ctx.plan.users
    warm = max(1, min(10, users // 5))
    ctx.connect_users(servers, list(range(warm)))  # loads code and opens pools first
    _measure_connect(
        ctx,
        servers,
        list(range(warm, users)),
        "first socket of each user (each announces presence to its rooms)",
        processes,
    )


def parley_two_processes(ctx: Context) -> None:
    plan = ctx.plan
    if ctx.skip_if_over_budget("parley, 2 processes"):
        return
    servers = ctx.runner.start_servers("parley", 2)
    try:
        _connect_users_of_plan(ctx, servers, 2)
        for sockets in plan.single_room:
            if (
                sockets <= plan.users
                and ctx.wants(f"fanout-{sockets}")
                and not ctx.skip_if_over_budget(f"parley N={sockets}")
            ):
                ctx.capacity(parley_one_room(ctx, sockets), servers, processes=2)
        if (
            plan.multi_rooms
            and ctx.wants("fanout-many")
            and not ctx.skip_if_over_budget("parley many rooms")
        ):
            ctx.capacity(parley_many_rooms(ctx), servers, processes=2)
        if ctx.wants("persist") and not ctx.skip_if_over_budget("parley persistence"):
            persistence(ctx, servers)
        if ctx.wants("slow-readers") and not ctx.skip_if_over_budget("parley slow readers"):
            slow_readers(ctx, servers)
        largest = max(plan.single_room)
        if (
            largest > plan.users
            and ctx.wants(f"fanout-{largest}")
            and not ctx.skip_if_over_budget(f"parley N={largest}")
        ):
            extra = [number % plan.users for number in range(largest - plan.users)]
            _measure_connect(ctx, servers, extra, "more sockets of users already online", 2)
            ctx.capacity(parley_one_room(ctx, largest), servers, processes=2)
        if ctx.wants("history") and not ctx.skip_if_over_budget("history"):
            history(ctx, servers)
    finally:
        servers.stop()
        ctx.close_all()


def parley_one_process(ctx: Context) -> None:
    if ctx.skip_if_over_budget("parley, 1 process"):
        return
    servers = ctx.runner.start_servers("parley", 1)
    try:
        _connect_users_of_plan(ctx, servers, 1)
        ctx.capacity(parley_one_room(ctx, ctx.plan.users), servers, processes=1)
    finally:
        servers.stop()
        ctx.close_all()


def persistence(ctx: Context, servers: procs.ServerSet) -> None:
    """Messages persisted per second: each sender alone in its room, so fan-out is nil."""
    rooms, senders, pks = [], {}, {}
    for number in range(ctx.plan.persist_senders):
        public_id, pk = ctx.room(f"s{number:03d}")
        rooms.append(public_id)
        pks[public_id] = pk
        senders[public_id] = [ctx.user_sockets[number][0]]
    target = Target("parley", f"persist x{len(rooms)}", 1, rooms, senders, pks)
    result = ctx.stepper.capacity(
        target, servers, start_rate=100.0, fixed_rate=ctx.runner.rates.get("persist")
    )
    result["processes"] = 2
    ctx.results["persist"] = result
    ctx.runner.save()


def slow_readers(ctx: Context, servers: procs.ServerSet) -> None:
    """The N=users room at half its capacity while 5% more sockets stop reading."""
    plan = ctx.plan
    reference = next(
        (
            run
            for run in ctx.results["fanout"]
            if run["server"] == "parley" and run["label"] == f"N={plan.users}"
        ),
        None,
    )
    if reference is None:
        ctx.results["skipped"].append("slow readers: no one-room run to compare with")
        return
    # Half the capacity; if no step passed, half the lowest rate tried.
    base = reference["capacity"] or min(step["offered_rate"] for step in reference["steps"])
    count = max(1, round(plan.users * plan.slow_fraction))
    users = list(range(plan.users - count, plan.users))
    ctx.connect_users(servers, users, receive_buffer=SLOW_READER_BUFFER)
    slow = [ctx.user_sockets[user][-1] for user in users]
    target = parley_one_room(ctx, plan.users)
    target.fanout += count
    rate = base * 0.5
    seconds = 10.0 if plan.name == "full" else plan.step_seconds
    rss_before = servers.rss_bytes()
    result = ctx.stepper.step(target, servers, rate, slow=slow, seconds=seconds)
    result["server_rss_growth"] = servers.rss_bytes() - rss_before
    ctx.client.call({"cmd": "close", "ids": slow}, timeout=60)
    for user in users:
        ctx.user_sockets[user].pop()
    half = reference["at_fraction"].get("50")
    ctx.results["slow_readers"] = {
        "rate": round(rate, 3),
        "reading_sockets": plan.users,
        "stopped_sockets": count,
        "stopped_receive_buffer": SLOW_READER_BUFFER,
        "result": result,
        "p99_without_slow_readers_ms": (half or {}).get("latency_ms", {}).get("p99"),
    }
    ctx.runner.save()


def history(ctx: Context, servers: procs.ServerSet) -> None:
    """Newest page of a room's history as its timeline grows: over Parley's socket and bare."""
    plan = ctx.plan
    reader = plan.users
    public_id, pk = ctx.room("history")
    author = ctx.data["users"][reader]["pk"]
    for size in plan.history_sizes:
        if ctx.skip_if_over_budget(f"history at {size}"):
            break
        # The reader's socket of the last size closes first: the rows written below are never
        # published, so a socket still in the room would find itself behind by all of them at
        # its next heartbeat and read them all from the database (chat/realtime/heartbeats.py),
        # which at 1e6 kept both servers busy through the measurement.
        if ctx.user_sockets[reader]:
            ctx.client.call({"cmd": "close", "ids": ctx.user_sockets.pop(reader)}, timeout=60)
        ctx.runner.progress.say(f"history: growing the timeline to {size:,} messages")
        load_seconds = ctx.runner.database.grow_timeline(pk, author, size)
        ctx.connect_users(servers, [reader])
        socket_id = ctx.user_sockets[reader][-1]
        parley = ctx.client.call(
            {
                "cmd": "history",
                "socket": socket_id,
                "room": public_id,
                "count": plan.history_requests,
            },
            timeout=300,
        )
        bare = ctx.client.call(
            {
                "cmd": "b2_history",
                "dsn": ctx.runner.database.url,
                "room_id": pk,
                "count": plan.history_requests,
            },
            timeout=300,
        )
        ctx.results["history"].append(
            {
                "messages": size,
                "load_seconds": round(load_seconds, 1),
                "parley_ms": parley["latency"],
                "b2_ms": bare["latency"],
            }
        )
        ctx.runner.progress.say(
            f"history at {size:,}: parley p99 {parley['latency']['p99']:.2f} ms,"
            f" bare query p99 {bare['latency']['p99']:.2f} ms",
            keep=True,
        )
        ctx.runner.save()
        search(ctx, socket_id, size)


# Rare words (about 2,000 messages each at 1e6), the common one (every tenth message), two
# words together, and one that matches nothing: bench.database.GROW_MESSAGES writes them.
SEARCH_QUERIES = ("w42", "deploy", "w1234 w977", "w4321", "deploy w7", "absent")


def search(ctx: Context, socket_id: int, size: int) -> None:
    """The first page of a search over the whole timeline, as the history room grows."""
    found = ctx.client.call(
        {
            "cmd": "search",
            "socket": socket_id,
            "queries": SEARCH_QUERIES,
            "count": ctx.plan.history_requests,
        },
        timeout=600,
    )
    ctx.results["search"].append({"messages": size, "parley_ms": found["latency"]})
    ctx.runner.progress.say(
        f"search at {size:,}: parley p50 {found['latency']['p50']:.2f} ms,"
        f" p99 {found['latency']['p99']:.2f} ms",
        keep=True,
    )
    ctx.runner.save()

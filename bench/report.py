"""Turning latest.json into tables (markdown), targets met or missed, and a plot (SVG)."""

from pathlib import Path
from typing import Any

from bench.plot import write_svg

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def _fanout(results: dict[str, Any], server: str, label: str, processes: int = 2) -> dict | None:
    for run in results["fanout"]:
        if (run["server"], run["label"], run.get("processes", 2)) == (server, label, processes):
            return run
    return None


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _capacity_text(run: dict | None) -> str:
    if run is None or run["capacity"] is None:
        return "n/a"
    bound = "≥ " if run["limited_by"] == "client" or run["first_failure"] is None else ""
    return f"{bound}{_number(run['capacity'], 1)} msg/s"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: the figure, what was required, the ratio, met or missed."""
    rows: list[dict[str, Any]] = []

    def add(name: str, figure: str, required: str, ratio: float | None, met: bool | None) -> None:
        rows.append(
            {
                "target": name,
                "measured": figure,
                "required": required,
                "ratio": None if ratio is None else round(ratio, 3),
                "met": met,
            }
        )

    parley = _fanout(results, "parley", "N=1000")
    b0, b1 = _fanout(results, "b0", "N=1000"), _fanout(results, "b1", "N=1000")
    if parley and b0:
        cap, base = parley["capacity"] or 0.0, b0["capacity"]
        ratio = cap / base if base else None
        bound = " (B0 was client-bound: true ratio lower)" if b0["limited_by"] == "client" else ""
        add(
            "fan-out capacity, N=1,000, vs B0",
            f"{_capacity_text(parley)} vs {_capacity_text(b0)}{bound}; sustained (p99 aside)"
            f" {_number(throughput(parley), 1)} vs {_number(throughput(b0), 1)} msg/s",
            "≥ 25% of B0, zero loss, p99 ≤ 100 ms",
            ratio,
            None if ratio is None else ratio >= 0.25,
        )
    if parley and b1 and parley["capacity"] is None and b1["capacity"] is None:
        add(
            "fan-out capacity, N=1,000, vs B1",
            "neither passed a step: one message to 1,000 sockets took more than 100 ms (p99)"
            f" at every rate tried; server CPU per delivery {_number(cpu_per_delivery(parley))}"
            f" µs (Parley) vs {_number(cpu_per_delivery(b1))} µs (B1)",
            "≥ 5x B1",
            None,
            None,
        )
    elif parley and b1:
        cap, base = parley["capacity"] or 0.0, b1["capacity"]
        b1_text = _capacity_text(b1)
        if base is None and b1["first_failure"]:
            # No step passed: B1's capacity is below the lowest rate tried.
            base = min(step["offered_rate"] for step in b1["steps"])
            b1_text = f"< {base:g} msg/s (no step passed)"
        ratio = cap / base if base else None
        add(
            "fan-out capacity, N=1,000, vs B1",
            f"{_capacity_text(parley)} vs {b1_text}; sustained (p99 aside)"
            f" {_number(throughput(parley), 1)} vs {_number(throughput(b1), 1)} msg/s",
            "≥ 5x B1",
            ratio,
            None if ratio is None else ratio >= 5,
        )
    history = {row["messages"]: row for row in results["history"]}
    if 1_000_000 in history:
        p99 = history[1_000_000]["parley_ms"]["p99"]
        add("history newest page p99 at 1e6", f"{p99:.2f} ms", "≤ 10 ms", p99 / 10, p99 <= 10)
        if 1_000 in history:
            small = history[1_000]["parley_ms"]["p99"]
            ratio = p99 / small
            add(
                "history p99, 1e6 vs 1e3",
                f"{p99:.2f} vs {small:.2f} ms",
                "≤ 1.2x",
                ratio,
                ratio <= 1.2,
            )
    search = {row["messages"]: row for row in results.get("search", [])}
    if 1_000_000 in search:
        p99 = search[1_000_000]["parley_ms"]["p99"]
        add("search first page p99 at 1e6", f"{p99:.2f} ms", "≤ 100 ms", p99 / 100, p99 <= 100)
    persist, b2 = results.get("persist"), results["b2"].get("insert")
    if persist and b2:
        cap = persist["capacity"] or 0.0
        ratio = cap / b2["per_second"]
        add(
            "persisted messages/s vs B2 inserts/s",
            f"{_capacity_text(persist)} vs {_number(b2['per_second'])} rows/s",
            "≥ 50% of B2",
            ratio,
            ratio >= 0.5,
        )
        half = persist["at_fraction"].get("50")
        if half and half["ack_latency_ms"]:
            p99 = half["ack_latency_ms"]["p99"]
            add(
                "sender's ack p99 at half capacity",
                f"{p99:.1f} ms at {half['offered_rate']:g} msg/s",
                "≤ 50 ms",
                p99 / 50,
                p99 <= 50,
            )
    for row in results["memory"]:
        if row["sockets"] >= 100:
            kib = row["bytes_per_socket"] / 1024
            add(
                f"memory per idle socket: {row['label']}",
                f"{kib:.1f} KB ({row['sockets']:,} sockets)",
                "≤ 40 KB",
                kib / 40,
                kib <= 40,
            )
    for row in results["connect"]:
        if row["connected"] >= 100:
            rate = row["per_second"]
            add(
                f"connect rate: {row['label']}",
                f"{rate:,.0f}/s ({row['connected']:,} sockets, {row['processes']} processes)",
                "≥ 1,500/s",
                rate / 1500,
                rate >= 1500,
            )
    one = _fanout(results, "parley", "N=1000", processes=1)
    if parley and one:
        two_text, one_text = _capacity_text(parley), _capacity_text(one)
        base = one["capacity"]
        if base is None and one["steps"]:
            # No step passed: one process's capacity is below the lowest rate tried.
            base = min(step["offered_rate"] for step in one["steps"])
            one_text = f"< {base:g} msg/s (no step passed)"
        ratio = (parley["capacity"] or 0.0) / base if base else None
        add(
            "two processes vs one, N=1,000",
            f"{two_text} vs {one_text}; sustained (p99 aside)"
            f" {_number(throughput(parley), 1)} vs {_number(throughput(one), 1)} msg/s",
            "≥ 1.6x",
            ratio,
            None if ratio is None else ratio >= 1.6,
        )
    return rows


def _latency_cell(step: dict | None) -> str:
    if not step or not step.get("latency_ms"):
        return "n/a"
    latency = step["latency_ms"]
    return f"{latency['p50']:.0f} / {latency['p99']:.0f} / {latency['max']:.0f}"


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"Run: {meta['started_at']}, plan `{meta['plan']}`, {meta.get('seconds', 0) / 60:.1f} min,"
        f" {meta['cores']} cores, load average {meta['load_average_at_start'][0]} at the start and"
        f" {meta.get('load_average_at_end', ['?'])[0]} at the end; no CPU pinning; message"
        f" bodies of {meta['message_body_bytes']} bytes.",
        "",
        "### Targets",
        "",
        "| target | measured | required | ratio (measured / required or baseline) | |",
        "|---|---|---|---|---|",
    ]
    for row in results.get("targets", []):
        verdict = {True: "met", False: "**missed**", None: "n/a"}[row["met"]]
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"| {row['target']} | {row['measured']} | {row['required']} | {ratio} | {verdict} |"
        )
    loss = sum(step["missing"] for step in all_steps(results))
    lines += [
        "",
        f"Deliveries lost over every step of the run: **{loss}**; silent losses (a socket that"
        f" stayed open and was never told): **{len(results.get('silent_loss', []))}**.",
        "",
        "### Fan-out capacity",
        "",
        "Capacity: the highest offered rate with every message delivered to every socket exactly"
        " once, p99 ≤ 100 ms from the due time, ≥ 98% delivered within 1 s. Latency columns:"
        " p50 / p99 / max in ms at 25%, 50% and 75% of that rate.",
        "",
        "| server | processes | sockets | capacity | deliveries/s | limited by | 25% | 50% | 75% |"
        " sustained, p99 aside (rates tried) | server CPU µs per delivery |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["fanout"]:
        points = run["at_fraction"]
        lines.append(
            f"| {run['server']} | {run.get('processes', 2)} | {run['label']} |"
            f" {_capacity_text(run)} | {_number(run['capacity_deliveries'])} |"
            f" {run['limited_by'] or 'n/a'} | {_latency_cell(points.get('25'))} |"
            f" {_latency_cell(points.get('50'))} | {_latency_cell(points.get('75'))} |"
            f" {_number(throughput(run), 1)} msg/s | {_number(cpu_per_delivery(run))} |"
        )
    lines += _other_tables(results)
    if results.get("skipped"):
        lines += ["", "Skipped (time budget): " + "; ".join(results["skipped"]) + "."]
    if results.get("problems"):
        lines += ["", "Problems: " + "; ".join(results["problems"]) + "."]
    return "\n".join(lines) + "\n"


def throughput(run: dict[str, Any]) -> float | None:
    """The highest rate a run's steps sustained with nothing lost and ≥ 98% delivered within a
    second, whatever their p99: what the servers keep up with, as against what they keep up
    with quickly (capacity)."""
    kept_up = [
        step["offered_rate"]
        for step in _steps(run)
        if step["sent"] == step["scheduled"]
        and not step["missing"]
        and not step["errors"]
        and step["in_time_ratio"] >= 0.98
    ]
    return max(kept_up) if kept_up else None


def cpu_per_delivery(run: dict[str, Any]) -> float | None:
    """Server CPU microseconds per delivery: the slope of the servers' CPU use against the
    deliveries per second over the run's steps (least squares), so that the work done anyway
    (presence heartbeats, the layer's polling) is left out. How much work a delivery is moves
    far less with other load on the machine than latency does."""
    points = [
        (step["delivered"] / step["cpu"]["seconds"], sum(step["cpu"]["servers"]))
        for step in _steps(run)
        # A step of one or two messages is mostly the work done anyway: leave it out.
        if step["scheduled"] >= 5 and step["drained"] and step["cpu"].get("seconds")
    ]
    rates = [x for x, _ in points]
    if len(points) < 3 or max(rates) < 2 * min(rates) or max(rates) < 1000:
        return None  # too little spread in load to tell work per delivery from idle work
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope * 1e6 if slope > 0 else None


def _steps(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [*run["steps"], *run["at_fraction"].values()]


def all_steps(results: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [step for run in results["fanout"] for step in _steps(run)]
    if results.get("persist"):
        steps += _steps(results["persist"])
    if results.get("slow_readers"):
        steps.append(results["slow_readers"]["result"])
    return steps


def _other_tables(results: dict[str, Any]) -> list[str]:
    lines = ["", "### Connecting, and memory per idle socket", ""]
    lines += [
        "| sockets | processes | connected/s | connect p50 / p99 ms | server CPU ms per"
        " connection | presence frames received, then still arriving for | KB per socket |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for connect, memory in zip(results["connect"], results["memory"], strict=False):
        latency = connect["latency"] or {}
        presence = connect.get("frames_received", {}).get("presence", 0)
        after = (connect.get("aftermath") or {}).get("last_frame_after", 0.0)
        lines.append(
            f"| {connect['label']}: {connect['connected']:,} | {connect['processes']} |"
            f" {connect['per_second']:,.0f} | {latency.get('p50', 0):,.0f} /"
            f" {latency.get('p99', 0):,.0f} | {connect.get('server_cpu_ms_per_socket', 'n/a')} |"
            f" {presence:,}, {after:.1f} s |"
            f" {memory['bytes_per_socket'] / 1024:.1f}"
            f" (servers {memory['server_bytes_per_socket'] / 1024:.1f},"
            f" Redis {memory['redis_bytes_per_socket'] / 1024:.1f}) |"
        )
    persist, b2 = results.get("persist"), results["b2"].get("insert")
    if persist or b2:
        lines += ["", "### Persistence", ""]
        if b2:
            latency = b2["latency"]
            lines.append(
                f"- B2, bare psycopg `INSERT ... RETURNING` from {b2['connections']} connections:"
                f" **{b2['per_second']:,.0f} rows/s**, p50 {latency['p50']:.1f} ms,"
                f" p99 {latency['p99']:.1f} ms per insert."
            )
        if persist:
            half = persist["at_fraction"].get("50") or {}
            ack = half.get("ack_latency_ms") or {}
            lines.append(
                f"- Parley, {persist['rooms']} senders each alone in a room: capacity"
                f" **{_capacity_text(persist)}**; at half of it the sender's ack takes"
                f" p50 {ack.get('p50', 0):.1f} ms, p99 {ack.get('p99', 0):.1f} ms."
            )
    if results["history"]:
        lines += ["", "### History: the newest page of 50 as the timeline grows", ""]
        lines += [
            "| messages in the room | Parley `history.fetch` p50 / p99 ms |"
            " bare query p50 / p99 ms |"
        ]
        lines += ["|---|---|---|"]
        for row in results["history"]:
            parley, bare = row["parley_ms"], row["b2_ms"]
            lines.append(
                f"| {row['messages']:,} | {parley['p50']:.2f} / {parley['p99']:.2f} |"
                f" {bare['p50']:.2f} / {bare['p99']:.2f} |"
            )
    if results.get("search"):
        lines += ["", "### Search: the first page over the whole timeline", ""]
        lines += ["| messages in the room | Parley `search` p50 / p99 ms |", "|---|---|"]
        for row in results["search"]:
            parley = row["parley_ms"]
            lines.append(f"| {row['messages']:,} | {parley['p50']:.2f} / {parley['p99']:.2f} |")
    slow = results.get("slow_readers")
    if slow:
        result = slow["result"]
        latency = result["latency_ms"] or {}
        stopped = result.get("slow") or {}
        lines += [
            "",
            "### Slow readers",
            "",
            f"{slow['reading_sockets']:,} reading sockets and {slow['stopped_sockets']} that stop"
            f" reading (receive buffer {slow['stopped_receive_buffer']} bytes) in one room, at"
            f" {slow['rate']:g} msg/s for {result['seconds']:g} s: the readers' p99"
            f" **{latency.get('p99', float('nan')):.1f} ms** (p50 {latency.get('p50', 0):.1f},"
            f" max {latency.get('max', 0):.1f}) against"
            f" {_number(slow['p99_without_slow_readers_ms'], 1)} ms at the same rate without"
            f" them; lost {result['missing']}. Once the stopped sockets read again they got"
            f" {stopped.get('delivered', 0):,} of {stopped.get('expected', 0):,} messages;"
            f" server memory grew by {result.get('server_rss_growth', 0) / 1024 / 1024:.1f} MB.",
        ]
    return lines


def write(results: dict[str, Any], out_dir: Path, *, docs: bool) -> dict[str, Any]:
    """Write latest.md (and the docs page and plot when `docs`); say whether the run is ok."""
    results["targets"] = targets(results)
    table = markdown(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.md").write_text(table)
    write_svg(results, out_dir / "latest.svg")
    if docs:
        write_svg(results, ROOT / "docs" / "benchmarks.svg")
        page = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
        head, _, rest = page.partition(START)
        _, _, tail = rest.partition(END)
        DOCS.write_text(f"{head}{START}\n{table}{END}{tail}")
    lost = sum(step["missing"] for step in all_steps(results))
    silent = len(results.get("silent_loss", []))
    ok = not silent and not results["problems"]
    met = sum(row["met"] is True for row in results["targets"])
    summary = (
        f"bench {results['meta']['plan']}: {met}/{len(results['targets'])} targets met,"
        f" {lost} deliveries lost, {silent} silent losses, {len(results['problems'])} problems;"
        f" results in {out_dir / 'latest.json'}"
    )
    return {"ok": ok, "summary": summary}

"""One offered-rate step, checked exactly, and the capacity search built from steps.

A step passes when every message was sent, acked (Parley) and delivered to every socket in its
room exactly once (checked against the database's seqs for Parley, against what was sent for
the baselines), the p99 latency from due time to receipt is at most 100 ms, and at least 98% of
the deliveries arrived within a second of their due time. A step during which the load client
used more than 90% of a core, or sent its messages more than 50 ms late (p99: it did not get
the CPU it needed), is marked invalid: its failure says nothing about the server.
"""

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench import servers as procs
from bench.control import LoadClient
from bench.database import BenchDatabase
from bench.plan import Plan

P99_LIMIT_MS = 100.0
IN_TIME_MIN = 0.98
CLIENT_CPU_MAX = 0.90
CLIENT_LAG_MAX_MS = 50.0  # the client sent its messages this late (p99): it could not keep up


@dataclass
class Target:
    """A set of rooms under load: which rooms, how many sockets in each, who sends."""

    kind: str  # "parley", "b0" or "b1"
    label: str
    fanout: int  # sockets in each room
    rooms: list[str]  # as the client names them: public ids (Parley) or room names
    senders: dict[str, list[int]]  # room -> socket ids that send to it
    room_pks: dict[str, int] = field(default_factory=dict)  # Parley: public id -> pk


class Progress:
    """One line on stderr saying what runs now; rewritten in place on a terminal."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def say(self, text: str, *, keep: bool = False) -> None:
        elapsed = int(time.monotonic() - self.started)
        line = f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {text}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line + ("\n" if keep else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


class Meter:
    """CPU use of the servers, Redis, PostgreSQL and the machine between two readings."""

    def __init__(self, redis_probe: procs.RedisProbe) -> None:
        self.redis = redis_probe

    def read(self, servers: procs.ServerSet | None) -> dict[str, Any]:
        return {
            "time": time.monotonic(),
            "servers": servers.cpu_seconds() if servers else [],
            "redis": self.redis.cpu_seconds(),
            "postgres": procs.postgres_cpu_seconds(),
            "machine": procs.machine_busy_seconds(),
        }

    @staticmethod
    def usage(
        before: dict[str, Any], after: dict[str, Any], client_cpu: float = 0.0
    ) -> dict[str, Any]:
        """Cores used by the servers, Redis, PostgreSQL, everything else on the machine (other
        people's work: it competes with the bench), and the machine's busy fraction."""
        wall = max(after["time"] - before["time"], 1e-9)
        busy = after["machine"][0] - before["machine"][0]
        total = max(after["machine"][1] - before["machine"][1], 1e-9)
        servers = [
            (b - a) / wall for a, b in zip(before["servers"], after["servers"], strict=False)
        ]
        redis = (after["redis"] - before["redis"]) / wall
        postgres = (
            sum(
                seconds - before["postgres"].get(pid, 0.0)
                for pid, seconds in after["postgres"].items()
            )
            / wall
        )
        cores = os.cpu_count() or 1
        other = busy / total * cores - sum(servers) - redis - postgres - client_cpu
        return {
            "servers": [round(value, 3) for value in servers],
            "redis": round(redis, 3),
            "postgres": round(postgres, 3),
            "other": round(max(0.0, other), 3),
            "machine": round(busy / total, 3),
            "seconds": round(wall, 3),
        }


class Stepper:
    """Runs steps against one target and searches for its capacity."""

    def __init__(
        self,
        plan: Plan,
        client: LoadClient,
        database: BenchDatabase,
        meter: Meter,
        progress: Progress,
        deadline: float,
    ) -> None:
        self.plan = plan
        self.client = client
        self.database = database
        self.meter = meter
        self.progress = progress
        self.deadline = deadline
        self.counter = 0
        self.silent_loss: list[dict[str, Any]] = []

    def over_budget(self) -> bool:
        return time.monotonic() > self.deadline

    def step(
        self,
        target: Target,
        servers: procs.ServerSet,
        rate: float,
        *,
        slow: list[int] | None = None,
        seconds: float | None = None,
    ) -> dict[str, Any]:
        """Offer `rate` messages per second to `target` for a few seconds and check it all."""
        self.counter += 1
        name = f"s{self.counter:04d}"
        duration = seconds or max(
            self.plan.step_seconds, min(3 * self.plan.step_seconds, 20 / rate)
        )
        before = self.meter.read(servers)
        counters_before = servers.counters()
        load_before = procs.load_average()[0]
        answer = self.client.call(
            {
                "cmd": "step",
                "step": name,
                "rate": rate,
                "duration": duration,
                "rooms": target.rooms,
                "senders": target.senders,
                "slow": slow or [],
                "drain": self.plan.drain_seconds,
                "quiet": self.plan.quiet_seconds,
                "slow_drain": self.plan.drain_seconds,
            },
            timeout=duration + 2 * self.plan.drain_seconds + 60,
        )
        usage = Meter.usage(before, self.meter.read(servers), answer["client_cpu"])
        counters = {
            name.removeprefix("parley_").removesuffix("_total"): value
            - counters_before.get(name, 0)
            for name, value in servers.counters().items()
        }
        verify_command: dict[str, Any] = {"cmd": "verify", "slow": slow or []}
        persisted = None
        if target.kind == "parley":
            verify_command["last_seq"] = self.database.last_seqs(target.room_pks)
            rows, distinct = self.database.persisted(name + "|")
            persisted = {"rows": rows, "distinct_client_ids": distinct}
        check = self.client.call(verify_command, timeout=60)
        result = self._judge(target, answer, check, persisted)
        result.update(
            step=name,
            offered_rate=round(rate, 3),
            seconds=round(duration, 2),
            cpu=usage,
            load_average=[load_before, procs.load_average()[0]],
            servers_alive=servers.alive(),
            server_counters=counters,
        )
        if not servers.alive():
            result["passed"] = result["late_only"] = False
            result["reasons"].append("a server process died")
        self._say(target, result)
        return result

    def _judge(
        self,
        target: Target,
        answer: dict[str, Any],
        check: dict[str, Any],
        persisted: dict[str, int] | None,
    ) -> dict[str, Any]:
        reasons = []
        latency = answer["latency"] or {}
        p99 = latency.get("p99", math.inf)
        expected = answer["expected"]
        in_time = answer["in_time"] / expected if expected else 0.0
        missing = check.get("missing", 0)
        if answer["sent"] < answer["scheduled"]:
            reasons.append(f"sent {answer['sent']} of {answer['scheduled']}")
        if answer["errors"]:
            reasons.append(f"errors {answer['errors']}")
        if target.kind == "parley":
            if answer["acked"] < answer["sent"]:
                reasons.append(f"acked {answer['acked']} of {answer['sent']}")
            if persisted and persisted["rows"] != persisted["distinct_client_ids"]:
                reasons.append("a client_id was stored twice")
            if persisted and persisted["rows"] != answer["acked"]:
                reasons.append(f"{persisted['rows']} stored, {answer['acked']} acked")
        if missing:
            reasons.append(f"lost {missing} deliveries")
        if answer["duplicates"] or answer["gaps"] or answer["unexpected"]:
            reasons.append(
                f"duplicates {answer['duplicates']}, gaps {answer['gaps']},"
                f" unexpected {answer['unexpected']}"
            )
        if check.get("ahead"):
            reasons.append(f"{check['ahead']} sockets ahead of the database")
        late = [
            *([f"p99 {p99:.0f} ms"] if p99 > P99_LIMIT_MS else []),
            *([f"{in_time:.1%} in time"] if in_time < IN_TIME_MIN else []),
        ]
        reasons += late
        if check.get("slow_missing"):
            reasons.append(f"slow readers lost {check['slow_missing']}")
        saturated = answer["client_cpu"] > CLIENT_CPU_MAX
        lagging = (answer["send_lag"] or {}).get("p99", 0.0) > CLIENT_LAG_MAX_MS
        if missing and target.kind == "parley" and not check.get("closed_sockets"):
            # Nothing told these sockets that anything was missing: the worst kind of loss.
            self.silent_loss.append({"target": target.label, "kind": target.kind, **check})
        return {
            "passed": not reasons,
            "invalid": bool(reasons) and (saturated or lagging),
            # Everything arrived, once each, but not in time.
            "late_only": bool(late) and len(late) == len(reasons),
            "client_saturated": saturated,
            "client_lagging": lagging,
            "reasons": reasons,
            "latency_ms": latency or None,
            "ack_latency_ms": answer["ack_latency"],
            "send_lag_ms": answer["send_lag"],
            "scheduled": answer["scheduled"],
            "sent": answer["sent"],
            "acked": answer["acked"],
            "errors": answer["errors"],
            "expected": expected,
            "delivered": answer["delivered"],
            "delivered_per_second": round(answer["delivered"] / answer["duration"], 1),
            "in_time_ratio": round(in_time, 4),
            "missing": missing,
            "duplicates": answer["duplicates"],
            "gaps": answer["gaps"],
            "drained": answer["drained"],
            "drain_seconds": round(answer["drain_seconds"], 2),
            "client_cpu": round(answer["client_cpu"], 3),
            "persisted": persisted,
            "verify": check,
            "slow": answer["slow"],
        }

    def _say(self, target: Target, result: dict[str, Any]) -> None:
        latency = result["latency_ms"] or {}
        verdict = "ok" if result["passed"] else "INVALID" if result["invalid"] else "fail"
        reasons = f" ({'; '.join(result['reasons'])})" if result["reasons"] else ""
        self.progress.say(
            f"{target.kind} {target.label}: {result['offered_rate']:g} msg/s,"
            f" p99 {latency.get('p99', float('nan')):.1f} ms,"
            f" {result['delivered']}/{result['expected']} delivered,"
            f" client cpu {result['client_cpu']:.0%}: {verdict}{reasons}"
        )

    def capacity(
        self,
        target: Target,
        servers: procs.ServerSet,
        start_rate: float,
        fixed_rate: float | None = None,
    ) -> dict[str, Any]:
        """Ramp the offered rate until a step fails, bisect, then measure 25/50/75%."""
        steps: list[dict[str, Any]] = []
        best: float | None = None
        failed: float | None = None
        limit = None

        def attempt(rate: float) -> bool:
            nonlocal best, failed, limit
            result = self.step(target, servers, rate)
            steps.append(result)
            # Once more: the client was starved, or everything arrived but one stall of the
            # shared machine (a scheduler delay, a garbage collection) made a 3 s step's p99
            # late. A rate fails only if it fails twice; the same for every server measured.
            if (result["invalid"] or result["late_only"]) and not self.over_budget():
                result = self.step(target, servers, rate)
                steps.append(result)
            if result["passed"]:
                best = rate if best is None else max(best, rate)
                return True
            if failed is None or rate < failed:
                failed = rate
                limit = "client" if result["invalid"] else "server"
            return False

        fixed_rate = fixed_rate if fixed_rate is not None else self.plan.fixed_rate
        if fixed_rate is not None:
            attempt(fixed_rate)
            return self._summary(target, steps, best, failed, limit, {})
        rate = start_rate
        for _ in range(self.plan.max_steps):
            if self.over_budget():
                break
            if attempt(rate):
                rate *= self.plan.growth
            elif best is None and rate > start_rate / 40:
                rate /= self.plan.growth**2  # the first guess was too high: come down
            else:
                break
        for _ in range(self.plan.refine):
            if best is None or failed is None or failed / best < 1.15 or self.over_budget():
                break
            attempt(math.sqrt(best * failed))
        points = {}
        if best is not None:
            for fraction in (0.25, 0.5, 0.75):
                if self.over_budget():
                    break
                points[str(int(fraction * 100))] = self.step(target, servers, best * fraction)
        return self._summary(target, steps, best, failed, limit, points)

    @staticmethod
    def _summary(
        target: Target,
        steps: list[dict[str, Any]],
        best: float | None,
        failed: float | None,
        limit: str | None,
        points: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "server": target.kind,
            "label": target.label,
            "fanout": target.fanout,
            "rooms": len(target.rooms),
            "capacity": round(best, 3) if best is not None else None,
            "capacity_deliveries": round(best * target.fanout, 1) if best is not None else None,
            "first_failure": round(failed, 3) if failed is not None else None,
            # "client": the step above capacity saturated the load client, so the server's
            # capacity is at least this figure; "server": the server missed a criterion.
            "limited_by": limit,
            "steps": steps,
            "at_fraction": points,
        }

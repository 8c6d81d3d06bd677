"""What one shared ``transitions`` machine per definition saves, against building one per instance or
per event. Run: ``.venv/bin/python benchmarks/machine_reuse.py``; prints microseconds and ratios.

All three drive the same instance of ``processes/return_repair.yaml`` along the same path, through
the same runtime; only where the machine comes from differs.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from engine import Actor, Runtime, load_process  # noqa: E402
from engine.compiler import CompiledProcess  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
CUSTOMER, AGENT = Actor("wang", ["customer"]), Actor("li", ["cs_agent"])
SUBMIT = {
    "channel": "电话",
    "customer_name": "王",
    "contact": "1",
    "model": "X",
    "fault_description": "f",
    "proof_of_purchase": "P",
}
PATH = [("submit", CUSTOMER, SUBMIT), ("reviewed", AGENT, {"in_warranty": True}), ("reject", AGENT, {"reason": "r"})]


def drive(runtime: Runtime) -> None:
    instance = runtime.start(CUSTOMER, at=NOW)
    for trigger, actor, payload in PATH[:2]:
        runtime.fire(instance, trigger, actor, payload, at=NOW)


def per_instance(process, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        drive(Runtime(process, clock=lambda: NOW))  # compiles a machine for each instance
    return (time.perf_counter() - start) / rounds


def shared(runtime: Runtime, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        drive(runtime)
    return (time.perf_counter() - start) / rounds


def per_event(process, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        runtime = Runtime(process, clock=lambda: NOW)
        instance = runtime.start(CUSTOMER, at=NOW)
        for trigger, actor, payload in PATH[:2]:
            runtime.compiled = CompiledProcess(process)  # a fresh machine for every event
            runtime.fire(instance, trigger, actor, payload, at=NOW)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    process = load_process(ROOT / "processes" / "return_repair.yaml")
    runtime = Runtime(process, clock=lambda: NOW)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    results = {name: [] for name in ("shared", "per instance", "per event")}
    for _ in range(5):
        results["shared"].append(shared(runtime, rounds))
        results["per instance"].append(per_instance(process, max(rounds // 10, 1)))
        results["per event"].append(per_event(process, max(rounds // 10, 1)))
    base = statistics.median(results["shared"])
    print(f"{'machine':<14}{'start + 2 events':>18}{'ratio':>8}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<14}{median * 1e6:>15.0f} µs{median / base:>7.1f}×")
    start = time.perf_counter()
    for _ in range(rounds):
        runtime.compiled._build_machine("apply")
    print(f"building the transitions Machine alone: {(time.perf_counter() - start) / rounds * 1e6:.0f} µs")


if __name__ == "__main__":
    main()

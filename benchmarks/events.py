"""Sections 1 and 2: the cost of an event in memory, instances driven to the end, memory at rest."""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
import time
import tracemalloc
from typing import Any

from benchmarks.contenders import BareTransitions, Contender, Procflow, PythonStatemachine, Spiff
from benchmarks.report import Row, Size, interleaved
from benchmarks.workload import RESTING_AFTER, Workload

PER_EVENT = "1 per event"
INSTANCES = "2 instances"
CHUNKS = 10


def contenders(workload: Workload) -> list[Contender]:
    made: list[Contender] = [
        Procflow(workload),
        BareTransitions(workload),
        PythonStatemachine(workload),
        Spiff(workload),
    ]
    for contender in made:  # each must take the same path to the same end, or its figure means nothing
        instance = contender.start()
        for index, event in enumerate(workload.events, start=1):
            contender.fire(instance, event)
            if index == RESTING_AFTER and contender.state(instance) != workload.resting_state:
                raise RuntimeError(
                    f"{contender.name} rests in `{contender.state(instance)}`, not `{workload.resting_state}`"
                )
        if contender.state(instance) != workload.final_state:
            raise RuntimeError(f"{contender.name} ended in `{contender.state(instance)}`, not `{workload.final_state}`")
    return made


def per_event(workload: Workload, made: list[Contender], size: Size) -> list[Row]:
    """One instance at a time, started and driven along the whole path; seconds per event."""
    events = workload.events

    def batch(contender: Contender) -> Any:
        def run() -> int:
            instance = contender.start()
            for event in events:
                contender.fire(instance, event)
            return len(events)

        return run

    seconds = interleaved({c.name: batch(c) for c in made}, size)
    ours = seconds[Procflow.name]
    rows = [
        Row(PER_EVENT, f"{Procflow.name}, everything on", ours * 1e6, "µs/event", note=_path_note(workload)),
    ]
    bare = seconds[BareTransitions.name]
    rows.append(
        Row(
            PER_EVENT,
            f"{BareTransitions.name}, same graph",
            bare * 1e6,
            "µs/event",
            ours / bare,
            f"procflow = {ours / bare:.2f}× bare",
            "≤ 2× bare",
            ours / bare <= 2,
        )
    )
    for name, needed in ((PythonStatemachine.name, 5), (Spiff.name, 10)):
        theirs = seconds[name]
        rows.append(
            Row(
                PER_EVENT,
                f"{name}, same graph",
                theirs * 1e6,
                "µs/event",
                theirs / ours,
                f"procflow {theirs / ours:.1f}× faster",
                f"≥ {needed}× faster",
                theirs / ours >= needed,
            )
        )
    return rows


def instances(workload: Workload, made: list[Contender], size: Size) -> list[Row]:
    """N instances started, then driven event by event (all take event 1, then event 2, ...) to the
    end, in CHUNKS interleaved between the contenders so that a burst of load on the shared machine
    falls on all of them alike."""
    counts = {c.name: size.spiff_instances if c.name == Spiff.name else size.instances for c in made}
    seconds = dict.fromkeys(counts, 0.0)
    for chunk in range(CHUNKS):
        for contender in made:
            count = counts[contender.name] // CHUNKS + (1 if chunk < counts[contender.name] % CHUNKS else 0)
            gc.collect()
            began = time.perf_counter()
            live = [contender.start() for _ in range(count)]
            for event in workload.events:
                for instance in live:
                    contender.fire(instance, event)
            seconds[contender.name] += time.perf_counter() - began
            if any(contender.state(i) != workload.final_state for i in live):
                raise RuntimeError(f"{contender.name}: not every instance reached `{workload.final_state}`")
            del live
    rates = {name: counts[name] / seconds[name] for name in counts}
    ours = rates[Procflow.name]
    rows = []
    for contender in made:
        rate, count = rates[contender.name], counts[contender.name]
        row = Row(INSTANCES, f"{contender.name}: {count:,} started and completed", rate, "instances/s")
        if contender.name == Spiff.name:
            row.ratio, row.ratio_text = ours / rate, f"procflow {ours / rate:.1f}× faster"
            row.target, row.met = "≥ 10× faster per completed instance", ours / rate >= 10
        elif contender.name != Procflow.name:
            row.ratio, row.ratio_text = ours / rate, f"procflow {ours / rate:.2f}× theirs"
        rows.append(row)
    return rows


def memory(workload: Workload, made: list[Contender], size: Size) -> list[Row]:
    """Bytes each live instance keeps at rest in `approve_plan`, beyond the data it holds."""
    rows = []
    for contender in made:
        overhead, data = _retained(contender, workload, size.memory_instances)
        row = Row(INSTANCES, f"{contender.name}: memory at rest beyond data", overhead, "B/instance")
        row.note = f"data held: {data:,.0f} B/instance" if contender.name == Procflow.name else ""
        if contender.name == Procflow.name:
            row.target, row.met = "≤ 2,048 B + data", overhead <= 2048
            row.note += " (its data and every payload in its history); measured with tracemalloc"
        rows.append(row)
    return rows


def _retained(contender: Contender, workload: Workload, count: int) -> tuple[float, float]:
    # Each event's payload arrives as a fresh parse of its JSON, as a request's would, so an engine
    # that keeps the caller's objects and one that copies them pay for the same bytes.
    requests = [(event, json.dumps(event.payload, ensure_ascii=False)) for event in workload.events[:RESTING_AFTER]]

    def drive(instance: Any) -> None:
        for event, text in requests:
            contender.fire(instance, dataclasses.replace(event, payload=json.loads(text)))

    drive(contender.start())  # caches filled on first use are not any one instance's cost
    gc.collect()
    tracemalloc.start()
    try:
        began = tracemalloc.get_traced_memory()[0]
        live = [contender.start() for _ in range(count)]
        for instance in live:
            drive(instance)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - began - sys.getsizeof(live)
    finally:
        tracemalloc.stop()
    data = sum(_data_size(contender.data(instance)) for instance in live)
    return (held - data) / count, data / count


def _data_size(roots: list[Any]) -> int:
    """The bytes of the JSON data reachable from ``roots``, each object once; shared singletons
    (None, booleans, small integers, one-character text) are nobody's."""
    seen: set[int] = set()
    total, todo = 0, list(roots)
    while todo:
        value = todo.pop()
        if id(value) in seen or value is None or isinstance(value, bool):
            continue
        if (isinstance(value, int) and -5 <= value <= 256) or (isinstance(value, str) and len(value) <= 1):
            continue
        seen.add(id(value))
        total += sys.getsizeof(value)
        if isinstance(value, dict):
            todo.extend(value.keys())
            todo.extend(value.values())
        elif isinstance(value, (list, tuple)):
            todo.extend(value)
    return total


def _path_note(workload: Workload) -> str:
    return (
        f"return_repair, {len(workload.events)} events from start to `{workload.final_state}`: out of warranty, "
        "plan sent back once, QC failed once; per completed instance = 22 × this"
    )

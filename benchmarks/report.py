"""Rows of the benchmark table, how they print, and the timing helper every section shares.

Machines here are shared and noisy, so every comparison is a ratio between figures taken in the same
run, with the contenders' batches interleaved (A B C D A B C D ...) and the median batch kept.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Row:
    section: str
    name: str
    value: float | None
    unit: str
    ratio: float | None = None
    """The figure the target is about, as a multiple (see ``ratio_text``)."""
    ratio_text: str = ""
    target: str = ""
    met: bool | None = None
    """``None`` when the row has no target (it is context for another row)."""
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Size:
    name: str
    rounds: int
    """Interleaved rounds per comparison; the median round is kept."""
    batch_seconds: float
    """How long one contender's batch runs in a round (at least one unit always runs)."""
    instances: int
    spiff_instances: int
    memory_instances: int
    store_events: int
    contended_instances: int
    contended_events: int
    """Events each of the 8 contending workers fires."""
    generated_states: tuple[int, int]
    rendered_states: int
    worklist_cases: tuple[int, ...]
    """The numbers of open cases a role's first worklist page is measured on."""
    http_instances: int
    """Cases each HTTP contender and the in-process one drive along the path in a round (split between
    the concurrent clients)."""


SIZES = {
    "tiny": Size("tiny", 1, 0.0, 20, 5, 20, 40, 10, 10, (40, 80), 30, (200,), 4),
    "full": Size("full", 7, 0.4, 10_000, 1_000, 2_000, 4_000, 100, 500, (1_000, 10_000), 500, (1_000, 100_000), 28),
}


def interleaved(batches: dict[str, Callable[[], int]], size: Size) -> dict[str, float]:
    """Seconds per unit for each named batch: each call runs some units and returns how many. Batches
    run in turn, ``size.rounds`` times, each for about ``size.batch_seconds``; the median is kept."""
    samples: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(size.rounds):
        for name, batch in batches.items():
            units, began = 0, time.perf_counter()
            while True:
                units += batch()
                elapsed = time.perf_counter() - began
                if elapsed >= size.batch_seconds:
                    break
            samples[name].append(elapsed / units)
    return {name: statistics.median(times) for name, times in samples.items()}


def timed(
    action: Callable[[], Any], size: Size, *, minimum_runs: int = 1, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median seconds of one run of ``action`` over ``size.rounds`` rounds (at least ``minimum_runs``),
    by ``clock``: ``time.process_time`` for work done in this process alone, which the other
    programs on a shared machine slow far less than they slow the wall clock."""
    runs = []
    for _ in range(max(size.rounds, minimum_runs)):
        began = clock()
        action()
        runs.append(clock() - began)
    return statistics.median(runs)


def table(rows: Iterable[Row]) -> str:
    header = ("section", "measurement", "value", "ratio", "target", "met")
    lines = []
    for row in rows:
        value = "—" if row.value is None else f"{_figure(row.value)} {row.unit}"
        met = {True: "yes", False: "NO", None: ""}[row.met]
        lines.append((row.section, row.name, value, row.ratio_text, row.target, met))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    out = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip(),
        "  ".join("-" * width for width in widths),
    ]
    for line in lines:
        out.append("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    notes = [f"  {row.section} / {row.name}: {row.note}" for row in rows if row.note]
    return "\n".join(out + (["", "notes:", *notes] if notes else []))


def markdown(rows: Iterable[Row]) -> str:
    out = ["| section | measurement | value | ratio | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        value = "—" if row.value is None else f"{_figure(row.value)} {row.unit}"
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        out.append(f"| {row.section} | {row.name} | {value} | {row.ratio_text} | {row.target} | {met} |")
    return "\n".join(out)


def _figure(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"

"""Issue 16's targets, each judged on the rows of a run: the measured figure, the threshold, met or not.

A target names the rows it is about by ``section / name`` (a shell pattern: ``*`` for the size in a
name, or for every shipped process) and which of their figures it reads: ``value``, ``ratio``, or
``met`` for a row whose own verdict is the target (no lost or doubled events). Where several rows match,
the worst of them is the measured figure. A target whose rows the run does not have prints "not
measured": adding a benchmark's target is one more ``Target`` line below.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

Rows = Iterable[Mapping[str, Any]]

COMPARISONS: dict[str, tuple[Callable[[float, float], bool], Callable[[Iterable[float]], float]]] = {
    "<": (operator.lt, max),
    "<=": (operator.le, max),
    ">=": (operator.ge, min),
}
"""Each comparison, and which of several rows' figures is the worst."""


@dataclass(frozen=True)
class Target:
    title: str
    """The target as the issue words it."""
    rows: str
    """The rows it reads, ``section / name`` as a shell pattern."""
    figure: str
    """``value``, ``ratio`` (both compared with ``threshold``) or ``met`` (the row's own verdict)."""
    comparison: str = "met"
    threshold: float = 0.0
    unit: str = ""
    """How the figure reads: ``ms``, ``×``."""

    def wanted(self) -> str:
        if self.figure == "met":
            return "every row met"
        shown = {"<": "<", "<=": "≤", ">=": "≥"}[self.comparison]
        return f"{shown} {_number(self.threshold)}{_unit(self.unit)}"


@dataclass(frozen=True)
class Judged:
    target: Target
    measured: str
    """The figure as it reads, or ``not measured``."""
    met: bool | None
    """``None`` when not measured."""
    rows: int


TARGETS = (
    Target(
        "per event ≤ 1.5× bare transitions in instructions",
        "9 instructions / transitions (bare): per event",
        "ratio",
        "<=",
        1.5,
        "×",
    ),
    Target(
        "per event ≤ 2× bare transitions in time", "1 per event / transitions (bare), same graph", "ratio", "<=", 2, "×"
    ),
    Target(
        "≥ 6× fewer instructions than python-statemachine per event",
        "9 instructions / python-statemachine: per event",
        "ratio",
        ">=",
        6,
        "×",
    ),
    Target(
        "≥ 15× fewer instructions than SpiffWorkflow per completed instance",
        "9 instructions / SpiffWorkflow: per completed instance",
        "ratio",
        ">=",
        15,
        "×",
    ),
    Target(
        "`procflow validate` start-up ≤ 6× `python -c pass`", "8 start-up / procflow validate*", "ratio", "<=", 6, "×"
    ),
    Target(
        "each shipped procedure loads in < 10 ms",
        "4 loading / *.yaml: YAML + schema + checks + compile",
        "value",
        "<",
        10,
        "ms",
    ),
    Target(
        "a 10,000-state definition loads in < 2 s",
        "4 loading / generated, 10,000 states: YAML + schema + checks + compile",
        "value",
        "<",
        2,
        "s",
    ),
    Target(
        "SQLite store CPU per event ≤ the runtime's", "3 stores / SQLite store CPU per event*", "ratio", "<=", 1, "×"
    ),
    Target(
        "SQLite ≥ 0.8× the bare sqlite3 loop (synchronous=FULL)",
        "3 stores / SQLite through Workflows.fire*",
        "ratio",
        ">=",
        0.8,
        "×",
    ),
    Target("a batch of 50 events ≥ 5× the events/s", "3 stores / *in batches of 50*", "ratio", ">=", 5, "×"),
    Target("no cliff up to 10,000 active instances", "3 stores / SQLite with * active instances, against *", "met"),
    Target(
        "nothing per event that grows with the length of a history",
        "9 instructions / procflow on SQLite: per event on histories of *",
        "met",
    ),
    Target(
        "PostgreSQL 4 workers ≥ 1.5× one",
        "3 stores / PostgreSQL, 4 worker process(es), distinct instances",
        "ratio",
        ">=",
        1.5,
        "×",
    ),
    Target("8 contending workers: zero lost, zero doubled", "3 stores / PostgreSQL, 8 workers contending*", "met"),
)


def judge(rows: Rows, targets: Iterable[Target] = TARGETS) -> list[Judged]:
    listed = list(rows)
    return [_judge(target, listed) for target in targets]


def _judge(target: Target, rows: list[Mapping[str, Any]]) -> Judged:
    matched = [row for row in rows if fnmatchcase(f"{row['section']} / {row['name']}", target.rows)]
    if target.figure == "met":
        verdicts = [row["met"] for row in matched if row["met"] is not None]
        if not verdicts:
            return Judged(target, "not measured", None, 0)
        failed = verdicts.count(False)
        return Judged(target, f"{len(verdicts) - failed} of {len(verdicts)} met", not failed, len(verdicts))
    figures = [row[target.figure] for row in matched if row[target.figure] is not None]
    if not figures:
        return Judged(target, "not measured", None, 0)
    compare, worst_of = COMPARISONS[target.comparison]
    worst = worst_of(figures)
    measured = f"{_number(worst)}{_unit(target.unit)}" + (f" (worst of {len(figures)})" if len(figures) > 1 else "")
    return Judged(target, measured, compare(worst, target.threshold), len(figures))


def targets_table(judged: Iterable[Judged]) -> str:
    """The targets as the terminal shows them."""
    header = ("target", "measured", "wanted", "met")
    lines = [(j.target.title, j.measured, j.target.wanted(), _verdict(j.met, "NO")) for j in judged]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, tuple("-" * w for w in widths), *lines]
    )


def targets_markdown(judged: Iterable[Judged]) -> str:
    out = ["| target | measured | wanted | met |", "| --- | --- | --- | --- |"]
    for j in judged:
        out.append(f"| {j.target.title} | {j.measured} | {j.target.wanted()} | {_verdict(j.met, '**no**')} |")
    return "\n".join(out)


def _verdict(met: bool | None, no: str) -> str:
    return {True: "yes", False: no, None: "—"}[met]


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _unit(unit: str) -> str:
    return unit if unit in ("×", "") else f" {unit}"

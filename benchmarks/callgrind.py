"""``python -m benchmarks --callgrind``: instructions per event and per completed instance, counted by
valgrind's callgrind, for procflow and each peer, as ratios against the targets.

Instruction counts do not follow the shared machine's load the way times do. Each contender runs in
a child process under callgrind: it builds its engine and drives one instance along the whole path to
fill its caches, uninstrumented, then counts ``n`` more instances started and driven to the end. The
count is switched on and off around that loop by callgrind's client requests, from a two-function C
library compiled here (``gcc`` and valgrind's ``callgrind.h``); without them, each contender runs
fully instrumented twice, ``n`` and ``2 n`` instances, and the difference is kept (the same figure,
about thirty times slower).

``python -m benchmarks.callgrind CONTENDER INSTANCES [TOGGLE_LIBRARY]`` is the child.
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Row, Size

SECTION = "9 instructions"
ROOT = Path(__file__).resolve().parent.parent
OURS, BARE, STATEMACHINE, SPIFF = "procflow", "transitions (bare)", "python-statemachine", "SpiffWorkflow"
CONTENDERS = (OURS, BARE, STATEMACHINE, SPIFF)

BARE_AT_MOST = 1.5
"""procflow's instructions per event, everything on, at most this many times bare transitions'."""
STATEMACHINE_FEWER = 6.0
"""python-statemachine's instructions per event at least this many times procflow's."""
SPIFF_FEWER = 15.0
"""SpiffWorkflow's instructions per completed instance at least this many times procflow's."""
LONG_HISTORY = "long history"
"""Not a contender: procflow on SQLite, an event on a long case against the same event on a short one."""
FLAT_AT_MOST = 1.1
"""An event on a case of about 1,000 entries at most this many times one on a case of about 30."""
MEASURED_ROUNDS = 5

TOGGLE_SOURCE = """#include <valgrind/callgrind.h>
void procflow_count_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void procflow_count_off(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


@dataclass(frozen=True)
class Count:
    contender: str
    instances: int
    events: int
    instructions: int
    """Of ``instances`` started and driven to the end, setup and warm-up left out."""

    @property
    def per_event(self) -> float:
        return self.instructions / self.events

    @property
    def per_instance(self) -> float:
        return self.instructions / self.instances


def instances_for(size: Size) -> dict[str, int]:
    """How many instances each contender drives while counted (SpiffWorkflow's cost ten times ours)."""
    if size.name == "tiny":
        return dict.fromkeys(CONTENDERS, 1)
    return {name: 5 if name == SPIFF else 50 for name in CONTENDERS}


def callgrind(size: Size) -> list[Row]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("`valgrind` is not on PATH: install it (apt-get install valgrind) to count instructions")
    from benchmarks.workload import load_workload

    events = len(load_workload().events)
    with tempfile.TemporaryDirectory() as scratch:
        toggle = _toggle_library(Path(scratch))
        counts = {name: count(valgrind, name, n, events, toggle) for name, n in instances_for(size).items()}
        history = _long_history_row(valgrind, toggle, size) if toggle is not None else []
    return rows(counts, exact=toggle is not None) + history


def _long_history_row(valgrind: str, toggle: Path, size: Size) -> list[Row]:
    from benchmarks.stores import LONG_CASES, long_history_rounds

    rounds = long_history_rounds(size)
    events = MEASURED_ROUNDS * 2 * LONG_CASES
    short, long = (_instructions(valgrind, LONG_HISTORY, n, toggle) / events for n in (0, rounds))
    ratio = long / short
    return [
        Row(
            SECTION,
            f"procflow on SQLite: per event on histories of about {9 + 2 * (rounds + 1):,} entries, against about 15",
            long,
            "instructions/event",
            ratio,
            f"{ratio:.2f}× the short histories' {short:,.0f}",
            f"≤ {FLAT_AT_MOST:g}× (flat)",
            ratio <= FLAT_AT_MOST,
            f"{LONG_CASES} cases, send_back and submit_plan again in batches; {events} events counted, "
            "the store's and SQLite's work included",
        )
    ]


def count(valgrind: str, contender: str, instances: int, events: int, toggle: Path | None) -> Count:
    if toggle is not None:
        instructions = _instructions(valgrind, contender, instances, toggle)
    else:
        once = _instructions(valgrind, contender, instances, None)
        instructions = max(0, _instructions(valgrind, contender, 2 * instances, None) - once)
    return Count(contender, instances, events * instances, instructions)


def rows(counts: dict[str, Count], *, exact: bool = True) -> list[Row]:
    ours, bare, statemachine, spiff = (counts[name] for name in CONTENDERS)
    how = "counted around the loop" if exact else "difference of two fully counted runs"
    note = (
        f"callgrind, {how}; {ours.instances} instance(s) × {ours.events // ours.instances} events "
        f"(SpiffWorkflow {spiff.instances}), after one to fill caches"
    )
    over_bare = ours.per_event / bare.per_event
    fewer_statemachine = statemachine.per_event / ours.per_event
    fewer_spiff = spiff.per_instance / ours.per_instance
    return [
        Row(SECTION, f"{OURS}, everything on: per event", ours.per_event, "instructions/event", note=note),
        Row(
            SECTION,
            f"{BARE}: per event",
            bare.per_event,
            "instructions/event",
            over_bare,
            f"procflow = {over_bare:.2f}× bare",
            f"≤ {BARE_AT_MOST:g}× bare",
            over_bare <= BARE_AT_MOST,
        ),
        Row(
            SECTION,
            f"{STATEMACHINE}: per event",
            statemachine.per_event,
            "instructions/event",
            fewer_statemachine,
            f"procflow {fewer_statemachine:.1f}× fewer",
            f"≥ {STATEMACHINE_FEWER:g}× fewer",
            fewer_statemachine >= STATEMACHINE_FEWER,
        ),
        Row(SECTION, f"{OURS}: per completed instance", ours.per_instance, "instructions/instance"),
        Row(
            SECTION,
            f"{SPIFF}: per completed instance",
            spiff.per_instance,
            "instructions/instance",
            fewer_spiff,
            f"procflow {fewer_spiff:.1f}× fewer",
            f"≥ {SPIFF_FEWER:g}× fewer",
            fewer_spiff >= SPIFF_FEWER,
        ),
    ]


def _toggle_library(scratch: Path) -> Path | None:
    """The C library whose two functions switch callgrind's count on and off; ``None`` without a
    compiler or valgrind's header."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source, library = scratch / "toggle.c", scratch / "toggle.so"
    source.write_text(TOGGLE_SOURCE, encoding="utf-8")
    built = subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], capture_output=True, check=False
    )
    return library if built.returncode == 0 else None


def _instructions(valgrind: str, contender: str, instances: int, toggle: Path | None) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={Path(scratch) / 'callgrind.out'}"]
        if toggle is not None:
            command.append("--instr-atstart=no")
        command += [sys.executable, "-m", "benchmarks.callgrind", contender, str(instances)]
        if toggle is not None:
            command.append(str(toggle))
        # The same hash seed in every child: set and dict layouts, and so the counts, repeat exactly.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    found = _COLLECTED.findall(run.stderr)
    if run.returncode != 0 or not found:
        raise RuntimeError(f"callgrind on {contender} × {instances} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return int(found[-1])


def drive_long_history(rounds: int, toggle: str) -> None:
    """Cases on a SQLite file taken ``rounds`` times round the plan's review, then ``MEASURED_ROUNDS``
    more, counted."""
    from benchmarks.stores import long_history_cases, send_back_and_resubmit
    from benchmarks.workload import PROCESS_FILE
    from engine.service import Workflows

    switch = ctypes.CDLL(toggle)
    with tempfile.TemporaryDirectory() as scratch, Workflows(f"sqlite:///{Path(scratch) / 'long.db'}") as flows:
        flows.register(PROCESS_FILE)
        ids = long_history_cases(flows)
        send_back_and_resubmit(flows, ids, rounds + 1)  # one more, to fill the caches
        gc.collect()
        switch.procflow_count_on()
        send_back_and_resubmit(flows, ids, MEASURED_ROUNDS)
        switch.procflow_count_off()


def drive(contender_name: str, instances: int, toggle: str | None) -> None:
    """Build the contender, drive one instance to fill its caches, then ``instances`` more, counted."""
    from benchmarks.contenders import BareTransitions, Procflow, PythonStatemachine, Spiff
    from benchmarks.workload import load_workload

    kinds = {kind.name: kind for kind in (Procflow, BareTransitions, PythonStatemachine, Spiff)}
    workload = load_workload()
    contender = kinds[contender_name](workload)
    switch = ctypes.CDLL(toggle) if toggle is not None else None

    def one() -> None:
        instance = contender.start()
        for event in workload.events:
            contender.fire(instance, event)
        if contender.state(instance) != workload.final_state:
            raise RuntimeError(f"{contender_name} ended in `{contender.state(instance)}`, not `{workload.final_state}`")

    one()
    gc.collect()
    if switch is not None:
        switch.procflow_count_on()
    for _ in range(instances):
        one()
    if switch is not None:
        switch.procflow_count_off()


if __name__ == "__main__":
    if sys.argv[1] == LONG_HISTORY:
        drive_long_history(int(sys.argv[2]), sys.argv[3])
    else:
        drive(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)

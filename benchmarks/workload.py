"""The one procedure every contender runs, and the one path they all take through it.

The path is ``processes/scenarios/return_repair.yaml`` without its deliberately refused events and its
``advance`` of the clock: out of warranty (a decision's default), the supervisor sends the first plan
back, the customer's signature passes its condition, QC fails once, and the product is shipped back
and followed up. 22 events, four guarded choices (three decisions and `sign`'s condition).

The peers get the same graph, read from the loaded model: every transition, and every decision's
branches with the default last. They check no roles, payload schemas or data schemas and keep no
history; they merge each event's payload into the instance's data and evaluate the same conditions on
it, written as plain Python (``PYTHON_CONDITIONS``), which is what a hand-written machine would do.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import Actor, Process, StateKind, load_process
from engine.scenarios import load_scenario

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
PROCESS_FILE = PROCESSES / "return_repair.yaml"
SCENARIO_FILE = PROCESSES / "scenarios" / "return_repair.yaml"
RESTING_AFTER = 8
"""Instances measured "at rest" have taken this many events: they wait in `approve_plan`."""

DECIDE = "decide"
"""The trigger a peer fires to move a decision on (our engine resolves decisions itself)."""

Condition = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]

# The conditions of return_repair.yaml as a programmer would write them by hand, on (data, payload).
PYTHON_CONDITIONS: dict[str, Condition] = {
    "data.in_warranty": lambda data, payload: bool(data.get("in_warranty")),
    "data.model_matches and data.fault_matches": lambda data, payload: bool(
        data.get("model_matches") and data.get("fault_matches")
    ),
    "data.in_warranty or payload.accepts_charge": lambda data, payload: bool(
        data.get("in_warranty") or payload.get("accepts_charge")
    ),
}


@dataclass(frozen=True)
class Event:
    trigger: str
    actor: Actor
    payload: Mapping[str, Any]
    at: datetime.datetime


@dataclass(frozen=True)
class Edge:
    """One transition of the graph, as the peers see it."""

    source: str
    trigger: str
    """The definition's trigger, or ``DECIDE`` for a decision's branch."""
    dest: str
    condition: str | None
    """Our expression text; ``None`` for none (a decision's default, or an unguarded transition)."""


@dataclass(frozen=True)
class Workload:
    process: Process
    starter: Actor
    start_at: datetime.datetime
    events: tuple[Event, ...]
    edges: tuple[Edge, ...]
    final_state: str
    resting_state: str

    @property
    def start_state(self) -> str:
        assert self.process.start is not None
        return self.process.start.id

    def decisions(self) -> frozenset[str]:
        return frozenset(s.id for s in self.process.states.values() if s.kind is StateKind.DECISION)

    def finals(self) -> frozenset[str]:
        return frozenset(s.id for s in self.process.states.values() if s.kind is StateKind.FINAL)


def load_workload() -> Workload:
    process = load_process(PROCESS_FILE)
    scenario = load_scenario(SCENARIO_FILE)
    events = tuple(
        Event(e.trigger, e.actor, e.payload, e.at)
        for e in scenario.events
        if not e.advance and e.refused is None and e.trigger is not None and e.actor is not None and e.at is not None
    )
    resting = _state_after(process, events[:RESTING_AFTER], scenario.starter, scenario.start_at)
    final = _state_after(process, events, scenario.starter, scenario.start_at)
    return Workload(process, scenario.starter, scenario.start_at, events, graph_of(process), final, resting)


def graph_of(process: Process) -> tuple[Edge, ...]:
    edges: list[Edge] = []
    for state in process.states.values():
        for transition in state.transitions:
            if len(transition.conditions) > 1:
                raise ValueError(f"`{state.id}` --{transition.trigger}-->: the peers take one condition at most")
            condition = transition.conditions[0] if transition.conditions else None
            edges.append(Edge(state.id, transition.trigger, transition.dest, condition))
        for branch in state.branches:
            edges.append(Edge(state.id, DECIDE, branch.dest, branch.condition))
        if state.default is not None:
            edges.append(Edge(state.id, DECIDE, state.default.dest, None))
    for edge in edges:
        if edge.condition is not None and edge.condition not in PYTHON_CONDITIONS:
            raise ValueError(
                f"no hand-written Python for the condition `{edge.condition}`; add it to PYTHON_CONDITIONS"
            )
    return tuple(edges)


def python_expression(condition: str) -> str:
    """Our condition as a Python expression on flat variables (the form a BPMN gateway takes)."""
    return re.sub(r"\b(?:data|payload)\.", "", condition)


def _state_after(process: Process, events: tuple[Event, ...], starter: Actor, at: datetime.datetime) -> str:
    from engine import Runtime

    runtime = Runtime(process)
    instance = runtime.start(starter, at=at)
    for event in events:
        runtime.fire(instance, event.trigger, event.actor, event.payload, at=event.at)
    return instance.state

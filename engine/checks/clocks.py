"""Clocks (promises over several steps): their points name real steps and triggers, their times
are in order, and they can start and stop on some path.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.checks.support import deadline_trigger_problems, error, reference_problems, text_at, warning
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import (
    ClockPoint,
    DataLimit,
    Deadline,
    Process,
    StateKind,
)
from engine.schema_errors import zero_time_limit
from engine.timing import limit_problem, order_problems


def check_clock_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Every state, trigger and role a clock names is declared; a trigger its points fire needs no person."""
    triggers = {t.trigger: t for t in process.transitions}
    for clock in process.clocks.values():
        if clock.source is not None:
            yield from reference_problems(
                process, clock.path + ("source", "document"), clock.source.document, process.sources, "source document"
            )
        for key, point in (("starts", clock.starts), ("stops", clock.stops)):
            for part in ("enter", "leave"):
                for i, name in enumerate(getattr(point, part)):
                    yield from reference_problems(process, clock.path + (key, part, i), name, process.states, "state")
            for i, name in enumerate(point.on):
                yield from reference_problems(process, clock.path + (key, "on", i), name, triggers, "trigger")
                leaving = sorted({s for t in process.transitions if t.trigger == name for s in t.sources})
                if len(leaving) > 1 and not any(t.shared and t.trigger == name for t in process.transitions):
                    yield warning(
                        process,
                        clock.path + (key, "on", i),
                        "clock-trigger-several-states",
                        f"clock `{clock.id}`: `{name}` leaves several states ({', '.join(f'`{s}`' for s in leaving)}) "
                        f"and counts from any of them; to mean one, write `leave: [{leaving[0]}]`",
                    )
        for i, name in enumerate(clock.pauses):
            yield from reference_problems(process, clock.path + ("pauses", i), name, process.states, "state")
        for _, action in clock.thresholds.values():
            for i, role in enumerate(action.notify):
                yield from reference_problems(process, action.path + ("notify", i), role, process.roles, "role")
            written = text_at(process, action.path + ("fire",)) is not None
            for i, fire in enumerate(action.fire):
                where = action.path + (("fire",) if written else ("fire", i))
                if fire not in triggers:
                    yield from reference_problems(process, where, fire, triggers, "trigger")
                    continue
                for transition in process.transitions:
                    if transition.trigger == fire:
                        deadline = Deadline(None, fire, action.path)  # located at the action's `fire`
                        yield from deadline_trigger_problems(process, deadline, transition)


def check_clock_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Each point is a usable time; the warning comes before the limit, the ceiling after it."""
    for clock in process.clocks.values():
        lengths = {}
        for name, (duration, _) in clock.thresholds.items():
            path = clock.path + (name,)
            if isinstance(duration, DataLimit):
                continue  # known when the clock starts: the runtime checks it then
            if duration is None:
                text = text_at(process, path) or ""
                yield error(process, path, "zero-time-limit", zero_time_limit(text))
                continue
            problem = limit_problem(duration, process.calendar)
            if problem is not None:
                yield error(process, path, "limit-too-long", f"clock `{clock.id}`: {problem}")
                continue
            lengths[name] = duration
        for name, problem in order_problems(clock, lengths, process.calendar):
            yield error(process, clock.path + (name,), "clock-order", problem)


def check_clock_paths(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Each clock can start on some path from the start, and stop on some path after it starts; warnings
    for a clock that can stop on no path from one of its starts, and for one that can never breach
    (it only ever runs in decisions and pauses)."""
    start = process.start
    if start is None:
        return
    reachable = graph.reach([start.id])
    for clock in process.clocks.values():
        begins = {
            s for s in _clock_point_states(process, graph, clock.starts) & reachable if not process.states[s].is_final
        }  # a clock does not start on the way into a final state
        if not begins:
            yield error(
                process,
                clock.path + ("starts",),
                "clock-never-starts",
                f"clock `{clock.id}` never starts: none of its `starts` can happen on any path from `{start.id}`",
            )
            continue
        ends = _clock_point_states(process, graph, clock.stops)
        stopping = [b for b in sorted(begins) if _can_stop(process, graph, clock.stops, ends, b)]
        if not stopping:
            yield error(
                process,
                clock.path + ("stops",),
                "clock-never-stops",
                f"clock `{clock.id}` never stops: none of its `stops` can happen after it starts "
                f"(it starts in {', '.join(f'`{b}`' for b in sorted(begins))})",
            )
            continue
        for begin in sorted(begins - set(stopping)):
            yield warning(
                process,
                clock.path + ("stops",),
                "clock-may-not-stop",
                f"clock `{clock.id}` started in `{begin}` can stop on no path after it; "
                "only the end of the case stops it",
            )
        running = graph.reach(begins)
        timed = {
            s
            for s in running
            if process.states[s].kind not in (StateKind.DECISION, StateKind.FINAL) and s not in clock.pauses
        }
        if not timed:
            yield warning(
                process,
                clock.path,
                "clock-never-breaches",
                f"clock `{clock.id}` can never breach: it only runs in decisions and its pauses, which take no time",
            )


def _clock_point_states(process: Process, graph: Digraph, point: ClockPoint) -> set[str]:
    """The states a case can be in just after one of the point's moments."""
    states = {s for s in point.enter if s in process.states}
    states |= {d for s in point.leave if s in graph for d in graph.successors(s)}
    states |= {t.dest for t in process.transitions if t.trigger in point.on and t.dest in process.states}
    return states


def _can_stop(process: Process, graph: Digraph, point: ClockPoint, ends: set[str], begin: str) -> bool:
    after = graph.descendants(begin)
    if ends & after:
        return True
    around = after | {begin}
    if any(s in around for s in point.leave):
        return True
    return any(t.trigger in point.on for s in around for t in process.states[s].transitions)

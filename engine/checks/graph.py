"""The state graph: every state reachable, none a dead end, a final state reachable, decisions
that always go somewhere and never loop by themselves, triggers that tell transitions apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from engine.checks.support import error
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import (
    Process,
    StateKind,
    Transition,
)


def check_reachable(process: Process, graph: Digraph) -> Iterator[Problem]:
    start = process.start
    if start is None:
        return
    reached = graph.reach([start.id])
    for state in process.states.values():
        if state.id not in reached:
            yield error(
                process,
                state.path,
                "unreachable",
                f"state `{state.id}` cannot be reached from the start state `{start.id}`; "
                "add a transition or branch leading to it, or remove it",
                key=True,
            )


def check_dead_ends(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        if not state.is_final and not state.exits():
            yield error(
                process,
                state.path,
                "dead-end",
                f"state `{state.id}` has no way out; give it transitions, or make it `type: final`",
                key=True,
            )


def check_final_reachable(process: Process, graph: Digraph) -> Iterator[Problem]:
    finals = {s.id for s in process.states.values() if s.is_final}
    if not finals:
        yield error(process, ("states",), "no-final", "there is no final state; add one with `type: final`", key=True)
        return
    can_finish = graph.reach(finals, backwards=True)
    for state in process.states.values():
        if state.id not in can_finish and state.exits():
            leads_to = sorted(graph.descendants(state.id))
            where = (
                f"it only leads to {', '.join(f'`{s}`' for s in leads_to)}"
                if leads_to
                else "it only leads back to itself"
            )
            yield error(
                process, state.path, "trap", f"from state `{state.id}` no final state can be reached; {where}", key=True
            )


def check_decision_defaults(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        if state.kind is StateKind.DECISION and state.default is None:
            yield error(
                process,
                state.path,
                "no-default",
                f"decision `{state.id}` has no `default`; say where to go when no branch's condition holds",
                key=True,
            )


def check_decision_cycles(process: Process, graph: Digraph) -> Iterator[Problem]:
    decisions = graph.subgraph(s.id for s in process.states.values() if s.kind is StateKind.DECISION)
    if not decisions.has_cycle():
        return
    import networkx as nx  # only to list the cycles: a definition with none never imports it

    for cycle in nx.simple_cycles(nx.DiGraph(decisions.edges)):
        first = min(cycle, key=list(process.states).index)
        ordered = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
        yield error(
            process,
            process.states[first].path,
            "decision-cycle",
            "decisions "
            + " → ".join(f"`{d}`" for d in [*ordered, first])
            + " lead to one another with no step between, so the engine could go round them forever; "
            "put a step on the way",
            key=True,
        )


def check_ambiguous_triggers(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        by_trigger: dict[str, list[Transition]] = defaultdict(list)
        for transition in state.transitions:
            by_trigger[transition.trigger].append(transition)
        for trigger, same in by_trigger.items():
            for earlier_index, later in enumerate(same[1:]):
                for earlier in same[: earlier_index + 1]:
                    if not earlier.conditions or not later.conditions or earlier.conditions == later.conditions:
                        yield error(
                            process,
                            later.path + ("trigger",),
                            "ambiguous",
                            f"state `{state.id}` has two transitions on `{trigger}` that no condition "
                            "tells apart; give each a different `conditions`, or rename one trigger",
                        )
                        break

"""Static checks on a definition model: references, expressions, time limits and the state graph.

One small function per check; each yields ``Problem``s that name the offending ids and where they
are written. ``check_process`` runs them all, so a file's every problem is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from engine.checks.clocks import check_clock_limits, check_clock_paths, check_clock_references
from engine.checks.expressions import check_data_time_limits, check_expressions, check_optional_copies
from engine.checks.graph import (
    check_ambiguous_triggers,
    check_dead_ends,
    check_decision_cycles,
    check_decision_defaults,
    check_final_reachable,
    check_reachable,
)
from engine.checks.loops import check_children, check_limits, check_sub_processes
from engine.checks.notifications import check_notifications
from engine.checks.parts import check_parts, check_signatures, check_signoff_order
from engine.checks.records import (
    check_record_fields,
    check_record_references,
    check_required_records_on_paths,
    check_unbound_records,
)
from engine.checks.references import (
    check_calendar,
    check_cancellations,
    check_deadlines,
    check_limit_lengths,
    check_role_references,
    check_single_start,
    check_source_references,
    check_state_references,
    check_zero_time_limits,
)
from engine.checks.usage import check_additions, check_field_names, check_sources_cited, check_unused
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import Process

__all__ = ["CHECKS", "Check", "check_children", "check_dead_ends", "check_process", "state_graph"]

Check = Callable[[Process, Digraph], Iterator[Problem]]


def state_graph(process: Process) -> Digraph:
    """States as nodes; an edge wherever a transition or branch leads to a declared state."""
    graph = Digraph(process.states)
    for state in process.states.values():
        for dest in state.exits():
            if dest in process.states:
                graph.add_edge(state.id, dest)
    for state in process.states.values():  # an event that would enter a step past its limit goes to `then`
        then = state.limit.then if state.limit is not None else None
        if then is not None and then in process.states:
            for source in graph.predecessors(state.id):
                if source != state.id:
                    graph.add_edge(source, then)
    return graph


def check_process(process: Process) -> list[Problem]:
    graph = state_graph(process)
    return [problem for check in CHECKS for problem in check(process, graph)]


CHECKS: tuple[Check, ...] = (
    check_single_start,
    check_state_references,
    check_role_references,
    check_cancellations,
    check_source_references,
    check_zero_time_limits,
    check_deadlines,
    check_calendar,
    check_limit_lengths,
    check_expressions,
    check_data_time_limits,
    check_optional_copies,
    check_reachable,
    check_dead_ends,
    check_final_reachable,
    check_decision_defaults,
    check_decision_cycles,
    check_ambiguous_triggers,
    check_unused,
    check_field_names,
    check_sources_cited,
    check_signoff_order,
    check_additions,
    check_notifications,
    check_record_references,
    check_record_fields,
    check_required_records_on_paths,
    check_unbound_records,
    check_limits,
    check_sub_processes,
    check_clock_references,
    check_clock_limits,
    check_clock_paths,
    check_parts,
    check_signatures,
)

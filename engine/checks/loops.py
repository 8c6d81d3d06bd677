"""Loop limits and sub-procedures: a limit's count and what happens past it, the child a step
starts and the data it is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.checks.support import (
    declared_properties,
    error,
    expression_problems,
    plain_data_path,
    reference_problems,
    schema_types,
)
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import (
    Limit,
    Process,
    StateKind,
)
from engine.schema_errors import did_you_mean


def check_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A limit's ``then`` names a declared state that is not where the event would go anyway; a ``times``
    from the data reads declared fields (a plain field is declared a number)."""
    data_fields = declared_properties(process, process.data_schema)
    for state in process.states.values():
        if state.limit is not None:
            yield from _limit_then(process, state.limit, state.id, f"step `{state.id}`", "the step itself")
            yield from _limit_times(process, state.limit, f"step `{state.id}`", data_fields)
    for transition in process.transitions:
        if transition.limit is not None:
            where = f"transition `{transition.trigger}`"
            yield from _limit_then(
                process, transition.limit, transition.dest, where, f"`{transition.dest}`, where it leads anyway"
            )
            yield from _limit_times(process, transition.limit, where, data_fields)


def _limit_times(process: Process, limit: Limit, what: str, data_fields: Mapping[str, Any] | None) -> Iterator[Problem]:
    if limit.times_from is None:
        return
    path = limit.path + ("times",)
    problems = list(expression_problems(process, path, limit.times_from, ("data",), {"data": data_fields}))
    yield from problems
    plain = plain_data_path(limit.times_from)
    if problems or plain is None or data_fields is None:
        return
    field = plain.group(1)[1:]
    kinds = schema_types(data_fields.get(field)) if "." not in field else set()
    if kinds and not kinds & {"integer", "number"}:
        yield error(
            process,
            path,
            "not-a-number",
            f"{what}: its limit counts `data.{field}` times, but that field is declared as "
            f"{' or '.join(sorted(kinds))}, not a whole number; declare it `type: integer, minimum: 1`",
        )


def _limit_then(process: Process, limit: Limit, pointless: str, what: str, said: str) -> Iterator[Problem]:
    if limit.then is None:
        return
    if limit.then not in process.states:
        yield from reference_problems(process, limit.path + ("then",), limit.then, process.states, "state")
    elif limit.then == pointless:
        yield error(
            process,
            limit.path + ("then",),
            "limit-goes-nowhere",
            f"{what}: its limit's `then` is {said}, so reaching the limit would change nothing; name the state "
            "the event goes to instead (an escalation), or leave `then` out to refuse the event",
        )


def check_sub_processes(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A step that starts another procedure: its ``on_end`` triggers leave the step, its data
    expressions read declared fields, and it is not the start step (nothing would start the child)."""
    data_fields = declared_properties(process, process.data_schema)
    for state in process.states.values():
        starts = state.starts
        if starts is None:
            continue
        if state.kind is StateKind.START:
            yield error(
                process,
                starts.path,
                "starts-on-start",
                f"state `{state.id}` is the start step: an instance is started, not entered, there, so it cannot "
                "start another procedure; put `starts` on the step after it",
                key=True,
            )
        if starts.process == process.id:
            yield error(
                process,
                starts.path + ("process",),
                "starts-itself",
                f"step `{state.id}` starts `{process.id}`, the procedure it belongs to: each instance would start "
                "another without end; name a different procedure",
            )
        for final, trigger in starts.on_end:
            if trigger not in state.triggers:
                yield from reference_problems(
                    process, starts.path + ("on_end", final), trigger, state.triggers, f"trigger of step `{state.id}`"
                )
        for name, text in starts.data:
            yield from expression_problems(
                process, starts.path + ("data", name), text, ("data",), {"data": data_fields}
            )


def check_children(process: Process, children: Mapping[str, Process | None]) -> list[Problem]:
    """The checks of ``starts`` that need the child's definition, for where every definition is known
    (a store's ``register``): ``children`` maps each process id named to its definition (``None``:
    not registered). The child must exist; ``on_end`` must name its final states and cover them all;
    ``as`` must be one of its roles; ``data`` and ``returns`` must name fields of its data."""
    problems: list[Problem] = []
    for state in process.states.values():
        starts = state.starts
        if starts is None:
            continue
        child = children.get(starts.process)
        if child is None:
            known = [name for name, found in children.items() if found is not None]
            problems.append(
                error(
                    process,
                    starts.path + ("process",),
                    "unknown-process",
                    f"step `{state.id}` starts `{starts.process}`, which is not registered in this store"
                    f"{did_you_mean(starts.process, known)}; register it first",
                )
            )
            continue
        finals = [s.id for s in child.states.values() if s.is_final]
        for final, _trigger in starts.on_end:
            if final not in finals:
                problems.append(
                    error(
                        process,
                        starts.path + ("on_end", final),
                        "unknown-reference",
                        f"`{final}` is not a final state of `{child.id}`{did_you_mean(final, finals)}"
                        f" — its final states: {', '.join(finals)}",
                        key=True,
                    )
                )
        uncovered = [f for f in finals if f not in dict(starts.on_end)]
        if uncovered:
            problems.append(
                error(
                    process,
                    starts.path + ("on_end",),
                    "on-end-incomplete",
                    f"step `{state.id}`: `{child.id}` may end in {', '.join(f'`{f}`' for f in uncovered)}, which "
                    "`on_end` does not name; say which trigger each end fires, or this step would wait for ever",
                    key=True,
                )
            )
        if starts.role is not None and starts.role not in child.roles:
            problems.append(
                error(
                    process,
                    starts.path + ("as",),
                    "unknown-reference",
                    f"`{starts.role}` is not a role of `{child.id}`{did_you_mean(starts.role, list(child.roles))}",
                )
            )
        child_fields = declared_properties(child, child.data_schema)
        if child_fields is None:
            continue
        for name, _text in starts.data:
            if name not in child_fields:
                problems.append(
                    error(
                        process,
                        starts.path + ("data", name),
                        "unknown-field",
                        f"`{name}` is not a field of `{child.id}`'s data{did_you_mean(name, child_fields)}",
                        key=True,
                    )
                )
        for name, field in starts.returns:
            if field not in child_fields:
                problems.append(
                    error(
                        process,
                        starts.path + ("returns", name),
                        "unknown-field",
                        f"`{field}` is not a field of `{child.id}`'s data{did_you_mean(field, child_fields)}",
                    )
                )
    return problems

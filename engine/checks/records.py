"""Records: what transitions write, the fields they take, and whether every path to a step that
requires a record writes it first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from engine.checks.support import (
    as_mapping,
    error,
    is_written,
    object_schema,
    reference_problems,
    text_at,
    warning,
    warning_on_item,
)
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import (
    Process,
    Record,
    RecordBinding,
    Transition,
)
from engine.schema_errors import did_you_mean
from engine.source import DocumentPath


def check_record_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    for transition in process.transitions:
        for binding in transition.produces:
            path = binding.path if text_at(process, binding.path) is not None else binding.path + ("record",)
            yield from reference_problems(process, path, binding.record, process.records, "record")
        if transition.requires:  # most require none: nothing to look up
            yield from _required_references(process, transition.path, transition.requires)
    for state in process.states.values():
        if state.requires:
            yield from _required_references(process, state.path, state.requires)


def _required_references(process: Process, path: DocumentPath, required: tuple[str, ...]) -> Iterator[Problem]:
    if is_written(process, path + ("requires", 0)):  # `requires: all` lists the declared records themselves
        for index, record in enumerate(required):
            yield from reference_problems(process, path + ("requires", index), record, process.records, "record")


def check_record_fields(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Each record a transition writes is filled from its payload: the fields it names are fields of
    both, every field the record requires comes from the payload, and the types agree."""
    writers = [*process.transitions, *(p.as_transition(s.id) for s in process.states.values() for p in s.parts)]
    for transition in writers:
        for binding in transition.produces:
            record = process.records.get(binding.record)
            if record is not None:
                yield from _binding_problems(process, transition, binding, record)


def _binding_problems(
    process: Process, transition: Transition, binding: RecordBinding, record: Record
) -> Iterator[Problem]:
    payload = object_schema(process, transition.payload_schema)
    fields = object_schema(process, record.fields)
    record_fields = as_mapping(fields.get("properties"))
    declared = {
        "payload": as_mapping(payload.get("properties")),
        "data": as_mapping(object_schema(process, process.data_schema).get("properties")),
    }
    what = f"transition `{transition.trigger}` {'amends' if binding.amend else 'produces'} record `{record.id}`"
    if binding.fields is None:
        sources = [(n, "payload", n) for n in declared["payload"] if n in record_fields or not record_fields]
    else:
        sources = []
        listed = text_at(process, binding.path + ("fields", 0)) is not None
        for index, (name, root, field) in enumerate(binding.fields):
            where = binding.path + ("fields", index if listed else name)
            if record_fields and name not in record_fields:
                yield error(
                    process,
                    where,
                    "record-field-unknown",
                    f"{what} with field `{name}`, but the record declares no field `{name}`"
                    + did_you_mean(name, record_fields),
                    key=not listed,
                )
            elif field not in declared[root]:
                yield error(
                    process,
                    where,
                    "record-field-unknown",
                    f"{what} with `{root}.{field}`, but the {root} schema declares no field `{field}`"
                    + did_you_mean(field, declared[root]),
                )
            else:
                sources.append((name, root, field))
    bound = {name: (root, field) for name, root, field in sources}
    if not binding.amend:
        required_in_payload = set(_strings(payload.get("required")))
        for name in _strings(fields.get("required")):
            if name not in bound:
                giver = "the payload" if binding.fields is None else "`fields`"
                hint = did_you_mean(name, declared["payload"]) if binding.fields is None else ""
                yield error(
                    process,
                    binding.path,
                    "record-field-missing",
                    f"{what}, which requires `{name}`, but {giver} gives no `{name}`{hint}; add it to {giver}"
                    + ("" if binding.fields is None else " (`payload.<field>` or `data.<field>`)"),
                )
            elif bound[name][0] == "payload" and bound[name][1] not in required_in_payload:
                yield warning(
                    process,
                    binding.path,
                    "record-field-optional",
                    f"{what}, which requires `{name}`, but the payload may leave `{bound[name][1]}` out (the event "
                    f"is then refused); add `{bound[name][1]}` to the payload's `required`",
                )
    for name, (root, field) in bound.items():
        if name in record_fields:
            problem = _type_mismatch(process, declared[root][field], record_fields[name])
            if problem is not None:
                yield error(process, binding.path, "record-field-type", f"{what}: `{root}.{field}` {problem}")


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, tuple) else []


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def _field_kinds(process: Process, schema: Any) -> tuple[set[str] | None, set[Any] | None]:
    """The JSON types a field schema accepts (``None``: any) and the values it is limited to, if any."""
    schema = object_schema(process, schema)
    values: set[Any] | None = None
    if "const" in schema:
        values = {_hashable(schema["const"])}
    elif isinstance(schema.get("enum"), tuple):
        values = {_hashable(v) for v in schema["enum"]}
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}, values
    if isinstance(declared, tuple):
        return {t for t in declared if isinstance(t, str)}, values
    if values is not None:
        return {_JSON_TYPES.get(type(v[1]) if isinstance(v, tuple) else type(v), "object") for v in values}, values
    return None, values


def _hashable(value: Any) -> Any:
    return value if type(value) in _JSON_TYPES else ("json", repr(value))


def _type_mismatch(process: Process, given: Any, wanted: Any) -> str | None:
    given_types, given_values = _field_kinds(process, given)
    wanted_types, wanted_values = _field_kinds(process, wanted)
    if wanted_types is not None:
        accepted = wanted_types | ({"integer"} if "number" in wanted_types else set())
        if given_types is None or not given_types <= accepted:
            shown = "any value" if given_types is None else " or ".join(f"`{t}`" for t in sorted(given_types))
            return f"is {shown}, but the record's field is " + " or ".join(f"`{t}`" for t in sorted(wanted_types))
    if wanted_values is not None and (given_values is None or not given_values <= wanted_values):
        return "may hold values the record's field does not allow (its `enum`/`const` is narrower)"
    return None


def check_required_records_on_paths(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Every path from the start to a step (or transition) that requires a record passes an event that
    writes it: otherwise the requirement refuses the instances that take that path."""
    start = process.start
    if start is None:
        return
    # (record, where the requirement is written, the state it is checked in, what requires it)
    wanted: list[tuple[str, DocumentPath, str, str]] = []
    for state in process.states.values():
        for index, record in enumerate(state.requires):
            wanted.append((record, _requires_path(process, state.path, index), state.id, f"step `{state.id}`"))
    for transition in process.transitions:
        what = f"transition `{transition.trigger}`"
        for index, record in enumerate(transition.requires):
            for source in transition.sources:
                wanted.append((record, _requires_path(process, transition.path, index), source, what))
        for binding in transition.produces:
            if binding.amend:
                for source in transition.sources:
                    wanted.append((binding.record, binding.path, source, f"{what} (it amends it)"))
    ways: _Ways | None = None  # listed at the first requirement: most definitions have none
    reached: dict[str, dict[str, str | None]] = {}  # record → each state reached without writing it, and from where
    for record, path, state_id, what in wanted:
        if record not in process.records or state_id not in process.states:
            continue
        if record not in reached:
            ways = ways if ways is not None else _ways(process)
            reached[record] = _reached_without(ways, start.id, record)
        route = _route(reached[record], state_id)
        if route is not None:
            # A warning, not an error: the graph ignores conditions, so the data may never take this
            # path. Where it does, the engine refuses the event (`missing-record`) and changes nothing.
            yield warning_on_item(
                process,
                path,
                "record-not-made",
                f"{what} requires record `{record}`, but no event writes it on the path "
                + " → ".join(f"`{s}`" for s in route)
                + "; an instance that comes that way is refused there. Produce it on the way, or require it later",
            )


def _requires_path(process: Process, path: DocumentPath, index: int) -> DocumentPath:
    item = path + ("requires", index)
    return item if is_written(process, item) else path + ("requires",)


_Ways = dict[str, list[tuple[str, frozenset[str]]]]
"""Each state's ways out: where each leads, and the records taking it writes."""


def _ways(process: Process) -> _Ways:
    """Each state's ways out, in the order the state graph has them: where each leads, and the records
    taking it writes (none for a branch). A cancellation is no way: it needs no record where it ends."""
    ways: _Ways = {}
    written_by: dict[int, frozenset[str]] = {}  # by transition: a shared one leaves many states
    for state in process.states.values():
        # A part always required that writes a record makes it before the step can be left.
        made_here = frozenset(
            b.record
            for p in state.parts
            if p.required and p.required_when is None and p.for_each is None
            for b in p.produces
        )
        out = ways[state.id] = []
        for transition in state.transitions:
            if transition.dest in process.states and not transition.cancels:
                written = written_by.get(id(transition))
                if written is None:
                    written = written_by[id(transition)] = frozenset(
                        b.record for b in transition.produces if not b.amend
                    )
                out.append((transition.dest, written | made_here if transition.dest != state.id else written))
        for branch in (*state.branches, *([state.default] if state.default else [])):
            if branch.dest in process.states:
                out.append((branch.dest, frozenset()))
    return ways


def _reached_without(ways: _Ways, start: str, record: str) -> dict[str, str | None]:
    """Each state reached from the start by ways that do not write ``record``, with the state it is first
    reached from (breadth-first, so by a shortest route; the start from none)."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for dest, written in ways[state]:
            if dest not in came_from and record not in written:
                came_from[dest] = state
                queue.append(dest)
    return came_from


def _route(came_from: dict[str, str | None], state: str) -> list[str] | None:
    """A shortest route from the start to ``state`` (``_reached_without``), or ``None``. (An instance starts
    holding no records, so a start that requires one is on a route of its own.)"""
    if state not in came_from:
        return None
    route = [state]
    while (previous := came_from[route[-1]]) is not None:
        route.append(previous)
    return route[::-1]


def check_unbound_records(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Once a definition binds records to transitions, a step that only lists a record under
    ``produces`` keeps nothing: say where the binding is missing."""
    if not any(t.produces for t in process.transitions):
        return  # a definition in the earlier language: its `produces` are labels, as they always were
    for state in process.states.values():
        bound = {b.record for t in state.transitions for b in t.produces}
        bound |= {b.record for p in state.parts for b in p.produces}
        for index, record in enumerate(state.produces):
            if record in process.records and record not in bound:
                yield warning(
                    process,
                    state.path + ("produces", index),
                    "unbound-record",
                    f"step `{state.id}` lists record `{record}` under `produces`, but none of its transitions "
                    f"writes it, so no `{record}` is kept; add `produces: [{record}]` to the transition whose "
                    "form fills it in",
                )

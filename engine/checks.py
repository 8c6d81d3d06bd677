"""Static checks on a definition model: references, expressions, time limits and the state graph.

One small function per check; each yields ``Problem``s that name the offending ids and where they
are written. ``check_process`` runs them all, so a file's every problem is reported at once.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from engine.digraph import Digraph
from engine.errors import ExpressionError, ExpressionSyntaxError, Problem, Severity, UnresolvableReference
from engine.expressions import MAX_NUMBER, NOW, compile_expression
from engine.fragments import date_fields
from engine.messages import parse_message
from engine.model import (
    ClockPoint,
    DataLimit,
    Deadline,
    FrozenJson,
    Limit,
    Notification,
    Part,
    Process,
    Record,
    RecordBinding,
    State,
    StateKind,
    Transition,
)
from engine.pointers import follow, holds, lookup, resolve
from engine.schema import did_you_mean, zero_time_limit
from engine.source import DocumentPath
from engine.timing import limit_problem, order_problems

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


# --- references -------------------------------------------------------------------------------------


def check_single_start(process: Process, graph: Digraph) -> Iterator[Problem]:
    starts = [s for s in process.states.values() if s.kind is StateKind.START]
    if not starts:
        yield _error(
            process, ("states",), "no-start", "there is no start state; mark the first step `type: start`", key=True
        )
    for extra in starts[1:]:
        yield _error(
            process,
            extra.path + ("type",),
            "two-starts",
            f"state `{extra.id}` is a second start state (the first is `{starts[0].id}`); a process has one start",
        )


def check_state_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        for transition in _own_transitions(state):
            yield from _reference(process, transition.path + ("dest",), transition.dest, process.states, "state")
        for branch in (*state.branches, *([state.default] if state.default else [])):
            yield from _reference(process, branch.path + ("dest",), branch.dest, process.states, "state")
        for index, record in enumerate(state.produces):
            yield from _reference(process, state.path + ("produces", index), record, process.records, "record")
    for transition in process.shared_transitions:
        yield from _reference(process, transition.path + ("dest",), transition.dest, process.states, "state")
        if _written(process, transition.path + ("source", 0)):  # a list, not `"*"`
            for index, source in enumerate(transition.sources):
                yield from _reference(process, transition.path + ("source", index), source, process.states, "state")
        for index, source in enumerate(transition.sources):
            if source in process.states and process.states[source].is_final:
                yield _error(
                    process,
                    transition.path + ("source", index),
                    "leaves-final",
                    f"transition `{transition.trigger}` leaves the final state `{source}`; "
                    "nothing may leave a final state",
                )


def check_role_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    owners = {**process.departments, **process.roles}
    yield from _reference(process, ("owner",), process.owner, owners, "department or role")
    for role in process.roles.values():
        if role.department is not None:
            yield from _reference(
                process, role.path + ("department",), role.department, process.departments, "department"
            )
    for state in process.states.values():
        if state.role is not None:
            yield from _reference(process, state.path + ("role",), state.role, process.roles, "role")
    for transition in process.transitions:
        if _written(process, transition.path + ("roles",)):
            for index, role_id in enumerate(transition.roles):
                yield from _reference(process, transition.path + ("roles", index), role_id, process.roles, "role")
        elif not transition.roles:
            yield _error(
                process,
                transition.path,
                "nobody-may-fire",
                f"transition `{transition.trigger}`: nobody may fire it; add `roles: [...]` "
                "or give the state it leaves a `role`",
            )
        for signoff in transition.signoffs:
            yield from _reference(process, signoff.path + ("role",), signoff.role, process.roles, "role")
            for index, state_id in enumerate(signoff.not_actor_of):
                yield from _reference(
                    process, signoff.path + ("not_actor_of", index), state_id, process.states, "state"
                )

    for index, role_id in enumerate(process.administrators):
        yield from _reference(process, ("administrators", index), role_id, process.roles, "role")


def check_cancellations(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A transition that cancels the case ends it, and says why: its `dest` is a final state and its
    form requires a `reason`."""
    for transition in process.transitions:
        if not transition.cancels:
            continue
        dest = process.states.get(transition.dest)
        if dest is not None and dest.kind is not StateKind.FINAL:
            yield _error(
                process,
                transition.path + ("dest",),
                "cancel-not-final",
                f"transition `{transition.trigger}` cancels the case, so it must end it: `{transition.dest}` is not "
                "a final state; lead it to one (e.g. `withdrawn`, with `type: final`)",
            )
        if "reason" not in _required(process, transition.payload_schema):
            yield _error(
                process,
                transition.path + (("payload",) if _written(process, transition.path + ("payload",)) else ()),
                "cancel-without-reason",
                f"transition `{transition.trigger}` cancels the case, so its form must require a `reason`: "
                "add `payload: {type: object, required: [reason], properties: {reason: {type: string, minLength: 1}}}`",
            )


def check_source_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    owners: list[State | Record] = [*process.states.values(), *process.records.values()]
    for owner in owners:
        if owner.source is not None:
            yield from _reference(
                process, owner.path + ("source", "document"), owner.source.document, process.sources, "source document"
            )


def check_zero_time_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """``PT0M`` fits the schema's ISO 8601 pattern but is no time at all (``0m`` the schema refuses)."""
    for state in process.states.values():
        written = [state.path + ("time_limit",)] if state.time_limit is None else []
        written += [d.path + ("after",) for d in state.deadlines if d.after is None]
        for path in written:
            text = _get_text(process, path)
            if text is not None:
                yield _error(process, path, "zero-time-limit", zero_time_limit(text))


def _get_text(process: Process, path: DocumentPath) -> str | None:
    """The text written at ``path`` in the definition, if there is text there."""
    node = lookup(process.document, path)
    return node if isinstance(node, str) else None


def check_deadlines(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        for deadline in state.deadlines:
            if (
                deadline.after is None
                and deadline.after_from is None
                and _get_text(process, deadline.path + ("after",)) is None
            ):
                yield _error(
                    process,
                    deadline.path,
                    "deadline-without-time",
                    f"state `{state.id}`: this deadline has no `after` and the state has no `time_limit`; "
                    "say when it fires",
                )
            yield from _reference(
                process, deadline.path + ("fire",), deadline.fire, state.triggers, f"trigger of state `{state.id}`"
            )
            for transition in state.transitions:
                if transition.trigger == deadline.fire:
                    yield from _deadline_trigger_problems(process, deadline, transition)


def _deadline_trigger_problems(process: Process, deadline: Deadline, transition: Transition) -> Iterator[Problem]:
    """The engine fires a deadline's trigger itself, with no payload and no one to sign."""
    required = _required_fields(transition.payload_schema)
    if transition.signoffs:
        roles = ", ".join(f"`{s.role}`" for s in transition.signoffs)
        yield _error(
            process,
            deadline.path + ("fire",),
            "deadline-needs-person",
            f"the engine fires `{deadline.fire}` itself when the time passes, but it needs a signature "
            f"({roles}); fire a trigger without `signoffs`",
        )
    if required:
        yield _error(
            process,
            deadline.path + ("fire",),
            "deadline-needs-person",
            f"the engine fires `{deadline.fire}` itself when the time passes, with no payload, but its "
            f"payload requires {', '.join(f'`{name}`' for name in required)}; fire a trigger whose payload "
            "requires nothing",
        )


def _required_fields(schema: FrozenJson | None) -> tuple[str, ...]:
    if isinstance(schema, Mapping):
        required = schema.get("required")
        if isinstance(required, tuple):
            return tuple(str(name) for name in required)
    return ()


def check_calendar(process: Process, graph: Digraph) -> Iterator[Problem]:
    calendar = process.calendar
    try:
        zoneinfo.ZoneInfo(calendar.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        yield _error(
            process,
            ("calendar", "timezone"),
            "unknown-timezone",
            f"`{calendar.timezone}` is not a known time zone; write an IANA name such as `Asia/Shanghai`",
        )
    previous_end = None
    for index, (start, end) in enumerate(calendar.working_hours):
        if start >= end:
            yield _error(
                process, ("calendar", "working_hours", index), "bad-hours", "a working period must end after it starts"
            )
        elif previous_end is not None and start < previous_end:
            yield _error(
                process,
                ("calendar", "working_hours", index),
                "bad-hours",
                "working periods must be in order and must not overlap",
            )
        previous_end = end
    for day in sorted(calendar.holidays & calendar.extra_working_days):
        yield _error(
            process,
            ("calendar", "extra_working_days"),
            "holiday-and-workday",
            f"{day} is listed both as a holiday and as an extra working day",
        )


def check_limit_lengths(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Every time limit must be one the runtime can count: see ``engine.timing.limit_problem``."""
    for state in process.states.values():
        limits = [(state.path + ("time_limit",), state.time_limit)]
        limits += [(d.path + ("after",), d.after) for d in state.deadlines if _written(process, d.path + ("after",))]
        for path, limit in limits:
            problem = None if limit is None else limit_problem(limit, process.calendar)
            if problem is not None:
                yield _error(process, path, "limit-too-long", f"state `{state.id}`: {problem}; write a shorter one")


# --- expressions --------------------------------------------------------------------------------------


def check_expressions(process: Process, graph: Digraph) -> Iterator[Problem]:
    data_fields = _properties(process, process.data_schema)
    for state in process.states.values():
        for branch in state.branches:
            if branch.condition is not None:
                yield from _expression(
                    process, branch.path + ("when",), branch.condition, ("data",), {"data": data_fields}
                )
    for transition in process.transitions:
        scope = {"data": data_fields, "payload": _properties(process, transition.payload_schema)}
        conditions_path = transition.path + ("conditions",)
        for index, condition in enumerate(transition.conditions):
            path = conditions_path + (index,) if _written(process, conditions_path + (index,)) else conditions_path
            yield from _expression(process, path, condition, ("data", "payload"), scope)
        for assignment in transition.assignments:
            if data_fields is not None and assignment.field not in data_fields:
                yield _error(
                    process,
                    assignment.path,
                    "unknown-field",
                    f"transition `{transition.trigger}` sets `{assignment.field}`, which is not a field "
                    f"under `data.properties`{did_you_mean(assignment.field, data_fields)}",
                    key=True,
                )
            if assignment.expression is not None:
                yield from _expression(process, assignment.path, assignment.expression, ("data", "payload"), scope)
            elif _out_of_range(assignment.constant):
                yield _error(
                    process,
                    assignment.path,
                    "number-too-large",
                    f"transition `{transition.trigger}` sets `{assignment.field}` to {assignment.constant}, past the "
                    f"largest number an instance keeps (±{MAX_NUMBER:,}); write a smaller number or quote it as text",
                )


_PLAIN_DATA_PATH = re.compile(r"^\s*data((?:\.[a-z][a-z0-9_]*)+)\s*$")
_LIMIT_KEYS = {
    ("minute", False): "minutes",
    ("hour", False): "hours",
    ("day", False): "days",
    ("week", False): "weeks",
    ("day", True): "working_days",
    ("hour", True): "working_hours",
}


def check_data_time_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A time limit from the data reads fields that exist; ``at`` reads a field declared as a date."""
    data_fields = _properties(process, process.data_schema)
    dates = date_fields(process.document, process.data_schema, "data")
    limits: list[tuple[str, DataLimit | None]] = []
    for state in process.states.values():
        found = [state.time_limit_from] + [d.after_from for d in state.deadlines if _written_limit(process, d)]
        limits += [(f"state `{state.id}`", limit) for limit in found]
    for clock in process.clocks.values():
        limits += [(f"clock `{clock.id}`", limit) for _, limit in clock.from_data]
    for owner, limit in limits:
        if limit is None:
            continue
        forms = [key for key in ("at", *_LIMIT_KEYS.values()) if _written(process, limit.path + (key,))]
        before = limit.unit is not None and _written(process, limit.path + ("before",))
        if len(forms) > 1 or before:
            first = "`at` (with `before` if needed), "
            yield _error(
                process,
                limit.path,
                "time-limit-forms",
                f"{owner}: a time limit from the data is one of {first}"
                f"`minutes`, `hours`, `days`, `weeks`, `working_days` or `working_hours`; this one writes "
                + ", ".join(f"`{key}`" for key in [*forms, *(["before"] if before else [])]),
            )
            continue
        yield from _data_time_limit(process, owner, limit, data_fields, dates)


def _written_limit(process: Process, deadline: Deadline) -> bool:
    return deadline.after_from is not None and _written(process, deadline.after_from.path)


def _data_time_limit(
    process: Process,
    owner: str,
    limit: DataLimit,
    data_fields: Mapping[str, Any] | None,
    dates: Mapping[tuple[str, ...], str],
) -> Iterator[Problem]:
    key = "at" if limit.unit is None else _LIMIT_KEYS[(limit.unit, limit.working)]
    path = limit.path + (key,)
    problems = list(_expression(process, path, limit.expression, ("data",), {"data": data_fields}))
    yield from problems
    plain = _PLAIN_DATA_PATH.match(limit.expression)
    if problems or plain is None or data_fields is None:
        return
    chain = ("data", *plain.group(1)[1:].split("."))
    shown = ".".join(chain)
    if limit.unit is None and chain not in dates:
        yield _error(
            process,
            path,
            "not-a-date",
            f"{owner}: the time limit is due at `{shown}`, which is not declared as a date; "
            "give it `format: date` (a day) or `format: date-time` (a moment) in the data schema",
        )
    elif limit.unit is not None and len(chain) == 2:
        kinds = _types(data_fields.get(chain[1]))
        if kinds and not kinds & {"integer", "number"}:
            yield _error(
                process,
                path,
                "not-a-number",
                f"{owner}: the time limit counts `{shown}` {key.replace('_', ' ')}, but that field is "
                f"declared as {' or '.join(sorted(kinds))}, not a number",
            )


def _types(schema: Any) -> set[str]:
    written = schema.get("type") if isinstance(schema, Mapping) else None
    if isinstance(written, str):
        return {written}
    return {str(t) for t in written} if isinstance(written, tuple) else set()


def _out_of_range(constant: object) -> bool:
    return isinstance(constant, (int, float)) and not isinstance(constant, bool) and abs(constant) > MAX_NUMBER


def _expression(
    process: Process,
    path: DocumentPath,
    text: str,
    roots: tuple[str, ...],
    fields: Mapping[str, Mapping[str, Any] | None],
) -> Iterator[Problem]:
    try:
        expression = compile_expression(text, roots)
    except ExpressionSyntaxError as exc:
        yield Problem(process.source_map.locate_within(path, exc.offset), exc.message, code="expression")
        return
    for chain in sorted(expression.paths):
        if len(chain) < 2:
            continue
        root, name = chain[0], chain[1]
        known = fields.get(root)
        if known is not None and name in known:
            continue
        place = process.source_map.locate_within(path, _offset_of(text, root, name))
        if known is None:
            if root == "payload":
                yield Problem(
                    place,
                    f"`{root}.{name}`: this transition takes no payload; declare `payload:` with the fields it reads",
                    code="unknown-field",
                )
            continue
        where = "`data.properties`" if root == "data" else "this transition's `payload.properties`"
        yield Problem(
            place, f"`{root}.{name}` is not declared under {where}{did_you_mean(name, known)}", code="unknown-field"
        )


def check_optional_copies(process: Process, graph: Digraph) -> Iterator[Problem]:
    """``set: {model: payload.model}`` where the payload may leave ``model`` out and the data field does
    not allow null: every event that leaves it out would be refused when the data is checked."""
    data_fields = _properties(process, process.data_schema)
    if not data_fields:
        return
    for transition in process.transitions:
        payload_fields = _properties(process, transition.payload_schema) or {}
        required = _required(process, transition.payload_schema)
        for assignment in transition.assignments:
            copied = _COPY.match(assignment.expression or "")
            if copied is None or assignment.if_present:
                continue
            name = copied.group(1)
            if name not in payload_fields or name in required or assignment.field not in data_fields:
                continue
            if _allows_null(data_fields[assignment.field]):
                continue
            yield _warning(
                process,
                assignment.path,
                "optional-copied",
                f"transition `{transition.trigger}` sets `{assignment.field}` from `payload.{name}`, which the "
                f"payload may leave out; `data.{assignment.field}` does not allow null, so an event without "
                f"`{name}` would be refused — add `{name}` to the payload's `required`, or allow null in "
                f"`data.properties.{assignment.field}`",
            )


_COPY = re.compile(r"^\s*payload\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


def _required(process: Process, schema: FrozenJson | None, seen: frozenset[str] = frozenset()) -> frozenset[str]:
    """The top-level properties a schema requires, following ``allOf`` and references into the definition."""
    if schema is None or not isinstance(schema, Mapping):
        return frozenset()
    found = set(_required_fields(schema))
    parts = schema.get("allOf")
    for part in parts if isinstance(parts, tuple) else ():
        found |= _required(process, part, seen)
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        found |= _required(process, _target(process, ref), seen | {ref})
    return frozenset(found)


def _allows_null(schema: Any) -> bool:
    """Whether a field's schema lets it hold null; a schema this cannot tell counts as allowing it."""
    if not isinstance(schema, Mapping):
        return True
    if "type" in schema:
        kinds = schema["type"]
        return "null" in (kinds if isinstance(kinds, tuple) else (kinds,))
    if "enum" in schema and isinstance(schema["enum"], tuple):
        return None in schema["enum"]
    if "const" in schema:
        return schema["const"] is None
    return True


def _properties(
    process: Process, schema: FrozenJson | None, seen: frozenset[str] = frozenset()
) -> Mapping[str, Any] | None:
    """The top-level properties a schema declares, following ``allOf`` and references into the definition."""
    if schema is None or not isinstance(schema, Mapping):  # None first: most transitions take no payload
        return None
    properties = schema.get("properties")
    found: dict[str, Any] = dict(properties) if isinstance(properties, Mapping) else {}
    parts = schema.get("allOf")
    for part in parts if isinstance(parts, tuple) else ():
        found.update(_properties(process, part, seen) or {})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        found.update(_properties(process, _target(process, ref), seen | {ref}) or {})
    return found


def _target(process: Process, ref: str) -> FrozenJson | None:
    """What a ``$ref`` into the definition names; ``None`` for one that names nothing there (reported
    as `unresolvable-ref`) or points elsewhere (the JSON Schema specifications)."""
    try:
        target: FrozenJson = resolve(process.document, ref)
    except UnresolvableReference:
        return None
    return target


def _offset_of(text: str, root: str, name: str) -> int | None:
    """Where ``root.name`` is written as a whole name (not the start of ``root.names``)."""
    match = re.search(rf"\b{re.escape(root)}\s*\.\s*{re.escape(name)}\b", text)
    return match.start() if match else None


# --- the graph ------------------------------------------------------------------------------------------


def check_reachable(process: Process, graph: Digraph) -> Iterator[Problem]:
    start = process.start
    if start is None:
        return
    reached = graph.reach([start.id])
    for state in process.states.values():
        if state.id not in reached:
            yield _error(
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
            yield _error(
                process,
                state.path,
                "dead-end",
                f"state `{state.id}` has no way out; give it transitions, or make it `type: final`",
                key=True,
            )


def check_final_reachable(process: Process, graph: Digraph) -> Iterator[Problem]:
    finals = {s.id for s in process.states.values() if s.is_final}
    if not finals:
        yield _error(process, ("states",), "no-final", "there is no final state; add one with `type: final`", key=True)
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
            yield _error(
                process, state.path, "trap", f"from state `{state.id}` no final state can be reached; {where}", key=True
            )


def check_decision_defaults(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        if state.kind is StateKind.DECISION and state.default is None:
            yield _error(
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
        yield _error(
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
                        yield _error(
                            process,
                            later.path + ("trigger",),
                            "ambiguous",
                            f"state `{state.id}` has two transitions on `{trigger}` that no condition "
                            "tells apart; give each a different `conditions`, or rename one trigger",
                        )
                        break


# --- warnings: legal, but probably not what the owner meant ------------------------------------------


def check_unused(process: Process, graph: Digraph) -> Iterator[Problem]:
    used_roles = {process.owner}
    used_roles |= {s.role for s in process.states.values() if s.role}
    used_roles |= {r for t in process.transitions for r in t.roles}
    used_roles |= {s.role for t in process.transitions for s in t.signoffs}
    used_roles |= {r for s in process.states.values() for p in s.parts for r in p.roles}
    # A role that is only told of something (the service manager hears of every car that comes in) is used.
    told = [n for s in process.states.values() for n in s.notify] + [n for t in process.transitions for n in t.notify]
    used_roles |= {r for n in told for r in n.roles}
    used_roles |= {r for c in process.clocks.values() for _, action in c.thresholds.values() for r in action.notify}
    used_roles |= set(process.administrators)
    for role in process.roles.values():
        if role.id not in used_roles:
            yield _warning(
                process,
                role.path,
                "unused-role",
                f"role `{role.id}` is declared but no step, transition, sign-off, notification or `administrators` "
                "uses it",
            )
    produced = {r for s in process.states.values() for r in s.records_written}
    for record in process.records.values():
        if record.id not in produced:
            yield _warning(
                process,
                record.path,
                "unproduced-record",
                f"record `{record.id}` is declared but no state lists it under `produces` and no transition writes it",
            )


def check_field_names(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A glossary entry no form, record or ``data`` uses is a leftover or a misspelt key."""
    if not process.fields:
        return
    used = schema_field_names(process.document)
    for name in process.fields.values():
        if name.id not in used:
            hint = did_you_mean(name.id, sorted(used))
            yield _warning(
                process,
                name.path,
                "unused-field-name",
                f"field name `{name.id}` is in `fields` but no form (`payload`), record or `data` has such a field"
                f"{hint}",
            )


def schema_field_names(document: FrozenJson) -> frozenset[str]:
    """Every key under a ``properties`` anywhere in the definition: the fields of its forms, records
    and data, nested ones too (a ``$ref`` points at one of these, so it needs no resolving)."""
    found: set[str] = set()
    pending: list[Any] = [document]
    while pending:
        node = pending.pop()
        kind = type(node)  # a frozen document holds only these; exact types, as the Mapping ABC is slow
        if kind is MappingProxyType or kind is dict:
            properties = node.get("properties")
            if type(properties) is MappingProxyType or type(properties) is dict:
                found.update(properties)
            pending.extend(node.values())
        elif kind is tuple or kind is list:
            pending.extend(node)
    return frozenset(found)


def check_sources_cited(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        if state.source is None and state.addition is None and state.kind is not StateKind.FINAL:
            yield _warning(
                process,
                state.path,
                "no-source",
                f"state `{state.id}` does not cite its `source` section; auditors hold each step against the "
                "document (a step no document names is declared with `addition: {zh: ..., en: ...}`, saying why)",
            )


# --- additions and notifications --------------------------------------------------------------------


def check_additions(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A step either cites the document it comes from or is declared an addition, never both."""
    for state in process.states.values():
        if state.addition is not None and state.source is not None:
            yield _error(
                process,
                state.path + ("addition",),
                "addition-with-source",
                f"state `{state.id}` cites `source` {state.source.section!r} and is declared an `addition`; "
                "keep `source` if the document names this step, or `addition` (and no `source`) if it does not",
                key=True,
            )


def check_notifications(process: Process, graph: Digraph) -> Iterator[Problem]:
    data_fields = _properties(process, process.data_schema)
    for state in process.states.values():
        for notification in state.notify:
            yield from _notification(process, notification, {"data": data_fields}, f"state `{state.id}`")
    for transition in process.transitions:
        scope = {"data": data_fields, "payload": _properties(process, transition.payload_schema)}
        for notification in transition.notify:
            yield from _notification(process, notification, scope, f"transition `{transition.trigger}`")


def _notification(
    process: Process, notification: Notification, fields: Mapping[str, Mapping[str, Any] | None], owner: str
) -> Iterator[Problem]:
    for index, role in enumerate(notification.roles):
        yield from _reference(process, notification.path + ("roles", index), role, process.roles, "role")
    for language in ("zh", "en"):
        path = notification.path + ("text", language)
        text = getattr(notification.text, language)
        try:
            message = parse_message(text)
        except ExpressionSyntaxError as exc:
            yield Problem(process.source_map.locate_within(path, exc.offset), exc.message, code="notification-text")
            continue
        for placeholder in message.placeholders:
            name = placeholder.fields[0]
            known = fields.get(placeholder.root)
            if known is not None and name in known:
                continue
            place = process.source_map.locate_within(path, placeholder.offset)
            if placeholder.root not in fields:
                yield Problem(
                    place,
                    f"`{{{placeholder.name}}}`: a notification on entering a state reads only `data` "
                    "(the payload of the event that entered it is not known here); "
                    "copy the field into the data with `set:`, or notify on the transition",
                    code="unknown-field",
                )
                continue
            if known is None:
                if placeholder.root == "payload":
                    yield Problem(
                        place,
                        f"`{{{placeholder.name}}}`: {owner} takes no payload; declare `payload:` with the fields "
                        "its notification reads",
                        code="unknown-field",
                    )
                continue
            where = "`data.properties`" if placeholder.root == "data" else f"the `payload.properties` of {owner}"
            yield Problem(
                place,
                f"the notification of {owner} names `{{{placeholder.name}}}`, but `{name}` is not declared "
                f"under {where}{did_you_mean(name, known)}",
                code="unknown-field",
            )


def check_signoff_order(process: Process, graph: Digraph) -> Iterator[Problem]:
    for transition in process.transitions:
        for signoff in transition.signoffs:
            for index, state_id in enumerate(signoff.not_actor_of):
                state = process.states.get(state_id)
                if state is None:
                    continue
                if state.kind is StateKind.DECISION:
                    yield _error(
                        process,
                        signoff.path + ("not_actor_of", index),
                        "no-actor",
                        f"`{state_id}` is a decision, which the engine takes itself; name a step someone performs",
                    )
                elif not any(
                    state_id in graph.reach([source], backwards=True)
                    for source in transition.sources
                    if source in graph
                ):
                    yield _warning(
                        process,
                        signoff.path + ("not_actor_of", index),
                        "signoff-order",
                        f"`{state_id}` never comes before `{transition.trigger}`, so this rule can never apply",
                    )


# --- records: what transitions write, and what steps require -----------------------------------------


def check_record_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    for transition in process.transitions:
        for binding in transition.produces:
            path = binding.path if _get_text(process, binding.path) is not None else binding.path + ("record",)
            yield from _reference(process, path, binding.record, process.records, "record")
        yield from _required_references(process, transition.path, transition.requires)
    for state in process.states.values():
        yield from _required_references(process, state.path, state.requires)


def _required_references(process: Process, path: DocumentPath, required: tuple[str, ...]) -> Iterator[Problem]:
    if _written(process, path + ("requires", 0)):  # `requires: all` lists the declared records themselves
        for index, record in enumerate(required):
            yield from _reference(process, path + ("requires", index), record, process.records, "record")


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
    payload = _object_schema(process, transition.payload_schema)
    fields = _object_schema(process, record.fields)
    record_fields = _mapping(fields.get("properties"))
    declared = {
        "payload": _mapping(payload.get("properties")),
        "data": _mapping(_object_schema(process, process.data_schema).get("properties")),
    }
    what = f"transition `{transition.trigger}` {'amends' if binding.amend else 'produces'} record `{record.id}`"
    if binding.fields is None:
        sources = [(n, "payload", n) for n in declared["payload"] if n in record_fields or not record_fields]
    else:
        sources = []
        listed = _get_text(process, binding.path + ("fields", 0)) is not None
        for index, (name, root, field) in enumerate(binding.fields):
            where = binding.path + ("fields", index if listed else name)
            if record_fields and name not in record_fields:
                yield _error(
                    process,
                    where,
                    "record-field-unknown",
                    f"{what} with field `{name}`, but the record declares no field `{name}`"
                    + did_you_mean(name, record_fields),
                    key=not listed,
                )
            elif field not in declared[root]:
                yield _error(
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
                yield _error(
                    process,
                    binding.path,
                    "record-field-missing",
                    f"{what}, which requires `{name}`, but {giver} gives no `{name}`{hint}; add it to {giver}"
                    + ("" if binding.fields is None else " (`payload.<field>` or `data.<field>`)"),
                )
            elif bound[name][0] == "payload" and bound[name][1] not in required_in_payload:
                yield _warning(
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
                yield _error(process, binding.path, "record-field-type", f"{what}: `{root}.{field}` {problem}")


def _object_schema(process: Process, schema: FrozenJson | None) -> Mapping[str, Any]:
    """A fragment with its top-level ``$ref``s into the definition followed; ``{}`` when they lead to
    nothing, or only back to themselves (both reported as they load)."""
    try:
        target = follow(process.document, schema)[-1]
    except UnresolvableReference:
        return {}
    return target if isinstance(target, Mapping) and not isinstance(target.get("$ref"), str) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, tuple) else []


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def _field_kinds(process: Process, schema: Any) -> tuple[set[str] | None, set[Any] | None]:
    """The JSON types a field schema accepts (``None``: any) and the values it is limited to, if any."""
    schema = _object_schema(process, schema)
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
    without: dict[str, Digraph] = {}
    for record, path, state_id, what in wanted:
        if record not in process.records or state_id not in process.states:
            continue
        if record not in without:
            without[record] = _graph_without(process, record)
        route = _route(without[record], start.id, state_id)
        if route is not None:
            # A warning, not an error: the graph ignores conditions, so the data may never take this
            # path. Where it does, the engine refuses the event (`missing-record`) and changes nothing.
            yield _warning_at(
                process,
                path,
                "record-not-made",
                f"{what} requires record `{record}`, but no event writes it on the path "
                + " → ".join(f"`{s}`" for s in route)
                + "; an instance that comes that way is refused there. Produce it on the way, or require it later",
            )


def _requires_path(process: Process, path: DocumentPath, index: int) -> DocumentPath:
    item = path + ("requires", index)
    return item if _written(process, item) else path + ("requires",)


def _graph_without(process: Process, record: str) -> Digraph:
    """The state graph with only the edges that can be taken without writing ``record``."""
    graph = Digraph(process.states)
    for state in process.states.values():
        # A part always required that writes the record makes it before the step can be left.
        made_here = any(
            b.record == record
            for p in state.parts
            if p.required and p.required_when is None and p.for_each is None
            for b in p.produces
        )
        for transition in state.transitions:
            if (
                transition.dest in process.states
                and not transition.cancels  # a cancellation needs no record where it ends
                and not any(b.record == record and not b.amend for b in transition.produces)
                and not (made_here and transition.dest != state.id)
            ):
                graph.add_edge(state.id, transition.dest)
        for branch in (*state.branches, *([state.default] if state.default else [])):
            if branch.dest in process.states:
                graph.add_edge(state.id, branch.dest)
    return graph


def _route(graph: Digraph, start: str, state: str) -> list[str] | None:
    """A shortest path from the start to ``state`` on ``graph``, or ``None``. (An instance starts
    holding no records, so a start that requires one is on a path of its own.)"""
    return graph.shortest_path(start, state)


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
                yield _warning(
                    process,
                    state.path + ("produces", index),
                    "unbound-record",
                    f"step `{state.id}` lists record `{record}` under `produces`, but none of its transitions "
                    f"writes it, so no `{record}` is kept; add `produces: [{record}]` to the transition whose "
                    "form fills it in",
                )


# --- loops and sub-procedures ---------------------------------------------------------------------


def check_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A limit's ``then`` names a declared state that is not where the event would go anyway; a ``times``
    from the data reads declared fields (a plain field is declared a number)."""
    data_fields = _properties(process, process.data_schema)
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
    problems = list(_expression(process, path, limit.times_from, ("data",), {"data": data_fields}))
    yield from problems
    plain = _PLAIN_DATA_PATH.match(limit.times_from)
    if problems or plain is None or data_fields is None:
        return
    field = plain.group(1)[1:]
    kinds = _types(data_fields.get(field)) if "." not in field else set()
    if kinds and not kinds & {"integer", "number"}:
        yield _error(
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
        yield from _reference(process, limit.path + ("then",), limit.then, process.states, "state")
    elif limit.then == pointless:
        yield _error(
            process,
            limit.path + ("then",),
            "limit-goes-nowhere",
            f"{what}: its limit's `then` is {said}, so reaching the limit would change nothing; name the state "
            "the event goes to instead (an escalation), or leave `then` out to refuse the event",
        )


def check_sub_processes(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A step that starts another procedure: its ``on_end`` triggers leave the step, its data
    expressions read declared fields, and it is not the start step (nothing would start the child)."""
    data_fields = _properties(process, process.data_schema)
    for state in process.states.values():
        starts = state.starts
        if starts is None:
            continue
        if state.kind is StateKind.START:
            yield _error(
                process,
                starts.path,
                "starts-on-start",
                f"state `{state.id}` is the start step: an instance is started, not entered, there, so it cannot "
                "start another procedure; put `starts` on the step after it",
                key=True,
            )
        if starts.process == process.id:
            yield _error(
                process,
                starts.path + ("process",),
                "starts-itself",
                f"step `{state.id}` starts `{process.id}`, the procedure it belongs to: each instance would start "
                "another without end; name a different procedure",
            )
        for final, trigger in starts.on_end:
            if trigger not in state.triggers:
                yield from _reference(
                    process, starts.path + ("on_end", final), trigger, state.triggers, f"trigger of step `{state.id}`"
                )
        for name, text in starts.data:
            yield from _expression(process, starts.path + ("data", name), text, ("data",), {"data": data_fields})


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
                _error(
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
                    _error(
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
                _error(
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
                _error(
                    process,
                    starts.path + ("as",),
                    "unknown-reference",
                    f"`{starts.role}` is not a role of `{child.id}`{did_you_mean(starts.role, list(child.roles))}",
                )
            )
        child_fields = _properties(child, child.data_schema)
        if child_fields is None:
            continue
        for name, _text in starts.data:
            if name not in child_fields:
                problems.append(
                    _error(
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
                    _error(
                        process,
                        starts.path + ("returns", name),
                        "unknown-field",
                        f"`{field}` is not a field of `{child.id}`'s data{did_you_mean(field, child_fields)}",
                    )
                )
    return problems


# --- clocks ------------------------------------------------------------------------------------------


def check_clock_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Every state, trigger and role a clock names is declared; a trigger its points fire needs no person."""
    triggers = {t.trigger: t for t in process.transitions}
    for clock in process.clocks.values():
        if clock.source is not None:
            yield from _reference(
                process, clock.path + ("source", "document"), clock.source.document, process.sources, "source document"
            )
        for key, point in (("starts", clock.starts), ("stops", clock.stops)):
            for part in ("enter", "leave"):
                for i, name in enumerate(getattr(point, part)):
                    yield from _reference(process, clock.path + (key, part, i), name, process.states, "state")
            for i, name in enumerate(point.on):
                yield from _reference(process, clock.path + (key, "on", i), name, triggers, "trigger")
                leaving = sorted({s for t in process.transitions if t.trigger == name for s in t.sources})
                if len(leaving) > 1 and not any(t.shared and t.trigger == name for t in process.transitions):
                    yield _warning(
                        process,
                        clock.path + (key, "on", i),
                        "clock-trigger-several-states",
                        f"clock `{clock.id}`: `{name}` leaves several states ({', '.join(f'`{s}`' for s in leaving)}) "
                        f"and counts from any of them; to mean one, write `leave: [{leaving[0]}]`",
                    )
        for i, name in enumerate(clock.pauses):
            yield from _reference(process, clock.path + ("pauses", i), name, process.states, "state")
        for _, action in clock.thresholds.values():
            for i, role in enumerate(action.notify):
                yield from _reference(process, action.path + ("notify", i), role, process.roles, "role")
            written = _get_text(process, action.path + ("fire",)) is not None
            for i, fire in enumerate(action.fire):
                where = action.path + (("fire",) if written else ("fire", i))
                if fire not in triggers:
                    yield from _reference(process, where, fire, triggers, "trigger")
                    continue
                for transition in process.transitions:
                    if transition.trigger == fire:
                        deadline = Deadline(None, fire, action.path)  # located at the action's `fire`
                        yield from _deadline_trigger_problems(process, deadline, transition)


def check_clock_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Each point is a usable time; the warning comes before the limit, the ceiling after it."""
    for clock in process.clocks.values():
        lengths = {}
        for name, (duration, _) in clock.thresholds.items():
            path = clock.path + (name,)
            if isinstance(duration, DataLimit):
                continue  # known when the clock starts: the runtime checks it then
            if duration is None:
                text = _get_text(process, path) or ""
                yield _error(process, path, "zero-time-limit", zero_time_limit(text))
                continue
            problem = limit_problem(duration, process.calendar)
            if problem is not None:
                yield _error(process, path, "limit-too-long", f"clock `{clock.id}`: {problem}")
                continue
            lengths[name] = duration
        for name, problem in order_problems(clock, lengths, process.calendar):
            yield _error(process, clock.path + (name,), "clock-order", problem)


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
            yield _error(
                process,
                clock.path + ("starts",),
                "clock-never-starts",
                f"clock `{clock.id}` never starts: none of its `starts` can happen on any path from `{start.id}`",
            )
            continue
        ends = _clock_point_states(process, graph, clock.stops)
        stopping = [b for b in sorted(begins) if _can_stop(process, graph, clock.stops, ends, b)]
        if not stopping:
            yield _error(
                process,
                clock.path + ("stops",),
                "clock-never-stops",
                f"clock `{clock.id}` never stops: none of its `stops` can happen after it starts "
                f"(it starts in {', '.join(f'`{b}`' for b in sorted(begins))})",
            )
            continue
        for begin in sorted(begins - set(stopping)):
            yield _warning(
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
            yield _warning(
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


# --- parts of a step, and signatures ----------------------------------------------------------------


def check_parts(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Each part names declared roles, a list field of the data to go over, an item field that exists, a
    condition over declared data; its id is no trigger of its step; and it can be required."""
    data_fields = _properties(process, process.data_schema)
    for state in process.states.values():
        seen: set[str] = set()
        for part in state.parts:
            if part.id in seen or part.id in state.triggers:
                yield _error(
                    process,
                    part.path + ("id",),
                    "part-id-clash",
                    f"step `{state.id}`: part `{part.id}` is done by the event `{part.id}`, which "
                    + ("another part" if part.id in seen else "a transition of this step")
                    + " already uses; give the part another id",
                )
            seen.add(part.id)
            for index, role in enumerate(part.roles):
                yield from _reference(process, part.path + ("roles", index), role, process.roles, "role")
            for binding in part.produces:
                path = binding.path if _get_text(process, binding.path) is not None else binding.path + ("record",)
                yield from _reference(process, path, binding.record, process.records, "record")
            if part.required_when is not None:
                path = part.path + ("required_when",)
                yield from _expression(process, path, part.required_when, ("data",), {"data": data_fields})
                if not part.required:
                    yield _error(
                        process,
                        path,
                        "part-never-required",
                        f"part `{part.id}` says `required: false`, so `required_when` never applies; keep one of them",
                        key=True,
                    )
                elif _always_false(part.required_when):
                    yield _warning(
                        process,
                        path,
                        "part-never-required",
                        f"part `{part.id}`: `{part.required_when}` never holds, so the part is never required; "
                        "write `required: false` if it is optional",
                    )
            yield from _for_each_problems(process, part, data_fields)


def _always_false(text: str) -> bool:
    """Whether a condition reads nothing and is false (``false``, ``1 > 2``)."""
    try:
        expression = compile_expression(text, ("data", NOW))
        return not expression.paths and not bool(expression.evaluate({"data": {}}))
    except ExpressionError:  # one that does not compile is reported by `_expression`; one that reads `now` may hold
        return False


def _for_each_problems(process: Process, part: Part, data_fields: Mapping[str, Any] | None) -> Iterator[Problem]:
    if part.for_each is None:
        if part.key is not None:
            yield _error(
                process,
                part.path + ("key",),
                "key-without-for-each",
                f"part `{part.id}` has a `key` but no `for_each`; `key` names the field of each item of the list",
                key=True,
            )
        return
    path = part.path + ("for_each",)
    if data_fields is None:
        return
    if part.for_each not in data_fields:
        yield _error(
            process,
            path,
            "unknown-field",
            f"part `{part.id}`: `data.{part.for_each}` is not declared under `data.properties`"
            + did_you_mean(part.for_each, data_fields),
        )
        return
    field = _object_schema(process, data_fields[part.for_each])
    kinds = _types(field)
    if kinds and "array" not in kinds:
        yield _error(
            process,
            path,
            "for-each-not-list",
            f"part `{part.id}`: `data.{part.for_each}` is {' or '.join(sorted(kinds))}, not a list "
            "(`type: array`); a part is done once per item of a list",
        )
        return
    items = _mapping(_object_schema(process, field.get("items")).get("properties"))
    if part.key is not None and items and part.key not in items:
        yield _error(
            process,
            part.path + ("key",),
            "unknown-field",
            f"part `{part.id}`: the items of `data.{part.for_each}` have no field `{part.key}`"
            + did_you_mean(part.key, items),
        )


def check_signatures(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A conditional signature's ``when`` reads declared data; ``same_actor_as`` names steps someone does."""
    data_fields = _properties(process, process.data_schema)
    for transition in process.transitions:
        for signoff in transition.signoffs:
            if signoff.when is not None:
                yield from _expression(
                    process, signoff.path + ("when",), signoff.when, ("data",), {"data": data_fields}
                )
            single = _get_text(process, signoff.path + ("same_actor_as",)) is not None
            for index, state_id in enumerate(signoff.same_actor_as):
                path = signoff.path + (("same_actor_as",) if single else ("same_actor_as", index))
                yield from _reference(process, path, state_id, process.states, "state")
                state = process.states.get(state_id)
                if state is not None and state.kind is StateKind.DECISION:
                    yield _error(
                        process,
                        path,
                        "no-actor",
                        f"`{state_id}` is a decision, which the engine takes itself; name a step someone performs",
                    )
            both = sorted(set(signoff.same_actor_as) & set(signoff.not_actor_of))
            if both:
                yield _error(
                    process,
                    signoff.path,
                    "signer-impossible",
                    f"the signature as `{signoff.role}` must come from whoever acted on, and from nobody who acted "
                    f"on, {', '.join(f'`{s}`' for s in both)}; keep one of the two rules",
                )


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


def _written(process: Process, path: DocumentPath) -> bool:
    """Whether the YAML itself holds this node (rather than a default or an expansion of ``'*'``)."""
    return holds(process.document, path)


def _own_transitions(state: State) -> Iterable[Transition]:
    return (t for t in state.transitions if not t.shared)


def _reference(process: Process, path: DocumentPath, name: str, known: Collection[str], kind: str) -> Iterator[Problem]:
    if name in known:  # a mapping or set: constant time, where a list made the checks quadratic
        return
    choices = list(known)
    hint = did_you_mean(name, choices) or (f" — declared: {', '.join(choices)}" if 0 < len(choices) <= 12 else "")
    yield _error(process, path, "unknown-reference", f"`{name}` is not a declared {kind}{hint}")


def _error(process: Process, path: DocumentPath, code: str, message: str, *, key: bool = False) -> Problem:
    return Problem(process.locate(path, key=key), message, Severity.ERROR, code)


def _warning_at(process: Process, path: DocumentPath, code: str, message: str) -> Problem:
    """A warning located at the node itself (a list item), not at its key."""
    return Problem(process.locate(path), message, Severity.WARNING, code)


def _warning(process: Process, path: DocumentPath, code: str, message: str) -> Problem:
    return Problem(process.locate(path, key=True), message, Severity.WARNING, code)

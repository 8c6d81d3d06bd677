"""Conditions and ``set`` expressions compile and read declared fields; time limits taken from
the data read a date field; a copied payload field that may be missing fits the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from engine.checks.support import (
    declared_properties,
    error,
    expression_problems,
    is_written,
    plain_data_path,
    required_properties,
    schema_types,
    warning,
)
from engine.digraph import Digraph
from engine.errors import Problem
from engine.expressions import MAX_NUMBER
from engine.fragments import date_fields
from engine.model import (
    DataLimit,
    Deadline,
    Process,
)
from engine.pointers import MAPPINGS
from engine.schema_errors import did_you_mean


def check_expressions(process: Process, graph: Digraph) -> Iterator[Problem]:
    data_fields = declared_properties(process, process.data_schema)
    for state in process.states.values():
        for branch in state.branches:
            if branch.condition is not None:
                yield from expression_problems(
                    process, branch.path + ("when",), branch.condition, ("data",), {"data": data_fields}
                )
    for transition in process.transitions:
        if not transition.conditions and not transition.assignments:
            continue  # most transitions: nothing to compile, so no scope to work out
        scope = {"data": data_fields, "payload": declared_properties(process, transition.payload_schema)}
        conditions_path = transition.path + ("conditions",)
        for index, condition in enumerate(transition.conditions):
            path = conditions_path + (index,) if is_written(process, conditions_path + (index,)) else conditions_path
            yield from expression_problems(process, path, condition, ("data", "payload"), scope)
        for assignment in transition.assignments:
            if data_fields is not None and assignment.field not in data_fields:
                yield error(
                    process,
                    assignment.path,
                    "unknown-field",
                    f"transition `{transition.trigger}` sets `{assignment.field}`, which is not a field "
                    f"under `data.properties`{did_you_mean(assignment.field, data_fields)}",
                    key=True,
                )
            if assignment.expression is not None:
                yield from expression_problems(
                    process, assignment.path, assignment.expression, ("data", "payload"), scope
                )
            elif _out_of_range(assignment.constant):
                yield error(
                    process,
                    assignment.path,
                    "number-too-large",
                    f"transition `{transition.trigger}` sets `{assignment.field}` to {assignment.constant}, past the "
                    f"largest number an instance keeps (±{MAX_NUMBER:,}); write a smaller number or quote it as text",
                )


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
    data_fields = declared_properties(process, process.data_schema)
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
        forms = [key for key in ("at", *_LIMIT_KEYS.values()) if is_written(process, limit.path + (key,))]
        before = limit.unit is not None and is_written(process, limit.path + ("before",))
        if len(forms) > 1 or before:
            first = "`at` (with `before` if needed), "
            yield error(
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
    return deadline.after_from is not None and is_written(process, deadline.after_from.path)


def _data_time_limit(
    process: Process,
    owner: str,
    limit: DataLimit,
    data_fields: Mapping[str, Any] | None,
    dates: Mapping[tuple[str, ...], str],
) -> Iterator[Problem]:
    key = "at" if limit.unit is None else _LIMIT_KEYS[(limit.unit, limit.working)]
    path = limit.path + (key,)
    problems = list(expression_problems(process, path, limit.expression, ("data",), {"data": data_fields}))
    yield from problems
    plain = plain_data_path(limit.expression)
    if problems or plain is None or data_fields is None:
        return
    chain = ("data", *plain.group(1)[1:].split("."))
    shown = ".".join(chain)
    if limit.unit is None and chain not in dates:
        yield error(
            process,
            path,
            "not-a-date",
            f"{owner}: the time limit is due at `{shown}`, which is not declared as a date; "
            "give it `format: date` (a day) or `format: date-time` (a moment) in the data schema",
        )
    elif limit.unit is not None and len(chain) == 2:
        kinds = schema_types(data_fields.get(chain[1]))
        if kinds and not kinds & {"integer", "number"}:
            yield error(
                process,
                path,
                "not-a-number",
                f"{owner}: the time limit counts `{shown}` {key.replace('_', ' ')}, but that field is "
                f"declared as {' or '.join(sorted(kinds))}, not a number",
            )


def _out_of_range(constant: object) -> bool:
    return isinstance(constant, (int, float)) and not isinstance(constant, bool) and abs(constant) > MAX_NUMBER


def check_optional_copies(process: Process, graph: Digraph) -> Iterator[Problem]:
    """``set: {model: payload.model}`` where the payload may leave ``model`` out and the data field does
    not allow null: every event that leaves it out would be refused when the data is checked."""
    data_fields = declared_properties(process, process.data_schema)
    if not data_fields:
        return
    for transition in process.transitions:
        payload_fields = declared_properties(process, transition.payload_schema) or {}
        required = required_properties(process, transition.payload_schema)
        for assignment in transition.assignments:
            copied = _COPY.match(assignment.expression or "")
            if copied is None or assignment.if_present:
                continue
            name = copied.group(1)
            if name not in payload_fields or name in required or assignment.field not in data_fields:
                continue
            if _allows_null(data_fields[assignment.field]):
                continue
            yield warning(
                process,
                assignment.path,
                "optional-copied",
                f"transition `{transition.trigger}` sets `{assignment.field}` from `payload.{name}`, which the "
                f"payload may leave out; `data.{assignment.field}` does not allow null, so an event without "
                f"`{name}` would be refused — add `{name}` to the payload's `required`, or allow null in "
                f"`data.properties.{assignment.field}`",
            )


_COPY = re.compile(r"^\s*payload\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


def _allows_null(schema: Any) -> bool:
    """Whether a field's schema lets it hold null; a schema this cannot tell counts as allowing it."""
    if not isinstance(schema, MAPPINGS):
        return True
    if "type" in schema:
        kinds = schema["type"]
        return "null" in (kinds if isinstance(kinds, tuple) else (kinds,))
    if "enum" in schema and isinstance(schema["enum"], tuple):
        return None in schema["enum"]
    if "const" in schema:
        return schema["const"] is None
    return True

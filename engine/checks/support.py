"""What the checks share: where a node is written, references resolved with a suggestion, the
fields a form declares and requires, and the problems they make.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from engine.errors import ExpressionSyntaxError, Problem, Severity, UnresolvableReference
from engine.expressions import compile_expression
from engine.model import (
    Deadline,
    FrozenJson,
    Process,
    State,
    Transition,
)
from engine.pointers import MAPPINGS, follow, holds, lookup, resolve
from engine.schema_errors import did_you_mean
from engine.source import DocumentPath


def text_at(process: Process, path: DocumentPath) -> str | None:
    """The text written at ``path`` in the definition, if there is text there."""
    node = lookup(process.document, path)
    return node if isinstance(node, str) else None


def deadline_trigger_problems(process: Process, deadline: Deadline, transition: Transition) -> Iterator[Problem]:
    """The engine fires a deadline's trigger itself, with no payload and no one to sign."""
    required = required_fields(transition.payload_schema)
    if transition.signoffs:
        roles = ", ".join(f"`{s.role}`" for s in transition.signoffs)
        yield error(
            process,
            deadline.path + ("fire",),
            "deadline-needs-person",
            f"the engine fires `{deadline.fire}` itself when the time passes, but it needs a signature "
            f"({roles}); fire a trigger without `signoffs`",
        )
    if required:
        yield error(
            process,
            deadline.path + ("fire",),
            "deadline-needs-person",
            f"the engine fires `{deadline.fire}` itself when the time passes, with no payload, but its "
            f"payload requires {', '.join(f'`{name}`' for name in required)}; fire a trigger whose payload "
            "requires nothing",
        )


def required_fields(schema: FrozenJson | None) -> tuple[str, ...]:
    if isinstance(schema, MAPPINGS):
        required = schema.get("required")
        if isinstance(required, tuple):
            return tuple(str(name) for name in required)
    return ()


def plain_data_path(text: str) -> re.Match[str] | None:
    """``data.a.b`` alone (group 1: ``.a.b``), which a limit taken from the data may be: the pattern compiled
    for the first definition that has such a limit."""
    return _plain_data_path().match(text)


@cache
def _plain_data_path() -> re.Pattern[str]:
    return re.compile(r"^\s*data((?:\.[a-z][a-z0-9_]*)+)\s*$")


def schema_types(schema: Any) -> set[str]:
    written = schema.get("type") if isinstance(schema, MAPPINGS) else None
    if isinstance(written, str):
        return {written}
    return {str(t) for t in written} if isinstance(written, tuple) else set()


def expression_problems(
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


def required_properties(
    process: Process, schema: FrozenJson | None, seen: frozenset[str] = frozenset()
) -> frozenset[str]:
    """The top-level properties a schema requires, following ``allOf`` and references into the definition."""
    if schema is None or not isinstance(schema, MAPPINGS):
        return frozenset()
    found = set(required_fields(schema))
    parts = schema.get("allOf")
    for part in parts if isinstance(parts, tuple) else ():
        found |= required_properties(process, part, seen)
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        found |= required_properties(process, _target(process, ref), seen | {ref})
    return frozenset(found)


def declared_properties(
    process: Process, schema: FrozenJson | None, seen: frozenset[str] = frozenset()
) -> Mapping[str, Any] | None:
    """The top-level properties a schema declares, following ``allOf`` and references into the definition."""
    if schema is None or not isinstance(schema, MAPPINGS):  # None first: most transitions take no payload
        return None
    properties = schema.get("properties")
    found: dict[str, Any] = dict(properties) if isinstance(properties, MAPPINGS) else {}
    parts = schema.get("allOf")
    for part in parts if isinstance(parts, tuple) else ():
        found.update(declared_properties(process, part, seen) or {})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        found.update(declared_properties(process, _target(process, ref), seen | {ref}) or {})
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


def object_schema(process: Process, schema: FrozenJson | None) -> Mapping[str, Any]:
    """A fragment with its top-level ``$ref``s into the definition followed; ``{}`` when they lead to
    nothing, or only back to themselves (both reported as they load)."""
    try:
        target = follow(process.document, schema)[-1]
    except UnresolvableReference:
        return {}
    return target if isinstance(target, MAPPINGS) and not isinstance(target.get("$ref"), str) else {}


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, MAPPINGS) else {}


def is_written(process: Process, path: DocumentPath) -> bool:
    """Whether the YAML itself holds this node (rather than a default or an expansion of ``'*'``)."""
    return holds(process.document, path)


def own_transitions(state: State) -> Iterable[Transition]:
    return (t for t in state.transitions if not t.shared)


def reference_problems(
    process: Process, path: DocumentPath, name: str, known: Collection[str], kind: str
) -> Iterator[Problem]:
    if name in known:  # a mapping or set: constant time, where a list made the checks quadratic
        return
    choices = list(known)
    hint = did_you_mean(name, choices) or (f" — declared: {', '.join(choices)}" if 0 < len(choices) <= 12 else "")
    yield error(process, path, "unknown-reference", f"`{name}` is not a declared {kind}{hint}")


def error(process: Process, path: DocumentPath, code: str, message: str, *, key: bool = False) -> Problem:
    return Problem(process.locate(path, key=key), message, Severity.ERROR, code)


def warning_on_item(process: Process, path: DocumentPath, code: str, message: str) -> Problem:
    """A warning located at the node itself (a list item), not at its key."""
    return Problem(process.locate(path), message, Severity.WARNING, code)


def warning(process: Process, path: DocumentPath, code: str, message: str) -> Problem:
    return Problem(process.locate(path, key=True), message, Severity.WARNING, code)

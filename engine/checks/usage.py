"""Warnings of things declared but not used, or not cited: roles, records, field names, the source
section of each step, and additions that also cite a source.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

from engine.checks.support import error, warning
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import (
    FrozenJson,
    Process,
    StateKind,
)
from engine.schema_errors import did_you_mean


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
            yield warning(
                process,
                role.path,
                "unused-role",
                f"role `{role.id}` is declared but no step, transition, sign-off, notification or `administrators` "
                "uses it",
            )
    produced = {r for s in process.states.values() for r in s.records_written}
    for record in process.records.values():
        if record.id not in produced:
            yield warning(
                process,
                record.path,
                "unproduced-record",
                f"record `{record.id}` is declared but no state lists it under `produces` and no transition writes it",
            )


def check_field_names(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A glossary entry no form, record or ``data`` uses is a leftover or a misspelt key."""
    if not process.fields:
        return
    used = process.schema_field_names
    if used is None:
        used = schema_field_names(process.document)
    for name in process.fields.values():
        if name.id not in used:
            hint = did_you_mean(name.id, sorted(used))
            yield warning(
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
    # A frozen document holds only these kinds, told by their exact types (the Mapping ABC is slow); the
    # texts and numbers, most of it, are passed over. The loader nests at most 64 deep, so recursion is safe.

    def mapping(node: Any) -> None:
        properties = node.get("properties")
        if type(properties) is MappingProxyType or type(properties) is dict:
            found.update(properties)
        for value in node.values():
            kind = type(value)
            if kind is MappingProxyType or kind is dict:
                mapping(value)
            elif kind is tuple or kind is list:
                sequence(value)

    def sequence(node: Any) -> None:
        for value in node:
            kind = type(value)
            if kind is MappingProxyType or kind is dict:
                mapping(value)
            elif kind is tuple or kind is list:
                sequence(value)

    sequence((document,))
    return frozenset(found)


def check_sources_cited(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        if state.source is None and state.addition is None and state.kind is not StateKind.FINAL:
            yield warning(
                process,
                state.path,
                "no-source",
                f"state `{state.id}` does not cite its `source` section; auditors hold each step against the "
                "document (a step no document names is declared with `addition: {zh: ..., en: ...}`, saying why)",
            )


def check_additions(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A step either cites the document it comes from or is declared an addition, never both."""
    for state in process.states.values():
        if state.addition is not None and state.source is not None:
            yield error(
                process,
                state.path + ("addition",),
                "addition-with-source",
                f"state `{state.id}` cites `source` {state.source.section!r} and is declared an `addition`; "
                "keep `source` if the document names this step, or `addition` (and no `source`) if it does not",
                key=True,
            )

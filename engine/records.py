"""Records (documents a case keeps, each version by whom and when): the versions an event writes from its
payload, the records an instance holds, and the steps and transitions that require them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.compiler import CompiledTransition, SchemaCheck
from engine.errors import EventRefused, InvalidPayload, MissingRecord
from engine.frozen import quick_maker
from engine.history_facts import records_of
from engine.instances import Instance, RecordWritten
from engine.model import FrozenJson, Process, RecordBinding, Transition, thaw_json
from engine.pointers import node_at
from engine.quick_checks import ANNOTATIONS, QuickCheck, QuickCompiler, Unsupported
from engine.source import DocumentPath

Refusal = tuple[type[EventRefused], str, tuple[str, ...]]
"""Why an event is refused, before the refusal is made: its kind, its message and what it carries."""

_new_record = quick_maker(RecordWritten)  # made on every event that writes one: without a type call

Unvouched = tuple[tuple[tuple[str, QuickCheck], ...], tuple[str, ...]]
"""Of a record made of the payload's fields it declares: the properties the payload's form does not
declare exactly so, each with its quick check, and the fields it requires that the form does not."""


class Records:
    """Writing records from payloads, and the records steps and transitions require."""

    def __init__(self, process: Process, checks: Mapping[str, SchemaCheck], as_payload: frozenset[DocumentPath]):
        self.process = process
        self.checks = checks
        self.as_payload = as_payload
        """The ``produces`` whose record fits whenever the payload fits its form (checked before they write)."""
        self.requiring = {s.id: s.requires for s in process.states.values() if s.requires}
        self.declared = {record.id: _properties(record.fields) for record in process.records.values()}
        """The field names each record declares under ``properties`` (``None``: it does not say)."""
        self._unvouched: dict[DocumentPath, Unvouched | None] = {}
        """By ``produces`` (its place), worked out on its first event: ``unvouched``, or ``None`` when the
        record's check runs whole."""
        self._document: Any = None

    def write(
        self,
        transition: Transition,
        held: Mapping[str, RecordWritten],
        scope: Mapping[str, Mapping[str, Any]],
        written: list[RecordWritten],
    ) -> Refusal | None:
        """Fill ``written`` with the versions ``transition`` writes, or say why it may not."""
        missing = [r for r in transition.requires if r not in held] if transition.requires else []
        for binding in transition.produces:
            if binding.amend and binding.record not in held:
                missing.append(binding.record)
        if missing:
            return (
                MissingRecord,
                f"`{transition.trigger}` needs the record{'s' if len(missing) > 1 else ''} "
                + ", ".join(self._name(r) for r in dict.fromkeys(missing))
                + ", which this instance does not hold yet; make "
                + ("them" if len(missing) > 1 else "it")
                + " first",
                tuple(dict.fromkeys(missing)),
            )
        for binding in transition.produces:
            fields = self._fields(binding, scope)
            before = held.get(binding.record)
            for earlier in reversed(written):  # written twice by one event: the later version follows the first
                if earlier.record == binding.record:
                    before = earlier
                    break
            if binding.amend and before is not None:
                fields = {**before.fields, **fields}
            check = self.checks.get(binding.record) if binding.path not in self.as_payload else None
            problems = (
                check.problems(fields) if check is not None and not self._vouched(transition, binding, fields) else ()
            )
            if problems:
                return (
                    InvalidPayload,
                    f"the payload of `{transition.trigger}` does not make a valid {self._name(binding.record)}:\n  "
                    + "\n  ".join(problems),
                    problems,
                )
            version = 1 if before is None else before.version + 1
            written.append(_new_record(binding.record, version, fields, binding.amend))
        return None

    def check_entering(
        self, states: Sequence[str], held: Callable[[], Mapping[str, RecordWritten]], written: Sequence[RecordWritten]
    ) -> None:
        """Refuse an event that leads into a step whose required records the instance would not hold: those
        it ``held`` before the event (asked only when a step requires one) and those the event has ``written``."""
        for state in states:
            required = self.requiring.get(state)
            if not required:
                continue
            made = held().keys() | {w.record for w in written}
            missing = tuple(r for r in required if r not in made)
            if missing:
                raise MissingRecord(
                    f"step `{state}` requires the record{'s' if len(missing) > 1 else ''} "
                    + ", ".join(self._name(r) for r in missing)
                    + ", which this instance does not hold; the event that leads there cannot be taken yet",
                    missing=missing,
                )

    def _vouched(self, transition: Transition, binding: RecordBinding, fields: Mapping[str, Any]) -> bool:
        """Whether the record ``binding`` makes of a payload that fits the transition's form surely fits the
        record's own: the fields the form does not vouch for (``unvouched``) pass their quick checks."""
        path = binding.path
        if path in self._unvouched:
            found = self._unvouched[path]
        else:
            found = self._unvouched[path] = self._worked_out(transition, binding)
        if found is None:
            return False
        rest, needed = found
        for name in needed:
            if name not in fields:
                return False
        try:
            for name, check in rest:
                if name in fields and not check(fields[name]):
                    return False
        except RecursionError:  # too deep for the quick check: the record's check decides
            return False
        return True

    def _worked_out(self, transition: Transition, binding: RecordBinding) -> Unvouched | None:
        record = self.process.records[binding.record]
        if binding.fields is not None or binding.amend or transition.payload_schema is None or record.fields is None:
            return None
        if self._document is None:
            self._document = thaw_json(self.process.document)
        document = self._document
        fields, form = node_at(document, record.path + ("fields",)), node_at(document, transition.path + ("payload",))
        return unvouched(document, fields, form)

    def _fields(self, binding: RecordBinding, scope: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The record's content from the payload (and the data, after this event's ``set``)."""
        if binding.fields is not None:
            return {name: scope[root][field] for name, root, field in binding.fields if field in scope[root]}
        payload = scope["payload"]
        declared = self.declared.get(binding.record)
        if declared is None:
            return dict(payload)
        fields = {}
        for name in declared:  # in the order the record declares them
            if name in payload:
                fields[name] = payload[name]
        return fields

    def _name(self, record_id: str) -> str:
        record = self.process.records.get(record_id)
        return f"`{record_id}` ({record.label.zh}, {record.label.en})" if record is not None else f"`{record_id}`"


def held(instance: Instance) -> Mapping[str, RecordWritten]:
    """The latest version of each record the instance holds."""
    return records_of(instance).held


def lacks_records(candidate: CompiledTransition, instance: Instance) -> bool:
    """Whether the transition requires (or amends) a record the instance does not hold yet."""
    transition = candidate.transition
    needed = [*transition.requires, *(b.record for b in transition.produces if b.amend)]
    if not needed:
        return False
    return records_of(instance).lacks(needed)


def _properties(fields: FrozenJson | None) -> tuple[str, ...] | None:
    """The field names a record declares under ``properties``; ``None`` when it does not say."""
    if not isinstance(fields, Mapping):
        return None
    properties = fields.get("properties")
    return tuple(properties) if isinstance(properties, Mapping) else None


def unvouched(document: Mapping[str, Any], record: Any, form: Any) -> Unvouched | None:
    """What of a record made of a payload's fields it declares (``Records._fields``) the payload's ``form``
    does not vouch for once the payload fits it, when both schemas are ``type: object`` with ``properties``
    and ``required`` only (annotations aside), so that each field is checked on its own; ``None`` otherwise
    (or when a field's schema has no quick check): then the record's check runs whole."""
    schemas = (record, form)
    if not all(isinstance(s, Mapping) and s.get("type") == "object" for s in schemas):
        return None
    if any({k for k in s if k not in ANNOTATIONS} - {"type", "properties", "required"} for s in schemas):
        return None
    declared, given = record.get("properties"), form.get("properties", {})
    needed, promised = record.get("required", []), form.get("required", [])
    if not (isinstance(declared, Mapping) and isinstance(given, Mapping)):
        return None
    if not (isinstance(needed, list) and isinstance(promised, list)):
        return None
    if not all(isinstance(n, str) and n in declared for n in needed):
        return None
    compiler = QuickCompiler(document)
    try:
        rest = tuple(
            (name, compiler.compile(schema))
            for name, schema in declared.items()
            if not (name in given and _bare(schema) == _bare(given[name]))
        )
    except Unsupported:
        return None
    return rest, tuple(n for n in needed if n not in promised)


def _bare(schema: Any) -> Any:
    """A schema without its annotations at the top (they decide nothing)."""
    return {k: v for k, v in schema.items() if k not in ANNOTATIONS} if isinstance(schema, Mapping) else schema

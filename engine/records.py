"""Records (documents a case keeps, each version by whom and when): the versions an event writes from its
payload, the records an instance holds, and the steps and transitions that require them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.compiler import CompiledTransition, SchemaCheck, Unvouched
from engine.errors import EventRefused, InvalidPayload, MissingRecord
from engine.frozen import quick_maker
from engine.history_facts import records_of
from engine.instances import Instance, RecordWritten
from engine.model import FrozenJson, Process, RecordBinding, Transition
from engine.source import DocumentPath

Refusal = tuple[type[EventRefused], str, tuple[str, ...]]
"""Why an event is refused, before the refusal is made: its kind, its message and what it carries."""

_new_record = quick_maker(RecordWritten)  # made on every event that writes one: without a type call


class Records:
    """Writing records from payloads, and the records steps and transitions require."""

    def __init__(
        self,
        process: Process,
        checks: Mapping[str, SchemaCheck],
        as_payload: frozenset[DocumentPath],
        unvouched: Mapping[DocumentPath, Unvouched],
    ):
        self.process = process
        self.checks = checks
        self.as_payload = as_payload
        """The ``produces`` whose record fits whenever the payload fits its form (checked before they write)."""
        self.unvouched = unvouched
        """By ``produces``: what its record's check still asks of a payload that fits the form
        (``engine.compiler.unvouched``); one not here has its record checked whole."""
        self.requiring = {s.id: s.requires for s in process.states.values() if s.requires}
        self.declared = {record.id: _properties(record.fields) for record in process.records.values()}
        """The field names each record declares under ``properties`` (``None``: it does not say)."""

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
        found = self.unvouched.get(binding.path)
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

"""A definition → one shared ``transitions`` machine, compiled once and reused by every instance.

Instances are plain values (``engine.instances``), so the machine holds none of them. To fire an
event the runtime puts the instance's state on a small cursor, asks the machine to trigger, and
reads the state back. The machine tries the transitions that leave the state by that trigger in the
order the definition lists them, and takes the first one the ``Gate`` admits; the gate (the
runtime's per-event scratch) decides, and notes why it refused the others. Decisions are
transitions too, on an internal trigger, one per branch in order with the default last.

Everything that can be prepared once is prepared here: guard and ``set`` expressions compiled,
payload and data validators built, roles as sets.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
import referencing
from transitions import EventData, Machine

from engine.expressions import Expression, compile_expression
from engine.fragments import definition_registry, fragment_validator, quick_check, quick_field_checks
from engine.model import Branch, Process, State, StateKind, Transition, thaw_json
from engine.schema import QuickCheck
from engine.source import DocumentPath

DECIDE = "procflow:decide"
"""The internal trigger that moves a decision on by its first branch whose condition holds."""


class SchemaCheck:
    """A compiled JSON Schema fragment of the definition, checking values an event brings."""

    def __init__(
        self,
        validator: Callable[[], jsonschema.protocols.Validator],
        root: str,
        quick: QuickCheck | None = None,
        fields: Mapping[str, QuickCheck] | None = None,
    ):
        self._make_validator = validator
        self._built: jsonschema.protocols.Validator | None = None
        self._root = root
        self._quick = quick
        self._fields = fields

    @property
    def _validator(self) -> jsonschema.protocols.Validator:
        # Built on first need: with the quick check, most fragments never need jsonschema at all.
        if self._built is None:
            self._built = self._make_validator()
        return self._built

    def problems_after_set(self, value: Mapping[str, Any], changed: Iterable[str]) -> tuple[str, ...]:
        """``problems(value)``, for a value that fitted before only the ``changed`` fields were set:
        where the schema's properties are independent, only the changed ones need checking."""
        fields = self._fields
        if fields is not None:
            for name in changed:
                check = fields.get(name)
                if check is None or not check(value[name]):
                    break
            else:
                return ()
        return self.problems(value)

    def problems(self, value: Any) -> tuple[str, ...]:
        """What is wrong with ``value``, one line per problem, in document order; empty when valid."""
        try:
            return self._problems(value)
        except RecursionError:
            # The checks at load refuse the schemas that loop; a value nested deeper than the checker's
            # stack is refused rather than crashing the event.
            return (f"{self._root}: is nested too deeply to be checked; send flatter data",)

    def _problems(self, value: Any) -> tuple[str, ...]:
        if self._quick is not None and self._quick(value):  # compiled once; see fragments.quick_check
            return ()
        if self._validator.is_valid(value):  # the common case, and several times cheaper than iter_errors
            return ()
        errors = sorted(self._validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        return tuple(f"{_place(self._root, e.absolute_path)}: {e.message}" for e in errors)


@dataclass(frozen=True, slots=True)
class CompiledTransition:
    transition: Transition
    source: str
    roles: frozenset[str]
    guards: tuple[Expression, ...]
    payload: SchemaCheck | None
    assignments: tuple[tuple[str, Expression | None, Any], ...]
    """``(field, expression, constant)``: the constant is used when there is no expression."""
    fields_set: tuple[str, ...]
    """The data fields ``assignments`` set."""

    @property
    def trigger(self) -> str:
        return self.transition.trigger


@dataclass(frozen=True, slots=True)
class CompiledBranch:
    decision: str
    index: int | None
    """The branch's place in ``branches``; ``None`` for the default."""
    branch: Branch
    condition: Expression | None


class Gate(Protocol):
    """What the machine asks, for each candidate in order, while it fires one event."""

    def admit(self, candidate: CompiledTransition) -> bool: ...

    def take(self, branch: CompiledBranch) -> bool: ...


class _Cursor:
    """Where the shared machine reads and writes the state of the instance being moved."""

    __slots__ = ("procflow_state",)

    def __init__(self) -> None:
        self.procflow_state = ""


class CompiledProcess:
    """A process ready to run. Build it once per definition; it is safe to share between threads."""

    def __init__(self, process: Process):
        start = process.start
        if start is None:
            raise ValueError(f"process `{process.id}` has no start state; load it with load_process, which checks")
        self.process = process
        document = thaw_json(process.document)
        registry = definition_registry(document)
        self.data_check = (
            _schema_check(document, registry, ("data",), "data") if process.data_schema is not None else None
        )
        payload_checks = {
            t.path: _schema_check(document, registry, t.path + ("payload",), "payload")
            for t in process.transitions
            if t.payload_schema is not None
        }
        self.record_checks: dict[str, SchemaCheck] = {
            record.id: _schema_check(document, registry, record.path + ("fields",), f"record `{record.id}`")
            for record in process.records.values()
            if record.fields is not None
        }
        """The check of each record's content against its ``fields``, for the records that declare them."""
        self.transitions: dict[str, tuple[CompiledTransition, ...]] = {
            state.id: tuple(_compile_transition(state, t, payload_checks.get(t.path)) for t in state.transitions)
            for state in process.states.values()
        }
        self.branches: dict[str, tuple[CompiledBranch, ...]] = {
            state.id: _compile_branches(state) for state in process.states.values() if state.kind is StateKind.DECISION
        }
        self.triggers: dict[str, tuple[str, ...]] = {state.id: state.triggers for state in process.states.values()}
        by_trigger: dict[tuple[str, str], list[CompiledTransition]] = {}
        for candidates in self.transitions.values():
            for candidate in candidates:
                by_trigger.setdefault((candidate.source, candidate.trigger), []).append(candidate)
        self._only = {key: group[0] for key, group in by_trigger.items() if len(group) == 1}
        self._machine = self._build_machine(start.id)
        self._cursor = _Cursor()
        self._lock = threading.Lock()

    def fire(self, state: str, trigger: str, gate: Gate) -> str | None:
        """The state the first transition the gate admits leads to, or ``None`` when it admits none.

        The caller has checked that ``trigger`` leaves ``state``.
        """
        only = self._only.get((state, trigger))
        if only is not None and not gate.admit(only):
            return None
        return self._run(state, trigger, gate)

    def decide(self, decision: str, gate: Gate) -> str | None:
        """Where the decision goes: the dest of the first branch the gate takes."""
        return self._run(decision, DECIDE, gate)

    def _run(self, state: str, trigger: str, gate: Gate) -> str | None:
        with self._lock:
            self._cursor.procflow_state = state
            moved = self._machine.events[trigger].trigger(self._cursor, gate=gate)
            return self._cursor.procflow_state if moved else None

    def _build_machine(self, initial: str) -> Machine:
        machine = Machine(
            model=None,
            states=list(self.process.states),
            initial=initial,
            auto_transitions=False,
            send_event=True,
            model_attribute="procflow_state",
        )
        for candidates in self.transitions.values():
            for candidate in candidates:
                # The only candidate of its trigger is admitted by ``fire`` before the machine runs:
                # the same answer, without transitions' condition machinery on most events.
                only = self._only.get((candidate.source, candidate.trigger)) is candidate
                conditions = [] if only else [_admits(candidate)]
                machine.add_transition(
                    candidate.trigger, candidate.source, candidate.transition.dest, conditions=conditions
                )
        for branches in self.branches.values():
            for branch in branches:
                machine.add_transition(DECIDE, branch.decision, branch.branch.dest, conditions=[_takes(branch)])
        return machine


def _admits(candidate: CompiledTransition) -> Any:
    def condition(event: EventData) -> bool:
        gate: Gate = event.kwargs["gate"]
        return gate.admit(candidate)

    return condition


def _takes(branch: CompiledBranch) -> Any:
    def condition(event: EventData) -> bool:
        gate: Gate = event.kwargs["gate"]
        return gate.take(branch)

    return condition


def _compile_transition(state: State, transition: Transition, payload: SchemaCheck | None) -> CompiledTransition:
    return CompiledTransition(
        transition=transition,
        source=state.id,
        roles=frozenset(transition.roles),
        guards=tuple(compile_expression(text) for text in transition.conditions),
        payload=payload,
        assignments=tuple(
            (
                a.field,
                compile_expression(a.expression) if a.expression is not None else None,
                thaw_json(a.constant),
            )
            for a in transition.assignments
        ),
        fields_set=tuple(a.field for a in transition.assignments),
    )


def _compile_branches(state: State) -> tuple[CompiledBranch, ...]:
    branches = [
        CompiledBranch(state.id, index, branch, compile_expression(branch.condition, roots=("data",)))
        for index, branch in enumerate(state.branches)
        if branch.condition is not None
    ]
    if state.default is not None:
        branches.append(CompiledBranch(state.id, None, state.default, None))
    return tuple(branches)


def _schema_check(
    document: Mapping[str, Any], registry: referencing.Registry[Any], path: DocumentPath, root: str
) -> SchemaCheck:
    fields = quick_field_checks(document, path) if root == "data" else None  # only data is set field by field
    validator = functools.partial(fragment_validator, registry, path)
    return SchemaCheck(validator, root, quick_check(document, path), fields)


def _place(root: str, path: Any) -> str:
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text

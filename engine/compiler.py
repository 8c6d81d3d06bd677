"""A definition → one shared ``transitions`` machine, compiled once and reused by every instance.

The machine holds no instance (``engine.instances``): every instance of the definition shares it. To fire an
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
import logging
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
import referencing
from transitions import Event, EventData, Machine
from transitions import Transition as MachineTransition

from engine.collector import collector_paused
from engine.expressions import NOW, Expression, ExpressionCalendar, compile_expression
from engine.fragments import (
    date_fields,
    definition_registry,
    fragment_validator,
    quick_check,
    quick_field_checks,
)
from engine.messages import Message, parse_message
from engine.model import (
    Branch,
    Calendar,
    DataLimit,
    Limit,
    Notification,
    Part,
    Process,
    State,
    StateKind,
    Transition,
    thaw_json,
)
from engine.pointers import node_at
from engine.quick_checks import ANNOTATIONS, ObjectShape, QuickCheck, QuickCompiler, Unsupported
from engine.source import DocumentPath
from engine.timing import is_working_day
from engine.value_errors import value_problems

DECIDE = "procflow:decide"
"""The internal trigger that moves a decision on by its first branch whose condition holds."""


Unvouched = tuple[tuple[tuple[str, QuickCheck], ...], tuple[str, ...]]
"""Of a record made of the payload's fields it declares: the properties the payload's form does not
declare exactly so, each with its quick check, and the fields it requires that the form does not."""


class SchemaCheck:
    """A compiled JSON Schema fragment of the definition, checking values an event brings."""

    def __init__(
        self,
        validator: Callable[[], jsonschema.protocols.Validator],
        root: str,
        quick: QuickCheck | None = None,
        fields: Mapping[str, QuickCheck] | None = None,
        shape: ObjectShape | None = None,
    ):
        self._make_validator = validator
        self._built: jsonschema.protocols.Validator | None = None
        self._root = root
        self._quick = quick
        self._fields = fields
        self.shape = shape
        """The fields of an object schema as ``quick`` tests them, for a copy that tests as it goes
        (``engine.inputs.json_object_fitting``): a value it finds fitting has no problems."""

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
        quick = self._quick
        try:
            if quick is not None and quick(value):  # compiled once; see fragments.quick_check
                return ()
            return self._problems(value)
        except RecursionError:
            # The checks at load refuse the schemas that loop; a value nested deeper than the checker's
            # stack is refused rather than crashing the event.
            return (f"{self._root}: is nested too deeply to be checked; send flatter data",)

    def _problems(self, value: Any) -> tuple[str, ...]:
        if self._validator.is_valid(value):  # the common case, and several times cheaper than iter_errors
            return ()
        return value_problems(self._root, list(self._validator.iter_errors(value)))


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
    notify: tuple[CompiledNotification, ...] = ()
    if_present: frozenset[str] = frozenset()
    """The fields of ``assignments`` set only when their value is not null (``if_present: true``)."""

    @property
    def trigger(self) -> str:
        return self.transition.trigger


@dataclass(frozen=True, slots=True)
class CompiledNotification:
    """A ``notify`` declaration with its texts parsed, ready to render for an event."""

    cause: str
    """``enter:<state>`` or ``transition:<trigger>`` (a clock's warning or breach can name its own)."""
    roles: tuple[str, ...]
    zh: Message
    en: Message


def compile_notifications(declared: Iterable[Notification], cause: str) -> tuple[CompiledNotification, ...]:
    """The declarations of one ``notify`` list, parsed once; the checks at load have proven they parse."""
    return tuple(
        CompiledNotification(cause, n.roles, parse_message(n.text.zh), parse_message(n.text.en)) for n in declared
    )


@dataclass(frozen=True, slots=True)
class CompiledPart:
    """A part of a step, ready to be done: its roles as a set, its form's check, its condition."""

    part: Part
    state: str
    roles: frozenset[str]
    payload: SchemaCheck | None
    required_when: Expression | None
    writes: Transition
    """The part seen as a transition that stays in the step, so its records are written exactly as a
    transition's ``produces`` are."""


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
    """Where the shared machine reads and writes the state of the instance being moved (set before each
    run: no ``__init__``, so making one runs no Python frame)."""

    __slots__ = ("procflow_state",)
    procflow_state: str


class CompiledProcess:
    """A process ready to run. Build it once per definition; it is safe to share between threads."""

    @collector_paused()
    def __init__(self, process: Process):
        start = process.start
        if start is None:
            raise ValueError(f"process `{process.id}` has no start state; load it with load_process, which checks")
        self.process = process
        document = process.document  # frozen: read as it is; jsonschema gets a plain copy, if it is ever needed
        assert isinstance(document, Mapping)  # a definition is a mapping
        registry = _Registry(document)
        compiler = QuickCompiler(document)  # one for every fragment: what they share is compiled once
        self.data_check = (
            _schema_check(compiler, registry, ("data",), "data") if process.data_schema is not None else None
        )
        payload_checks = {
            t.path: _schema_check(compiler, registry, t.path + ("payload",), "payload")
            for t in process.transitions
            if t.payload_schema is not None
        }
        calendar = expression_calendar(process.calendar)
        data_dates = date_fields(document, process.data_schema, "data")
        self.record_checks: dict[str, SchemaCheck] = {
            record.id: _schema_check(compiler, registry, record.path + ("fields",), f"record `{record.id}`")
            for record in process.records.values()
            if record.fields is not None
        }
        """The check of each record's content against its ``fields``, for the records that declare them."""
        self.record_unvouched: dict[DocumentPath, Unvouched] = {}
        """By ``produces`` (its place), of a record made of the payload's fields it declares: what the
        payload's form does not vouch for once the payload fits it (``unvouched``). A ``produces`` not
        here has its record checked whole."""
        for t in process.transitions:
            if t.payload_schema is None:
                continue
            for binding in t.produces:
                record = process.records[binding.record]
                if binding.fields is not None or binding.amend or record.fields is None:
                    continue
                found = unvouched(
                    compiler, node_at(document, record.path + ("fields",)), node_at(document, t.path + ("payload",))
                )
                if found is not None:
                    self.record_unvouched[binding.path] = found
        self.records_as_payload: frozenset[DocumentPath] = frozenset(
            path for path, (rest, needed) in self.record_unvouched.items() if not rest and not needed
        )
        """The ``produces`` whose record needs no check of its own once the payload fits its form: every
        field the record declares is declared by the form exactly so, and what the record requires the
        form requires too. The record is the payload's fields it declares, so it fits."""
        # What a transition compiles to, once: a shared one (`source: "*"`) leaves every state, and
        # compiling its dates, conditions and texts for each was most of a large definition's compile.
        compiled_parts = {
            t.path: _compiled_parts(t, {**data_dates, **date_fields(document, t.payload_schema, "payload")}, calendar)
            for t in process.transitions
        }
        self.transitions: dict[str, tuple[CompiledTransition, ...]] = {
            state.id: tuple(
                _compile_transition(state, t, payload_checks.get(t.path), compiled_parts[t.path])
                for t in state.transitions
            )
            for state in process.states.values()
        }
        self.branches: dict[str, tuple[CompiledBranch, ...]] = {
            state.id: _compile_branches(state, data_dates, calendar)
            for state in process.states.values()
            if state.kind is StateKind.DECISION
        }
        self.data_limits: dict[DocumentPath, Expression] = {
            limit.path: compile_expression(limit.expression, DATA_LIMIT_ROOTS, dates=data_dates, calendar=calendar)
            for state in process.states.values()
            for limit in _data_limits(state)
        }
        self.data_limits.update(
            (limit.path, compile_expression(limit.expression, DATA_LIMIT_ROOTS, dates=data_dates, calendar=calendar))
            for clock in process.clocks.values()
            for _, limit in clock.from_data
        )
        """The expressions of the time limits taken from the data (states', deadlines' and clocks'), by the
        limit's place in the definition."""
        self.loop_limits: dict[DocumentPath, Expression] = {
            limit.path: compile_expression(limit.times_from, DATA_LIMIT_ROOTS, dates=data_dates, calendar=calendar)
            for limit in _loop_limits(process)
            if limit.times_from is not None
        }
        """The ``times`` of the loop limits taken from the data, by the limit's place in the definition."""
        self.child_data: dict[str, tuple[tuple[str, Expression], ...]] = {
            state.id: tuple(
                (name, compile_expression(text, BRANCH_ROOTS, dates=data_dates, calendar=calendar))
                for name, text in state.starts.data
            )
            for state in process.states.values()
            if state.starts is not None
        }
        """For each step that starts another procedure, the expressions of the child's initial data."""
        self.triggers: dict[str, tuple[str, ...]] = {state.id: state.triggers for state in process.states.values()}
        self.on_enter: dict[str, tuple[CompiledNotification, ...]] = {
            state.id: compile_notifications(state.notify, f"enter:{state.id}") for state in process.states.values()
        }
        self.parts: dict[str, dict[str, CompiledPart]] = {
            state.id: {
                part.id: _compile_part(state, part, compiler, registry, data_dates, calendar) for part in state.parts
            }
            for state in process.states.values()
            if state.parts
        }
        """The parts of each step that has some, by id (which is also the trigger that does each)."""
        self.signature_conditions: dict[DocumentPath, Expression] = {
            signoff.path: compile_expression(signoff.when, BRANCH_ROOTS, dates=data_dates, calendar=calendar)
            for transition in process.transitions
            for signoff in transition.signoffs
            if signoff.when is not None
        }
        """The ``when`` of each conditional signature, by the signature's place in the definition."""
        by_trigger: dict[tuple[str, str], list[CompiledTransition]] = {}
        for candidates in self.transitions.values():
            for candidate in candidates:
                by_trigger.setdefault((candidate.source, candidate.trigger), []).append(candidate)
        self.only: dict[tuple[str, str], CompiledTransition] = {
            key: group[0] for key, group in by_trigger.items() if len(group) == 1
        }
        """The transition of each ``(state, trigger)`` that has one only."""
        self._machine = self._build_machine(start.id)

    def fire(self, state: str, trigger: str, gate: Gate, only: CompiledTransition | None) -> str | None:
        """The state the first transition the gate admits leads to, or ``None`` when it admits none.

        The caller has checked that ``trigger`` leaves ``state``, and may give ``only``, the transition of
        ``(state, trigger)`` when it has one only (``self.only``'s), to spare the look-up. Its machine
        transition has no condition (the gate admits it here), so without it ``only`` is looked up.
        """
        if only is None:
            only = self.only.get((state, trigger))
        if only is not None and not gate.admit(only):
            return None
        return self._run(state, trigger, gate)

    def decide(self, decision: str, gate: Gate) -> str | None:
        """Where the decision goes: the dest of the first branch the gate takes."""
        return self._run(decision, DECIDE, gate)

    def _run(self, state: str, trigger: str, gate: Gate) -> str | None:
        cursor = _Cursor()  # one per run, so threads share no cursor (and need no lock)
        cursor.procflow_state = state
        moved = self._machine.events[trigger].trigger(cursor, gate)  # positionally: no dict of keywords
        return cursor.procflow_state if moved else None

    def _build_machine(self, initial: str) -> Machine:
        machine = _LeanMachine(
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
                only = self.only.get((candidate.source, candidate.trigger)) is candidate
                conditions = [] if only else [_admits(candidate)]
                _add_transition(machine, candidate.trigger, candidate.source, candidate.transition.dest, conditions)
        for branches in self.branches.values():
            for branch in branches:
                _add_transition(machine, DECIDE, branch.decision, branch.branch.dest, [_takes(branch)])
        machine.plain = _is_plain(machine)
        return machine


def _add_transition(machine: Machine, trigger: str, source: str, dest: str, conditions: list[Any]) -> None:
    """``machine.add_transition(trigger, source, dest, conditions=conditions)`` as transitions does it for a
    machine without models, for a source and a dest named by their ids: the trigger's event made with its
    first transition, and the transition added to it. What a definition never gives (``*`` and ``=``, or
    states as objects, which transitions tells from names by a ``hasattr`` on each) goes to transitions."""
    if trigger == machine.model_attribute or machine.models or "*" in (source, dest) or "=" in (source, dest):
        machine.add_transition(trigger, source, dest, conditions=conditions)
        return
    event = machine.events.get(trigger)
    if event is None:
        event = machine.events[trigger] = machine._create_event(trigger, machine)
    event.add_transition(machine._create_transition(source, dest, conditions, None, None, None, None))


_TRANSITIONS_LOG = logging.getLogger("transitions.core")


class _LeanTransition(MachineTransition):
    """``execute``, as transitions does it on a plain machine (``_is_plain``) whose log nobody listens to,
    in its two halves: ``allows`` asks each condition in order, and ``_LeanEvent`` then moves the model to
    ``dest``. The calls for callbacks there are none of, the log lines, and the state objects' exit and
    enter (which would only run those callbacks and log) are left out."""

    def allows(self, event_data: EventData) -> bool:
        for condition in self.conditions:
            predicate: Callable[[EventData], bool] = condition.func  # type: ignore[assignment]  # plain: callables
            if predicate(event_data) != condition.target:
                return False
        return True


class _LeanEvent(Event):
    """``Event.trigger`` on a plain machine whose log nobody listens to (its logger below DEBUG): without
    the partial, the queue and the callbacks the machine has none of, and without an ``EventData`` until
    a transition has a condition to give it to. Each transition that leaves the state is still tried in
    order by transitions and moves the model. Otherwise, and for a trigger that does not leave the state
    (transitions raises), transitions' own."""

    def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
        machine = self.machine
        attribute = machine.model_attribute
        transitions = self.transitions.get(getattr(model, attribute))
        if (
            not machine.plain
            or not transitions
            or machine._transition_queue
            or _TRANSITIONS_LOG.isEnabledFor(logging.DEBUG)
        ):
            return bool(super().trigger(model, *args, **kwargs))
        event_data: EventData | None = None
        lean: list[_LeanTransition] = transitions  # type: ignore[assignment]  # its transition_cls
        for transition in lean:
            if transition.conditions:
                if event_data is None:
                    event_data = EventData(machine.states[transition.source], self, machine, model, args, kwargs)
                event_data.transition = transition
                if not transition.allows(event_data):
                    continue
            if transition.dest:  # transition.move(model, attribute), without its call
                setattr(model, attribute, transition.dest)
            return True
        return False


class _LeanMachine(Machine):
    transition_cls = _LeanTransition
    event_cls = _LeanEvent
    plain = False
    """No queue and no callback anywhere (machine, events, transitions, states): set once it is built."""


def _is_plain(machine: Machine) -> bool:
    """Whether the machine has no queue and no callback of any kind, so that firing it only asks the
    conditions and moves the model (``_LeanEvent``)."""
    if machine.has_queue or any(
        (
            machine.prepare_event,
            machine.finalize_event,
            machine.on_exception,
            machine.before_state_change,
            machine.after_state_change,
            machine.on_final,
        )
    ):
        return False
    if any(state.on_enter or state.on_exit or state.final for state in machine.states.values()):
        return False
    return all(
        not (transition.prepare or transition.before or transition.after)
        and all(not isinstance(condition.func, str) for condition in transition.conditions)
        for event in machine.events.values()
        for transitions in event.transitions.values()
        for transition in transitions
    )


def _admits(candidate: CompiledTransition) -> Any:
    def condition(event: EventData) -> bool:
        gate: Gate
        (gate,) = event.args  # the gate ``_run`` gives the trigger
        return gate.admit(candidate)

    return condition


def _takes(branch: CompiledBranch) -> Any:
    def condition(event: EventData) -> bool:
        gate: Gate
        (gate,) = event.args
        return gate.take(branch)

    return condition


DATA_LIMIT_ROOTS = ("data", NOW)
"""What a time limit taken from the data may read: the data as the state is entered, and ``now``."""
EXPRESSION_ROOTS = ("data", "payload", NOW)
BRANCH_ROOTS = ("data", NOW)


def expression_calendar(calendar: Calendar) -> ExpressionCalendar:
    """The business calendar as expressions' date functions use it."""
    return ExpressionCalendar(zoneinfo.ZoneInfo(calendar.timezone), functools.partial(is_working_day, calendar))


def _loop_limits(process: Process) -> list[Limit]:
    limits = [s.limit for s in process.states.values()] + [t.limit for t in process.transitions]
    return [limit for limit in limits if limit is not None]


def _data_limits(state: State) -> list[DataLimit]:
    limits = [state.time_limit_from] if state.time_limit_from is not None else []
    return limits + [d.after_from for d in state.deadlines if d.after_from is not None and d.after_from not in limits]


_CompiledParts = tuple[
    frozenset[str],
    tuple[Expression, ...],
    tuple[tuple[str, Expression | None, Any], ...],
    tuple[str, ...],
    tuple[CompiledNotification, ...],
    frozenset[str],
]
"""What a ``CompiledTransition`` holds after its source and payload check, in its fields' order: the same
for every state a transition leaves."""


def _compile_transition(
    state: State, transition: Transition, payload: SchemaCheck | None, parts: _CompiledParts
) -> CompiledTransition:
    roles, guards, assignments, fields_set, notify, if_present = parts
    return CompiledTransition(
        transition=transition,
        source=state.id,
        roles=roles,
        guards=guards,
        payload=payload,
        assignments=assignments,
        fields_set=fields_set,
        notify=notify,
        if_present=if_present,
    )


def _compiled_parts(
    transition: Transition, dates: Mapping[tuple[str, ...], str], calendar: ExpressionCalendar
) -> _CompiledParts:
    def compiled(text: str) -> Expression:
        return compile_expression(text, EXPRESSION_ROOTS, dates=dates, calendar=calendar)

    return (
        frozenset(transition.roles),
        tuple(compiled(text) for text in transition.conditions),
        tuple(
            (
                a.field,
                compiled(a.expression) if a.expression is not None else None,
                thaw_json(a.constant),
            )
            for a in transition.assignments
        ),
        tuple(a.field for a in transition.assignments),
        compile_notifications(transition.notify, f"transition:{transition.trigger}"),
        frozenset(a.field for a in transition.assignments if a.if_present),
    )


def _compile_part(
    state: State,
    part: Part,
    compiler: QuickCompiler,
    registry: _Registry,
    dates: Mapping[tuple[str, ...], str],
    calendar: ExpressionCalendar,
) -> CompiledPart:
    condition = part.required_when
    return CompiledPart(
        part=part,
        state=state.id,
        roles=frozenset(part.roles),
        payload=_schema_check(compiler, registry, part.path + ("payload",), "payload")
        if part.payload_schema is not None
        else None,
        required_when=compile_expression(condition, BRANCH_ROOTS, dates=dates, calendar=calendar)
        if condition is not None
        else None,
        writes=part.as_transition(state.id),
    )


def _compile_branches(
    state: State, dates: Mapping[tuple[str, ...], str], calendar: ExpressionCalendar
) -> tuple[CompiledBranch, ...]:
    branches = [
        CompiledBranch(
            state.id,
            index,
            branch,
            compile_expression(branch.condition, roots=BRANCH_ROOTS, dates=dates, calendar=calendar),
        )
        for index, branch in enumerate(state.branches)
        if branch.condition is not None
    ]
    if state.default is not None:
        branches.append(CompiledBranch(state.id, None, state.default, None))
    return tuple(branches)


class _Registry:
    """The definition's schemas for jsonschema, made from a plain copy of the document the first time a
    fragment's quick check cannot decide (most definitions never need it)."""

    def __init__(self, document: Mapping[str, Any]):
        self._document = document
        self._made: referencing.Registry[Any] | None = None

    def __call__(self) -> referencing.Registry[Any]:
        made = self._made
        if made is None:  # two threads may both make it; either is right
            made = self._made = definition_registry(thaw_json(self._document))
        return made


def _schema_check(compiler: QuickCompiler, registry: _Registry, path: DocumentPath, root: str) -> SchemaCheck:
    document = compiler.document
    fields = quick_field_checks(document, path, compiler) if root == "data" else None  # set field by field
    quick = quick_check(document, path, compiler)
    shape = _shape(compiler, path) if root == "payload" and quick is not None else None  # copied as checked
    return SchemaCheck(lambda: fragment_validator(registry(), path), root, quick, fields, shape)


def unvouched(compiler: QuickCompiler, record: Any, form: Any) -> Unvouched | None:
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
    if not (isinstance(needed, (list, tuple)) and isinstance(promised, (list, tuple))):
        return None
    if not all(isinstance(n, str) and n in declared for n in needed):
        return None
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


def _shape(compiler: QuickCompiler, path: DocumentPath) -> ObjectShape | None:
    try:
        return compiler.shape(node_at(compiler.document, path))
    except Unsupported:
        return None

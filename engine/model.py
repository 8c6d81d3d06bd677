"""The definition model: immutable, typed, and free of I/O. Everything downstream reads this, never YAML.

Identifiers (of states, roles, records, triggers) are kept as strings; ``engine.checks`` proves they
resolve before anyone relies on them. Each object keeps ``path``, its place in the source document,
which ``Process.locate`` turns into a file, line and column for messages.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, Union

from engine.frozen import field, frozen
from engine.source import DocumentPath, SourceLocation, SourceMap

FrozenJson = Union[None, bool, int, float, str, tuple["FrozenJson", ...], Mapping[str, "FrozenJson"]]
"""JSON data that cannot be changed: mappings are read-only views and lists are tuples."""

TimeUnit = Literal["second", "minute", "hour", "day", "week"]


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Most values in a document are these; testing the exact type first skips the slow ABC checks."""


def freeze_json(value: Any) -> FrozenJson:
    # Scalars, most of a document, are kept where they stand: no call per scalar.
    scalars = _JSON_SCALARS
    if isinstance(value, (list, tuple)):
        return tuple([v if type(v) in scalars else freeze_json(v) for v in value])
    if isinstance(value, (dict, Mapping)):  # dict first: a plain type test, not the ABC's
        return MappingProxyType({str(k): v if type(v) in scalars else freeze_json(v) for k, v in value.items()})
    return value  # type: ignore[no-any-return]


def thaw_json(value: FrozenJson) -> Any:
    """A plain, mutable copy (dicts and lists), for libraries that want JSON as ``json.load`` gives it."""
    scalars = _JSON_SCALARS
    if isinstance(value, tuple):
        return [v if type(v) in scalars else thaw_json(v) for v in value]
    if isinstance(value, (MappingProxyType, Mapping)):  # the frozen kind first: a plain type test
        return {k: v if type(v) in scalars else thaw_json(v) for k, v in value.items()}
    return value


class StateKind(enum.StrEnum):
    START = "start"
    TASK = "task"
    DECISION = "decision"
    WAIT = "wait"
    FINAL = "final"


@frozen
class Text:
    """A label in the documents' Chinese with its English rendering."""

    zh: str
    en: str


@frozen
class Duration:
    """A time limit as written (``text``) and as an amount of a unit.

    ``working`` durations (``3 working days``) count only the calendar's working time; the others are
    plain elapsed time. ISO 8601 durations with several parts (``P1DT12H``) are held in seconds.
    """

    text: str
    amount: int
    unit: TimeUnit
    working: bool = False

    def as_timedelta(self) -> datetime.timedelta:
        """Elapsed time, for durations that are not ``working``."""
        return datetime.timedelta(**{f"{self.unit}s": self.amount})


@frozen
class DataLimit:
    """A time limit taken from the data: a state's, evaluated when the state is entered
    (``time_limit: {at: ...}``), or a clock's point, evaluated when the clock starts (``limit: {hours: ...}``).

    With ``unit`` ``None``, ``expression`` gives a date or a date-time and the limit ends then (a date
    at the start of that day on the business calendar), less ``before``; otherwise it gives a whole
    number of ``unit`` (of working time when ``working``) counted from entering the state, or of the
    clock's running time. A clock's point that is a date (``limit: {at: data.pickup_at}``) is the moment
    itself, worked out when the clock starts: pauses do not move it.
    """

    expression: str
    unit: TimeUnit | None
    working: bool
    before: Duration | None
    path: DocumentPath

    @property
    def text(self) -> str:
        """How the limit is shown: ``at data.requested_date``, ``data.quantity * 2 hours``."""
        if self.unit is None:
            return f"{self.before.text} before {self.expression}" if self.before else f"at {self.expression}"
        return f"({self.expression}) {'working ' if self.working else ''}{self.unit}s"


END_OF_DAY = datetime.time.max
"""How a calendar holds a working period ending at ``24:00`` (a ``datetime.time`` stops at 23:59:59.999999):
working time counts it as the very end of the day, midnight of the next."""


@frozen
class Calendar:
    """The business calendar that working-day and working-hour limits count on."""

    timezone: str = "UTC"
    working_days: frozenset[int] = frozenset(range(5))
    """Weekday numbers, Monday = 0."""
    working_hours: tuple[tuple[datetime.time, datetime.time], ...] = ((datetime.time(9), datetime.time(17)),)
    """Periods of a working day, in order, local time; an end of ``END_OF_DAY`` is 24:00."""
    holidays: frozenset[datetime.date] = frozenset()
    extra_working_days: frozenset[datetime.date] = frozenset()
    """Days worked although their weekday is not a working day (调休)."""


@frozen
class SourceDocument:
    key: str
    file: str
    title: Text
    sections: str | None = None


@frozen
class SourceRef:
    """A section of one of the process's source documents."""

    document: str
    section: str


@frozen
class Department:
    id: str
    label: Text
    path: DocumentPath


@frozen
class Role:
    id: str
    label: Text
    department: str | None
    external: bool
    path: DocumentPath


@frozen
class Record:
    """A record or form the procedure produces, with the JSON Schema of its fields."""

    id: str
    label: Text
    fields: FrozenJson | None
    archived: bool
    source: SourceRef | None
    path: DocumentPath


@frozen
class FieldName:
    """``fields: {customer_name: {zh: 顾客姓名, en: Customer name}}``: a field's name in the glossary,
    the same in every form, record and ``data`` it appears in (a property's ``title`` overrides it there)."""

    id: str
    label: Text
    description: str | None
    path: DocumentPath


@frozen
class RecordBinding:
    """A record a transition writes from its payload (``produces``), or corrects (``amends``)."""

    record: str
    fields: tuple[tuple[str, str, str], ...] | None
    """``(record field, "payload" or "data", field there)`` for each field that goes into the record;
    ``None``: every payload field the record declares, under the same name."""
    amend: bool
    """``amends``: a new version of a record made earlier, its fields written over the previous ones."""
    path: DocumentPath


@frozen
class Assignment:
    """``set: {field: ...}``: a data field set by a transition, to an expression or a constant."""

    field: str
    expression: str | None
    """The expression text, or ``None`` when ``constant`` holds the value (a number, true/false, null)."""
    constant: FrozenJson
    path: DocumentPath
    if_present: bool = False
    """``{from: payload.notes, if_present: true}``: set only when the expression's value is not null."""


SignatureScope = Literal["history", "round"]


@frozen
class SignOff:
    role: str
    label: Text | None
    not_actor_of: tuple[str, ...]
    """States whose actor may not give this signature."""
    path: DocumentPath
    when: str | None = None
    """The signature is needed only when this expression over the data holds (``None``: always)."""
    same_actor_as: tuple[str, ...] = ()
    """States one of whose actors must give this signature."""
    scope: SignatureScope = "history"
    """Whose acts ``not_actor_of`` and ``same_actor_as`` look at: anyone's in the whole history, or
    only those of the latest stay in the state (``round``: the current round of a loop)."""


@frozen
class Notification:
    """``notify: [{roles, text}]``: who is told what when a state is entered or a transition fires.

    ``text`` may hold ``{data.field}`` and ``{payload.field}`` placeholders (``engine.messages``)."""

    roles: tuple[str, ...]
    text: Text
    path: DocumentPath


@frozen
class Limit:
    """``limit: {times: 3, then: escalate}``: how many times a transition may be taken in one instance.

    Counted from the history (so replay counts the same): the events that took it to its ``dest``.
    The attempt after the last is refused with ``limit-reached`` (``then`` is ``None``) or led to the
    state ``then`` instead."""

    times: int | None
    """As written, or ``None`` when ``times_from`` gives it."""
    then: str | None
    path: DocumentPath
    times_from: str | None = None
    """``times: data.max_reworks``: an expression over the data giving the number (a whole number, 1 or
    more), evaluated each time the limit is checked, on the data as the event finds it."""

    @property
    def text(self) -> str:
        """How ``times`` is shown: ``3`` or the expression as written."""
        return str(self.times) if self.times_from is None else self.times_from


@frozen
class SubProcess:
    """``starts: {process, data, as, on_end, returns}``: a step that hands the work to another procedure
    and waits for it to end. Only ``Workflows`` (which knows every registered definition) can run it."""

    process: str
    data: tuple[tuple[str, str], ...]
    """``(child data field, expression on this instance's data)`` for the child's initial data."""
    role: str | None
    """The child's role that starts it (``as``); ``None``: the role of the child's start step."""
    on_end: tuple[tuple[str, str], ...]
    """``(child final state, trigger of this step)``: the continuation fired when the child ends there."""
    returns: tuple[tuple[str, str], ...]
    """``(payload field of the continuation, child data field)``."""
    path: DocumentPath

    def trigger_for(self, final_state: str) -> str | None:
        return dict(self.on_end).get(final_state)


@frozen
class Transition:
    trigger: str
    label: Text
    sources: tuple[str, ...]
    """The states it leaves; a shared transition (``source: '*'``) lists every state it was expanded to."""
    dest: str
    conditions: tuple[str, ...]
    """Guard expressions; all must hold."""
    roles: tuple[str, ...]
    """Who may fire it; when the YAML names none, the role of the state it leaves."""
    payload_schema: FrozenJson | None
    assignments: tuple[Assignment, ...]
    signoffs: tuple[SignOff, ...]
    shared: bool
    """Declared under the top-level ``transitions`` rather than under a state's ``on``."""
    path: DocumentPath
    addition: Text | None = None
    """Why this transition is here although no source document names it (``None``: it is sourced)."""
    notify: tuple[Notification, ...] = ()
    """Notifications due when it fires."""
    produces: tuple[RecordBinding, ...] = ()
    """The records it writes (``produces``, then ``amends``), in the order written."""
    requires: tuple[str, ...] = ()
    """Records that must exist before it fires (``requires: all`` lists every declared record)."""
    limit: Limit | None = None
    """How many times it may be taken, and what the attempt after the last does."""
    cancels: bool = False
    """It cancels the case: taken whatever the step's open parts and the records its final state requires."""


@frozen
class Part:
    """A share of a step's work done by someone with one of ``roles``, by its own event (the trigger
    is ``id``). While a required part is open the step's transitions out are refused."""

    id: str
    label: Text
    roles: tuple[str, ...]
    payload_schema: FrozenJson | None
    produces: tuple[RecordBinding, ...]
    required: bool
    """``required: false``: it may be done, but the step can be left without it."""
    required_when: str | None
    """Required only when this expression over the data holds (``None``: as ``required`` says)."""
    for_each: str | None
    """The data field (a list) with one part per item, or ``None`` for a single part."""
    key: str | None
    """With ``for_each``: the field of each item that names it; ``None``: its index, or the item if text."""
    source: SourceRef | None
    path: DocumentPath

    def as_transition(self, state: str) -> Transition:
        """The part seen as a transition that stays in its step: how its records are written and checked,
        exactly as a transition's ``produces`` are."""
        return Transition(
            trigger=self.id,
            label=self.label,
            sources=(state,),
            dest=state,
            conditions=(),
            roles=self.roles,
            payload_schema=self.payload_schema,
            assignments=(),
            signoffs=(),
            shared=False,
            path=self.path,
            produces=self.produces,
        )


@frozen
class Branch:
    """A decision's branch; the default branch has no ``condition``."""

    condition: str | None
    dest: str
    label: Text
    path: DocumentPath


@frozen
class Deadline:
    after: Duration | None
    """As written, or the state's ``time_limit`` when the YAML gives no ``after`` (``None`` only in a
    definition that failed its checks)."""
    fire: str
    """The trigger of the state that the engine fires when ``after`` has passed."""
    path: DocumentPath
    addition: Text | None = None
    """Why this deadline is here although no source document names it (``None``: it is sourced)."""
    after_from: DataLimit | None = None
    """When ``after`` (or the state's time limit it defaults to) comes from the data."""


@frozen
class State:
    id: str
    kind: StateKind
    label: Text
    description: Text | None
    role: str | None
    time_limit: Duration | None
    deadlines: tuple[Deadline, ...]
    produces: tuple[str, ...]
    source: SourceRef | None
    transitions: tuple[Transition, ...]
    """Every transition that leaves this state: its own ``on`` first, then shared ones."""
    branches: tuple[Branch, ...]
    default: Branch | None
    path: DocumentPath
    addition: Text | None = None
    """Why this step is here although no source document names it (``None``: it cites its ``source``)."""
    notify: tuple[Notification, ...] = ()
    """Notifications due when an instance enters this state."""
    time_limit_from: DataLimit | None = None
    """When the state's time limit comes from the data (``time_limit: {at: data.requested_date}``)."""
    requires: tuple[str, ...] = ()
    """Records that must exist once an event leads into this step (``requires: all``: every declared record)."""
    starts: SubProcess | None = None
    """The procedure this step hands the work to, and how its end leads on."""
    limit: Limit | None = None
    """How many times an instance may enter this step, and what an event entering it once more does."""
    parts: tuple[Part, ...] = ()
    """Work shared by several people in this step, in the order written."""

    @property
    def records_written(self) -> tuple[str, ...]:
        """The records the step is said to produce: its own ``produces`` label, then those its
        transitions write, each once."""
        written = [b.record for t in self.transitions for b in t.produces if not b.amend]
        written += [b.record for p in self.parts for b in p.produces]
        return tuple(dict.fromkeys([*self.produces, *written]))

    @property
    def is_final(self) -> bool:
        return self.kind is StateKind.FINAL

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def exits(self) -> tuple[str, ...]:
        """Every state this one can lead to, by transitions or by branches, in order."""
        dests = [t.dest for t in self.transitions] + [b.dest for b in self.branches]
        dests += [t.limit.then for t in self.transitions if t.limit is not None and t.limit.then is not None]
        if self.default is not None:
            dests.append(self.default.dest)
        return tuple(dict.fromkeys(dests))


@frozen
class ClockPoint:
    """Moments of a case: entering or leaving any of ``enter`` / ``leave``, or firing any of ``on``."""

    enter: tuple[str, ...] = ()
    leave: tuple[str, ...] = ()
    on: tuple[str, ...] = ()


@frozen
class ClockAction:
    """What reaching a clock's warning, limit or ceiling does, besides its history entry."""

    overdue: bool
    fire: tuple[str, ...]
    """Triggers to fire: the first one the state the case is in then has (none: the point is only recorded)."""
    notify: tuple[str, ...]
    """Roles a notification is due to (recorded in the history; delivering it is not the engine's)."""
    path: DocumentPath


CLOCK_THRESHOLDS = ("warning", "limit", "ceiling")
"""A clock's points, in the order they are reached."""


@frozen
class Clock:
    """A promise that spans steps (``clocks:``): running time counted from ``starts`` to ``stops``, not
    counted in ``pauses``, measured against ``limit`` (and an optional ``warning`` and ``ceiling``)."""

    id: str
    label: Text
    source: SourceRef | None
    starts: ClockPoint
    stops: ClockPoint
    pauses: tuple[str, ...]
    restart: bool
    """Whether starting a stopped clock again counts from zero (else it carries on)."""
    thresholds: Mapping[str, tuple[Duration | DataLimit | None, ClockAction]]
    """By name in ``CLOCK_THRESHOLDS`` order, those written: the running time and what reaching it does
    (``None`` only in a definition that failed its checks). A ``DataLimit`` is worked out from the data
    each time the clock starts, and the running time (an amount) or the moment (``at``) it gives is recorded
    on that start's ``ClockMark`` (``engine.clocks``)."""

    @property
    def from_data(self) -> tuple[tuple[str, DataLimit], ...]:
        """The points whose running time comes from the data, in order."""
        return tuple((name, d) for name, (d, _) in self.thresholds.items() if isinstance(d, DataLimit))

    path: DocumentPath


@frozen
class Process:
    """A process definition built from a document the schema accepted. ``engine.checks`` judges it
    afterwards; ``load_process`` hands out only the ones it passed."""

    id: str
    version: int
    title: Text
    description: Text | None
    owner: str
    sources: Mapping[str, SourceDocument]
    calendar: Calendar
    departments: Mapping[str, Department]
    roles: Mapping[str, Role]
    records: Mapping[str, Record]
    data_schema: FrozenJson | None
    states: Mapping[str, State]
    """In the order the file lists them."""
    shared_transitions: tuple[Transition, ...]
    document: FrozenJson = field(repr=False, compare=False)
    """The whole definition as data, for resolving ``$ref`` inside it and for storing it."""
    content_hash: str
    """SHA-256 of the definition's data in canonical JSON: the same for the same content, however formatted.
    Given as text, or as ``WhenRead(work_out)``: worked out the first time it is read (``_ContentHash``)."""
    source_map: SourceMap = field(repr=False, compare=False)
    clocks: Mapping[str, Clock] = field(default_factory=lambda: MappingProxyType({}))
    """Promises across steps, in the order the file lists them."""
    administrators: tuple[str, ...] = ()
    """Roles that may move a case to another step by hand, with a reason (``Runtime.move``)."""
    fields: Mapping[str, FieldName] = field(default_factory=lambda: MappingProxyType({}))
    """The glossary of field names, in the order the file lists them."""
    schema_field_names: frozenset[str] | None = field(default=None, repr=False, compare=False)
    """Every key under a ``properties`` anywhere in ``document``, found as it was frozen; ``None``: not known
    (``engine.checks.usage.schema_field_names`` finds them)."""

    @property
    def file(self) -> str:
        return self.source_map.file

    # Worked out once: the checks and the compiler ask for them again and again, and a process never changes.
    @cached_property
    def start(self) -> State | None:
        return next((s for s in self.states.values() if s.kind is StateKind.START), None)

    @cached_property
    def transitions(self) -> tuple[Transition, ...]:
        """Each transition once, states' own in file order, then the shared ones."""
        own = [t for s in self.states.values() for t in s.transitions if not t.shared]
        return tuple(own) + self.shared_transitions

    def field_label(self, name: str, schema: FrozenJson = None) -> Text | None:
        """The name a form or record shows for its field ``name`` whose JSON Schema is ``schema``: the
        property's own ``title`` (one string, both languages), else the glossary's, else ``None``."""
        title = schema.get("title") if isinstance(schema, Mapping) else None
        if isinstance(title, str) and title.strip():
            return Text(title, title)
        entry = self.fields.get(name)
        return entry.label if entry is not None else None

    def locate(self, path: DocumentPath, *, key: bool = False) -> SourceLocation:
        """The file, line and column of the node at ``path`` (of its key, with ``key=True``)."""
        return self.source_map.locate(path, key=key)


class WhenRead:
    """A value given to ``Process`` as the function that works it out, called the first time the
    value is read. A definition that is only validated (``procflow validate``, a draft in the studio)
    never has its content hash read: hashing its canonical JSON was a sixth of its load."""

    __slots__ = ("work_out",)

    def __init__(self, work_out: Callable[[], str]):
        self.work_out = work_out


class _ContentHash:
    """``Process.content_hash``, kept in the instance's ``__dict__``: the text given, or what its
    ``WhenRead`` works out, put in its place when first read. Equality, hashing, ``repr`` and
    ``dataclasses.replace`` read it as any field."""

    def __get__(self, process: Process | None, owner: type | None = None) -> Any:
        if process is None:
            return self
        given = process.__dict__["content_hash"]
        if type(given) is WhenRead:
            given = process.__dict__["content_hash"] = given.work_out()
        return given

    def __set__(self, process: Process, value: str | WhenRead) -> None:
        process.__dict__["content_hash"] = value  # only ``__init__`` sets it: the class refuses assignments


setattr(Process, "content_hash", _ContentHash())  # noqa: B010 -- after ``@frozen``, which takes a class attribute for a default

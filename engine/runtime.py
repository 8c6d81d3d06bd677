"""Running instances of a definition: who may do what, with which data, by when, on the record.

``Runtime(process)`` compiles the definition once; every instance of it is then moved by that one
machine. An event is checked completely before anything changes: its time must be one procflow
records and its payload within the limits of ``engine.inputs``, the trigger must leave the current
state, the actor must hold its roles (and those of any signature it needs, and must not be barred
from signing), the payload must fit the trigger's input schema, its conditions must hold, the data
it sets must fit the process's data schema, and the business calendar must be able to count the
deadlines it opens. Decisions reached on the way resolve on entry. Only then are the instance's
state, data and deadlines replaced and its history appended, so a refused event changes nothing.

Time comes from the injected clock, or an explicit ``at``; a deadline fires at its own due time,
which ``advance`` catches up on. Working-time limits count on the definition's business calendar.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import operator
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine import clocks as clock_rules
from engine.compiler import (
    CompiledBranch,
    CompiledNotification,
    CompiledPart,
    CompiledProcess,
    CompiledTransition,
    SchemaCheck,
)
from engine.errors import (
    ClaimRefused,
    EventRefused,
    ExpressionEvaluationError,
    GuardFailed,
    InstanceFormatError,
    InvalidData,
    InvalidPayload,
    InvalidTime,
    LimitReached,
    MigrationRefused,
    MissingRecord,
    MissingSignature,
    MoveRefused,
    PartAlreadyDone,
    PartsOpen,
    PermissionDenied,
    ReplayMismatch,
    StepClaimed,
    SubProcessRefused,
    UnknownTrigger,
)
from engine.expressions import MAX_NUMBER, NOW, to_json
from engine.frozen import quick_maker
from engine.history_facts import actors_of, loops_of, records_of
from engine.inputs import (
    MAX_CHARACTERS,
    check_name,
    check_note,
    check_time,
    json_copy,
    json_object,
    json_object_fitting,
    kept_as_is,
)
from engine.instances import (
    Assignment,
    BranchTaken,
    ClockMark,
    Entry,
    Instance,
    Link,
    Migration,
    NotificationDue,
    OpenDeadline,
    RecordVersion,
    RecordWritten,
    Signature,
)
from engine.model import (
    Clock,
    DataLimit,
    Duration,
    FrozenJson,
    Limit,
    Part,
    Process,
    RecordBinding,
    SignOff,
    StateKind,
    SubProcess,
    Text,
    Transition,
)
from engine.pointers import resolve
from engine.schema_errors import did_you_mean
from engine.source import DocumentPath
from engine.timing import data_duration, due_from_data, due_time, shown_amount, whole_number
from engine.work import (
    SUPERVISOR_ROLE,
    CaseWork,
    ClockShown,
    MoveWork,
    Offer,
    PartWork,
    Signer,
    StepWork,
    offered,
)

CLOCK_ACTOR = "procflow:clock"
"""The actor recorded on events the engine fires itself when a deadline passes."""

CHILD_ACTOR = "procflow:sub-process"
"""The actor recorded on events the engine fires itself when a child procedure ends."""


MAX_REASON_LENGTH = 2_000
"""The longest reason a move by hand may give: a sentence or a paragraph, not a document."""


@dataclass(frozen=True)
class ChildStart:
    """What a step that starts another procedure asks for (``starts``): handed to the ``spawn`` hook,
    which starts the child and returns its instance id, or raises ``EventRefused``."""

    process: str
    data: Mapping[str, Any]
    """The child's initial data, from the step's ``starts.data`` on the parent's data after the event."""
    actor: str
    """The actor of the parent's event; the child is started by them."""
    role: str | None
    """The child's role to start it with (``as``); ``None``: the role of the child's start step."""
    parent: Link
    """The parent instance, its process, and the step that waits for the child."""
    at: datetime.datetime


Spawn = Callable[[ChildStart], str]
"""Starts the child a step asks for and returns its id (``Workflows`` keeps it with the parent)."""
SIGN = "sign:"
"""``sign:<trigger>``: the event by which someone gives the signatures of ``<trigger>`` they can give,
before whoever fires it (the customer signs, then the advisor sends)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone acting on an instance, with the roles they hold.

    The id and each role follow the rule for names (``engine.inputs.check_name``): 1 to 200
    characters, not only spaces, no control characters, valid Unicode; ``InvalidActor`` otherwise.
    """

    id: str
    roles: frozenset[str]

    def __init__(self, id: str, roles: Iterable[str]):
        object.__setattr__(self, "id", check_name(id, "the actor id"))
        held = frozenset([roles] if isinstance(roles, str) else roles)
        for role in held:
            check_name(role, f"a role of actor `{id}`")
        object.__setattr__(self, "roles", held)


@dataclass(frozen=True)
class LimitLeft:
    """A loop limit as it stands for an instance: how many times it allows (worked out now when it comes
    from the data) and how many are left; both ``None`` when the data gives no usable number, and
    ``problem`` says why (an event it binds is refused then)."""

    limit: Limit
    times: int | None
    left: int | None
    problem: str | None = None


@dataclass(frozen=True)
class Choice:
    """A trigger an actor may fire now: what a form or a button needs."""

    trigger: str
    label: Text
    dest: str
    payload_schema: Mapping[str, Any] | None
    """The JSON Schema of the form to fill in, or ``None`` when the trigger takes no input. Shared by
    the choices of one transition: read it, do not change it."""
    conditions: tuple[str, ...]
    signoffs: tuple[SignOff, ...]
    """Signatures the actor gives by firing it."""
    ready: bool | None
    """Whether its conditions hold on the current data: ``None`` when one reads the payload; ``False``
    also when it requires (or amends) a record the instance does not hold yet, leaves a step whose
    required parts are open, or its limit is reached and it would be refused."""
    remaining: int | None = None
    """How many more times it may be taken before its ``limit``; ``None`` when it has none."""
    then: str | None = None
    """Where it leads once ``remaining`` is 0 (the limit's ``then``); ``None``: it is refused then."""
    part: str | None = None
    """When the trigger does a part of the step (it stays there): the part's id."""
    items: tuple[str, ...] = ()
    """For a part done per item of a list: the keys of the items still open (send one as ``item``)."""


@dataclass(frozen=True)
class PartStatus:
    """A part of the current step: for which item, whether it is required now, and who did it."""

    part: Part
    item: str | None
    required: bool
    done: Entry | None
    """The event that did it in this stay (who, with which roles, when, with what), or ``None``: open."""


@dataclass(frozen=True)
class Advanced:
    """What ``advance`` did: the deadline events it fired, and the due deadlines it could not fire."""

    fired: tuple[Entry, ...] = ()
    refused: tuple[tuple[OpenDeadline, EventRefused], ...] = ()


utc_now: Callable[[], datetime.datetime] = functools.partial(datetime.datetime.now, datetime.UTC)
"""The real clock: now, in UTC (a partial of ``datetime.now``, so that reading it runs no Python frame)."""


class Runtime:
    """Starts, moves, times and replays instances of one definition."""

    def __init__(
        self,
        process: Process,
        *,
        clock: Callable[[], datetime.datetime] = utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ):
        self.process = process
        self.compiled = CompiledProcess(process)
        self._records = _Records(process, self.compiled.record_checks, self.compiled.records_as_payload)
        self._clock = clock
        self._new_id = new_id
        self._forms: dict[int, Mapping[str, Any]] = {}
        self._clock_moments = clock_rules.ClockMoments(process)
        self._timed = frozenset(
            s.id for s in process.states.values() if s.time_limit or s.time_limit_from or s.deadlines
        )
        """The steps with time limits or deadlines: ``_deadlines_of`` is asked only for these."""
        self._engine_fired = {state.id: _engine_fired(state.starts) for state in process.states.values()}
        """The triggers of each step that only the engine fires (its ``on_end`` continuations)."""

    # --- the public API ------------------------------------------------------------------------

    @property
    def starting_roles(self) -> frozenset[str]:
        """The roles that may start an instance: the start step's and those that may act on it (none:
        anyone may)."""
        start = self.process.start
        assert start is not None  # CompiledProcess refuses a process without one
        acting = {r for t in self.compiled.transitions[start.id] for r in t.roles}
        return frozenset(acting if start.role is None else acting | {start.role})

    def start(
        self,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        *,
        at: datetime.datetime | None = None,
        instance_id: str | None = None,
        key: str | None = None,
        parent: Link | None = None,
    ) -> Instance:
        """A new instance in the start state, with ``data`` checked against the data schema.

        The actor must hold the start step's role or a role that may act on it. ``parent`` names the
        instance and step that started this one (``Workflows`` gives it); the start entry keeps it.
        """
        start = self.process.start
        assert start is not None  # CompiledProcess refuses a process without one
        moment = self._moment(at, None)
        allowed = self.starting_roles
        if allowed and not actor.roles & allowed:
            raise PermissionDenied(
                f"`{actor.id}` (roles: {_names(actor.roles)}) may not start `{self.process.id}`: "
                f"that needs one of the roles {_names(allowed)}"
            )
        initial = json_object(data or {}, "data", InvalidData)
        if self.compiled.data_check is not None:
            problems = self.compiled.data_check.problems(initial)
            if problems:
                raise InvalidData(
                    f"the initial data does not fit the data schema of `{self.process.id}`:\n  "
                    + "\n  ".join(problems),
                    problems=problems,
                )
        runs = clock_rules.runs_of(self.process, ())
        lengths = self._clock_lengths(initial, moment)
        marks = clock_rules.marks_for_event(self.process, runs, moment, None, None, (), start.id, lengths)
        timed = clock_rules.clock_deadlines(self.process, runs, start.id, moment, (), ())
        entry = Entry(
            at=moment,
            actor=actor.id,
            roles=_role_names(actor.roles),
            trigger=None,
            source=None,
            dest=start.id,
            payload=initial,
            key=key,
            notifications=_due(self.compiled.on_enter[start.id], {"data": initial}, moment),
            parent=parent,
            clocks=marks,
        )
        return Instance(
            id=instance_id or self._new_id(),
            process_id=self.process.id,
            process_version=self.process.version,
            content_hash=self.process.content_hash,
            state=start.id,
            data=dict(initial),
            entered_at=moment,
            deadlines=_in_order(self._deadlines_of(start.id, moment, initial) + timed),
            history=[entry],
        )

    def fire(
        self,
        instance: Instance,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        at: datetime.datetime | None = None,
        key: str | None = None,
        spawn: Spawn | None = None,
    ) -> Entry:
        """Apply one event as ``actor``; return its history entry, or raise ``EventRefused``
        (and change nothing).

        An event that enters a step starting another procedure (``starts``) needs ``spawn`` to start
        it: ``Runtime`` alone knows one definition only, so without it such an event is refused with
        ``SubProcessRefused`` (``Workflows`` gives the hook, and stores both instances together)."""
        if instance.content_hash != self.process.content_hash or instance.process_id != self.process.id:
            self._check_belongs(instance)  # refuses, saying which definition each is of
        moment = self._moment(at, instance)
        try:  # what _apply does, without its call: positionally, as keywords cost more than the call
            return self._check_and_apply(instance, trigger, actor, payload, moment, key, None, spawn)
        except EventRefused as refusal:
            _say_where(refusal, instance, trigger)
            raise

    def child_ended(
        self,
        instance: Instance,
        child: Link,
        payload: Mapping[str, Any] | None = None,
        *,
        at: datetime.datetime | None = None,
        spawn: Spawn | None = None,
    ) -> Entry | None:
        """Fire the continuation of the step waiting for ``child`` (its id, process and final state):
        the trigger the step's ``on_end`` names for that final state, as the engine, with ``payload``
        (the child's data fields the step's ``returns`` names). ``None`` when the instance no longer
        waits for that child (it moved on); ``SubProcessRefused`` when ``on_end`` names no trigger for
        the final state; any other refusal of the continuation as usual."""
        self._check_belongs(instance)
        if self.waiting_for(instance) != child.instance:
            return None
        starts = self.process.states[instance.state].starts
        assert starts is not None  # waiting_for says so
        trigger = starts.trigger_for(child.state)
        if trigger is None:
            raise SubProcessRefused(
                f"instance `{instance.id}`: step `{instance.state}` has no `on_end` for `{child.state}`, where "
                f"its child `{child.instance}` ({child.process}) ended; it names: "
                + ", ".join(f"`{f}`" for f, _ in starts.on_end)
            )
        moment = self._moment(at, instance)
        return self._apply(
            instance, trigger, _CHILD, payload, moment, None, deadline=None, spawn=spawn, child_ended=child
        )

    def move(
        self,
        instance: Instance,
        to: str,
        actor: Actor,
        reason: str,
        *,
        at: datetime.datetime | None = None,
    ) -> Entry:
        """An administrator's correction: put the case in step ``to`` whatever its transitions, parts
        and records say, giving the reason; recorded in the history (``correction``) and replayed like
        any event. The new step's time limits start, clocks that start or stop on entering or leaving
        steps do so, and its notifications fall due, as on any entry.

        Refused, with nothing changed: ``PermissionDenied`` unless ``actor`` holds one of the process's
        ``administrators`` roles; ``MoveRefused`` for an empty reason, an unknown step, a decision, the
        step the case is in or one that starts another procedure; ``SubProcessRefused`` while the step
        waits for a procedure it started."""
        self._check_belongs(instance)
        try:
            return self._move(instance, to, actor, reason, self._moment(at, instance))
        except EventRefused as refusal:
            refusal.instance_id, refusal.state, refusal.trigger = instance.id, instance.state, None
            raise

    def _move(self, instance: Instance, to: str, actor: Actor, reason: str, moment: datetime.datetime) -> Entry:
        administrators = frozenset(self.process.administrators)
        if not actor.roles & administrators:
            who = f"`{actor.id}` (roles: {_names(actor.roles)})"
            if not administrators:
                raise PermissionDenied(
                    f"{who} may not move a case of `{self.process.id}` by hand: it names no administrators "
                    "(add `administrators: [role]` to the definition)"
                )
            raise PermissionDenied(f"{who} may not move a case by hand: that needs one of {_names(administrators)}")
        if isinstance(reason, str) and not reason.strip():
            raise MoveRefused("a move by hand needs a reason: say why the case is put in another step")
        check_note(reason, "the reason", MAX_REASON_LENGTH, MoveRefused)
        target = self.process.states.get(to)
        if target is None:
            hint = did_you_mean(to, list(self.process.states))
            raise MoveRefused(f"`{to}` is not a step of `{self.process.id}`{hint}")
        if target.kind is StateKind.DECISION:
            raise MoveRefused(
                f"`{to}` is a decision, which a case never rests in; move it to one of the steps after it"
            )
        if to == instance.state:
            raise MoveRefused(f"instance `{instance.id}` is already in `{to}`")
        if target.starts is not None:
            raise MoveRefused(
                f"`{to}` starts another procedure (`{target.starts.process}`), which a move by hand does not; "
                "move the case to the step before it and fire the event that enters it"
            )
        self._check_cancellable(instance, None)
        deadlines = self._deadlines_of(to, moment, instance.data)  # may refuse: the calendar
        marks: tuple[ClockMark, ...] = ()
        if self.process.clocks:
            runs = clock_rules.runs_of(self.process, instance.history)
            marks = clock_rules.marks_for_event(self.process, runs, moment, None, instance.state, (), to)
            kept = tuple(d for d in instance.deadlines if d.clock is not None)
            changed = {m.clock for m in marks if m.event in ("started", "restarted", "resumed")}
            deadlines = _in_order(
                deadlines + clock_rules.clock_deadlines(self.process, runs, to, moment, kept, changed)
            )
        entry = Entry(
            at=moment,
            actor=actor.id,
            roles=_role_names(actor.roles),
            trigger=None,
            source=instance.state,
            dest=to,
            payload={},
            notifications=_due(self.compiled.on_enter[to], {"data": instance.data}, moment),
            clocks=marks,
            correction=reason,
        )
        instance.entered_at, instance.deadlines, instance.state = moment, deadlines, to
        instance.history.append(entry)
        return entry

    def adopt(
        self,
        instance: Instance,
        migration: Migration,
        to: str,
        values: Mapping[str, Any],
        actor: Actor,
        *,
        at: datetime.datetime | None = None,
    ) -> Entry:
        """Move a case of another revision of this process onto this one (``procflow migrate``): put it in
        step ``to`` with ``values`` written over its data, and record a migration entry. ``instance`` is
        the case as its own revision left it; it is changed only once everything below has passed.

        Its time limits and deadlines are worked out afresh on this revision: from when the case entered
        its step when ``to`` is the step of the same id (the stay goes on, with the parts done in it),
        else from the migration (a new stay, in another step). Each clock's next points are worked out
        from the running time it has used, against this revision's limits. Refused, changing nothing:
        ``PermissionDenied`` unless ``actor`` holds one of this revision's ``administrators`` roles;
        ``MigrationRefused`` for a case not on the revision the migration leaves, a step this revision
        lacks, a decision or a final step, a case waiting for a procedure it started that would
        leave its step, parts done in the stay that the new step does not have; ``InvalidData`` when
        the data does not fit this revision's data schema; ``UnreachableDeadline`` as for any entry."""
        try:
            return self._adopt(instance, migration, to, values, actor, self._moment(at, instance))
        except EventRefused as refusal:
            refusal.instance_id, refusal.state, refusal.trigger = instance.id, instance.state, None
            raise

    def _adopt(
        self,
        instance: Instance,
        migration: Migration,
        to: str,
        values: Mapping[str, Any],
        actor: Actor,
        moment: datetime.datetime,
    ) -> Entry:
        process = self.process
        if (instance.process_id, instance.content_hash) != (process.id, migration.source.content_hash):
            raise MigrationRefused(
                f"instance `{instance.id}` runs on `{instance.process_id}` ({instance.content_hash[:12]}), "
                f"not on the revision {migration.source.revision} of `{process.id}` the migration moves from"
            )
        if migration.target.content_hash != process.content_hash:
            raise MigrationRefused(
                f"the migration moves to revision {migration.target.revision} "
                f"({migration.target.content_hash[:12]}), not to this one ({process.content_hash[:12]})"
            )
        administrators = frozenset(process.administrators)
        if not actor.roles & administrators:
            who = f"`{actor.id}` (roles: {_names(actor.roles)})"
            if not administrators:
                raise PermissionDenied(
                    f"{who} may not migrate cases of `{process.id}`: the new revision names no administrators "
                    "(add `administrators: [role]` to the definition)"
                )
            raise PermissionDenied(f"{who} may not migrate cases: that needs one of {_names(administrators)}")
        target = process.states.get(to)
        if target is None:
            raise MigrationRefused(
                f"step `{to}` is not in the new revision{did_you_mean(to, list(process.states))}; "
                f"map `{instance.state}` to one of its steps under `steps:`"
            )
        if target.kind is StateKind.DECISION:
            raise MigrationRefused(f"`{to}` is a decision, which a case never rests in; map it to a step after it")
        if target.is_final:
            raise MigrationRefused(
                f"`{to}` is a final step: a migration moves a case on, it does not end it (cancel it instead)"
            )
        stays = to == instance.state
        waiting = _waiting_child(instance)
        if waiting is not None and not (stays and target.starts is not None):
            raise MigrationRefused(
                f"step `{instance.state}` waits for instance `{waiting}` it started; "
                "migrate the case once that one has ended"
            )
        if target.starts is not None and not stays:
            raise MigrationRefused(
                f"`{to}` starts another procedure (`{target.starts.process}`), which a migration does not; "
                "map the case to the step before it"
            )
        data = json_object({**instance.data, **values}, "data", InvalidData)
        if self.compiled.data_check is not None:
            problems = self.compiled.data_check.problems(data)
            if problems:
                raise InvalidData(
                    "the data does not fit the data schema of the new revision:\n  " + "\n  ".join(problems),
                    problems=problems,
                )
        if stays:
            parts = self.compiled.parts.get(to, {})
            lost = sorted({e.part for e in _stay(instance) if e.part is not None and e.part not in parts})
            if lost:
                raise MigrationRefused(
                    f"the parts done in `{to}` ({_names(lost)}) are not parts of `{to}` in the new revision"
                )
        entered = instance.entered_at if stays else moment
        deadlines = self._deadlines_of(to, entered, data)  # may refuse: the calendar, a limit from the data
        marks: tuple[ClockMark, ...] = ()
        if process.clocks:
            runs = clock_rules.runs_of(process, instance.history)
            if not stays:
                marks = clock_rules.marks_for_event(process, runs, moment, None, instance.state, (), to)
            timed = clock_rules.clock_deadlines(process, runs, to, moment, (), tuple(process.clocks))
            deadlines = _in_order(deadlines + timed)
        entry = Entry(
            at=moment,
            actor=actor.id,
            roles=_role_names(actor.roles),
            trigger=None,
            source=instance.state,
            dest=to,
            payload=dict(values),
            notifications=() if stays else _due(self.compiled.on_enter[to], {"data": data}, moment),
            clocks=marks,
            migration=migration,
        )
        instance.process_version, instance.content_hash = process.version, process.content_hash
        instance.state, instance.data, instance.entered_at, instance.deadlines = to, dict(data), entered, deadlines
        instance.history.append(entry)
        return entry

    def _check_cancellable(self, instance: Instance, trigger: str | None) -> None:
        """A step waiting for a procedure it started is not left by a cancellation or a move: the
        child would run on with nobody waiting for it."""
        child = self.waiting_for(instance)
        if child is not None:
            what = f"`{trigger}` cancels the case" if trigger is not None else "a move by hand"
            raise SubProcessRefused(
                f"{what}, but step `{instance.state}` waits for instance `{child}` it started; "
                "end or cancel that one first"
            )

    def waiting_for(self, instance: Instance) -> str | None:
        """The id of the child instance the current step waits for, if it is a step that starts one."""
        if self.process.states[instance.state].starts is None:
            return None
        for entry in reversed(instance.history):
            if entry.child is not None:
                return entry.child.instance if entry.child.state == instance.state else None
            if entry.state != instance.state:
                break
        return None

    def returns_of(self, state: str, child_data: Mapping[str, Any]) -> dict[str, Any]:
        """The continuation's payload: the child's data fields the step's ``returns`` names."""
        starts = self.process.states[state].starts
        if starts is None:
            return {}
        return {name: child_data[field] for name, field in starts.returns if field in child_data}

    def available(self, instance: Instance, actor: Actor) -> tuple[Choice, ...]:
        """The triggers ``actor`` may fire in the instance's current state, each once, in definition order:
        ``engine.work.offered`` on the step's ``work`` (a step someone else has claimed offers them no
        transition but one that cancels the case, unless they supervise)."""
        found = offered(self.work(instance), actor.id, actor.roles)
        return tuple(
            dataclasses.replace(choice, signoffs=tuple(choice.signoffs[s.index] for s in signers))
            if kind == "sign"
            else choice
            for kind, choice, signers in found
        )

    def work(
        self, instance: Instance, at: datetime.datetime | None = None, *, readiness: bool = True
    ) -> StepWork[Choice]:
        """What can be done in the instance's current step, and with which roles, at ``at`` (default:
        now), whoever asks: its open parts, its transitions with the signatures they still need (and who
        may not or must give them), and who holds the step (``engine.work``). Without ``readiness`` each
        choice's ``ready`` is left ``None`` (what the worklist keeps is as of its last event)."""
        self._check_belongs(instance)
        now = self._clock() if at is None else _aware(at)
        parts = tuple(
            PartWork(compiled.part.id, compiled.roles, self._part_choice(compiled, items))
            for compiled, items in _by_part(self._open_parts(instance, now, quiet=True))
        )
        parts_open = readiness and bool(self._open_parts(instance, now, quiet=True, required_only=True))
        engine_fired = _engine_fired(self.process.states[instance.state].starts)
        moves = []
        for candidate in self.compiled.transitions[instance.state]:
            transition = candidate.transition
            bound = self.limit_left(instance, candidate, now)
            limit, remaining = (bound.limit, bound.left) if bound is not None else (None, None)
            unknown = bound is not None and bound.times is None  # its times from the data give no number
            refused_by_limit = unknown or (remaining == 0 and limit is not None and limit.then is None)
            leaves = transition.dest != instance.state
            choice = Choice(
                trigger=candidate.trigger,
                label=transition.label,
                dest=transition.dest,
                payload_schema=self._form(transition),
                conditions=transition.conditions,
                signoffs=transition.signoffs,
                ready=None
                if not readiness
                else False
                if refused_by_limit
                or _lacks_records(candidate, instance)
                or (leaves and parts_open and not transition.cancels)  # a cancellation is not held up by parts
                else _ready(candidate, instance.data, now),
                remaining=remaining,
                then=None if limit is None else limit.then,
            )
            # Offered to those who sign ahead of someone else firing it; its signoffs narrowed to theirs.
            signs = (
                Choice(SIGN + candidate.trigger, transition.label, instance.state, None, (), transition.signoffs, True)
                if transition.signoffs
                else None
            )
            signers = self._signers(transition, instance, instance.data, now)
            moves.append(
                MoveWork(
                    candidate.trigger,
                    candidate.roles,
                    candidate.trigger in engine_fired,
                    choice,
                    signers,
                    signs,
                    transition.cancels,
                )
            )
        return StepWork(
            instance.state, parts, tuple(moves), self.claimant(instance), SUPERVISOR_ROLE in self.process.roles
        )

    def case_work(self, instance: Instance, at: datetime.datetime | None = None) -> CaseWork:
        """The work of the instance's step (``work``) as a store keeps it for the worklist, at ``at``
        (default: now): each choice as an ``Offer``, with the step's label, the earliest due time and
        each clock's status and points ahead."""
        moment = self._clock() if at is None else _aware(at)
        work = self.work(instance, moment, readiness=False).map(_offer)
        step = self.process.states[instance.state]
        ahead: dict[str, list[tuple[str, datetime.datetime]]] = {}
        for deadline in instance.deadlines:
            if deadline.clock is not None and deadline.fire is not None and deadline.threshold is not None:
                ahead.setdefault(deadline.clock, []).append((deadline.threshold, deadline.due))
        now_of = clock_rules.statuses(self.process, instance.history)
        clocks = tuple(
            ClockShown(
                clock.id,
                clock.label.zh,
                clock.label.en,
                now_of[clock.id],
                tuple(sorted(ahead.get(clock.id, ()), key=lambda p: p[1])),
            )
            for clock in self.process.clocks.values()
        )
        due = min((d.due for d in instance.deadlines), default=None)
        return CaseWork(instance.id, self.process.id, step.label.zh, step.label.en, due, clocks, work)

    def _form(self, transition: Transition) -> Mapping[str, Any] | None:
        """The transition's payload schema as a plain, standalone JSON Schema, worked out once and shared
        by every ``Choice`` of it (read-only, as ``Choice.payload_schema`` says)."""
        if transition.payload_schema is None:
            return None
        key = id(transition)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _standalone(transition.payload_schema, self.process.document)
        return form

    def claimant(self, instance: Instance) -> str | None:
        """Who holds the current step (claimed, or was assigned it), if anyone: read from the history of
        this stay, so it ends when the case leaves the step."""
        history, state = instance.history, instance.state
        index = len(history) - 1
        while index >= 1:  # _stay(instance), latest first, without the copy: this runs on every event
            entry = history[index]
            if entry.source != state or entry.dest != state:
                break
            if entry.assignment is not None:
                return entry.assignment.to
            index -= 1
        return None

    def claim(self, instance: Instance, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """Take the current step: others see who has it, and only its holder (or a supervisor) may move
        it on. ``ClaimRefused`` (nothing changed) when the case has finished, the step is held, or
        nothing in it is the actor's to do."""
        return self._assignment(instance, actor, "claim", actor, at)

    def release(self, instance: Instance, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """Give the current step back: by its holder, or by a supervisor. ``ClaimRefused`` otherwise."""
        return self._assignment(instance, actor, "release", None, at)

    def assign(self, instance: Instance, to: Actor, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """A supervisor gives the current step to ``to`` (with the roles they name), who must be able to
        act on it; it replaces any claim. ``ClaimRefused`` otherwise."""
        return self._assignment(instance, actor, "assign", to, at)

    def _assignment(
        self, instance: Instance, actor: Actor, action: str, to: Actor | None, at: datetime.datetime | None
    ) -> Entry:
        self._check_belongs(instance)
        try:
            moment = self._moment(at, instance)
            entry = self._check_assignment(instance, actor, action, to, moment)
        except EventRefused as refusal:
            refusal.instance_id, refusal.state, refusal.trigger = instance.id, instance.state, action
            raise
        instance.history.append(entry)
        return entry

    def _check_assignment(
        self, instance: Instance, actor: Actor, action: str, to: Actor | None, moment: datetime.datetime
    ) -> Entry:
        step = self.process.states[instance.state]
        where = f"step `{step.id}` ({step.label.zh}, {step.label.en}) of instance `{instance.id}`"
        if step.is_final:
            raise ClaimRefused(
                f"instance `{instance.id}` has finished (state `{step.id}`); there is nothing to {action}",
                reason="finished",
            )
        work = self.work(instance, moment)
        holder = work.claimed_by
        supervises = work.supervises(actor.roles)
        if action == "release":
            if holder is None:
                raise ClaimRefused(f"{where} is not claimed by anyone; there is nothing to release", reason="unclaimed")
            if holder != actor.id and not supervises:
                raise ClaimRefused(
                    f"{where} is claimed by `{holder}`; only they or a supervisor "
                    f"(role `{SUPERVISOR_ROLE}`) may release it",
                    reason="not-allowed",
                    claimed_by=holder,
                )
        elif action == "assign":
            if not supervises:
                raise ClaimRefused(
                    f"`{actor.id}` (roles: {_names(actor.roles)}) may not assign {where}: only a supervisor "
                    f"(role `{SUPERVISOR_ROLE}`) may"
                    + ("" if work.supervised else f", and `{self.process.id}` declares no `{SUPERVISOR_ROLE}` role"),
                    reason="not-allowed",
                )
        assert to is not None or action == "release"
        if to is not None:
            if holder == to.id:
                raise ClaimRefused(f"{where} is already held by `{holder}`", reason="held", claimed_by=holder)
            if action == "claim" and holder is not None:
                raise ClaimRefused(
                    f"{where} is claimed by `{holder}`; they may release it, or a supervisor "
                    f"(role `{SUPERVISOR_ROLE}`) may assign it to you",
                    reason="held",
                    claimed_by=holder,
                )
            theirs = [kind for kind, _, _ in offered(work, to.id, to.roles, claims=False)]
            if all(kind == "cancel" for kind in theirs):
                who = "you have" if to is actor else f"`{to.id}` has"
                what = "only a cancellation there, which no claim holds up" if theirs else "nothing to do in it"
                raise ClaimRefused(
                    f"`{to.id}` (roles: {_names(to.roles)}) may not act on {where}: {who} {what} "
                    f"(it takes one of the roles {_names(work.roles)})",
                    reason="not-allowed" if to is actor else "cannot-act",
                )
        return Entry(
            at=moment,
            actor=actor.id,
            roles=_role_names(actor.roles),
            trigger=None,
            source=step.id,
            dest=step.id,
            payload={},
            assignment=Assignment(action, None if to is None else to.id, () if to is None else _role_names(to.roles)),
        )

    def open_parts(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[tuple[str, str | None], ...]:
        """The parts of the current step still to be done, required or not, as ``(part id, item key)``
        (the key ``None`` for a part not done per item), in the order the step lists them."""
        self._check_belongs(instance)
        moment = self._clock() if at is None else _aware(at)
        return tuple((p.part.id, item) for p, item in self._open_parts(instance, moment, quiet=True))

    def parts(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[PartStatus, ...]:
        """Every part of the current step (one per item for a part done per item), whether it is
        required now, and the event that did it in this stay, if one has."""
        self._check_belongs(instance)
        moment = self._clock() if at is None else _aware(at)
        done = {(e.part, e.item): e for e in _stay(instance) if e.part is not None}
        return tuple(
            PartStatus(compiled.part, item, _required(compiled, instance.data, moment, True), done.get((pid, item)))
            for pid, compiled in self.compiled.parts.get(instance.state, {}).items()
            for item in _items(compiled.part, instance.data)
        )

    def _part_choice(self, compiled: CompiledPart, items: tuple[str | None, ...]) -> Choice:
        part = compiled.part
        schema = _standalone(part.payload_schema, self.process.document) if part.payload_schema is not None else None
        if part.for_each is not None:
            schema = dict(schema or {"type": "object"})
            schema["properties"] = {**schema.get("properties", {}), "item": {"enum": list(items)}}
            schema["required"] = [*schema.get("required", []), "item"]
        keys = tuple(i for i in items if i is not None)
        return Choice(part.id, part.label, compiled.state, schema, (), (), True, part=part.id, items=keys)

    def records(self, instance: Instance) -> Mapping[str, tuple[RecordVersion, ...]]:
        """Every record the instance holds, by id, each with all its versions, oldest first: content,
        author (actor and roles), time and the event that wrote it."""
        self._check_belongs(instance)
        return instance.records

    def overdue(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[OpenDeadline, ...]:
        """The instance's time limits and deadlines that have passed at ``at`` (default: now)."""
        return instance.overdue(self._clock() if at is None else _aware(at))

    def clocks(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[clock_rules.ClockReport, ...]:
        """Each clock of the process for this instance at ``at`` (default: now): its status, the running
        time used and left, the points reached and the next one due (``engine.clocks``)."""
        self._check_belongs(instance)
        moment = self._clock() if at is None else _aware(at)
        return clock_rules.report(self.process, instance.history, instance.deadlines, moment)

    def advance(
        self, instance: Instance, at: datetime.datetime | None = None, *, spawn: Spawn | None = None
    ) -> Advanced:
        """Fire every deadline that is due at ``at`` (default: now), earliest first, each at its own due
        time. A deadline whose transition is refused stays open and is reported. ``spawn`` starts the
        child of a step a deadline leads into, as for ``fire``."""
        self._check_belongs(instance)
        now = self._clock() if at is None else _aware(at)
        fired: list[Entry] = []
        refused: list[tuple[OpenDeadline, EventRefused]] = []
        # Each firing either leaves the state (new deadlines, all later than now's due ones were) or
        # closes the deadline it fired, so this ends; the bound only guards against a broken calendar.
        for _ in range(len(instance.deadlines) + 1000):
            deadline = self.next_due(instance, now, {d for d, _ in refused})
            if deadline is None:
                break
            try:
                fired.append(self._fire_open(instance, deadline, _firing_time(instance, deadline), spawn))
            except EventRefused as refusal:
                refused.append((deadline, refusal))
        return Advanced(tuple(fired), tuple(refused))

    def next_due(
        self, instance: Instance, at: datetime.datetime, passed: Collection[OpenDeadline] = ()
    ) -> OpenDeadline | None:
        """The deadline ``advance`` fires next at ``at``: the earliest one due that fires a trigger,
        leaving out those ``passed`` (already refused); ``None`` when none is."""
        due = [d for d in instance.deadlines if d.fire is not None and d.due <= at and d not in passed]
        return min(due, key=lambda d: d.due, default=None)

    def fire_deadline(self, instance: Instance, deadline: OpenDeadline, *, spawn: Spawn | None = None) -> Entry:
        """Fire one open deadline of the instance as ``advance`` does, at its due time (or the last
        event's, when that is later): one step of ``advance``, for callers that store each step."""
        self._check_belongs(instance)
        if deadline.fire is None or deadline not in instance.deadlines:
            raise UnknownTrigger(f"instance `{instance.id}` has no open deadline {deadline!r} that fires a trigger")
        return self._fire_open(instance, deadline, _firing_time(instance, deadline), spawn)

    def _fire_open(
        self, instance: Instance, deadline: OpenDeadline, moment: datetime.datetime, spawn: Spawn | None = None
    ) -> Entry:
        if deadline.clock is not None:
            return self._reach_point(instance, deadline, moment, spawn)
        return self._apply(instance, deadline.fire or "", _CLOCK, {}, moment, None, deadline=deadline, spawn=spawn)

    def _reach_point(
        self, instance: Instance, deadline: OpenDeadline, moment: datetime.datetime, spawn: Spawn | None = None
    ) -> Entry:
        """A clock reaching its warning, limit or ceiling: fire its action's trigger when the current state
        has it and admits it, else record the point on an entry of its own."""
        clock = self.process.clocks.get(deadline.clock or "")
        name = deadline.threshold or ""
        if clock is None or name not in clock.thresholds or deadline not in instance.deadlines:
            raise UnknownTrigger(f"instance `{instance.id}` has no open clock point {deadline!r}")
        action = clock.thresholds[name][1]
        mark = ClockMark(clock.id, name, action.notify)
        fire = next((t for t in action.fire if t in self.compiled.triggers[instance.state]), None)
        if fire is not None:
            try:
                return self._apply(instance, fire, _CLOCK, {}, moment, None, deadline, spawn, marks=(mark,))
            except EventRefused:
                pass  # the point is still reached and recorded; the trigger is not taken
        check_time(moment, "the clock's due time")
        runs = clock_rules.runs_of(self.process, instance.history)
        runs[clock.id].apply(mark, moment)
        kept = tuple(d for d in instance.deadlines if d.clock is None)
        before = tuple(d for d in instance.deadlines if d != deadline)
        timed = clock_rules.clock_deadlines(self.process, runs, instance.state, moment, before, ())
        entry = Entry(
            at=moment,
            actor=CLOCK_ACTOR,
            roles=(),
            trigger=None,
            source=instance.state,
            dest=instance.state,
            payload={},
            by_deadline=True,
            clocks=(mark,),
        )
        instance.deadlines = _in_order(kept + timed)
        instance.history.append(entry)
        return entry

    def replay(self, history: Sequence[Entry], *, instance_id: str) -> Instance:
        """The instance that ``history`` produces on this definition, checking at each event that the
        replay records exactly what the history says (``ReplayMismatch`` otherwise).

        A migration entry ends what this definition replays: the instance returned is the case as it
        stood before it (its history that far), to be carried on with ``replay_migration`` on the
        runtime of the revision the entry names (``Workflows`` does)."""
        if not history or history[0].trigger is not None:
            raise ReplayMismatch("a history begins with the entry that started the instance (it has no trigger)")
        first = history[0]
        try:
            instance = self.start(
                Actor(first.actor, first.roles),
                first.payload,
                at=first.at,
                instance_id=instance_id,
                key=first.key,
                parent=first.parent,
            )
            _same_entry(0, instance.history[0], first)
        except EventRefused as refusal:
            raise ReplayMismatch(f"entry 0: replaying it is refused: {refusal}") from refusal
        return self._replay_rest(instance, history)

    def replay_migration(self, instance: Instance, history: Sequence[Entry]) -> Instance:
        """Carry on a replay that stopped at a migration entry (``instance``: the case replayed on its
        earlier revision, up to that entry): apply the entry on this revision, check it gives what is
        recorded, and replay on from there up to the next migration entry."""
        index = len(instance.history)
        recorded = history[index] if index < len(history) else None
        if recorded is None or recorded.migration is None:
            raise ReplayMismatch(f"entry {index} is not a migration entry")
        try:
            actor = Actor(recorded.actor, recorded.roles)
            entry = self.adopt(instance, recorded.migration, recorded.dest, recorded.payload, actor, at=recorded.at)
        except EventRefused as refusal:
            raise ReplayMismatch(f"entry {index}: replaying the migration is refused: {refusal}") from refusal
        _same_entry(index, entry, recorded)
        return self._replay_rest(instance, history)

    def _replay_rest(self, instance: Instance, history: Sequence[Entry]) -> Instance:
        index = len(instance.history)
        try:
            for index in range(len(instance.history), len(history)):
                recorded = history[index]
                if recorded.migration is not None:
                    break
                _same_entry(index, self._replay_one(instance, index, recorded), recorded)
        except EventRefused as refusal:
            raise ReplayMismatch(f"entry {index}: replaying it is refused: {refusal}") from refusal
        return instance

    def _replay_one(self, instance: Instance, index: int, recorded: Entry) -> Entry:
        point = recorded.clocks[0] if recorded.by_deadline and recorded.clocks else None
        if point is not None and point.event in ("warning", "limit", "ceiling"):
            deadline = next(
                (
                    d
                    for d in instance.deadlines
                    if (d.clock, d.threshold) == (point.clock, point.event)
                    and d.fire is not None
                    and d.due <= recorded.at
                ),
                None,
            )
            if deadline is None:
                raise ReplayMismatch(
                    f"entry {index}: clock `{point.clock}` is recorded as reaching its {point.event}, "
                    f"but it is not due by {recorded.at.isoformat()}"
                )
            return self._reach_point(
                instance, deadline, self._moment(recorded.at, instance), _recorded_child(index, recorded)
            )
        if recorded.correction is not None:
            actor = Actor(recorded.actor, recorded.roles)
            return self.move(instance, recorded.dest, actor, recorded.correction, at=recorded.at)
        if recorded.assignment is not None:
            given = recorded.assignment
            actor = Actor(recorded.actor, recorded.roles)
            to = None if given.to is None else Actor(given.to, given.roles)
            return self._assignment(instance, actor, given.action, to, recorded.at)
        if recorded.trigger is None:
            raise ReplayMismatch(f"entry {index} has no trigger; only the first entry starts the instance")
        spawn = _recorded_child(index, recorded)
        if recorded.child_ended is not None:
            entry = self.child_ended(instance, recorded.child_ended, recorded.payload, at=recorded.at, spawn=spawn)
            if entry is None:
                raise ReplayMismatch(
                    f"entry {index}: recorded as fired when child `{recorded.child_ended.instance}` ended, but "
                    f"state `{instance.state}` does not wait for that child"
                )
            return entry
        if not recorded.by_deadline:
            actor = Actor(recorded.actor, recorded.roles)
            return self.fire(
                instance, recorded.trigger, actor, recorded.payload, at=recorded.at, key=recorded.key, spawn=spawn
            )
        deadline = next((d for d in instance.deadlines if d.fire == recorded.trigger and d.due <= recorded.at), None)
        if deadline is None:
            raise ReplayMismatch(
                f"entry {index}: `{recorded.trigger}` is recorded as fired by a deadline, "
                f"but no deadline of state `{instance.state}` fires it by {recorded.at.isoformat()}"
            )
        moment = self._moment(recorded.at, instance)
        return self._apply(instance, recorded.trigger, _CLOCK, {}, moment, None, deadline, spawn=spawn)

    def verify(self, instance: Instance) -> None:
        """Replay the instance's history and check it gives the instance's state, data and deadlines;
        ``ReplayMismatch`` says what differs. This is how an auditor checks a stored record.

        A case that was migrated is replayed segment by segment, each on its own revision: that is
        ``Workflows.verify``'s to do (this runtime knows one revision); here it is ``ReplayMismatch``."""
        self._check_belongs(instance)
        if any(e.migration is not None for e in instance.history):
            raise ReplayMismatch(
                f"instance `{instance.id}` was migrated between revisions; verify it through the store "
                "(`Workflows.verify`, `procflow verify`), which replays each revision's part on that revision"
            )
        self.check_replayed(instance, self.replay(instance.history, instance_id=instance.id))

    def check_replayed(self, instance: Instance, replayed: Instance) -> None:
        """``ReplayMismatch`` unless ``replayed`` has the recorded instance's state, data and deadlines."""
        for name in ("content_hash", "state", "data", "entered_at", "deadlines", "records"):
            recorded, derived = getattr(instance, name), getattr(replayed, name)
            if recorded != derived:
                raise ReplayMismatch(
                    f"instance `{instance.id}`: its {name} is recorded as {recorded!r}, "
                    f"but replaying its history gives {derived!r}"
                )

    # --- firing ----------------------------------------------------------------------------------

    def _apply(
        self,
        instance: Instance,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None,
        moment: datetime.datetime,
        key: str | None,
        deadline: OpenDeadline | None,
        spawn: Spawn | None = None,
        child_ended: Link | None = None,
        marks: tuple[ClockMark, ...] = (),
    ) -> Entry:
        try:
            return self._check_and_apply(
                instance, trigger, actor, payload, moment, key, deadline, spawn, child_ended, marks
            )
        except EventRefused as refusal:
            _say_where(refusal, instance, trigger)
            raise

    def limit_left(self, instance: Instance, candidate: CompiledTransition, at: datetime.datetime) -> LimitLeft | None:
        """The loop limit that binds a transition of the current state at ``at`` (its own, or that of the
        step it enters, whichever has fewer left), or ``None`` when neither has one."""
        transition = candidate.transition
        entering = self.process.states[transition.dest].limit if transition.dest != instance.state else None
        found: LimitLeft | None = None
        bounds = [(transition.limit, f"`{candidate.source}.{candidate.trigger}`", _times_taken(instance, candidate))]
        if entering is not None:  # the step it leads to may be entered only so often
            bounds.append((entering, f"step `{transition.dest}`", _times_entered(instance, transition.dest)))
        for limit, what, used in bounds:
            if limit is None:
                continue
            try:
                times = self.limit_times(limit, instance.data, at, what)
            except InvalidData as refusal:
                return LimitLeft(limit, None, None, str(refusal))
            left = max(0, times - used)
            if found is None or found.left is None or left < found.left:
                found = LimitLeft(limit, times, left)
        return found

    def limit_times(self, limit: Limit, data: Mapping[str, Any], moment: datetime.datetime, what: str) -> int:
        """How many times a loop limit allows: as written, or worked out now from ``data``. ``InvalidData``
        (naming ``what`` and where the limit is written) when the data gives no whole number, 1 or more."""
        if limit.times is not None:
            return limit.times
        written = f"{what}: its limit's `times` comes from the data ({self.process.locate(limit.path + ('times',))})"
        try:
            value = self.compiled.loop_limits[limit.path].evaluate({"data": data, NOW: moment})
        except ExpressionEvaluationError as exc:
            raise InvalidData(f"{written}, but `{limit.times_from}` could not be evaluated: {exc}") from None
        times = whole_number(value, 1)
        if times is None:
            raise InvalidData(
                f"{written}, but `{limit.times_from}` gives {shown_amount(value)}; "
                "it must give a whole number, 1 or more"
            )
        return times

    def _check_and_apply(
        self,
        instance: Instance,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None,
        moment: datetime.datetime,
        key: str | None,
        deadline: OpenDeadline | None,
        spawn: Spawn | None = None,
        child_ended: Link | None = None,
        marks: tuple[ClockMark, ...] = (),
    ) -> Entry:
        if deadline is not None:  # a time given to fire is checked on the way in, a deadline's due time here
            check_time(moment, "the deadline's due time")
        parts = self.compiled.parts.get(instance.state, _NO_PARTS)
        if deadline is None and trigger in parts:
            return self._do_part(instance, parts[trigger], actor, payload, moment, key)
        if deadline is None and trigger.startswith(SIGN):
            return self._sign(instance, trigger, actor, payload, moment, key)
        allowed = self.compiled.triggers[instance.state]
        if trigger not in allowed:
            if not allowed:
                raise UnknownTrigger(
                    f"instance `{instance.id}` has finished (state `{instance.state}`); it takes no more events",
                )
            raise UnknownTrigger(
                f"`{trigger}` does not leave state `{instance.state}`; the triggers that do are: "
                + ", ".join(f"`{t}`" for t in allowed),
                allowed=allowed,
            )
        last = instance.history[-1]
        if deadline is None and child_ended is None and last.source == last.dest == instance.state:
            self._refuse_if_held(instance, trigger, actor)  # only an event of the stay can have claimed it
        only = self.compiled.only.get((instance.state, trigger))
        form = only.payload if only is not None else None
        if form is not None and form.shape is not None:  # copied and checked in one walk
            payload_copy, fits = json_object_fitting(payload or {}, "payload", InvalidPayload, form.shape)
        else:
            payload_copy, fits = json_object(payload or {}, "payload", InvalidPayload), False
        attempt = _Attempt.begin(
            self, instance, actor, payload_copy, deadline, moment, child_ended is not None, form if fits else None
        )
        if deadline is None and parts:
            attempt.parts_open = self._parts_open_refusal(
                instance, self._open_parts(instance, moment, required_only=True)
            )
        dest = self.compiled.fire(instance.state, trigger, attempt)
        if dest is None or attempt.chosen is None:
            raise attempt.refusal()
        if attempt.redirect is not None:
            dest = attempt.redirect
        if dest in self.compiled.branches:
            dest = self._through_decisions(dest, attempt, trigger)
        limited = self.process.states[dest].limit
        entering = limited is not None and dest != instance.state
        times = self.limit_times(limited, instance.data, moment, f"step `{dest}`") if limited and entering else 0
        if limited is not None and entering and _times_entered(instance, dest) >= times:
            if limited.then is None:
                raise LimitReached(_state_limit_message(dest, limited, times), times=times, limit=dest)
            attempt.redirect, attempt.branches = limited.then, []  # the entry records where it went instead
            dest = self._through_decisions(limited.then, attempt, trigger)
        chosen = attempt.chosen.transition
        first_dest = attempt.redirect if attempt.redirect is not None else chosen.dest  # attempt.first_dest
        if chosen.cancels:
            self._check_cancellable(instance, trigger)
        elif self._records.requiring and (attempt.branches or first_dest in self._records.requiring):
            enters = [first_dest, *(b.dest for b in attempt.branches)] if attempt.branches else [first_dest]
            self._records.check_entering(enters, attempt)

        # Without a deadline firing the event, none of the open ones is it: no comparison needed.
        unfired = instance.deadlines if deadline is None else tuple(d for d in instance.deadlines if d != deadline)
        if dest == instance.state:
            deadlines = tuple(d for d in unfired if d.clock is None)
            entered = instance.entered_at
        else:
            entered = moment
            deadlines = self._deadlines_of(dest, moment, attempt.data) if dest in self._timed else ()  # may refuse
        passed = tuple(b.decision for b in attempt.branches) if attempt.branches else ()
        if self.process.clocks and (
            marks or not self._clock_moments.untouched(instance.history, unfired, trigger, instance.state, passed, dest)
        ):
            runs = clock_rules.runs_of(self.process, instance.history)
            for mark in marks:
                runs[mark.clock].apply(mark, moment)
            moved: tuple[ClockMark, ...] = ()
            if not self._clock_moments.quiet(runs, trigger, instance.state, passed, dest):
                lengths = self._clock_lengths(attempt.data, moment)
                moved = clock_rules.marks_for_event(
                    self.process, runs, moment, trigger, instance.state, passed, dest, lengths
                )  # may refuse: a clock's points from the data
                marks += moved
            before = unfired
            changed = {m.clock for m in moved if m.event in ("started", "restarted", "resumed")} if moved else ()
            deadlines += clock_rules.clock_deadlines(self.process, runs, dest, moment, before, changed)  # may refuse
        if self.process.clocks and len(deadlines) > 1:
            deadlines = _in_order(deadlines)
        entry = _new_entry(  # Entry's fields in order, positionally: keywords would cost a tenth of the event
            moment,  # at
            actor.id,  # actor
            _role_names(actor.roles),  # roles
            trigger,  # trigger
            instance.state,  # source
            first_dest,  # dest
            attempt.payload,  # payload
            tuple(attempt.branches),  # branches
            tuple([_new_signature(s.role, actor.id, moment) for s in attempt.given])
            if attempt.given
            else (),  # signatures
            deadline is not None,  # by_deadline
            key,  # key
            self._notifications(instance.state, first_dest, attempt, moment)  # notifications
            if attempt.chosen.notify or attempt.branches or self.compiled.on_enter[first_dest]
            else (),
            tuple(attempt.written),  # records
            attempt.redirect is not None,  # limit_reached
            None,  # child
            None,  # parent
            child_ended,  # child_ended
            marks,  # clocks
        )
        if dest != instance.state:
            starts = self.process.states[dest].starts
            if starts is not None:  # last: the child is started only for an event that passed every check
                child = self._start_child(instance, dest, starts, actor, attempt.data, moment, spawn)
                entry = dataclasses.replace(entry, child=child)
        # Everything is checked; from here on nothing can fail.
        instance.entered_at = entered
        instance.deadlines = deadlines
        instance.state = dest
        instance.data = attempt.data
        instance.history.append(entry)
        return entry

    def _refuse_if_held(self, instance: Instance, trigger: str, actor: Actor) -> None:
        """``StepClaimed`` when someone else holds the step and ``actor``, who may fire ``trigger``
        (holding one of its roles), does not supervise; never for a transition that cancels the case."""
        holder = self.claimant(instance)
        if holder is None or holder == actor.id:
            return
        if any(c.transition.cancels for c in self.compiled.transitions[instance.state] if c.trigger == trigger):
            return  # a cancellation ends the case; a claim reserves moving the step on (engine.work)
        if SUPERVISOR_ROLE in self.process.roles and SUPERVISOR_ROLE in actor.roles:
            return
        if all(
            c.roles.isdisjoint(actor.roles) for c in self.compiled.transitions[instance.state] if c.trigger == trigger
        ):
            return  # the permission check says why they may not
        raise StepClaimed(
            f"step `{instance.state}` of instance `{instance.id}` is claimed by `{holder}`: only they, or a "
            f"supervisor (role `{SUPERVISOR_ROLE}`), may move it on; ask `{holder}` to release it, or a "
            "supervisor to assign it to you",
            claimed_by=holder,
        )

    def _through_decisions(self, dest: str, attempt: _Attempt, trigger: str) -> str:
        decisions = self.compiled.branches
        for _ in range(len(decisions) + 1):
            if dest not in decisions:
                return dest
            dest = self._decide(dest, attempt)
        raise GuardFailed(f"the decisions after `{trigger}` go round in a circle without reaching a step")

    def _start_child(
        self,
        instance: Instance,
        step: str,
        starts: SubProcess,
        actor: Actor,
        data: Mapping[str, Any],
        moment: datetime.datetime,
        spawn: Spawn | None,
    ) -> Link:
        """Ask ``spawn`` to start the child procedure the step names; refuse the event if it cannot."""
        if spawn is None:
            raise SubProcessRefused(
                f"step `{step}` starts the procedure `{starts.process}`, and this runtime knows only "
                f"`{self.process.id}`: run the instance in a store (`Workflows`), which starts the child"
            )
        child_data: dict[str, Any] = {}
        for name, expression in self.compiled.child_data[step]:
            try:
                child_data[name] = _field(name, to_json(expression.evaluate({"data": data, NOW: moment})))
            except ExpressionEvaluationError as exc:
                raise SubProcessRefused(
                    f"step `{step}`: the data `{name}` for `{starts.process}` could not be evaluated: {exc}"
                ) from None
        parent = Link(instance.id, self.process.id, step)
        request = ChildStart(starts.process, child_data, actor.id, starts.role, parent, moment)
        try:
            child_id = spawn(request)
        except EventRefused as refusal:
            raise SubProcessRefused(
                f"step `{step}` cannot start `{starts.process}`: {refusal}", refusal=refusal
            ) from refusal
        return Link(child_id, starts.process, step)

    # --- parts and signatures ---------------------------------------------------------------------

    def _open_parts(
        self, instance: Instance, moment: datetime.datetime, *, quiet: bool = False, required_only: bool = False
    ) -> list[tuple[CompiledPart, str | None]]:
        """The parts of the current stay not done yet (only the required ones with ``required_only``).
        A ``required_when`` that cannot be evaluated is refused with ``GuardFailed``, or, ``quiet``,
        counts the part as required."""
        parts = self.compiled.parts.get(instance.state)
        if not parts:
            return []
        done = {(e.part, e.item) for e in _stay(instance) if e.part is not None}
        found = []
        for compiled in parts.values():
            if required_only and not _required(compiled, instance.data, moment, quiet):
                continue
            for item in _items(compiled.part, instance.data):
                if (compiled.part.id, item) not in done:
                    found.append((compiled, item))
        return found

    def _parts_open_refusal(
        self, instance: Instance, still_open: list[tuple[CompiledPart, str | None]]
    ) -> tuple[str, tuple[str, ...]] | None:
        if not still_open:
            return None
        state = self.process.states[instance.state]
        shown = []
        for compiled, items in _by_part(still_open):
            part = compiled.part
            which = f" for {', '.join(f'`{i}`' for i in items if i is not None)}" if part.for_each else ""
            shown.append(f"`{part.id}` ({part.label.zh}, {part.label.en}){which}, by {_names(part.roles)}")
        names = tuple(p.part.id if item is None else f"{p.part.id}[{item}]" for p, item in still_open)
        return (
            f"step `{state.id}` ({state.label.zh}) cannot be left yet: its required parts are still open: "
            + "; ".join(shown)
            + ". Each is done with its own event (the part's id as the trigger)",
            names,
        )

    def _do_part(
        self,
        instance: Instance,
        compiled: CompiledPart,
        actor: Actor,
        payload: Mapping[str, Any] | None,
        moment: datetime.datetime,
        key: str | None,
    ) -> Entry:
        part = compiled.part
        name = f"part `{part.id}` ({part.label.zh}, {part.label.en}) of step `{instance.state}`"
        if compiled.roles.isdisjoint(actor.roles):
            raise PermissionDenied(
                f"`{actor.id}` (roles: {_names(actor.roles)}) may not do {name}: "
                f"it needs one of the roles {_names(compiled.roles)}"
            )
        form = json_object(payload or {}, "payload", InvalidPayload)
        item: str | None = None
        if part.for_each is not None:
            keys = [k for k in _items(part, instance.data) if k is not None]
            given = form.pop("item", None)
            item = _item_key(given)
            if item is None or item not in keys:
                listed = ", ".join(f"`{k}`" for k in keys) or "none (the list is empty)"
                problem = f"payload.item: name the item of `data.{part.for_each}` this part is done for: {listed}"
                raise InvalidPayload(f"{name} is done once per item: {problem}", problems=(problem,))
        for entry in _stay(instance):
            if entry.part == part.id and entry.item == item:
                which = f" for `{item}`" if item is not None else ""
                raise PartAlreadyDone(
                    f"{name} was already done{which} by `{entry.actor}` at {entry.at.isoformat()}; "
                    "a part is done once in each stay in its step"
                )
        if compiled.payload is not None:
            problems = compiled.payload.problems(form)
            if problems:
                raise InvalidPayload(
                    f"the payload of {name} does not fit its form:\n  " + "\n  ".join(problems), problems=problems
                )
        written: list[RecordWritten] = []
        if part.produces:
            refused = self._records.write(
                compiled.writes, _held(instance), {"payload": form, "data": instance.data}, written
            )
            if refused is not None:
                raise _refusal(*refused)
        entry = Entry(
            at=moment,
            actor=actor.id,
            roles=_role_names(actor.roles),
            trigger=part.id,
            source=instance.state,
            dest=instance.state,
            payload=(form | {"item": item}) if item is not None else form,
            key=key,
            records=tuple(written),
            part=part.id,
            item=item,
        )
        instance.history.append(entry)  # a part stays in the step: its state, data and deadlines hold
        return entry

    def _sign(
        self,
        instance: Instance,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None,
        moment: datetime.datetime,
        key: str | None,
    ) -> Entry:
        """``sign:<trigger>``: the signatures of ``<trigger>`` this actor can give, given ahead of it."""
        signed = trigger[len(SIGN) :]
        transitions = [c.transition for c in self.compiled.transitions[instance.state] if c.trigger == signed]
        if not any(t.signoffs for t in transitions):
            raise UnknownTrigger(
                f"`{signed}` does not leave state `{instance.state}` with a signature to give; "
                + "the triggers that take signatures here are: "
                + (
                    ", ".join(f"`{t.trigger}`" for t in self.process.states[instance.state].transitions if t.signoffs)
                    or "none"
                )
            )
        if json_object(payload or {}, "payload", InvalidPayload):
            raise InvalidPayload(f"`{trigger}` takes no payload: a signature is who, as which role, and when")
        given: list[SignOff] = []
        reasons: list[str] = []
        for transition in transitions:
            mine, missing = self._signatures(transition, actor, instance, instance.data, moment)
            given += [s for s in mine if s.role not in {g.role for g in given}]
            reasons += [why for _, why in missing]
        if not given:
            raise MissingSignature(
                f"`{actor.id}` has no signature of `{signed}` to give: " + ("; ".join(reasons) or "all are given")
            )
        entry = Entry(
            at=moment,
            actor=actor.id,
            roles=_role_names(actor.roles),
            trigger=trigger,
            source=instance.state,
            dest=instance.state,
            payload={},
            signatures=tuple(Signature(s.role, actor.id, moment) for s in given),
            key=key,
        )
        instance.history.append(entry)
        return entry

    def _signatures(
        self,
        transition: Transition,
        actor: Actor,
        instance: Instance,
        data: Mapping[str, Any],
        moment: datetime.datetime,
    ) -> tuple[list[SignOff], list[tuple[SignOff, str]]]:
        """The signatures of ``transition`` still needed in this stay that ``actor`` gives by firing it,
        and those it cannot give, each with the reason and who must sign instead."""
        mine: list[SignOff] = []
        missing: list[tuple[SignOff, str]] = []
        for signer in self._signers(transition, instance, data, moment):
            signoff = transition.signoffs[signer.index]
            if signer.may(actor.id, actor.roles):
                mine.append(signoff)
            else:
                problem = _signer_problem(transition, signoff, actor, instance)
                missing.append((signoff, f"{problem}; {self._who_signs(signoff, instance, transition.trigger)}"))
        return mine, missing

    def _signers(
        self, transition: Transition, instance: Instance, data: Mapping[str, Any], moment: datetime.datetime
    ) -> tuple[Signer, ...]:
        """The signatures of ``transition`` still needed in this stay, each with who may not or must give it."""
        signing = SIGN + transition.trigger
        signed = {s.role for e in _stay(instance) if e.trigger == signing for s in e.signatures}
        signers = []
        for index, signoff in enumerate(transition.signoffs):
            if signoff.role in signed or not self._signature_needed(signoff, data, moment):
                continue
            barred = (
                frozenset(_actors_of(instance, signoff.not_actor_of, signoff.scope))
                if signoff.not_actor_of
                else _NOBODY
            )
            only = (
                frozenset(_actors_of(instance, signoff.same_actor_as, signoff.scope)) if signoff.same_actor_as else None
            )
            signers.append(Signer(signoff.role, barred, only, index))
        return tuple(signers)

    def _signature_needed(self, signoff: SignOff, data: Mapping[str, Any], moment: datetime.datetime) -> bool:
        condition = self.compiled.signature_conditions.get(signoff.path)
        if condition is None:
            return True
        try:
            return bool(condition.evaluate({"data": data, NOW: moment}))
        except ExpressionEvaluationError:
            return True  # when the data cannot say, the signature is asked for

    def _who_signs(self, signoff: SignOff, instance: Instance, trigger: str) -> str:
        role = self.process.roles.get(signoff.role)
        who = f"it must be signed as `{signoff.role}`" + (f" ({role.label.zh}, {role.label.en})" if role else "")
        round_ = " in this round" if signoff.scope == "round" else ""
        if signoff.not_actor_of:
            barred = sorted(_actors_of(instance, signoff.not_actor_of, signoff.scope))
            who += f" by someone who did not act on {_states(signoff.not_actor_of)}{round_}" + (
                f" (not {_names(barred)})" if barred else ""
            )
        if signoff.same_actor_as:
            allowed = sorted(_actors_of(instance, signoff.same_actor_as, signoff.scope))
            who += f" by the one who acted on {_states(signoff.same_actor_as)}{round_} ({_names(allowed)})"
        return who + f" (with `{SIGN}{trigger}` first, or by firing `{trigger}`)"

    def _notifications(
        self, source: str, first: str, attempt: _Attempt, moment: datetime.datetime
    ) -> tuple[NotificationDue, ...]:
        """The transition's notifications, then those of each state the event enters (``first``, where
        the transition led, then the decisions' branches; a transition back into the same state enters
        none), rendered on the data after the event."""
        assert attempt.chosen is not None
        on_enter = self.compiled.on_enter
        entered = [first, *(b.dest for b in attempt.branches)] if attempt.branches else [first]
        if entered == [source]:
            entered = []
        declared = list(attempt.chosen.notify)
        for state in entered:
            declared.extend(on_enter[state])
        if not declared:
            return ()
        return _due(declared, {"data": attempt.data, "payload": attempt.payload}, moment)

    def _decide(self, decision: str, attempt: _Attempt) -> str:
        try:
            dest = self.compiled.decide(decision, attempt)
        except _DecisionFailed as failure:
            raise GuardFailed(str(failure)) from None
        if dest is None:
            raise GuardFailed(f"decision `{decision}` has no branch that holds and no default")
        return dest

    def _deadlines_of(
        self, state_id: str, entered: datetime.datetime, data: Mapping[str, Any] | None = None
    ) -> tuple[OpenDeadline, ...]:
        state = self.process.states[state_id]
        if state.time_limit is None and state.time_limit_from is None and not state.deadlines:
            return ()
        deadlines = []
        if state.time_limit is not None:
            deadlines.append(OpenDeadline(state_id, due_time(entered, state.time_limit, self.process.calendar), None))
        elif state.time_limit_from is not None:
            due = self._due_from_data(state_id, state.time_limit_from, entered, data, "time limit")
            deadlines.append(OpenDeadline(state_id, due, None))
        for deadline in state.deadlines:
            if deadline.after is not None:
                due = due_time(entered, deadline.after, self.process.calendar)
                deadlines.append(OpenDeadline(state_id, due, deadline.fire))
            elif deadline.after_from is not None:
                due = self._due_from_data(state_id, deadline.after_from, entered, data, f"deadline `{deadline.fire}`")
                deadlines.append(OpenDeadline(state_id, due, deadline.fire))
        return tuple(sorted(deadlines, key=_due_time)) if len(deadlines) > 1 else tuple(deadlines)

    def _due_from_data(
        self,
        state_id: str,
        limit: DataLimit,
        entered: datetime.datetime,
        data: Mapping[str, Any] | None,
        what: str,
    ) -> datetime.datetime:
        """When a limit taken from the data ends; ``InvalidData`` when the data does not give one."""
        where = f"state `{state_id}`: its {what} comes from the data"
        value = self._data_limit_value(limit, data or {}, entered, where)
        return due_from_data(entered, limit, value, self.process.calendar, where)

    def _data_limit_value(
        self, limit: DataLimit, data: Mapping[str, Any], moment: datetime.datetime, where: str
    ) -> object:
        try:
            return self.compiled.data_limits[limit.path].evaluate({"data": data, NOW: moment})
        except ExpressionEvaluationError as exc:
            raise InvalidData(f"{where}, but `{limit.expression}` could not be evaluated: {exc}") from None

    def _clock_lengths(self, data: Mapping[str, Any], moment: datetime.datetime) -> clock_rules.Lengths:
        """Works out a starting clock's points taken from the data, on ``data`` at ``moment``. ``InvalidData``
        when the data gives no usable running time, or one that puts the warning at or after the limit
        (or the ceiling before it): the event that would start the clock is refused and changes nothing."""
        calendar = self.process.calendar

        def lengths(clock: Clock, run: clock_rules.ClockRun) -> tuple[tuple[str, clock_rules.Point], ...]:
            worked: list[tuple[str, clock_rules.Point]] = []
            for name, limit in clock.from_data:
                where = f"clock `{clock.id}`: its {name} comes from the data ({self.process.locate(limit.path)})"
                value = self._data_limit_value(limit, data, moment, where)
                if limit.unit is None:  # a moment: it does not move once the clock has started
                    worked.append((name, due_from_data(moment, limit, value, calendar, where)))
                else:
                    worked.append((name, data_duration(limit, value, calendar, where)))
            every = {n: d for n, (d, _) in clock.thresholds.items() if isinstance(d, Duration)} | dict(worked)
            wrong = clock_rules.start_order_problems(self.process, clock, run, moment, every)
            if wrong:
                name, why = wrong[0]
                raise InvalidData(
                    f"{why}, as worked out from the data ({self.process.locate(clock.path + (name,))}); "
                    "the event that would start the clock is refused: correct the data, or the definition"
                )
            return tuple(worked)

        return lengths

    def _moment(self, at: datetime.datetime | None, instance: Instance | None) -> datetime.datetime:
        moment = check_time(self._clock() if at is None else at, "the event's time")
        if instance is not None and moment < instance.history[-1].at:
            raise InvalidTime(
                f"{moment.isoformat()} is before the last event of instance `{instance.id}` "
                f"({instance.history[-1].at.isoformat()}); events are recorded in time order",
            )
        return moment

    def _check_belongs(self, instance: Instance) -> None:
        process = self.process
        if (instance.process_id, instance.content_hash) != (process.id, process.content_hash):
            raise InstanceFormatError(
                f"instance `{instance.id}` runs on `{instance.process_id}` version {instance.process_version} "
                f"({instance.content_hash[:12]}); this runtime runs `{process.id}` version {process.version} "
                f"({process.content_hash[:12]})"
            )


# The objects made on every event, made without a type call (``engine.frozen``): fields in order.
_new_entry = quick_maker(Entry)
_new_signature = quick_maker(Signature)
_new_branch = quick_maker(BranchTaken)
_new_record = quick_maker(RecordWritten)
_new_object = object.__new__
_CLOCK = Actor(CLOCK_ACTOR, ())
_NOBODY: frozenset[str] = frozenset()
_NO_PARTS: Mapping[str, CompiledPart] = {}
_NO_SCOPE: dict[str, Any] = {}
_CHILD = Actor(CHILD_ACTOR, ())


def _say_where(refusal: EventRefused, instance: Instance, trigger: str) -> None:
    """A refusal names the instance, the state it stays in and the trigger refused."""
    refusal.instance_id, refusal.state, refusal.trigger = instance.id, instance.state, trigger


def _waiting_child(instance: Instance) -> str | None:
    """The child the current stay waits for, read from the history alone (any revision's)."""
    for entry in reversed(instance.history):
        if entry.child is not None:
            return entry.child.instance if entry.child.state == instance.state else None
        if entry.state != instance.state:
            break
    return None


def _in_order(deadlines: tuple[OpenDeadline, ...]) -> tuple[OpenDeadline, ...]:
    return tuple(sorted(deadlines, key=_due_time)) if len(deadlines) > 1 else deadlines


_due_time = operator.attrgetter("due")


class _DecisionFailed(Exception):
    pass


class _Attempt:
    """One event being checked: the ``Gate`` the compiled machine consults for each candidate."""

    __slots__ = (
        "runtime",
        "instance",
        "actor",
        "payload",
        "deadline",
        "data_check",
        "records",
        "data",
        "chosen",
        "branches",
        "written",
        "_held",
        "_refusal",
        "moment",
        "redirect",
        "automatic",
        "engine_fired",
        "parts_open",
        "given",
        "fitting",
    )

    runtime: Runtime
    """Whose account of a transition's signatures and loop limits the checks ask for."""
    moment: datetime.datetime
    instance: Instance
    actor: Actor
    payload: dict[str, Any]
    deadline: OpenDeadline | None
    data_check: SchemaCheck | None
    records: _Records
    data: dict[str, Any]
    chosen: CompiledTransition | None
    branches: list[BranchTaken]
    written: list[RecordWritten]
    _held: dict[str, RecordWritten] | None
    _refusal: tuple[int, type[EventRefused], str, tuple[str, ...]] | None
    redirect: str | None
    """The limit's ``then``, when the chosen transition has reached its limit."""
    automatic: bool
    """Fired by the engine when a child ended: no person's permission is asked."""
    engine_fired: frozenset[str]
    """Triggers of the current step that only the engine fires (its ``on_end`` continuations)."""
    parts_open: tuple[str, tuple[str, ...]] | None
    """Why the step may not be left yet, and the parts still open; ``None`` when it may."""
    given: list[SignOff]
    """The signatures the chosen transition takes from the actor now."""
    fitting: SchemaCheck | None
    """A payload check the payload is already known to pass (tested as it was copied)."""

    @staticmethod
    def begin(
        runtime: Runtime,
        instance: Instance,
        actor: Actor,
        payload: dict[str, Any],
        deadline: OpenDeadline | None,
        moment: datetime.datetime,
        automatic: bool,
        fitting: SchemaCheck | None,
    ) -> _Attempt:
        """A new attempt; made without a type call or ``__init__`` (a class call costs three times this)."""
        attempt: _Attempt = _new_object(_Attempt)
        attempt.runtime = runtime
        attempt.moment = moment
        attempt.instance = instance
        attempt.actor = actor
        attempt.payload = payload
        attempt.deadline = deadline
        attempt.data_check = runtime.compiled.data_check
        attempt.records = runtime._records
        attempt.data = instance.data
        attempt.chosen = None
        attempt.branches = []
        attempt.written = []
        attempt._held = None
        attempt._refusal = None
        attempt.redirect = None
        attempt.automatic = automatic
        attempt.engine_fired = runtime._engine_fired[instance.state]
        attempt.parts_open = None
        attempt.given = []
        attempt.fitting = fitting
        return attempt

    @property
    def first_dest(self) -> str:
        """Where the chosen transition led: its ``dest``, or its limit's ``then``."""
        assert self.chosen is not None
        return self.redirect if self.redirect is not None else self.chosen.transition.dest

    def admit(self, candidate: CompiledTransition) -> bool:
        if self.engine_fired and candidate.trigger in self.engine_fired and not self.automatic:
            return self._refuse(
                0,
                SubProcessRefused,
                f"`{candidate.trigger}` leaves step `{candidate.source}` when the procedure it started ends; "
                "the engine fires it then, not a person",
            )
        if self.deadline is None and not self.automatic and candidate.roles.isdisjoint(self.actor.roles):
            problem = _permission_problem(candidate, self.actor, self.instance)
            if problem is not None:
                return self._refuse(*problem)
        if (
            self.parts_open is not None
            and candidate.transition.dest != candidate.source
            and not candidate.transition.cancels
        ):
            return self._refuse(1, PartsOpen, *self.parts_open)
        given: list[SignOff] = []
        if self.deadline is None and not self.automatic and candidate.transition.signoffs:
            given, missing = self.runtime._signatures(
                candidate.transition, self.actor, self.instance, self.instance.data, self.moment
            )
            if missing:
                roles = tuple(dict.fromkeys(s.role for s, _ in missing))
                return self._refuse(
                    1,
                    MissingSignature,
                    f"`{candidate.trigger}` is missing the signature{'s' if len(missing) > 1 else ''} "
                    + ", ".join(f"`{r}`" for r in roles)
                    + ": "
                    + "; ".join(why for _, why in missing),
                    roles,
                )
        if candidate.payload is not None and candidate.payload is not self.fitting:
            problems = candidate.payload.problems(self.payload)
            if problems:
                return self._refuse(
                    2,
                    InvalidPayload,
                    f"the payload of `{candidate.trigger}` does not fit its form:\n  " + "\n  ".join(problems),
                    problems,
                )
        scope = (
            {"data": self.instance.data, "payload": self.payload, NOW: self.moment}
            if candidate.guards or candidate.assignments
            else _NO_SCOPE
        )
        for guard in candidate.guards:
            try:
                holds = bool(guard.evaluate(scope))
            except ExpressionEvaluationError as exc:
                return self._refuse(3, GuardFailed, f"the condition `{guard.text}` could not be evaluated: {exc}")
            if not holds:
                return self._refuse(
                    3, GuardFailed, f"the condition of `{candidate.trigger}` does not hold: `{guard.text}`"
                )
        limit = candidate.transition.limit
        redirect = None
        if limit is not None:
            try:
                what = f"`{candidate.source}.{candidate.trigger}`"
                times = self.runtime.limit_times(limit, self.instance.data, self.moment, what)
            except InvalidData as refusal:
                return self._refuse(3, InvalidData, str(refusal))
            if _times_taken(self.instance, candidate) >= times:
                if limit.then is None:
                    return self._refuse(3, LimitReached, _limit_message(candidate, limit, times), (str(times),))
                redirect = limit.then
        data = self.instance.data
        if candidate.assignments:
            data = dict(data)
            changed = []
            for name, expression, constant in candidate.assignments:
                try:
                    value = expression.evaluate(scope) if expression is not None else constant
                    if value is None and name in candidate.if_present:
                        continue  # `if_present: true`: the field keeps what it held
                    data[name] = _field(name, to_json(value)) if expression is not None else constant
                except ExpressionEvaluationError as exc:
                    return self._refuse(4, InvalidData, f"`set: {name}` could not be evaluated: {exc}")
                changed.append(name)
            if self.data_check is not None:
                problems = self.data_check.problems_after_set(data, changed)
                if problems:
                    return self._refuse(
                        4,
                        InvalidData,
                        f"after `{candidate.trigger}` the data would not fit the data schema:\n  "
                        + "\n  ".join(problems),
                        problems,
                    )
        transition = candidate.transition
        written: list[RecordWritten] = []
        if transition.requires or transition.produces:
            refused = self.records.write(transition, self.held(), {"payload": self.payload, "data": data}, written)
            if refused is not None:
                return self._refuse(5, *refused)
        self.data = data
        self.chosen = candidate
        self.written = written
        self.redirect = redirect
        self.given = given
        return True

    def held(self) -> dict[str, RecordWritten]:
        """The latest version of each record the instance holds before this event."""
        if self._held is None:
            self._held = _held(self.instance)
        return self._held

    def take(self, branch: CompiledBranch) -> bool:
        if branch.condition is not None:
            try:
                holds = bool(branch.condition.evaluate({"data": self.data, NOW: self.moment}))
            except ExpressionEvaluationError as exc:
                where = f"decision `{branch.decision}`: the condition `{branch.condition.text}`"
                raise _DecisionFailed(f"{where} could not be evaluated: {exc}") from None
            if not holds:
                return False
        self.branches.append(_new_branch(branch.decision, branch.index, branch.branch.dest))
        return True

    def refusal(self) -> EventRefused:
        if self._refusal is None:
            return GuardFailed("no transition admitted the event")
        _, kind, message, problems = self._refusal
        return _refusal(kind, message, problems)

    def _refuse(self, stage: int, kind: type[EventRefused], message: str, problems: tuple[str, ...] = ()) -> bool:
        # Of several candidates for one trigger, report the one that got furthest.
        if self._refusal is None or stage > self._refusal[0]:
            self._refusal = (stage, kind, message, problems)
        return False


class _Records:
    """Writing records from payloads, and the records steps and transitions require."""

    def __init__(self, process: Process, checks: Mapping[str, SchemaCheck], as_payload: frozenset[DocumentPath]):
        self.process = process
        self.checks = checks
        self.as_payload = as_payload
        """The ``produces`` whose record fits whenever the payload fits its form (checked before they write)."""
        self.requiring = {s.id: s.requires for s in process.states.values() if s.requires}
        self.declared = {record.id: _properties(record.fields) for record in process.records.values()}
        """The field names each record declares under ``properties`` (``None``: it does not say)."""

    def write(
        self,
        transition: Transition,
        held: Mapping[str, RecordWritten],
        scope: Mapping[str, Mapping[str, Any]],
        written: list[RecordWritten],
    ) -> tuple[type[EventRefused], str, tuple[str, ...]] | None:
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
            problems = check.problems(fields) if check is not None else ()
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

    def check_entering(self, states: Sequence[str], attempt: _Attempt) -> None:
        """Refuse an event that leads into a step whose required records the instance would not hold."""
        for state in states:
            required = self.requiring.get(state)
            if not required:
                continue
            made = attempt.held().keys() | {w.record for w in attempt.written}
            missing = tuple(r for r in required if r not in made)
            if missing:
                raise MissingRecord(
                    f"step `{state}` requires the record{'s' if len(missing) > 1 else ''} "
                    + ", ".join(self._name(r) for r in missing)
                    + ", which this instance does not hold; the event that leads there cannot be taken yet",
                    missing=missing,
                )

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


def _properties(fields: FrozenJson | None) -> tuple[str, ...] | None:
    """The field names a record declares under ``properties``; ``None`` when it does not say."""
    if not isinstance(fields, Mapping):
        return None
    properties = fields.get("properties")
    return tuple(properties) if isinstance(properties, Mapping) else None


def _offer(choice: Choice) -> Offer:
    return Offer(
        choice.trigger,
        choice.label.zh,
        choice.label.en,
        choice.dest,
        choice.payload_schema,
        choice.part,
        choice.items,
    )


def _permission_problem(
    candidate: CompiledTransition, actor: Actor, instance: Instance
) -> tuple[int, type[EventRefused], str] | None:
    if candidate.roles.isdisjoint(actor.roles):
        return (
            0,
            PermissionDenied,
            f"`{actor.id}` (roles: {_names(actor.roles)}) may not fire `{candidate.trigger}` "
            f"in state `{candidate.source}`: it needs one of the roles {_names(candidate.roles)}",
        )
    return None


def _signer_problem(transition: Transition, signoff: SignOff, actor: Actor, instance: Instance) -> str | None:
    """Why ``actor`` may not give this signature, or ``None`` when they may."""
    if signoff.role not in actor.roles:
        return (
            f"`{transition.trigger}` needs a signature as `{signoff.role}`, which `{actor.id}` cannot give "
            f"(roles: {_names(actor.roles)})"
        )
    barred = _actors_of(instance, signoff.not_actor_of, signoff.scope)
    if actor.id in barred:
        return (
            f"`{actor.id}` may not sign `{transition.trigger}` as `{signoff.role}`: they acted on "
            + " or ".join(f"`{s}`" for s in signoff.not_actor_of if s in barred[actor.id])
            + ", and the signer must be someone else"
        )
    if signoff.same_actor_as and actor.id not in _actors_of(instance, signoff.same_actor_as, signoff.scope):
        return (
            f"`{actor.id}` may not sign `{transition.trigger}` as `{signoff.role}`: the signer must be the one who "
            f"acted on {_states(signoff.same_actor_as)}"
        )
    return None


def _actors_of(instance: Instance, states: tuple[str, ...], scope: str = "history") -> dict[str, set[str]]:
    """Who did something in each of ``states`` (fired an event from it, did a part of it), by actor: in
    the whole history, or (``round``) only in the latest stay in each state."""
    return actors_of(instance, states).who_acted(instance.history, scope)


def _times_taken(instance: Instance, candidate: CompiledTransition) -> int:
    """How many events of the history took this transition to its own ``dest`` (not to a limit's
    ``then``): read from the history, so a replay counts exactly the same."""
    return loops_of(instance).times_taken(candidate.source, candidate.trigger, candidate.transition.dest)


def _times_entered(instance: Instance, state: str) -> int:
    """How many events of the history entered ``state`` from another state (the start included)."""
    return loops_of(instance).times_entered(state)


def _state_limit_message(state: str, limit: Limit, times: int) -> str:
    return (
        f"step `{state}` has reached its limit: it may be entered {_times(times)} in an instance "
        f"({_limit_said(limit, times)}) and has been entered {_times(times)} already; "
        "the event that would enter it again is refused"
    )


def _limit_said(limit: Limit, times: int) -> str:
    """The limit as written, and for a ``times`` from the data what it gives now."""
    written = f"`limit: {{times: {limit.text}}}`"
    return written if limit.times_from is None else f"{written}, which gives {times} now"


def _times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"


def _limit_message(candidate: CompiledTransition, limit: Limit, count: int) -> str:
    times = _times(count)
    return (
        f"`{candidate.source}.{candidate.trigger}` has reached its limit: it may be taken {times} in an instance "
        f"({_limit_said(limit, count)}) and has been taken {times} already; it is refused from now on"
    )


def _engine_fired(starts: SubProcess | None) -> frozenset[str]:
    return frozenset() if starts is None else frozenset(trigger for _, trigger in starts.on_end)


def _recorded_child(index: int, recorded: Entry) -> Spawn:
    """The ``spawn`` of a replay: the child the history recorded, started again by no one."""

    def spawn(request: ChildStart) -> str:
        if recorded.child is None:
            raise ReplayMismatch(
                f"entry {index}: replaying it enters step `{request.parent.state}`, which starts "
                f"`{request.process}`, but the history records no child started"
            )
        return recorded.child.instance

    return spawn


def _states(states: Iterable[str]) -> str:
    return " or ".join(f"`{s}`" for s in states)


def _stay(instance: Instance) -> list[Entry]:
    """The events of the current stay in the instance's state: every entry since the one that entered
    it that stayed there (a part, a signature given ahead, a transition back into the same step)."""
    history, state = instance.history, instance.state
    first = len(history)
    while first > 1 and history[first - 1].source == state and history[first - 1].dest == state:
        first -= 1
    return history[first:]


def _items(part: Part, data: Mapping[str, Any]) -> list[str | None]:
    """The keys of a part's instances: ``[None]`` for a single part; for a part per item, each item's."""
    if part.for_each is None:
        return [None]
    listed = data.get(part.for_each)
    if not isinstance(listed, list):
        return []
    keys: list[str | None] = []
    for index, item in enumerate(listed):
        named = item.get(part.key) if part.key is not None and isinstance(item, Mapping) else None
        keys.append(_item_key(named) or (item if isinstance(item, str) else str(index)))
    return list(dict.fromkeys(keys))


def _item_key(value: Any) -> str | None:
    """An item's key as text: a string as it is, a whole number written out; ``None`` for anything else."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _required(part: CompiledPart, data: Mapping[str, Any], moment: datetime.datetime, quiet: bool) -> bool:
    if not part.part.required:
        return False
    if part.required_when is None:
        return True
    try:
        return bool(part.required_when.evaluate({"data": data, NOW: moment}))
    except ExpressionEvaluationError as exc:
        if quiet:
            return True
        raise GuardFailed(
            f"whether part `{part.part.id}` is required (`{part.required_when.text}`) could not be evaluated: {exc}"
        ) from None


def _by_part(found: Iterable[tuple[CompiledPart, str | None]]) -> list[tuple[CompiledPart, tuple[str | None, ...]]]:
    """The open parts, each once with its open items, in the order found."""
    grouped: dict[str, tuple[CompiledPart, list[str | None]]] = {}
    for part, item in found:
        grouped.setdefault(part.part.id, (part, []))[1].append(item)
    return [(part, tuple(items)) for part, items in grouped.values()]


def _held(instance: Instance) -> dict[str, RecordWritten]:
    """The latest version of each record the instance holds."""
    return records_of(instance).held()


def _refusal(kind: type[EventRefused], message: str, problems: tuple[str, ...]) -> EventRefused:
    """The refusal of a kind, with what it carries."""
    if kind is InvalidPayload or kind is InvalidData:
        return kind(message, problems=problems)
    if kind is MissingRecord:
        return MissingRecord(message, missing=problems)
    if kind is MissingSignature:
        return MissingSignature(message, missing=problems)
    if kind is PartsOpen:
        return PartsOpen(message, open=problems)
    if kind is LimitReached:
        return LimitReached(message, times=int(problems[0]), limit=message.split("`")[1])
    return kind(message)


def _lacks_records(candidate: CompiledTransition, instance: Instance) -> bool:
    """Whether the transition requires (or amends) a record the instance does not hold yet."""
    transition = candidate.transition
    needed = [*transition.requires, *(b.record for b in transition.produces if b.amend)]
    if not needed:
        return False
    return records_of(instance).lacks(needed)


def _ready(candidate: CompiledTransition, data: Mapping[str, Any], now: datetime.datetime) -> bool | None:
    if any(path[0] == "payload" for guard in candidate.guards for path in guard.paths):
        return None
    try:
        return all(bool(guard.evaluate({"data": data, NOW: now})) for guard in candidate.guards)
    except ExpressionEvaluationError:
        return False


def _standalone(schema: FrozenJson, document: FrozenJson, seen: frozenset[str] = frozenset()) -> Any:
    """A plain copy of a fragment with its ``$ref``s into the definition (``#/records/x/fields``) written
    out, so that a form built from it needs nothing else. A reference back into itself stays a ``$ref``."""
    if isinstance(schema, tuple):
        return [_standalone(item, document, seen) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
        return {key: _standalone(value, document, seen) for key, value in schema.items()}
    target = resolve(document, ref)  # the checks at load have proven that the reference resolves
    written_out = _standalone(target, document, seen | {ref})
    siblings = {key: _standalone(value, document, seen) for key, value in schema.items() if key != "$ref"}
    if not siblings:
        return written_out
    return {**siblings, "allOf": [*siblings.get("allOf", []), written_out]}


def _same_entry(index: int, replayed: Entry, recorded: Entry) -> None:
    if replayed != recorded:
        differences = [
            f"{name} recorded {getattr(recorded, name)!r}, replayed {getattr(replayed, name)!r}"
            for name in Entry.__slots__
            if getattr(recorded, name) != getattr(replayed, name)
        ]
        raise ReplayMismatch(f"entry {index}: " + "; ".join(differences))


def _due(
    declared: Iterable[CompiledNotification], scope: Mapping[str, Any], moment: datetime.datetime
) -> tuple[NotificationDue, ...]:
    return tuple(NotificationDue(n.cause, n.roles, n.zh.render(scope), n.en.render(scope), moment) for n in declared)


def _names(names: Iterable[str | None]) -> str:
    shown = sorted(n for n in names if n is not None)
    return ", ".join(f"`{n}`" for n in shown) if shown else "none"


def _aware(moment: datetime.datetime) -> datetime.datetime:
    """A time to look at the instance at (not to record): it must be aware, and may be any such time."""
    if not isinstance(moment, datetime.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime(f"times must carry their UTC offset (an aware datetime), got {moment!r}")
    return moment


@functools.lru_cache(maxsize=1024)
def _role_names(roles: frozenset[str]) -> tuple[str, ...]:
    """The roles as recorded on an entry; one shared tuple per set of roles, not one per entry."""
    return tuple(sorted(roles))


def _field(name: str, value: Any) -> Any:
    """A value a ``set`` computed, checked where it will sit: one level down in the data."""
    kind = type(value)
    if kind is bool or value is None or (kind is int and -MAX_NUMBER <= value <= MAX_NUMBER):
        return value  # what the walk would give, without it: a scalar within the limits is kept as it is
    if kind is str and len(name) + len(value) <= MAX_CHARACTERS and kept_as_is(value) and kept_as_is(name):
        return value  # so is text within the limit on characters, the field's name counted
    return json_copy({name: value}, "data", ExpressionEvaluationError)[name]


def _firing_time(instance: Instance, deadline: OpenDeadline) -> datetime.datetime:
    """A deadline fires at its due time, or at the last event's when that was later (a history never
    goes back in time)."""
    return max(deadline.due, instance.history[-1].at)

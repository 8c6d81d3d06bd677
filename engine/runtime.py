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

``Runtime`` is the one entrance; each concern is worked out in a module of its own: ``engine.firing``
(the event path), ``engine.attempt`` (the checks of one event), ``engine.choices`` (what a step offers),
``engine.parts``, ``engine.signoffs``, ``engine.limits``, ``engine.records``, ``engine.deadlines``,
``engine.subprocesses``, ``engine.claims``, ``engine.corrections`` and ``engine.replay``.
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from engine import clocks as clock_rules
from engine import replay as replaying
from engine.actors import CHILD, CHILD_ACTOR, CLOCK_ACTOR, Actor
from engine.choices import Choice, Forms, case_work, choices_for, step_work
from engine.claims import assignment
from engine.compiler import CompiledTransition
from engine.corrections import MAX_REASON_LENGTH, adopt, move
from engine.deadlines import Advanced, catch_up, firing_time, next_due
from engine.errors import EventRefused, InstanceFormatError, InvalidTime, UnknownTrigger
from engine.firing import Firing, say_where
from engine.inputs import check_aware, event_time
from engine.instances import Entry, Instance, Link, Migration, OpenDeadline, RecordVersion
from engine.limits import LimitLeft, limit_left, limit_times
from engine.model import Limit, Process
from engine.parts import PartStatus, open_parts, part_statuses
from engine.signoffs import SIGN
from engine.stays import claimant
from engine.subprocesses import ChildStart, Spawn, continuation, returns_of, waiting_for
from engine.work import CaseWork, StepWork

__all__ = [  # what ``engine.runtime`` has always offered, wherever each now lives
    "CHILD_ACTOR",
    "CLOCK_ACTOR",
    "MAX_REASON_LENGTH",
    "SIGN",
    "Actor",
    "Advanced",
    "ChildStart",
    "Choice",
    "LimitLeft",
    "PartStatus",
    "Runtime",
    "Spawn",
    "utc_now",
]


utc_now: Callable[[], datetime.datetime] = functools.partial(datetime.datetime.now, datetime.UTC)
"""The real clock: now, in UTC (a partial of ``datetime.now``, so that reading it runs no Python frame)."""

_V4_KEPT = ~((0xC000 << 48) | (0xF000 << 64))
_V4_SET = (0x8000 << 48) | (4 << 76)


def random_id() -> str:
    """A new instance's id: ``uuid.uuid4().hex``, the same 32 hex digits (16 random bytes, the RFC 4122
    variant and version 4 set), without the ``UUID`` object, whose checks and two frames cost a fifth of
    a start's instructions."""
    return "%032x" % (int.from_bytes(os.urandom(16)) & _V4_KEPT | _V4_SET)


class Runtime:
    """Starts, moves, times and replays instances of one definition: it holds the compiled definition
    and what the event path reads from it; each concern is worked out in its own module."""

    def __init__(
        self,
        process: Process,
        *,
        clock: Callable[[], datetime.datetime] = utc_now,
        new_id: Callable[[], str] = random_id,
    ):
        self.process = process
        self._firing = Firing(process)
        self.compiled = self._firing.compiled
        self._clock = clock
        self._new_id = new_id
        self._forms = Forms(process.document)

    # --- starting and firing ---------------------------------------------------------------------

    @property
    def starting_roles(self) -> frozenset[str]:
        """The roles that may start an instance: the start step's and those that may act on it (none:
        anyone may)."""
        return self._firing.starting_roles

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
        moment = event_time(self._clock() if at is None else at)
        return self._firing.start(actor, data, moment, instance_id, self._new_id, key, parent)

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
        moment = event_time(self._clock() if at is None else at)
        if moment < instance.history[-1].at:
            self._moment(moment, instance)  # refuses, saying which time is before which
        try:  # what Firing.apply does, without its call: positionally, as keywords cost more than the call
            return self._firing.check_and_apply(instance, trigger, actor, payload, moment, key, None, spawn)
        except EventRefused as refusal:
            say_where(refusal, instance, trigger)
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
        trigger = continuation(self.process, instance, child)
        moment = self._moment(at, instance)
        return self._firing.apply(
            instance, trigger, CHILD, payload, moment, None, deadline=None, spawn=spawn, child_ended=child
        )

    def waiting_for(self, instance: Instance) -> str | None:
        """The id of the child instance the current step waits for, if it is a step that starts one."""
        return waiting_for(self.process, instance)

    def returns_of(self, state: str, child_data: Mapping[str, Any]) -> dict[str, Any]:
        """The continuation's payload: the child's data fields the step's ``returns`` names."""
        return returns_of(self.process, state, child_data)

    # --- loop limits -------------------------------------------------------------------------------

    def limit_left(self, instance: Instance, candidate: CompiledTransition, at: datetime.datetime) -> LimitLeft | None:
        """The loop limit that binds a transition of the current state at ``at`` (its own, or that of the
        step it enters, whichever has fewer left), or ``None`` when neither has one."""
        return limit_left(self.compiled, instance, candidate, at)

    def limit_times(self, limit: Limit, data: Mapping[str, Any], moment: datetime.datetime, what: str) -> int:
        """How many times a loop limit allows: as written, or worked out now from ``data``. ``InvalidData``
        (naming ``what`` and where the limit is written) when the data gives no whole number, 1 or more."""
        return limit_times(self.compiled, limit, data, moment, what)

    # --- corrections -------------------------------------------------------------------------------

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
            return move(self.compiled, instance, to, actor, reason, self._moment(at, instance))
        except EventRefused as refusal:
            say_where(refusal, instance, None)
            raise

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
            return adopt(self.compiled, instance, migration, to, values, actor, self._moment(at, instance))
        except EventRefused as refusal:
            say_where(refusal, instance, None)
            raise

    # --- what a step offers, and who holds it --------------------------------------------------------

    def available(self, instance: Instance, actor: Actor) -> tuple[Choice, ...]:
        """The triggers ``actor`` may fire in the instance's current state, each once, in definition order:
        ``engine.work.offered`` on the step's ``work`` (a step someone else has claimed offers them no
        transition but one that cancels the case, unless they supervise)."""
        return choices_for(self.work(instance), actor)

    def work(
        self, instance: Instance, at: datetime.datetime | None = None, *, readiness: bool = True
    ) -> StepWork[Choice]:
        """What can be done in the instance's current step, and with which roles, at ``at`` (default:
        now), whoever asks: its open parts, its transitions with the signatures they still need (and who
        may not or must give them), and who holds the step (``engine.work``). Without ``readiness`` each
        choice's ``ready`` is left ``None`` (what the worklist keeps is as of its last event)."""
        self._check_belongs(instance)
        now = self._at(at)
        engine_fired = self._firing.steps[instance.state].engine_fired
        return step_work(self.compiled, self._forms, engine_fired, instance, now, readiness)

    def case_work(self, instance: Instance, at: datetime.datetime | None = None) -> CaseWork:
        """The work of the instance's step (``work``) as a store keeps it for the worklist, at ``at``
        (default: now): each choice as an ``Offer``, with the step's label, the earliest due time and
        each clock's status and points ahead."""
        return case_work(self.process, instance, self.work(instance, self._at(at), readiness=False))

    def claimant(self, instance: Instance) -> str | None:
        """Who holds the current step (claimed, or was assigned it), if anyone: read from the history of
        this stay, so it ends when the case leaves the step."""
        return claimant(instance)

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
            entry = assignment(self.process, instance, self.work(instance, moment), actor, action, to, moment)
        except EventRefused as refusal:
            say_where(refusal, instance, action)
            raise
        instance.history.append(entry)
        return entry

    def open_parts(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[tuple[str, str | None], ...]:
        """The parts of the current step still to be done, required or not, as ``(part id, item key)``
        (the key ``None`` for a part not done per item), in the order the step lists them."""
        self._check_belongs(instance)
        return tuple((p.part.id, item) for p, item in open_parts(self.compiled, instance, self._at(at), quiet=True))

    def parts(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[PartStatus, ...]:
        """Every part of the current step (one per item for a part done per item), whether it is
        required now, and the event that did it in this stay, if one has."""
        self._check_belongs(instance)
        return part_statuses(self.compiled, instance, self._at(at))

    def records(self, instance: Instance) -> Mapping[str, tuple[RecordVersion, ...]]:
        """Every record the instance holds, by id, each with all its versions, oldest first: content,
        author (actor and roles), time and the event that wrote it."""
        self._check_belongs(instance)
        return instance.records

    # --- time ----------------------------------------------------------------------------------------

    def overdue(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[OpenDeadline, ...]:
        """The instance's time limits and deadlines that have passed at ``at`` (default: now)."""
        return instance.overdue(self._at(at))

    def clocks(self, instance: Instance, at: datetime.datetime | None = None) -> tuple[clock_rules.ClockReport, ...]:
        """Each clock of the process for this instance at ``at`` (default: now): its status, the running
        time used and left, the points reached and the next one due (``engine.clocks``)."""
        self._check_belongs(instance)
        return clock_rules.report(self.process, instance.history, instance.deadlines, self._at(at))

    def advance(
        self, instance: Instance, at: datetime.datetime | None = None, *, spawn: Spawn | None = None
    ) -> Advanced:
        """Fire every deadline that is due at ``at`` (default: now), earliest first, each at its own due
        time. A deadline whose transition is refused stays open and is reported. ``spawn`` starts the
        child of a step a deadline leads into, as for ``fire``."""
        self._check_belongs(instance)
        return catch_up(
            instance, self._at(at), lambda due, moment: self._firing.fire_open(instance, due, moment, spawn)
        )

    def next_due(
        self, instance: Instance, at: datetime.datetime, passed: Collection[OpenDeadline] = ()
    ) -> OpenDeadline | None:
        """The deadline ``advance`` fires next at ``at``: the earliest one due that fires a trigger,
        leaving out those ``passed`` (already refused); ``None`` when none is."""
        return next_due(instance, at, passed)

    def fire_deadline(self, instance: Instance, deadline: OpenDeadline, *, spawn: Spawn | None = None) -> Entry:
        """Fire one open deadline of the instance as ``advance`` does, at its due time (or the last
        event's, when that is later): one step of ``advance``, for callers that store each step."""
        self._check_belongs(instance)
        if deadline.fire is None or deadline not in instance.deadlines:
            raise UnknownTrigger(f"instance `{instance.id}` has no open deadline {deadline!r} that fires a trigger")
        return self._firing.fire_open(instance, deadline, firing_time(instance, deadline), spawn)

    # --- replay --------------------------------------------------------------------------------------

    def replay(self, history: Sequence[Entry], *, instance_id: str) -> Instance:
        """The instance that ``history`` produces on this definition, each event checked to record exactly
        what the history says, up to a migration entry (``engine.replay.replay``)."""
        return replaying.replay(self, history, instance_id)

    def replay_migration(self, instance: Instance, history: Sequence[Entry]) -> Instance:
        """Carry on a replay that stopped at a migration entry, on this revision, up to the next one
        (``engine.replay.replay_migration``)."""
        return replaying.replay_migration(self, instance, history)

    def verify(self, instance: Instance) -> None:
        """Replay the instance's history and check it gives the instance's state, data and deadlines;
        ``ReplayMismatch`` says what differs, or that the case was migrated (``engine.replay.verify``)."""
        replaying.verify(self, instance)

    def check_replayed(self, instance: Instance, replayed: Instance) -> None:
        """``ReplayMismatch`` unless ``replayed`` has the recorded instance's state, data and deadlines."""
        replaying.check_replayed(instance, replayed)

    # --- the moment of an event, and the definition it runs on --------------------------------------

    def _moment(self, at: datetime.datetime | None, instance: Instance | None) -> datetime.datetime:
        moment = event_time(self._clock() if at is None else at)
        if instance is not None and moment < instance.history[-1].at:
            raise InvalidTime(
                f"{moment.isoformat()} is before the last event of instance `{instance.id}` "
                f"({instance.history[-1].at.isoformat()}); events are recorded in time order",
            )
        return moment

    def _at(self, at: datetime.datetime | None) -> datetime.datetime:
        """A time to look at an instance at (not to record): now, or ``at``, which must be aware and may
        be any such time."""
        return self._clock() if at is None else check_aware(at)

    def _check_belongs(self, instance: Instance) -> None:
        process = self.process
        if (instance.process_id, instance.content_hash) != (process.id, process.content_hash):
            raise InstanceFormatError(
                f"instance `{instance.id}` runs on `{instance.process_id}` version {instance.process_version} "
                f"({instance.content_hash[:12]}); this runtime runs `{process.id}` version {process.version} "
                f"({process.content_hash[:12]})"
            )

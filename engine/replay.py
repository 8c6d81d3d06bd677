"""Replaying a recorded history on a runtime: each entry applied again through the way it came in (a start,
an event, a deadline or clock point, a move by hand, a claim, a child's end, a migration), the open
deadline or clock point a recorded entry says fired, the child a recorded entry says was started, and the
comparisons that make any difference a ``ReplayMismatch``; verifying a stored instance that way."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from engine.actors import CLOCK, Actor
from engine.errors import EventRefused, ReplayMismatch
from engine.firing import Firing
from engine.instances import ClockMark, Entry, Instance, Link, Migration, OpenDeadline
from engine.model import CLOCK_THRESHOLDS
from engine.subprocesses import ChildStart, Spawn

CHECKED = ("content_hash", "state", "data", "entered_at", "deadlines", "records")
"""What a replayed instance must have as recorded (``check_replayed``)."""


def point_reached(recorded: Entry) -> ClockMark | None:
    """The clock point a recorded entry says was reached by the clock itself, if it says one was."""
    point = recorded.clocks[0] if recorded.by_deadline and recorded.clocks else None
    return point if point is not None and point.event in CLOCK_THRESHOLDS else None


def point_deadline(instance: Instance, index: int, recorded: Entry, point: ClockMark) -> OpenDeadline:
    """The instance's open deadline for the clock point entry ``index`` records, due by its time."""
    for deadline in instance.deadlines:
        if (deadline.clock, deadline.threshold) == (point.clock, point.event) and deadline.fire is not None:
            if deadline.due <= recorded.at:
                return deadline
    raise ReplayMismatch(
        f"entry {index}: clock `{point.clock}` is recorded as reaching its {point.event}, "
        f"but it is not due by {recorded.at.isoformat()}"
    )


def fired_deadline(instance: Instance, index: int, recorded: Entry) -> OpenDeadline:
    """The instance's open deadline that fires the trigger entry ``index`` records as fired by a deadline."""
    for deadline in instance.deadlines:
        if deadline.fire == recorded.trigger and deadline.due <= recorded.at:
            return deadline
    raise ReplayMismatch(
        f"entry {index}: `{recorded.trigger}` is recorded as fired by a deadline, "
        f"but no deadline of state `{instance.state}` fires it by {recorded.at.isoformat()}"
    )


def recorded_child(index: int, recorded: Entry) -> Spawn:
    """The ``spawn`` of a replay: the child the history recorded, started again by no one."""

    def spawn(request: ChildStart) -> str:
        if recorded.child is None:
            raise ReplayMismatch(
                f"entry {index}: replaying it enters step `{request.parent.state}`, which starts "
                f"`{request.process}`, but the history records no child started"
            )
        return recorded.child.instance

    return spawn


def same_entry(index: int, replayed: Entry, recorded: Entry) -> None:
    """``ReplayMismatch`` naming each field in which the replayed entry differs from the recorded one."""
    if replayed != recorded:
        differences = [
            f"{name} recorded {getattr(recorded, name)!r}, replayed {getattr(replayed, name)!r}"
            for name in Entry.__slots__
            if getattr(recorded, name) != getattr(replayed, name)
        ]
        raise ReplayMismatch(f"entry {index}: " + "; ".join(differences))


def check_replayed(instance: Instance, replayed: Instance) -> None:
    """``ReplayMismatch`` unless ``replayed`` has the recorded instance's state, data and deadlines."""
    for name in CHECKED:
        recorded, derived = getattr(instance, name), getattr(replayed, name)
        if recorded != derived:
            raise ReplayMismatch(
                f"instance `{instance.id}`: its {name} is recorded as {recorded!r}, "
                f"but replaying its history gives {derived!r}"
            )


class Replaying(Protocol):
    """What a replay asks of the runtime it replays on (``engine.runtime.Runtime``): the ways each kind of
    recorded entry came in, and the runtime's own checks of an event's time and of an instance's definition."""

    _firing: Firing

    def start(
        self,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        *,
        at: datetime.datetime | None = None,
        instance_id: str | None = None,
        key: str | None = None,
        parent: Link | None = None,
    ) -> Instance: ...

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
    ) -> Entry: ...

    def child_ended(
        self,
        instance: Instance,
        child: Link,
        payload: Mapping[str, Any] | None = None,
        *,
        at: datetime.datetime | None = None,
        spawn: Spawn | None = None,
    ) -> Entry | None: ...

    def move(
        self, instance: Instance, to: str, actor: Actor, reason: str, *, at: datetime.datetime | None = None
    ) -> Entry: ...

    def adopt(
        self,
        instance: Instance,
        migration: Migration,
        to: str,
        values: Mapping[str, Any],
        actor: Actor,
        *,
        at: datetime.datetime | None = None,
    ) -> Entry: ...

    def _assignment(
        self, instance: Instance, actor: Actor, action: str, to: Actor | None, at: datetime.datetime | None
    ) -> Entry: ...

    def _moment(self, at: datetime.datetime | None, instance: Instance | None) -> datetime.datetime: ...

    def _check_belongs(self, instance: Instance) -> None: ...


def replay(runtime: Replaying, history: Sequence[Entry], instance_id: str) -> Instance:
    """The instance that ``history`` produces on ``runtime``'s definition, checking at each event that the
    replay records exactly what the history says (``ReplayMismatch`` otherwise).

    A migration entry ends what this definition replays: the instance returned is the case as it
    stood before it (its history that far), to be carried on with ``replay_migration`` on the
    runtime of the revision the entry names (``Workflows`` does)."""
    if not history or history[0].trigger is not None:
        raise ReplayMismatch("a history begins with the entry that started the instance (it has no trigger)")
    first = history[0]
    try:
        instance = runtime.start(
            Actor(first.actor, first.roles),
            first.payload,
            at=first.at,
            instance_id=instance_id,
            key=first.key,
            parent=first.parent,
        )
        same_entry(0, instance.history[0], first)
    except EventRefused as refusal:
        raise ReplayMismatch(f"entry 0: replaying it is refused: {refusal}") from refusal
    return _replay_rest(runtime, instance, history)


def replay_migration(runtime: Replaying, instance: Instance, history: Sequence[Entry]) -> Instance:
    """Carry on a replay that stopped at a migration entry (``instance``: the case replayed on its
    earlier revision, up to that entry): apply the entry on ``runtime``'s revision, check it gives what is
    recorded, and replay on from there up to the next migration entry."""
    index = len(instance.history)
    recorded = history[index] if index < len(history) else None
    if recorded is None or recorded.migration is None:
        raise ReplayMismatch(f"entry {index} is not a migration entry")
    try:
        actor = Actor(recorded.actor, recorded.roles)
        entry = runtime.adopt(instance, recorded.migration, recorded.dest, recorded.payload, actor, at=recorded.at)
    except EventRefused as refusal:
        raise ReplayMismatch(f"entry {index}: replaying the migration is refused: {refusal}") from refusal
    same_entry(index, entry, recorded)
    return _replay_rest(runtime, instance, history)


def _replay_rest(runtime: Replaying, instance: Instance, history: Sequence[Entry]) -> Instance:
    index = len(instance.history)
    try:
        for index in range(len(instance.history), len(history)):
            recorded = history[index]
            if recorded.migration is not None:
                break
            same_entry(index, _replay_one(runtime, instance, index, recorded), recorded)
    except EventRefused as refusal:
        raise ReplayMismatch(f"entry {index}: replaying it is refused: {refusal}") from refusal
    return instance


def _replay_one(runtime: Replaying, instance: Instance, index: int, recorded: Entry) -> Entry:
    """Apply one recorded entry again, as what it records: a clock's point, a move by hand, a claim, a
    child's end, an actor's event or a deadline's."""
    point = point_reached(recorded)
    if point is not None:
        deadline = point_deadline(instance, index, recorded, point)
        moment = runtime._moment(recorded.at, instance)
        return runtime._firing.reach_point(instance, deadline, moment, recorded_child(index, recorded))
    if recorded.correction is not None:
        actor = Actor(recorded.actor, recorded.roles)
        return runtime.move(instance, recorded.dest, actor, recorded.correction, at=recorded.at)
    if recorded.assignment is not None:
        given = recorded.assignment
        actor = Actor(recorded.actor, recorded.roles)
        to = None if given.to is None else Actor(given.to, given.roles)
        return runtime._assignment(instance, actor, given.action, to, recorded.at)
    if recorded.trigger is None:
        raise ReplayMismatch(f"entry {index} has no trigger; only the first entry starts the instance")
    spawn = recorded_child(index, recorded)
    if recorded.child_ended is not None:
        entry = runtime.child_ended(instance, recorded.child_ended, recorded.payload, at=recorded.at, spawn=spawn)
        if entry is None:
            raise ReplayMismatch(
                f"entry {index}: recorded as fired when child `{recorded.child_ended.instance}` ended, but "
                f"state `{instance.state}` does not wait for that child"
            )
        return entry
    if not recorded.by_deadline:
        actor = Actor(recorded.actor, recorded.roles)
        return runtime.fire(
            instance, recorded.trigger, actor, recorded.payload, at=recorded.at, key=recorded.key, spawn=spawn
        )
    deadline = fired_deadline(instance, index, recorded)
    moment = runtime._moment(recorded.at, instance)
    return runtime._firing.apply(instance, recorded.trigger, CLOCK, {}, moment, None, deadline, spawn=spawn)


def verify(runtime: Replaying, instance: Instance) -> None:
    """Replay the instance's history on ``runtime`` and check it gives the instance's state, data and
    deadlines; ``ReplayMismatch`` says what differs. This is how an auditor checks a stored record.

    A case that was migrated is replayed segment by segment, each on its own revision: that is
    ``Workflows.verify``'s to do (a runtime knows one revision); here it is ``ReplayMismatch``."""
    runtime._check_belongs(instance)
    if any(e.migration is not None for e in instance.history):
        raise ReplayMismatch(
            f"instance `{instance.id}` was migrated between revisions; verify it through the store "
            "(`Workflows.verify`, `procflow verify`), which replays each revision's part on that revision"
        )
    check_replayed(instance, replay(runtime, instance.history, instance.id))

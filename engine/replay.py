"""Replaying a recorded history: the open deadline or clock point a recorded entry says fired, the child a
recorded entry says was started, and the comparisons that make any difference a ``ReplayMismatch``."""

from __future__ import annotations

from engine.errors import ReplayMismatch
from engine.instances import ClockMark, Entry, Instance, OpenDeadline
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

"""The current stay of a case in its step, read from its history: the events since it entered the step,
who holds the step in it, and the child procedure it waits for."""

from __future__ import annotations

from collections.abc import Sequence

from engine.instances import Entry, Instance


def stay_begins(history: Sequence[Entry], state: str) -> int:
    """The index of the first event of the stay in ``state`` after the one that entered it: every later
    entry stayed there (a part, a signature given ahead, a claim, a transition back into the same step)."""
    first = len(history)
    while first > 1 and history[first - 1].source == state and history[first - 1].dest == state:
        first -= 1
    return first


def stay(instance: Instance) -> Sequence[Entry]:
    """The events of the current stay in the instance's state (``stay_begins``), oldest first."""
    history = instance.history
    return history[stay_begins(history, instance.state) :]


def claimant(instance: Instance) -> str | None:
    """Who holds the current step (claimed, or was assigned it), if anyone: read from the history of
    this stay, so it ends when the case leaves the step."""
    history = instance.history
    for index in range(len(history) - 1, stay_begins(history, instance.state) - 1, -1):
        assignment = history[index].assignment  # latest first, without copying the stay
        if assignment is not None:
            return assignment.to
    return None


def waiting_child(instance: Instance) -> str | None:
    """The child instance the current stay waits for: the one the latest entry into the step started, if
    it started one; read from the history alone (any revision's)."""
    for entry in reversed(instance.history):
        if entry.child is not None:
            return entry.child.instance if entry.child.state == instance.state else None
        if entry.state != instance.state:
            break
    return None

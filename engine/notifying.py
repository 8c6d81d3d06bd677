"""The notifications an entry makes due: the transition's own, then those of each step it enters, each
rendered on the data after the event."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from engine.attempt import Attempt
from engine.compiler import CompiledNotification, CompiledProcess
from engine.instances import NotificationDue


def due(
    declared: Iterable[CompiledNotification], scope: Mapping[str, Any], moment: datetime.datetime
) -> tuple[NotificationDue, ...]:
    """The ``declared`` notifications, their texts rendered on ``scope``, due at ``moment``."""
    return tuple(NotificationDue(n.cause, n.roles, n.zh.render(scope), n.en.render(scope), moment) for n in declared)


def notifications(
    compiled: CompiledProcess, source: str, first: str, attempt: Attempt, moment: datetime.datetime
) -> tuple[NotificationDue, ...]:
    """The transition's notifications, then those of each state the event enters (``first``, where
    the transition led, then the decisions' branches; a transition back into the same state enters
    none), rendered on the data after the event."""
    assert attempt.chosen is not None
    on_enter = compiled.on_enter
    entered = [first, *(b.dest for b in attempt.branches)] if attempt.branches else [first]
    if entered == [source]:
        entered = []
    declared = list(attempt.chosen.notify)
    for state in entered:
        declared.extend(on_enter[state])
    if not declared:
        return ()
    return due(declared, {"data": attempt.data, "payload": attempt.payload}, moment)

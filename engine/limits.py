"""Loop limits: how many times a transition may be taken, or a step entered, in one instance; the times
allowed (as written, or worked out from the data), the times used (read from the history, so a replay
counts the same), what is left, and the refusal once none is."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.compiler import CompiledProcess, CompiledTransition
from engine.errors import ExpressionEvaluationError, InvalidData
from engine.expressions import NOW
from engine.history_facts import loops_of
from engine.instances import Instance
from engine.model import Limit
from engine.timing import shown_amount, whole_number


@dataclass(frozen=True)
class LimitLeft:
    """A loop limit as it stands for an instance: how many times it allows (worked out now when it comes
    from the data) and how many are left; both ``None`` when the data gives no usable number, and
    ``problem`` says why (an event it binds is refused then)."""

    limit: Limit
    times: int | None
    left: int | None
    problem: str | None = None


def limit_left(
    compiled: CompiledProcess, instance: Instance, candidate: CompiledTransition, at: datetime.datetime
) -> LimitLeft | None:
    """The loop limit that binds a transition of the current state at ``at`` (its own, or that of the
    step it enters, whichever has fewer left), or ``None`` when neither has one."""
    transition = candidate.transition
    entering = compiled.process.states[transition.dest].limit if transition.dest != instance.state else None
    found: LimitLeft | None = None
    bounds = [(transition.limit, f"`{candidate.source}.{candidate.trigger}`", times_taken(instance, candidate))]
    if entering is not None:  # the step it leads to may be entered only so often
        bounds.append((entering, f"step `{transition.dest}`", times_entered(instance, transition.dest)))
    for limit, what, used in bounds:
        if limit is None:
            continue
        try:
            times = limit_times(compiled, limit, instance.data, at, what)
        except InvalidData as refusal:
            return LimitLeft(limit, None, None, str(refusal))
        left = max(0, times - used)
        if found is None or found.left is None or left < found.left:
            found = LimitLeft(limit, times, left)
    return found


def limit_times(
    compiled: CompiledProcess, limit: Limit, data: Mapping[str, Any], moment: datetime.datetime, what: str
) -> int:
    """How many times a loop limit allows: as written, or worked out now from ``data``. ``InvalidData``
    (naming ``what`` and where the limit is written) when the data gives no whole number, 1 or more."""
    if limit.times is not None:
        return limit.times
    written = f"{what}: its limit's `times` comes from the data ({compiled.process.locate(limit.path + ('times',))})"
    try:
        value = compiled.loop_limits[limit.path].evaluate({"data": data, NOW: moment})
    except ExpressionEvaluationError as exc:
        raise InvalidData(f"{written}, but `{limit.times_from}` could not be evaluated: {exc}") from None
    times = whole_number(value, 1)
    if times is None:
        raise InvalidData(
            f"{written}, but `{limit.times_from}` gives {shown_amount(value)}; it must give a whole number, 1 or more"
        )
    return times


def times_taken(instance: Instance, candidate: CompiledTransition) -> int:
    """How many events of the history took this transition to its own ``dest`` (not to a limit's
    ``then``): read from the history, so a replay counts exactly the same."""
    return loops_of(instance).times_taken(candidate.source, candidate.trigger, candidate.transition.dest)


def times_entered(instance: Instance, state: str) -> int:
    """How many events of the history entered ``state`` from another state (the start included)."""
    return loops_of(instance).times_entered(state)


def transition_limit_message(candidate: CompiledTransition, limit: Limit, count: int) -> str:
    """The refusal of a transition taken as often as its limit allows."""
    times = _times(count)
    return (
        f"`{candidate.source}.{candidate.trigger}` has reached its limit: it may be taken {times} in an instance "
        f"({_limit_said(limit, count)}) and has been taken {times} already; it is refused from now on"
    )


def state_limit_message(state: str, limit: Limit, times: int) -> str:
    """The refusal of an event that would enter a step entered as often as its limit allows."""
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

"""The due times an instance keeps: the time limits and deadlines a step opens when it is entered (as
written, or taken from the data, counted on the business calendar), clock points taken from the data,
which of them fires next and when, every one due fired in turn, and a clock's point reached with no
trigger taken."""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine import clocks as clock_rules
from engine.actors import CLOCK_ACTOR
from engine.compiler import CompiledProcess
from engine.errors import EventRefused, ExpressionEvaluationError, InvalidData, UnknownTrigger
from engine.expressions import NOW
from engine.history_facts import clocks_of
from engine.inputs import check_time
from engine.instances import ClockMark, Entry, Instance, OpenDeadline
from engine.model import Clock, DataLimit, Duration
from engine.timing import data_duration, due_from_data, due_time

_due_time = operator.attrgetter("due")
RUNNING_AGAIN = ("started", "restarted", "resumed")
"""The marks that set a clock running (again): its points ahead are worked out afresh."""


def in_order(deadlines: Sequence[OpenDeadline]) -> tuple[OpenDeadline, ...]:
    """Deadlines as an instance keeps them: earliest due first (two, the usual many, compared without a sort)."""
    if len(deadlines) == 2:
        first, second = deadlines
        return (second, first) if second.due < first.due else (first, second)  # as the stable sort orders them
    return tuple(sorted(deadlines, key=_due_time)) if len(deadlines) > 1 else tuple(deadlines)


def deadlines_of(
    compiled: CompiledProcess, state_id: str, entered: datetime.datetime, data: Mapping[str, Any] | None = None
) -> tuple[OpenDeadline, ...]:
    """The time limit and deadlines a step opens when entered at ``entered``, in order. ``InvalidData`` when
    one taken from the data cannot be worked out; ``UnreachableDeadline`` when the calendar cannot count it."""
    process = compiled.process
    state = process.states[state_id]
    if state.time_limit is None and state.time_limit_from is None and not state.deadlines:
        return ()
    deadlines = []
    if state.time_limit is not None:
        deadlines.append(OpenDeadline(state_id, due_time(entered, state.time_limit, process.calendar), None))
    elif state.time_limit_from is not None:
        due = _due_from_data(compiled, state_id, state.time_limit_from, entered, data, "time limit")
        deadlines.append(OpenDeadline(state_id, due, None))
    for deadline in state.deadlines:
        if deadline.after is not None:
            due = due_time(entered, deadline.after, process.calendar)
            deadlines.append(OpenDeadline(state_id, due, deadline.fire))
        elif deadline.after_from is not None:
            what = f"deadline `{deadline.fire}`"
            due = _due_from_data(compiled, state_id, deadline.after_from, entered, data, what)
            deadlines.append(OpenDeadline(state_id, due, deadline.fire))
    return in_order(deadlines)


def _due_from_data(
    compiled: CompiledProcess,
    state_id: str,
    limit: DataLimit,
    entered: datetime.datetime,
    data: Mapping[str, Any] | None,
    what: str,
) -> datetime.datetime:
    """When a limit taken from the data ends; ``InvalidData`` when the data does not give one."""
    where = f"state `{state_id}`: its {what} comes from the data"
    value = _data_limit_value(compiled, limit, data or {}, entered, where)
    return due_from_data(entered, limit, value, compiled.process.calendar, where)


def _data_limit_value(
    compiled: CompiledProcess, limit: DataLimit, data: Mapping[str, Any], moment: datetime.datetime, where: str
) -> object:
    try:
        return compiled.data_limits[limit.path].evaluate({"data": data, NOW: moment})
    except ExpressionEvaluationError as exc:
        raise InvalidData(f"{where}, but `{limit.expression}` could not be evaluated: {exc}") from None


def clock_lengths(compiled: CompiledProcess, data: Mapping[str, Any], moment: datetime.datetime) -> clock_rules.Lengths:
    """Works out a starting clock's points taken from the data, on ``data`` at ``moment``. ``InvalidData``
    when the data gives no usable running time, or one that puts the warning at or after the limit
    (or the ceiling before it): the event that would start the clock is refused and changes nothing."""
    process = compiled.process
    calendar = process.calendar

    def lengths(clock: Clock, run: clock_rules.ClockRun) -> tuple[tuple[str, clock_rules.Point], ...]:
        worked: list[tuple[str, clock_rules.Point]] = []
        for name, limit in clock.from_data:
            where = f"clock `{clock.id}`: its {name} comes from the data ({process.locate(limit.path)})"
            value = _data_limit_value(compiled, limit, data, moment, where)
            if limit.unit is None:  # a moment: it does not move once the clock has started
                worked.append((name, due_from_data(moment, limit, value, calendar, where)))
            else:
                worked.append((name, data_duration(limit, value, calendar, where)))
        every = {n: d for n, (d, _) in clock.thresholds.items() if isinstance(d, Duration)} | dict(worked)
        wrong = clock_rules.start_order_problems(process, clock, run, moment, every)
        if wrong:
            name, why = wrong[0]
            raise InvalidData(
                f"{why}, as worked out from the data ({process.locate(clock.path + (name,))}); "
                "the event that would start the clock is refused: correct the data, or the definition"
            )
        return tuple(worked)

    return lengths


def next_due(instance: Instance, at: datetime.datetime, passed: Collection[OpenDeadline] = ()) -> OpenDeadline | None:
    """The deadline that fires next at ``at``: the earliest one due that fires a trigger, leaving out those
    ``passed`` (already refused); ``None`` when none is."""
    due = [d for d in instance.deadlines if d.fire is not None and d.due <= at and d not in passed]
    return min(due, key=_due_time, default=None)


def firing_time(instance: Instance, deadline: OpenDeadline) -> datetime.datetime:
    """A deadline fires at its due time, or at the last event's when that was later (a history never
    goes back in time)."""
    return max(deadline.due, instance.history[-1].at)


@dataclass(frozen=True)
class Advanced:
    """What ``advance`` did: the deadline events it fired, and the due deadlines it could not fire."""

    fired: tuple[Entry, ...] = ()
    refused: tuple[tuple[OpenDeadline, EventRefused], ...] = ()


def catch_up(
    instance: Instance, now: datetime.datetime, fire: Callable[[OpenDeadline, datetime.datetime], Entry]
) -> Advanced:
    """Fire (through ``fire``) every deadline of the instance that is due at ``now``, earliest first, each
    at its ``firing_time``. A deadline whose transition is refused stays open and is reported."""
    fired: list[Entry] = []
    refused: list[tuple[OpenDeadline, EventRefused]] = []
    # Each firing either leaves the state (new deadlines, all later than now's due ones were) or
    # closes the deadline it fired, so this ends; the bound only guards against a broken calendar.
    for _ in range(len(instance.deadlines) + 1000):
        deadline = next_due(instance, now, {d for d, _ in refused})
        if deadline is None:
            break
        try:
            fired.append(fire(deadline, firing_time(instance, deadline)))
        except EventRefused as refusal:
            refused.append((deadline, refusal))
    return Advanced(tuple(fired), tuple(refused))


def clock_point(compiled: CompiledProcess, instance: Instance, deadline: OpenDeadline) -> tuple[ClockMark, str | None]:
    """The point of a clock an open deadline stands for (its warning, limit or ceiling), and the trigger
    its action fires in the current state, if the state has one; ``UnknownTrigger`` when the instance
    has no such open point."""
    clock = compiled.process.clocks.get(deadline.clock or "")
    name = deadline.threshold or ""
    if clock is None or name not in clock.thresholds or deadline not in instance.deadlines:
        raise UnknownTrigger(f"instance `{instance.id}` has no open clock point {deadline!r}")
    action = clock.thresholds[name][1]
    fire = next((t for t in action.fire if t in compiled.triggers[instance.state]), None)
    return ClockMark(clock.id, name, action.notify), fire


def record_point(
    compiled: CompiledProcess, instance: Instance, deadline: OpenDeadline, mark: ClockMark, moment: datetime.datetime
) -> Entry:
    """A clock's point reached with no trigger taken: recorded on an entry of its own, and the clock's
    next points opened."""
    process = compiled.process
    check_time(moment, "the clock's due time")
    runs = clocks_of(instance).runs(process)
    runs[mark.clock].apply(mark, moment)
    kept = tuple(d for d in instance.deadlines if d.clock is None)
    before = tuple(d for d in instance.deadlines if d != deadline)
    timed = clock_rules.clock_deadlines(process, runs, instance.state, moment, before, ())
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
    instance.deadlines = in_order(kept + timed)
    instance.history.append(entry)
    return entry

"""Clocks: promises that span steps (``clocks:`` in a definition), worked out from an instance's history.

A clock starts and stops at moments of the case (entering or leaving states, firing triggers), does not
run while the case is in one of its ``pauses``, and is measured against its ``warning``, ``limit`` and
``ceiling`` on the business calendar (working durations count working time only). Re-entering a state
does not restart a running clock; starting a stopped one carries on from the time already used, or
counts from zero with ``restart: true``. Reaching a final state stops every clock.

A point may also be a moment taken from a date in the data (``limit: {at: data.pickup_at}``): it is
worked out when the clock starts and recorded on that start like a running time from the data, and it
does not move: pauses do not push it back, and it is reached at that moment whether the clock is running
or paused (only a stopped clock reaches nothing).

Everything here is a pure function of the definition and the history: the marks recorded on each entry
(``ClockMark``) say when each clock started, paused, resumed, stopped, warned and breached, so replay
gives the same clocks, and the next point of each running clock is an ``OpenDeadline`` that workers
claim like any other. The runtime decides when to call these; nothing here changes an instance.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.frozen import quick_maker
from engine.instances import CLOCK_FIRE, ClockMark, Entry, OpenDeadline
from engine.model import (
    CLOCK_THRESHOLDS,
    Calendar,
    Clock,
    ClockPoint,
    DataLimit,
    Duration,
    Process,
    StateKind,
    Text,
)
from engine.timing import due_after, limit_length, order_problems, running_time

_BREACHES = ("limit", "ceiling")


@dataclass(slots=True)
class ClockRun:
    """One clock's course so far: its running spans, and the points it has reached (and when)."""

    active: bool = False
    paused: bool = False
    since: datetime.datetime | None = None
    """When the current running span began; ``None`` when it is not running."""
    spans: list[tuple[datetime.datetime, datetime.datetime]] = field(default_factory=list)
    started_at: datetime.datetime | None = None
    stopped_at: datetime.datetime | None = None
    reached: dict[str, datetime.datetime] = field(default_factory=dict)
    lengths: dict[str, Duration] = field(default_factory=dict)
    """The running time of the points taken from the data, as recorded when the clock last started."""
    moments: dict[str, datetime.datetime] = field(default_factory=dict)
    """The moments of the points taken from a date in the data, as recorded when the clock last started."""

    @property
    def running(self) -> bool:
        return self.since is not None

    def used(self, duration: Duration, process: Process, at: datetime.datetime) -> datetime.timedelta:
        """How much of ``duration`` the clock has used by ``at``."""
        total = _NO_TIME
        for a, b in self.spans:  # a loop, not sum() over a generator: most courses have no span yet
            total += running_time(a, b, duration, process.calendar)
        if self.since is not None and at > self.since:
            total += running_time(self.since, at, duration, process.calendar)
        return total

    def copied(self) -> ClockRun:
        """This course, to change without changing this one."""
        run: ClockRun = _new_object(ClockRun)
        run.active, run.paused, run.since = self.active, self.paused, self.since
        run.started_at, run.stopped_at, run.spans = self.started_at, self.stopped_at, list(self.spans)
        run.reached, run.lengths, run.moments = dict(self.reached), dict(self.lengths), dict(self.moments)
        return run

    def apply(self, mark: ClockMark, at: datetime.datetime) -> None:
        event = mark.event
        if event in ("started", "restarted"):
            if event == "restarted":
                self.spans, self.reached = [], {}
            self.active, self.paused, self.since, self.stopped_at = True, False, at, None
            if self.started_at is None or event == "restarted":
                self.started_at = at
            self.lengths.update(mark.lengths)
            self.moments.update(mark.moments)
        elif event in ("paused", "stopped"):
            if self.since is not None:
                self.spans.append((self.since, at))
            self.since = None
            if event == "paused":
                self.paused = True
            else:
                self.active, self.paused, self.stopped_at = False, False, at
        elif event == "resumed":
            self.paused, self.since = False, at
        else:
            self.reached.setdefault(event, at)


def idle_run() -> ClockRun:
    """``ClockRun()``, a clock not yet started, made without the type call and the dataclass's ``__init__``
    (about half the cost: ``runs_of`` makes one for every clock on most events)."""
    run: ClockRun = _new_object(ClockRun)
    run.active = run.paused = False
    run.since = run.started_at = run.stopped_at = None
    run.spans = []
    run.reached, run.lengths, run.moments = {}, {}, {}
    return run


_new_object = object.__new__
_NO_TIME = datetime.timedelta(0)
_ELAPSED_LENGTHS: dict[tuple[int, str], datetime.timedelta] = {}
"""``limit_length`` of the elapsed durations met so far, by amount and unit (the same few on every event;
at most ``_KEPT_LENGTHS``, since a clock's length may come from the data)."""
_KEPT_LENGTHS = 1024
_new_deadline = quick_maker(OpenDeadline)
"""``OpenDeadline`` without a type call (``engine.frozen``): its fields in order."""
_new_mark = quick_maker(ClockMark)
"""``ClockMark`` likewise."""


@dataclass(frozen=True)
class ClockReport:
    """A clock of an instance at a moment: what ``Runtime.clocks`` and ``procflow show`` report.

    ``elapsed`` and ``remaining`` count as the limit counts (working time for a working limit);
    ``remaining`` is until the limit and never below zero; ``next`` and ``due`` name the next point not
    yet reached and when it will be if the clock keeps running (``None`` while it does not run)."""

    clock: str
    label: Text
    status: str
    """``idle`` (not started), ``running``, ``paused``, ``warned``, ``breached`` or ``stopped``."""
    elapsed: datetime.timedelta
    remaining: datetime.timedelta
    limit: str
    reached: tuple[tuple[str, datetime.datetime], ...]
    """The points reached (``warning``, ``limit``, ``ceiling``), with when."""
    next: str | None
    due: datetime.datetime | None
    started_at: datetime.datetime | None
    stopped_at: datetime.datetime | None


Point = Duration | datetime.datetime
"""A clock's point as worked out when it starts: a running time, or a moment (``{at: ...}``)."""

Lengths = Callable[[Clock, "ClockRun"], tuple[tuple[str, Point], ...]]
"""Works out a clock's points taken from the data as it starts, given its course before this start (the
runtime evaluates them on the data after the event); ``InvalidData`` refuses the event."""


def is_moment(clock: Clock, name: str) -> bool:
    """Whether the point ``name`` is a moment taken from a date in the data (``{at: data.pickup_at}``)."""
    written = clock.thresholds[name][0]
    return isinstance(written, DataLimit) and written.unit is None


def length(clock: Clock, run: ClockRun, name: str) -> Duration | None:
    """The running time of a point: as written, or as worked out from the data when the clock started
    (``None`` while a clock whose point comes from the data has not started)."""
    written = clock.thresholds[name][0]
    if isinstance(written, DataLimit):
        return run.lengths.get(name)
    return written


def start_order_problems(
    process: Process, clock: Clock, run: ClockRun, at: datetime.datetime, points: Mapping[str, Point]
) -> list[tuple[str, str]]:
    """``order_problems`` for a clock starting at ``at`` after the course ``run``, its points as worked out
    then. With a moment among them, each point is compared by when it would be reached if the clock ran
    on without a pause from now (a moment does not move; a running time counts on from the time used)."""
    lengths = {n: p for n, p in points.items() if isinstance(p, Duration)}
    if len(lengths) == len(points):
        return order_problems(clock, lengths, process.calendar)
    dues = {n: p for n, p in points.items() if isinstance(p, datetime.datetime)}
    for name, duration in lengths.items():
        left = limit_length(duration, process.calendar) - run.used(duration, process, at)
        dues[name] = due_after(at, left, duration, process.calendar)
    limit = dues.get("limit")
    problems = []
    for name, wrong in (("warning", "before"), ("ceiling", "after")):
        other = dues.get(name)
        if limit is None or other is None:
            continue
        if (other >= limit) if name == "warning" else (other < limit):
            problems.append(
                (
                    name,
                    f"clock `{clock.id}`: its {name} {_shown(points[name], other)} must come {wrong} "
                    f"its limit {_shown(points['limit'], limit)}",
                )
            )
    return problems


def _shown(point: Point, due: datetime.datetime) -> str:
    """A point in a refusal: ``2026-11-23T15:00:00+08:00``, or ``8h`` (at 2026-11-23T17:00:00+08:00)."""
    if isinstance(point, datetime.datetime):
        return f"`{point.isoformat()}`"
    return f"`{point.text}` (at {due.isoformat()})"


def _point_text(point: Point) -> str:
    return point.isoformat() if isinstance(point, datetime.datetime) else point.text


def runs_of(process: Process, history: Iterable[Entry]) -> dict[str, ClockRun]:
    """Each clock's course after the entries of ``history``, from the marks they record."""
    runs = {}
    for name in process.clocks:  # a loop, not a comprehension: a call fewer on every event
        runs[name] = idle_run()
    for entry in history:
        if entry.clocks:  # most entries mark no clock: no loop set up for them
            for mark in entry.clocks:
                run = runs.get(mark.clock)
                if run is not None:
                    run.apply(mark, entry.at)
    return runs


class ClockMoments:
    """Where any clock of a process can start, stop, pause or resume: the triggers and steps its ``starts``
    and ``stops`` name, its pauses and the final steps. An event that meets none of them leaves every
    clock as it was (``marks_for_event`` would mark nothing), so the runtime need not ask it."""

    def __init__(self, process: Process):
        points = [point for clock in process.clocks.values() for point in (clock.starts, clock.stops)]
        self.triggers = frozenset(trigger for point in points for trigger in point.on)
        self.leaving = frozenset(state for point in points for state in point.leave)
        self.entering = frozenset(state for point in points for state in point.enter)
        self.pauses = any(clock.pauses for clock in process.clocks.values())
        self.finals = frozenset(s.id for s in process.states.values() if s.kind is StateKind.FINAL)

    def quiet(
        self, runs: Mapping[str, ClockRun], trigger: str | None, source: str, passed: Iterable[str], dest: str
    ) -> bool:
        """Whether an event (as ``marks_for_event`` takes it) surely marks no clock. A paused course (which
        a history may hold from a revision with pauses) resumes wherever it goes, so it is never quiet."""
        for run in runs.values():  # loops, not any(): this runs on every event
            if run.paused:
                return False
        return self.quiet_event(trigger, source, passed, dest)

    def untouched(
        self,
        deadlines: Iterable[OpenDeadline],
        trigger: str | None,
        source: str,
        passed: Iterable[str],
        dest: str,
    ) -> bool:
        """Whether no point of a clock is among the open ``deadlines`` and the event is quiet: then, if no
        entry of the history marks a clock either (``history_facts.Clocks.marked``), every clock is idle
        before the event and after it, so the event marks none and opens no point of one
        (``clock_deadlines`` gives none), with no course worked out."""
        for deadline in deadlines:
            if deadline.clock is not None:
                return False
        return self.quiet_event(trigger, source, passed, dest)

    def quiet_event(self, trigger: str | None, source: str, passed: Iterable[str], dest: str) -> bool:
        """``quiet`` for clocks none of which is paused."""
        if self.pauses or dest in self.finals or (trigger is not None and trigger in self.triggers):
            return False
        leaving, entering = self.leaving, self.entering
        if source != dest and (source in leaving or dest in entering):
            return False
        for state in passed:
            if state in leaving or state in entering:
                return False
        return True


def marks_for_event(
    process: Process,
    runs: dict[str, ClockRun],
    at: datetime.datetime,
    trigger: str | None,
    source: str | None,
    passed: Sequence[str],
    dest: str,
    lengths: Lengths | None = None,
    *,
    shared: bool = True,
) -> tuple[ClockMark, ...]:
    """What an event does to each clock, applied to ``runs``: the event fires ``trigger`` from ``source``
    (both ``None`` for the start), passes the decisions ``passed`` and rests in ``dest``. A clock that starts
    records the points it takes from the data, as ``lengths`` works them out. Unless ``shared`` is false,
    the courses in ``runs`` may be others' too (``history_facts.Clocks.current``, the one idle course
    every instance shares): each is copied into ``runs`` before the event changes it. Pass
    ``shared=False`` only for courses made for this call."""
    return ClockPoints(process).marks(runs, at, trigger, source, passed, dest, lengths, shared=shared)


def _meets(point: ClockPoint, trigger: str | None, left: Sequence[str], entered: Sequence[str]) -> bool:
    if trigger is not None and trigger in point.on:
        return True
    for state in left:  # loops, not any(): this runs for every clock on every event
        if state in point.leave:
            return True
    for state in entered:
        if state in point.enter:
            return True
    return False


def clock_deadlines(
    process: Process,
    runs: Mapping[str, ClockRun],
    state: str,
    at: datetime.datetime,
    before: Iterable[OpenDeadline],
    changed: Collection[str],
) -> tuple[OpenDeadline, ...]:
    """The open points of every clock after an event at ``at`` that leaves the case in ``state``.

    A point already due at ``at`` stays open until it is recorded (a pause cannot hide a breach that has
    happened); one not yet due is kept as it was while its clock runs on (``changed`` names the clocks
    that started, paused or resumed with this event), and worked out afresh from the time used when it
    starts or resumes. A breached clock that marks its instance overdue keeps a mark without ``fire``
    until it stops. ``UnreachableDeadline`` when the calendar cannot count a point.
    """
    if not process.clocks:
        return ()
    return ClockPoints(process).deadlines(runs, state, at, before, changed)


_STOPPED, _PAUSED, _RESUMED = ("stopped",), ("paused",), ("resumed",)
_FIXED, _FROM_DATA, _MOMENT = 0, 1, 2
"""How a clock's point is written: a running time as written, one taken from the data, a moment from it."""


class ClockPoints:
    """``clock_deadlines`` for one definition, its clocks' points read once into plain tuples (the
    definition's tables are read-only mappings, slower to walk on every event)."""

    __slots__ = ("clocks", "moving", "process")

    def __init__(self, process: Process):
        self.process = process
        self.moving = tuple(process.clocks.values())
        clocks = []
        for clock in process.clocks.values():
            points = []
            for name, (written, _) in clock.thresholds.items():
                if not isinstance(written, DataLimit):
                    points.append((name, _FIXED, written))
                else:
                    points.append((name, _MOMENT if written.unit is None else _FROM_DATA, None))
            overdue = frozenset(name for name, (_, action) in clock.thresholds.items() if action.overdue)
            clocks.append((clock.id, tuple(points), overdue))
        self.clocks: tuple[tuple[str, tuple[tuple[str, int, Duration | None], ...], frozenset[str]], ...] = tuple(
            clocks
        )

    def marks(
        self,
        runs: dict[str, ClockRun],
        at: datetime.datetime,
        trigger: str | None,
        source: str | None,
        passed: Sequence[str],
        dest: str,
        lengths: Lengths | None = None,
        *,
        shared: bool = True,
    ) -> tuple[ClockMark, ...]:
        """``marks_for_event`` (its docstring says what an event does to each clock)."""
        moved = source != dest
        left: Sequence[str] = (source,) if moved and source is not None else ()
        entered: Sequence[str] = (dest,) if moved else ()
        if passed:
            left, entered = (*left, *passed), (*passed, *entered)
        final = self.process.states[dest].kind is StateKind.FINAL
        marks: list[ClockMark] = []
        for clock in self.moving:
            clock_id = clock.id
            run = runs[clock_id]
            # The marks of each course, as a tuple: most clocks get none on most events.
            if run.active:
                if final or _meets(clock.stops, trigger, left, entered):
                    events: tuple[str, ...] = _STOPPED
                else:
                    waiting = dest in clock.pauses
                    if waiting and not run.paused:
                        events = _PAUSED
                    elif not waiting and run.paused:
                        events = _RESUMED
                    else:
                        continue
            elif final or not _meets(clock.starts, trigger, left, entered):
                continue
            else:
                first = "restarted" if clock.restart and run.started_at is not None else "started"
                if dest in clock.pauses:
                    events = (first, "paused")
                elif run.paused:
                    events = (first, "resumed")
                else:
                    events = (first,)
            if shared:
                run = runs[clock_id] = run.copied()
            for event in events:
                starting = lengths is not None and event in ("started", "restarted") and clock.from_data
                before = ClockRun() if event == "restarted" else run
                computed = lengths(clock, before) if lengths is not None and starting else ()
                mark = (
                    ClockMark(
                        clock_id,
                        event,
                        lengths=tuple((n, p) for n, p in computed if isinstance(p, Duration)),
                        moments=tuple((n, p) for n, p in computed if isinstance(p, datetime.datetime)),
                    )
                    if computed
                    else _new_mark(clock_id, event)
                )
                run.apply(mark, at)
                marks.append(mark)
        return tuple(marks)

    def deadlines(
        self,
        runs: Mapping[str, ClockRun],
        state: str,
        at: datetime.datetime,
        before: Iterable[OpenDeadline],
        changed: Collection[str],
    ) -> tuple[OpenDeadline, ...]:
        """``clock_deadlines`` (its docstring says what is open after an event)."""
        if not self.clocks:
            return ()
        earlier: dict[tuple[str, str | None], OpenDeadline] = {}
        for d in before:
            if d.clock is not None and d.fire is not None:
                earlier[d.clock, d.threshold] = d
        if not earlier:
            for run in runs.values():
                if run.active or run.since is not None:
                    break
            else:
                return ()  # every clock idle or stopped, nothing due kept from before: no point is open
        deadlines = []
        process = self.process
        calendar = process.calendar
        for clock_id, points, overdue in self.clocks:
            run = runs[clock_id]
            running = run.since is not None
            if not run.active and not running:
                if not earlier:
                    continue
                for key in earlier:  # a loop, not any(): no generator on every event
                    if key[0] == clock_id:
                        break
                else:
                    continue  # idle or stopped, and nothing due kept from before: no point of it is open
            reached = run.reached
            for name, kind, written in points:
                if kind is _FIXED:
                    duration = written
                elif kind is _MOMENT:
                    when = run.moments.get(name)
                    if run.active and when is not None and name not in reached:  # paused or not: it does not move
                        deadlines.append(_new_deadline(state, when, CLOCK_FIRE, clock_id, name))
                    continue
                else:
                    duration = run.lengths.get(name)
                if duration is None or name in reached:
                    continue
                old = earlier.get((clock_id, name)) if earlier else None
                # A clock running on is tested first: comparing times of two zones asks both for their offsets.
                if old is not None and ((running and clock_id not in changed) or old.due <= at):
                    kept_as_is = old.state == state and old.fire == CLOCK_FIRE  # frozen: the same value may be shared
                    deadlines.append(old if kept_as_is else _new_deadline(state, old.due, CLOCK_FIRE, clock_id, name))
                elif running:
                    assert run.since is not None
                    left = _length(duration, calendar) - run.used(duration, process, at)
                    deadlines.append(
                        _new_deadline(state, due_after(at, left, duration, calendar), CLOCK_FIRE, clock_id, name)
                    )
            if run.active and reached:
                breached = [when for name, when in reached.items() if name in overdue]
                if breached:
                    deadlines.append(_new_deadline(state, min(breached), None, clock_id, "overdue"))
        return tuple(deadlines)


def _length(duration: Duration, calendar: Calendar) -> datetime.timedelta:
    """``limit_length``, remembered for an elapsed duration (a working one depends on the calendar)."""
    if duration.working:
        return limit_length(duration, calendar)
    key = (duration.amount, duration.unit)
    found = _ELAPSED_LENGTHS.get(key)
    if found is None:
        found = limit_length(duration, calendar)
        if len(_ELAPSED_LENGTHS) < _KEPT_LENGTHS:
            _ELAPSED_LENGTHS[key] = found
    return found


def is_clock_deadline(deadline: OpenDeadline) -> bool:
    return deadline.clock is not None


def report(
    process: Process, history: Sequence[Entry], deadlines: Iterable[OpenDeadline], at: datetime.datetime
) -> tuple[ClockReport, ...]:
    """Every clock of the process for an instance with ``history`` and open ``deadlines``, as it stands
    at ``at`` (a point that is due but not yet recorded counts as reached at its due time)."""
    runs = runs_of(process, (e for e in history if e.at <= at))
    due = {(d.clock, d.threshold): d.due for d in deadlines if d.clock is not None and d.fire is not None}
    return tuple(_report(process, clock, runs[clock.id], at, due) for clock in process.clocks.values())


def statuses(runs: Mapping[str, ClockRun]) -> dict[str, str]:
    """Each clock's status from the points its course records (``report`` also counts a point due by
    its moment but not yet recorded; ``engine.work.ClockShown`` does that from the due times)."""
    return {name: status_of(run, run.reached) for name, run in runs.items()}


def status_of(run: ClockRun, reached: Mapping[str, datetime.datetime]) -> str:
    """``idle``, ``stopped``, ``breached``, ``paused``, ``warned`` or ``running``, given the points reached."""
    if run.started_at is None:
        return "idle"
    if not run.active:
        return "stopped"
    if any(name in reached for name in _BREACHES):
        return "breached"
    if run.paused:
        return "paused"
    if "warning" in reached:
        return "warned"
    return "running"


def _report(
    process: Process,
    clock: Clock,
    run: ClockRun,
    at: datetime.datetime,
    due_points: Mapping[tuple[str, str | None], datetime.datetime],
) -> ClockReport:
    limit = length(clock, run, "limit") if "limit" in clock.thresholds else None
    reached = dict(run.reached)
    upcoming: list[tuple[datetime.datetime, str]] = []
    for name in clock.thresholds:
        when = run.moments.get(name) if is_moment(clock, name) else None
        if when is not None and name not in reached and run.active:
            if at >= when:
                reached[name] = min(due_points.get((clock.id, name), when), at)
            else:
                upcoming.append((when, name))
            continue
        duration = length(clock, run, name)
        if duration is None or name in reached:
            continue
        left = limit_length(duration, process.calendar) - run.used(duration, process, at)
        if run.started_at is not None and left <= datetime.timedelta(0):
            # due, not yet recorded (a worker records it): reached at its due time
            reached[name] = min(due_points.get((clock.id, name), at), at)
        elif run.running:
            upcoming.append((due_after(at, left, duration, process.calendar), name))
    moment = run.moments.get("limit") if "limit" in clock.thresholds and is_moment(clock, "limit") else None
    if moment is not None:  # elapsed running time, and the time until the moment
        elapsed = run.used(_ELAPSED, process, at)
        until = min(at, run.stopped_at) if run.stopped_at is not None else at
        allowed = elapsed + max(moment - until, datetime.timedelta(0))
    else:
        elapsed = run.used(limit, process, at) if limit is not None else datetime.timedelta(0)
        allowed = limit_length(limit, process.calendar) if limit is not None else datetime.timedelta(0)
    status = status_of(run, reached)
    due, following = min(upcoming) if upcoming else (None, None)
    return ClockReport(
        clock=clock.id,
        label=clock.label,
        status=status,
        elapsed=elapsed,
        remaining=max(allowed - elapsed, datetime.timedelta(0)),
        limit=_limit_text(clock, moment or limit),
        reached=tuple(sorted(((n, w) for n, w in reached.items()), key=lambda p: CLOCK_THRESHOLDS.index(p[0]))),
        next=following,
        due=due,
        started_at=run.started_at,
        stopped_at=run.stopped_at,
    )


_ELAPSED = Duration("0m", 0, "minute")
"""A duration that counts elapsed time, for the running time of a clock whose limit is a moment."""


def _limit_text(clock: Clock, limit: Point | None) -> str:
    """The limit as ``procflow show`` says it: ``24h``; from the data, what it came to and how
    (``6 hours = (data.quantity * 2) hours``, ``2026-11-25T17:00:00+08:00 = at data.pickup_at``), or
    only how before the clock has started."""
    written = clock.thresholds["limit"][0] if "limit" in clock.thresholds else None
    if isinstance(written, DataLimit):
        return f"{_point_text(limit)} = {written.text}" if limit is not None else written.text
    return _point_text(limit) if limit is not None else ""

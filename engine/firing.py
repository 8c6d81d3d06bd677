"""The event path of one definition: an instance started, an event checked completely and then applied,
a deadline or a clock's point fired. Nothing changes until every check has passed (the module docstring
of ``engine.runtime`` lists them), so a refused event changes nothing."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from engine import clocks as clock_rules
from engine.actors import CLOCK, Actor, names, role_names
from engine.attempt import Attempt, check_data, through_decisions
from engine.claims import refuse_if_held
from engine.compiler import CompiledPart, CompiledProcess, CompiledTransition
from engine.deadlines import RUNNING_AGAIN, clock_lengths, clock_point, deadlines_of, in_order, record_point
from engine.errors import EventRefused, InvalidData, InvalidPayload, LimitReached, PermissionDenied, UnknownTrigger
from engine.frozen import quick_maker
from engine.history_facts import clocks_moved, clocks_of
from engine.inputs import check_time, json_object, json_object_fitting
from engine.instances import ClockMark, Entry, Instance, Link, OpenDeadline, Signature
from engine.limits import limit_times, state_limit_message, times_entered
from engine.model import Process, State
from engine.notifying import due, notifications
from engine.parts import do_part, open_parts, parts_open_refusal
from engine.records import Records
from engine.signoffs import SIGN, sign
from engine.subprocesses import Spawn, check_cancellable, engine_fired, start_child

# The objects made on every event, made without a type call (``engine.frozen``): fields in order.
_new_entry = quick_maker(Entry)
_new_signature = quick_maker(Signature)
_NO_PARTS: Mapping[str, CompiledPart] = {}


class Step:
    """What the event path reads of one step, gathered once per definition: one look-up per event instead
    of one per table."""

    __slots__ = ("engine_fired", "limit", "on_enter", "only", "parts", "starts", "timed", "triggers")

    def __init__(
        self,
        compiled: CompiledProcess,
        state: State,
        only: dict[str, CompiledTransition],
        engine_fired: frozenset[str],
    ):
        self.parts: Mapping[str, CompiledPart] = compiled.parts.get(state.id, _NO_PARTS)
        self.triggers = compiled.triggers[state.id]
        self.only = only
        """The transition of each trigger of the step that has one only (``CompiledProcess.only``)."""
        self.engine_fired = engine_fired
        """The triggers of the step that only the engine fires (its ``on_end`` continuations)."""
        self.limit = state.limit
        self.timed = bool(state.time_limit or state.time_limit_from or state.deadlines)
        """Whether the step has time limits or deadlines: ``deadlines_of`` is asked only for these."""
        self.starts = state.starts
        self.on_enter = compiled.on_enter[state.id]


class Firing:
    """A definition ready to take events: its compiled machine, and the tables the event path reads."""

    __slots__ = (
        "process",
        "compiled",
        "records",
        "clock_moments",
        "clock_points",
        "clocked",
        "steps",
        "starting_roles",
        "_empty_data_fits",
    )

    def __init__(self, process: Process):
        self.process = process
        self.compiled = CompiledProcess(process)
        self.records = Records(
            process, self.compiled.record_checks, self.compiled.records_as_payload, self.compiled.record_unvouched
        )
        """The triggers of each step that only the engine fires (its ``on_end`` continuations)."""
        self.clock_moments = clock_rules.ClockMoments(process)
        self.clock_points = clock_rules.ClockPoints(process)
        self.clocked = bool(process.clocks)
        self.starting_roles = self._starting_roles()
        """The roles that may start an instance: the start step's and those that may act on it (none:
        anyone may)."""
        self._empty_data_fits: bool = False
        """Whether an instance may start with no data (an empty object fits the data schema), asked until so."""
        only: dict[str, dict[str, CompiledTransition]] = {state: {} for state in process.states}
        for (state, trigger), transition in self.compiled.only.items():
            only[state][trigger] = transition
        self.steps = {s.id: Step(self.compiled, s, only[s.id], engine_fired(s.starts)) for s in process.states.values()}

    def _starting_roles(self) -> frozenset[str]:
        start = self.process.start
        assert start is not None  # CompiledProcess refuses a process without one
        acting = {r for t in self.compiled.transitions[start.id] for r in t.roles}
        return frozenset(acting if start.role is None else acting | {start.role})

    def start(
        self,
        actor: Actor,
        data: Mapping[str, Any] | None,
        moment: datetime.datetime,
        instance_id: str | None,
        new_id: Callable[[], str],
        key: str | None,
        parent: Link | None,
    ) -> Instance:
        """A new instance in the start state at ``moment`` (``Runtime.start`` says what is refused); without
        an ``instance_id``, ``new_id`` gives one once every check has passed."""
        start = self.process.start
        assert start is not None  # CompiledProcess refuses a process without one
        allowed = self.starting_roles
        if allowed and not actor.roles & allowed:
            raise PermissionDenied(
                f"`{actor.id}` (roles: {names(actor.roles)}) may not start `{self.process.id}`: "
                f"that needs one of the roles {names(allowed)}"
            )
        said = "the initial data does not fit the data schema of `{}`"
        if data:
            initial = json_object(data, "data", InvalidData)
            check_data(self.compiled, initial, said.format(self.process.id))
        else:  # most starts: no data, which fits or not whatever the instance
            initial = {}
            if not self._empty_data_fits:
                check_data(self.compiled, initial, said.format(self.process.id))  # refuses, or it fits
                self._empty_data_fits = True
        runs = clock_rules.runs_of(self.process, ())
        lengths = clock_lengths(self.compiled, initial, moment)
        marks = self.clock_points.marks(runs, moment, None, None, (), start.id, lengths, shared=False)
        timed = self.clock_points.deadlines(runs, start.id, moment, (), ())
        entry = _new_entry(  # Entry's fields in order, positionally, as for every event
            moment,  # at
            actor.id,  # actor
            role_names(actor.roles),  # roles
            None,  # trigger
            None,  # source
            start.id,  # dest
            initial,  # payload
            (),  # branches
            (),  # signatures
            False,  # by_deadline
            key,  # key
            due(self.compiled.on_enter[start.id], {"data": initial}, moment),  # notifications
            (),  # records
            False,  # limit_reached
            None,  # child
            parent,  # parent
            None,  # child_ended
            marks,  # clocks
        )
        return Instance(
            id=instance_id or new_id(),
            process_id=self.process.id,
            process_version=self.process.version,
            content_hash=self.process.content_hash,
            state=start.id,
            data=dict(initial),
            entered_at=moment,
            deadlines=in_order(deadlines_of(self.compiled, start.id, moment, initial) + timed),
            history=[entry],
        )

    def apply(
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
        """``check_and_apply``, and a refusal names the instance, its state and the trigger."""
        try:
            return self.check_and_apply(
                instance, trigger, actor, payload, moment, key, deadline, spawn, child_ended, marks
            )
        except EventRefused as refusal:
            say_where(refusal, instance, trigger)
            raise

    def check_and_apply(
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
        """Check one event completely, then change the instance and append the event's entry; otherwise
        ``EventRefused``, and nothing changed. A part of the step, or a signature given ahead, is an event
        of its own kind (``engine.parts``, ``engine.signoffs``)."""
        # Everything this reads more than once is read once into a local: this runs on every event.
        compiled, state = self.compiled, instance.state
        step = self.steps[state]
        parts = step.parts
        if deadline is not None:  # a time given to fire is checked on the way in, a deadline's due time here
            check_time(moment, "the deadline's due time")
        elif trigger in parts:
            return do_part(self.records, instance, parts[trigger], actor, payload, moment, key)
        elif trigger.startswith(SIGN):
            return sign(compiled, instance, trigger, actor, payload, moment, key)
        allowed = step.triggers
        if trigger not in allowed:
            if not allowed:
                raise UnknownTrigger(
                    f"instance `{instance.id}` has finished (state `{state}`); it takes no more events",
                )
            raise UnknownTrigger(
                f"`{trigger}` does not leave state `{state}`; the triggers that do are: "
                + ", ".join(f"`{t}`" for t in allowed),
                allowed=allowed,
            )
        last = instance.history[-1]
        if deadline is None and child_ended is None and last.source == last.dest == state:
            refuse_if_held(compiled, instance, trigger, actor)  # only an event of the stay can have claimed it
        only = step.only.get(trigger)
        form = only.payload if only is not None else None
        if form is not None and form.shape is not None:  # copied and checked in one walk
            payload_copy, fits = json_object_fitting(payload or {}, "payload", InvalidPayload, form.shape)
        else:
            payload_copy, fits = json_object(payload or {}, "payload", InvalidPayload), False
        attempt = Attempt.begin(
            compiled,
            self.records,
            step.engine_fired,
            instance,
            actor,
            payload_copy,
            deadline,
            moment,
            child_ended is not None,
            form if fits else None,
        )
        if deadline is None and parts:
            still_open = open_parts(compiled, instance, moment, required_only=True)
            attempt.parts_open = parts_open_refusal(compiled, instance, still_open)
        dest = compiled.fire(state, trigger, attempt, only)
        chosen = attempt.chosen
        if dest is None or chosen is None:
            raise attempt.refusal()
        if attempt.redirect is not None:
            dest = attempt.redirect
        if dest in compiled.branches:
            dest = through_decisions(compiled, dest, attempt, trigger)
        limited = self.steps[dest].limit
        if limited is not None and dest != state:
            times = limit_times(compiled, limited, instance.data, moment, f"step `{dest}`")
            if times_entered(instance, dest) >= times:
                if limited.then is None:
                    raise LimitReached(state_limit_message(dest, limited, times), times=times, limit=dest)
                attempt.redirect, attempt.branches = limited.then, []  # the entry records where it went instead
                dest = through_decisions(compiled, limited.then, attempt, trigger)
        target = self.steps[dest]
        redirect, branches = attempt.redirect, attempt.branches
        first_dest = redirect if redirect is not None else chosen.transition.dest  # attempt.first_dest
        if chosen.transition.cancels:
            check_cancellable(self.process, instance, trigger)
        else:
            requiring = self.records.requiring
            if requiring and (branches or first_dest in requiring):
                enters = [first_dest, *(b.dest for b in branches)] if branches else [first_dest]
                self.records.check_entering(enters, attempt.held, attempt.written)

        # Without a deadline firing the event, none of the open ones is it: no comparison needed.
        unfired = instance.deadlines if deadline is None else tuple(d for d in instance.deadlines if d != deadline)
        if dest == state:
            deadlines = tuple(d for d in unfired if d.clock is None) if unfired else ()
            entered = instance.entered_at
        else:
            entered = moment
            # may refuse: the calendar, a limit from the data (asked only of a step that has one)
            deadlines = deadlines_of(compiled, dest, moment, attempt.data) if target.timed else ()
        moved_runs: dict[str, clock_rules.ClockRun] | None = None  # the courses an event that marks a clock leaves
        if self.clocked:
            passed = tuple([b.decision for b in branches]) if branches else ()
            clocks = clocks_of(instance)
            clock_moments = self.clock_moments
            if marks or clocks.marked or not clock_moments.untouched(unfired, trigger, state, passed, dest):
                process = self.process
                current = clocks.current(process) if not marks else None
                if current is not None and clock_moments.quiet(current, trigger, state, passed, dest):
                    # marks no clock: the courses are read as they are, not copied
                    deadlines += self.clock_points.deadlines(current, dest, moment, unfired, ())
                else:
                    if current is None:  # a point reached: its mark applied to copies first
                        runs = clocks.runs(process)
                        for mark in marks:
                            runs[mark.clock].apply(mark, moment)
                    else:  # the courses as kept, each copied only if this event changes it
                        runs = dict(current)
                    moved: tuple[ClockMark, ...] = ()
                    if not (marks and clock_moments.quiet(runs, trigger, state, passed, dest)):
                        lengths = clock_lengths(compiled, attempt.data, moment)
                        moved = self.clock_points.marks(
                            runs, moment, trigger, state, passed, dest, lengths, shared=current is not None
                        )  # may refuse: a clock's points from the data
                        marks += moved
                    changed = {m.clock for m in moved if m.event in RUNNING_AGAIN} if moved else ()
                    deadlines += self.clock_points.deadlines(runs, dest, moment, unfired, changed)
                    if marks:
                        moved_runs = runs
            if len(deadlines) > 1:
                deadlines = in_order(deadlines)
        given = attempt.given
        entry = _new_entry(  # Entry's fields in order, positionally: keywords would cost a tenth of the event
            moment,  # at
            actor.id,  # actor
            role_names(actor.roles),  # roles
            trigger,  # trigger
            state,  # source
            first_dest,  # dest
            attempt.payload,  # payload
            tuple(branches),  # branches
            tuple([_new_signature(s.role, actor.id, moment) for s in given]) if given else (),  # signatures
            deadline is not None,  # by_deadline
            key,  # key
            notifications(compiled, state, first_dest, attempt, moment)  # notifications
            if chosen.notify or branches or self.steps[first_dest].on_enter
            else (),
            tuple(attempt.written),  # records
            redirect is not None,  # limit_reached
            None,  # child
            None,  # parent
            child_ended,  # child_ended
            marks,  # clocks
        )
        if dest != state:
            starts = target.starts
            if starts is not None:  # last: the child is started only for an event that passed every check
                child = start_child(compiled, instance, dest, starts, actor, attempt.data, moment, spawn)
                entry = dataclasses.replace(entry, child=child)
        # Everything is checked; from here on nothing can fail.
        instance.entered_at = entered
        instance.deadlines = deadlines
        instance.state = dest
        instance.data = attempt.data
        instance.history.append(entry)
        if moved_runs is not None:  # kept for the next event, which would otherwise fold the marks in again
            clocks_moved(instance, clocks, moved_runs, marks, self.process, current is not None)
        return entry

    def fire_open(
        self, instance: Instance, deadline: OpenDeadline, moment: datetime.datetime, spawn: Spawn | None = None
    ) -> Entry:
        """Fire an open deadline at ``moment``: a clock reaching its point, or the deadline's trigger."""
        if deadline.clock is not None:
            return self.reach_point(instance, deadline, moment, spawn)
        return self.apply(instance, deadline.fire or "", CLOCK, {}, moment, None, deadline=deadline, spawn=spawn)

    def reach_point(
        self, instance: Instance, deadline: OpenDeadline, moment: datetime.datetime, spawn: Spawn | None = None
    ) -> Entry:
        """A clock reaching its warning, limit or ceiling: fire its action's trigger when the current state
        has it and admits it, else record the point on an entry of its own."""
        mark, fire = clock_point(self.compiled, instance, deadline)
        if fire is not None:
            try:
                return self.apply(instance, fire, CLOCK, {}, moment, None, deadline, spawn, marks=(mark,))
            except EventRefused:
                pass  # the point is still reached and recorded; the trigger is not taken
        return record_point(self.compiled, instance, deadline, mark, moment)


def say_where(refusal: EventRefused, instance: Instance, trigger: str | None) -> None:
    """A refusal names the instance, the state it stays in and the trigger refused."""
    refusal.instance_id, refusal.state, refusal.trigger = instance.id, instance.state, trigger

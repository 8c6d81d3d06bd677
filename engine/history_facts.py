"""What an instance's history has shown so far, kept up to date one entry at a time.

The runtime asks a history the same few questions: how often a transition was taken and a step
entered (loop limits), who acted in the steps a sign-off names, in all or in their latest stay, which
records it holds (``requires``, ``amends``), where its clocks stand. Reading the whole history for each
answer makes an event cost more the longer its case has run. Here each kind of answer is kept for the
first ``length`` entries and extended by the entries appended since when it is next asked, so each
entry is read once per kind, and a kind never asked (a procedure without loop limits) costs nothing.
(A sign-off's ``round`` reads the latest stay itself, from where the answer says it began.)

A kept answer's tables never change (a refused event leaves nothing behind, and two threads may read
one): entries that change them give another answer, copying only the tables they change (one row per
transition, step or record, not per entry); entries that change none only move on where the answer's
history ends, in place (a new answer for them cost 3.5 k instructions an event, a tenth of our margin
over bare transitions). Whoever else holds that answer then finds it ending elsewhere than their
history and reads afresh: never a wrong answer, a slower one. The instance keeps the latest of each
kind (``Instance.facts_cache``) and a store that keeps its entries keeps them with those, so the next
event on a reloaded instance reads only its new entries. An answer is used only for a history that goes
on from it: the entry it ends with must be the very object at that place, and a history ending
otherwise, or shorter, is read afresh. A history changed in place but at its end (an entry replaced or
removed before the last) is not told apart: entries are only ever appended, and code that rewrites a
history sets ``facts_cache`` to ``None`` (a check of every entry would be the whole read this saves).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from functools import partial
from typing import TypeVar

from engine.clocks import ClockRun, idle_run
from engine.instances import ClockMark, Entry, Instance, RecordWritten
from engine.model import Process

Transition = tuple[str | None, str | None, str]
"""A transition as entries record it: source, trigger, destination."""

_new_object = object.__new__
_NOBODY: frozenset[str] = frozenset()


class _Kept:
    """One kind of answer for the first ``length`` entries of a history, the last of them ``last``."""

    __slots__ = ("last", "length")

    def __init__(self) -> None:
        self.length = 0
        self.last: Entry | None = None

    def extended(self, entries: Sequence[Entry]) -> _Kept:
        raise NotImplementedError


class Loops(_Kept):
    """How often each transition was taken and each step entered: what loop limits count."""

    __slots__ = ("_entered", "_previous", "_taken")

    def __init__(self) -> None:
        super().__init__()
        self._taken: dict[Transition, int] = {}
        self._entered: dict[str, int] = {}
        self._previous: str | None = None

    def times_taken(self, source: str, trigger: str, dest: str) -> int:
        """How many events took this transition to its own ``dest`` (not to a limit's ``then``)."""
        return self._taken.get((source, trigger, dest), 0)

    def times_entered(self, state: str) -> int:
        """How many events entered ``state`` from another state (the start included)."""
        return self._entered.get(state, 0)

    def extended(self, entries: Sequence[Entry]) -> Loops:
        taken, entered, previous = dict(self._taken), self._entered, self._previous
        for entry in entries:
            if not entry.limit_reached:
                key = (entry.source, entry.trigger, entry.dest)
                taken[key] = taken.get(key, 0) + 1
            state = entry.state
            if state != previous:
                if entered is self._entered:
                    entered = dict(entered)
                entered[state] = entered.get(state, 0) + 1
            previous = state
        made: Loops = _new_object(Loops)  # no __init__: every slot is set here
        made.length, made.last = self.length + len(entries), entries[-1]
        made._taken, made._entered, made._previous = taken, entered, previous
        return made


class Actors(_Kept):
    """Who acted in each of some steps (fired an event from it, did a part of it), and where each one's
    latest stay began: what a sign-off asks of the steps it names (``watched``; the rest are not read)."""

    __slots__ = ("_actors", "_stays", "watched")

    def __init__(self, watched: frozenset[str] = _NOBODY) -> None:
        super().__init__()
        self.watched = watched
        self._actors: dict[str, frozenset[str]] = {}
        self._stays: dict[str, int] = {}
        """The index of the entry each step's latest stay began with."""

    def who_acted(self, history: Sequence[Entry], scope: str = "history") -> dict[str, set[str]]:
        """Who did something in each watched step, by actor: in the whole ``history`` (the one these
        answers were made from), or (``round``) only in the latest stay in each step, read from where it
        began."""
        actors: dict[str, set[str]] = {}
        for state in self.watched:
            if scope != "round":
                for actor in self._actors.get(state, _NOBODY):
                    actors.setdefault(actor, set()).add(state)
                continue
            start = self._stays.get(state)
            if start is None:
                continue
            for entry in history[start:]:
                if entry.source == state and not entry.by_deadline and entry.assignment is None:
                    actors.setdefault(entry.actor, set()).add(state)
                    if entry.state != state or entry.dest != state:
                        break  # they ended the stay
        return actors

    def extended(self, entries: Sequence[Entry]) -> Actors:
        actors, stays, watched = self._actors, self._stays, self.watched
        for index, entry in enumerate(entries, self.length):
            source, dest = entry.source, entry.dest
            state = entry.branches[-1].dest if entry.branches else dest  # Entry.state, without the call
            if state in watched and (source != state or dest != state):  # a stay in ``state`` begins here
                if stays is self._stays:
                    stays = dict(stays)
                stays[state] = index
            if source in watched and not entry.by_deadline and entry.assignment is None:  # acted there
                if entry.actor not in actors.get(source, _NOBODY):
                    if actors is self._actors:
                        actors = dict(actors)
                    actors[source] = actors.get(source, _NOBODY) | {entry.actor}
        if actors is self._actors and stays is self._stays and self.length:  # as in ``Records``
            self.length, self.last = self.length + len(entries), entries[-1]
            return self
        made: Actors = _new_object(Actors)  # no __init__: every slot is set here
        made.length, made.last, made.watched = self.length + len(entries), entries[-1], watched
        made._actors, made._stays = actors, stays
        return made


class Records(_Kept):
    """The latest version of each record the history holds."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        super().__init__()
        self.held: Mapping[str, RecordWritten] = {}
        """By record id, in the order first made (read-only: it is handed out as it is)."""

    def lacks(self, records: Iterable[str]) -> bool:
        """Whether any of ``records`` is not held yet."""
        held = self.held
        for record in records:
            if record not in held:
                return True
        return False

    def extended(self, entries: Sequence[Entry]) -> Records:
        changed: dict[str, RecordWritten] | None = None
        for entry in entries:
            if entry.records:
                if changed is None:
                    changed = dict(self.held)
                for written in entry.records:
                    changed[written.record] = written
        if changed is None and self.length:  # no table changed: this answer covers them too
            self.length, self.last = self.length + len(entries), entries[-1]
            return self
        made: Records = _new_object(Records)  # no __init__: every slot is set here
        made.length, made.last = self.length + len(entries), entries[-1]
        made.held = self.held if changed is None else changed
        return made


K = TypeVar("K", bound=_Kept)


def facts_of(key: Hashable, empty: K, instance: Instance) -> K:
    """The answers kept under ``key`` for the instance's whole history, from what it (or its store)
    kept and the entries appended since, starting from ``empty`` when nothing is kept; kept on the
    instance for the next question."""
    history = instance.history
    cache = instance.facts_cache
    if cache is None:
        cache = instance.facts_cache = {}
    kept: K | None = cache.get(key)
    if kept is not None:
        length = kept.length
        if length == len(history) and history[-1] is kept.last:
            return kept  # the usual answer: asked again within an event
        if not (length < len(history) and history[length - 1] is kept.last):
            kept = None
    if kept is None:
        kept = empty
        if not history:
            return kept
    facts: K = kept.extended(history[kept.length :])  # type: ignore[assignment]
    cache[key] = facts
    return facts


loops_of: Callable[[Instance], Loops] = partial(facts_of, Loops, Loops())
records_of: Callable[[Instance], Records] = partial(facts_of, Records, Records())

_UNREAD: dict[tuple[str, ...], Actors] = {}
"""An empty answer for each set of steps sign-offs name (a few per definition)."""


def actors_of(instance: Instance, states: tuple[str, ...]) -> Actors:
    """Who acted in ``states``, as a sign-off that names them asks."""
    empty = _UNREAD.get(states)
    if empty is None:
        empty = _UNREAD.setdefault(states, Actors(frozenset(states)))
    return facts_of(states, empty, instance)


class Clocks(_Kept):
    """Each clock's course by the marks so far, whatever process it is asked for. Read on nearly every
    event, so kept in one call (``clocks_of``) that folds any new entries in itself."""

    __slots__ = ("_read", "_runs", "marked")

    def __init__(self) -> None:
        super().__init__()
        self._runs: dict[str, ClockRun] = {}
        """Never changed once here: ``runs`` hands out copies."""
        self.marked = False
        """Whether any entry marks a clock."""
        self._read: tuple[Process, Mapping[str, ClockRun]] | None = None
        """What ``current`` last gave, and for which process."""

    def current(self, process: Process) -> Mapping[str, ClockRun]:
        """``runs``, to read only (an event that marks no clock): the courses kept, not copies, made once
        per answer and process."""
        read = self._read
        if read is not None and read[0] is process:
            return read[1]
        kept = self._runs
        runs = {name: kept.get(name) or _IDLE for name in process.clocks}
        self._read = (process, runs)
        return runs

    def runs(self, process: Process) -> dict[str, ClockRun]:
        """Each of the process's clocks' course (``clocks.runs_of``), for the caller to change as it likes."""
        kept = self._runs
        runs = {}
        for name in process.clocks:
            run = kept.get(name)
            runs[name] = idle_run() if run is None else run.copied()
        return runs


_NO_CLOCKS = Clocks()
_IDLE = idle_run()
"""A clock not yet started, shared by every ``Clocks.current``: never changed."""


def clocks_of(instance: Instance) -> Clocks:
    """``facts_of`` for the clocks, with ``extended`` written in: nearly every event asks it, and
    ``partial(facts_of, Clocks, ...)`` with the fold as a method measured 2.1 k instructions more per
    event (1.49x bare transitions against 1.47x): the look-up below is ``facts_of``'s, kept the same."""
    history = instance.history
    cache = instance.facts_cache
    if cache is None:
        cache = instance.facts_cache = {}
    kept: Clocks | None = cache.get(Clocks)
    if kept is not None:
        length, now = kept.length, len(history)
        if length == now and history[-1] is kept.last:
            return kept
        if 0 < length == now - 1 and history[-2] is kept.last and not history[-1].clocks:
            kept.length, kept.last = now, history[-1]  # one entry since, the usual case, that marks no clock
            return kept
        if not (length < now and history[length - 1] is kept.last):
            kept = None
    if kept is None:
        kept = _NO_CLOCKS
        if not history:
            return kept
    runs, copied, entries = kept._runs, None, history[kept.length :]
    for entry in entries:
        if entry.clocks:
            if copied is None:
                runs, copied = dict(runs), set()
            for mark in entry.clocks:
                name = mark.clock
                if name not in copied:
                    run = runs.get(name)
                    runs[name] = idle_run() if run is None else run.copied()
                    copied.add(name)
                runs[name].apply(mark, entry.at)
    if copied is None and kept.length:  # no new entry marks a clock: the same courses hold
        kept.length, kept.last = len(history), history[-1]
        return kept
    made: Clocks = _new_object(Clocks)  # no __init__: every slot is set here
    made.length, made.last, made._runs, made.marked = len(history), history[-1], runs, kept.marked or copied is not None
    made._read = None
    cache[Clocks] = made
    return made


def clocks_moved(
    instance: Instance,
    before: Clocks,
    runs: Mapping[str, ClockRun],
    marks: Iterable[ClockMark],
    process: Process,
    shared: bool,
) -> None:
    """Keep, as the clocks' answer for the history that now ends with the entry just appended, the courses
    the event worked out (``runs``, the marks of that entry applied), rather than have the next event
    copy and apply them again. ``before`` is the answer the event read, for the history without that
    entry; ``shared``: the courses the event did not change are those ``before.current`` gave."""
    history = instance.history
    cache = instance.facts_cache
    if cache is None or cache.get(Clocks) is not before or before.length != len(history) - 1:
        return  # not the answer for the history the event went on from: the next event reads afresh
    if before.length and history[-2] is not before.last:
        return
    kept = dict(before._runs)
    for mark in marks:
        kept[mark.clock] = runs[mark.clock]
    made: Clocks = _new_object(Clocks)  # no __init__: every slot is set here
    made.length, made.last, made._runs, made.marked = len(history), history[-1], kept, True
    made._read = (process, runs) if shared else None
    cache[Clocks] = made

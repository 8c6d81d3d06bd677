"""What is read from the store and changes nothing: one case's history, records, choices, clocks and
the sub-procedures it is linked to; cases listed, searched a page at a time, and counted.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from engine.clocks import ClockReport
from engine.errors import InvalidQuery, ProcflowError
from engine.instances import Entry, Link, RecordVersion
from engine.runtime import Actor, Choice
from engine.service_definitions import WorkflowsDefinitions
from engine.service_worklist import page_cursor, read_cursor
from engine.stores import CaseQuery, Damaged, InstanceSummary, JsonScalar


class WorkflowsQueries(WorkflowsDefinitions):
    """Cases read, listed, searched and counted."""

    def history(self, instance_id: str) -> list[Entry]:
        return self._read(instance_id)[0].history

    def records(self, instance_id: str) -> Mapping[str, tuple[RecordVersion, ...]]:
        """Every record the stored instance holds, by id, each with all its versions (oldest first):
        content, author (actor and roles), time and the event that wrote it."""
        instance, runtime = self._read(instance_id)
        return runtime.records(instance)

    def available(self, instance_id: str, actor: Actor) -> tuple[Choice, ...]:
        """The triggers ``actor`` may fire on the instance now."""
        instance, runtime = self._read(instance_id)
        return runtime.available(instance, actor)

    def clocks(self, instance_id: str, at: datetime.datetime | None = None) -> tuple[ClockReport, ...]:
        """The instance's clocks at ``at`` (default: now): status, time used and left, points reached."""
        instance, runtime = self._read(instance_id)
        return runtime.clocks(instance, self._clock() if at is None else at)

    def children(self, instance_id: str) -> tuple[Link, ...]:
        """The instances the stored instance's steps started, oldest first: each child's id, process
        and the step here that started it (read from the history, which keeps the links)."""
        return tuple(e.child for e in self.history(instance_id) if e.child is not None)

    def parent(self, instance_id: str) -> Link | None:
        """The instance and step that started this one, if a step of another procedure did."""
        return self.history(instance_id)[0].parent

    def list(
        self,
        process: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary | Damaged]:
        """Instances (without histories), oldest first; ``overdue_at`` keeps those with a time limit or
        deadline passed by then. A record that cannot be read is listed as ``Damaged`` in its place."""
        return self.store.summaries(process, state, overdue_at)

    def search(
        self,
        *,
        process: str | None = None,
        step: str | None = None,
        overdue_at: datetime.datetime | None = None,
        case: str | None = None,
        prefix: bool = False,
        field: str | None = None,
        value: JsonScalar | None = None,
        started_from: datetime.datetime | None = None,
        started_to: datetime.datetime | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Cases:
        """Stored cases (without histories) by start time then id, ``limit`` at a time (pass the page's
        ``next`` as ``after``), kept by every filter given: the process, the step they are in, an open
        deadline or time limit due by ``overdue_at``, the id (``prefix``: ids starting with ``case``), the
        data field ``field`` holding ``value`` (a plain name; the same JSON type and value), started in
        [``started_from``, ``started_to``). Filtered and cut by the store's SQL. ``InvalidQuery`` for a
        field that is not a plain name, times without offsets, or a cursor this method did not give."""
        if limit < 1:
            raise InvalidQuery(f"a page holds at least one case, not {limit}")
        query = CaseQuery(process, step, overdue_at, case, prefix, field, value, started_from, started_to)
        rows = self.store.search(query, after=read_cursor(after, "search"), limit=limit + 1)
        shown = rows[:limit]
        more = len(rows) > limit
        kept = [row for row in shown if isinstance(row.case, InstanceSummary)]
        cases = tuple(row.case for row in kept if isinstance(row.case, InstanceSummary))
        started = tuple(row.started_at for row in kept)
        damaged = tuple(row.case for row in shown if isinstance(row.case, Damaged))
        if not more:
            return Cases(cases, None, damaged, started)
        last = shown[-1].case
        last_id = last.instance_id if isinstance(last, Damaged) else last.id
        return Cases(cases, page_cursor(shown[-1].started_at, last_id), damaged, started)

    def open_cases(self) -> dict[tuple[str, str], int]:
        """How many cases are not in a final step, by process id and content hash (counted in the store)."""
        counts: dict[tuple[str, str], int] = {}
        for (process_id, content_hash, state), count in self.store.case_counts().items():
            try:
                states = self.runtime(process_id, content_hash).process.states
            except ProcflowError:  # a definition that cannot be read: its cases counted as open
                states = {}
            if state not in states or not states[state].is_final:
                counts[(process_id, content_hash)] = counts.get((process_id, content_hash), 0) + count
        return counts


@dataclass(frozen=True)
class Cases:
    """A page of ``Workflows.search``."""

    cases: tuple[InstanceSummary, ...]
    next: str | None
    """The cursor of the following page; ``None`` when this is the last."""
    damaged: tuple[Damaged, ...] = ()
    """Cases on this page whose stored record cannot be read (``procflow verify`` says more)."""
    started: tuple[datetime.datetime, ...] = ()
    """When each of ``cases`` started, in the same order."""

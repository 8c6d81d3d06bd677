"""What every store does, as a ``Protocol``, and the small values it hands back.

A store keeps definitions (by process id and content hash, numbered by revision, with their YAML text),
instances (state, data, open deadlines and the version they are at), their append-only history,
the deadlines workers fire, idempotency keys, and the outbox (``engine.outbox``: what each event tells
other systems, written by ``insert``, ``save`` and ``save_linked`` in the event's own transaction).
It knows nothing of firing rules: the service
(``engine.service``) moves instances with the runtime and asks the store to write the result, in one
transaction, only if the instance is still at the version it read.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from engine.instances import Entry, Instance, OpenDeadline
from engine.outbox import OutboxRow
from engine.work import CaseWork

NO_DUE = datetime.datetime(9999, 12, 30, tzinfo=datetime.UTC)
"""Where a case with no due time sorts in the worklist: after every case that has one."""

DEFAULT_LEASE = datetime.timedelta(seconds=60)
"""How long a worker's claim on a due deadline holds before another worker may take it over."""


@dataclass(frozen=True, slots=True)
class ProcessRef:
    """One stored definition of a process: one distinct content, numbered by the store."""

    id: str
    version: int
    """The ``version:`` the YAML declares, as written: several revisions may declare the same one."""
    content_hash: str
    revision: int
    """1, 2, 3... per process id, in the order its distinct contents were first registered."""


@dataclass(frozen=True, slots=True)
class NewDefinition:
    """A definition to store: the store gives it its revision."""

    id: str
    version: int
    content_hash: str
    source: str
    """The YAML text exactly as registered, so the definition can be loaded again as it was."""
    file: str
    """Where the text was read from (for messages; it may change or go away later)."""
    registered_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class StoredDefinition:
    ref: ProcessRef
    source: str
    """The YAML text exactly as registered, so the definition can be loaded again as it was."""
    file: str
    """Where the text was read from when it was registered (for messages; it may have changed since)."""
    registered_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class InstanceSummary:
    """An instance without its history: what a listing shows."""

    id: str
    process: ProcessRef
    state: str
    data: dict[str, Any]
    entered_at: datetime.datetime
    deadlines: tuple[OpenDeadline, ...]
    version: int

    def overdue(self, now: datetime.datetime) -> tuple[OpenDeadline, ...]:
        return tuple(d for d in self.deadlines if d.due <= now)


@dataclass(frozen=True, slots=True)
class DueDeadline:
    """A deadline a worker has claimed: it fires ``fire`` on ``instance_id`` once ``due`` has passed."""

    instance_id: str
    state: str
    due: datetime.datetime
    fire: str


@dataclass(frozen=True, slots=True)
class Damaged:
    """An instance whose stored record cannot be read, or contradicts itself: what a listing, a worker
    or ``verify`` reports in its place, and goes on."""

    instance_id: str
    """As stored; it may itself be what is wrong, so print it with ``identifiers.shown``."""
    problem: str


JsonScalar = str | int | float | bool
"""A value a case search compares one data field with: JSON's text, number or boolean."""


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Which cases a search keeps: every condition given must hold (none given: every case).

    ``field`` names one top-level data field (``engine.stores.search.FIELD_NAME``) that must hold
    ``value``: the same JSON type (a boolean is not a number) and the same value (numbers by value)."""

    process_id: str | None = None
    state: str | None = None
    overdue_at: datetime.datetime | None = None
    """Keep the cases with an open deadline or time limit due by then."""
    case_id: str | None = None
    id_prefix: bool = False
    """``case_id`` is the start of the ids kept, not the whole id."""
    field: str | None = None
    value: JsonScalar | None = None
    started_from: datetime.datetime | None = None
    """Keep the cases started at or after this moment..."""
    started_to: datetime.datetime | None = None
    """...and before this one."""


@dataclass(frozen=True, slots=True)
class Found:
    """A case a search found, with the start time it is sorted by (with its id)."""

    case: InstanceSummary | Damaged
    started_at: datetime.datetime


class Store(Protocol):
    """The interface ``engine.service`` uses; ``sqlite.py``, ``postgres.py`` and ``memory.py`` implement it.

    Errors: ``NotFound`` for an unknown id, ``ConflictError`` subclasses for writes that lost a race
    or contradict what is stored, ``InvalidIdentifier`` for an instance id or key that
    ``engine.stores.identifiers`` does not accept (checked before the database is touched, the same on
    every store), ``DamagedRecord`` for a stored record that cannot be read, ``StoreError`` for
    anything the database itself reports.
    """

    @property
    def url(self) -> str:
        """The store's URL with any password hidden: what messages name."""
        ...

    def close(self) -> None: ...

    def batch(self) -> AbstractContextManager[None]:
        """Every write this thread makes inside the block joins one transaction, committed when the
        block ends; an exception that leaves the block rolls all of it back. Each write inside is still
        whole or nothing on its own (a savepoint each): one that fails (``StaleVersion``, ``DuplicateKey``)
        changes nothing and raises, and the writes before and after it commit with the batch if the
        caller carries on. Other threads using the store wait until the block ends."""
        ...

    # --- definitions ---

    def add_definition(self, definition: NewDefinition) -> StoredDefinition:
        """Store a definition under the next revision of its process, or return the one already stored
        with the same process id and content. The revision is chosen inside the write transaction, so
        two processes registering at once never get the same number."""
        ...

    def definition(self, process_id: str, content_hash: str | None = None) -> StoredDefinition:
        """The definition with that content, or the highest revision of the process when ``None``."""
        ...

    def definitions(self) -> list[StoredDefinition]:
        """Every stored definition, by process id then revision."""
        ...

    # --- instances ---

    def insert(self, instance: Instance, work: CaseWork | None = None) -> Instance:
        """Store a new instance: its start entry, deadlines and ``work`` items (as ``save`` writes them).
        When the start entry carries a key already used to start an instance of the same process, store
        nothing and return that one. ``DuplicateInstance`` when the id is taken."""
        ...

    def load(self, instance_id: str) -> Instance:
        """The instance as last written, with its whole history."""
        ...

    def save(self, instance: Instance, expected_version: int, work: CaseWork | None = None) -> None:
        """Write the instance's state, data and deadlines and append ``history[expected_version:]``, in
        one transaction, only if the stored instance is still at ``expected_version``.

        The instance's work items are replaced by ``work`` in the same transaction; without it they are
        removed and the instance is marked as waiting for them (``work_pending``), to be filled in by
        ``write_work`` before the worklist is next read.

        ``StaleVersion`` if it is not; ``DuplicateKey`` if a new entry's idempotency key is already
        recorded for the instance. Either way nothing is written.
        """
        ...

    def save_linked(
        self,
        saves: Sequence[tuple[Instance, int]],
        inserts: Sequence[Instance] = (),
        work: Mapping[str, CaseWork] | None = None,
    ) -> None:
        """``save`` of each ``(instance, expected_version)`` and ``insert`` of each new instance (with no
        start key), each with its work items from ``work`` by instance id, all in one transaction: a step
        that starts another procedure, or a child's end that moves its parent on. ``StaleVersion``,
        ``DuplicateKey``, ``DuplicateInstance`` or ``NotFound`` (a definition not registered) as those do;
        either way nothing is written."""
        ...

    def read_checked(self, instance_id: str) -> Instance:
        """The instance read afresh from the database (nothing remembered), after checking that what
        the store keeps beside it agrees: every entry's digest (``engine.stores.integrity``), the entries'
        numbering, the start time, the deadline rows workers claim, the recorded keys.
        ``DamagedRecord`` names every disagreement found. Replaying the history is the caller's part."""
        ...

    def entry_for_key(self, instance_id: str, key: str) -> tuple[int, Entry] | None:
        """The history entry (and its index) recorded with that idempotency key, if any."""
        ...

    def summaries(
        self,
        process_id: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary | Damaged]:
        """Instances without their histories, oldest first; ``overdue_at`` keeps those with a
        deadline or time limit due by then. A record that cannot be read is listed as ``Damaged``
        in its place (where the filters can still be applied to it), and the rest are listed."""
        ...

    def case_counts(self) -> dict[tuple[str, str, str], int]:
        """How many cases there are by process id, content hash and state (one ``GROUP BY``)."""
        ...

    def search(
        self, query: CaseQuery, *, after: tuple[datetime.datetime, str] | None = None, limit: int = 50
    ) -> list[Found]:
        """Up to ``limit`` cases that ``query`` keeps, by start time then id (by code point), from just
        after ``after`` (the start time and id of the last one of the page before). Filtered and cut in
        the database. A record that cannot be read is ``Damaged`` where its row sorts."""
        ...

    # --- the worklist ---

    def worklist(
        self,
        roles: Sequence[str],
        *,
        process_id: str | None = None,
        due_by: datetime.datetime | None = None,
        after: tuple[datetime.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[CaseWork | Damaged]:
        """Up to ``limit`` open cases with a work item for one of ``roles``, by due time (``NO_DUE`` for
        none) then id, each once, from just after ``after`` (the due time and id of the last one of the
        page before); ``due_by`` keeps those due by then. Served by the work item rows' indexes; what one
        actor may do in each is ``engine.work.offered``'s to say. A row that cannot be read is ``Damaged``."""
        ...

    def work_pending(self, limit: int) -> list[str]:
        """Instances whose work items are not filled in (stored by an older procflow, or saved
        without them), up to ``limit``."""
        ...

    def write_work(self, instance_id: str, version: int | None, work: CaseWork | None) -> bool:
        """Replace the instance's work items with ``work`` (``None``: it has none, e.g. its record cannot
        be read) and clear its pending mark, only if it is still at ``version`` (``None``: at any);
        whether it was."""
        ...

    # --- timers ---

    def claim_due(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[DueDeadline | Damaged]:
        """Claim up to ``limit`` deadlines that fire a trigger, are due at ``now``, are not refused and
        not claimed by a live claim of another worker; earliest first. The claim ends when the
        instance is next written, when ``release`` is called, or after ``lease``. A deadline that
        cannot be read is set aside (as ``set_aside`` does) and returned as ``Damaged``."""
        ...

    def set_aside(self, instance_id: str, reason: str) -> None:
        """Stop workers claiming any deadline of the instance until it is next written (its record
        cannot be read, or cannot be fired): a poison case must not be retried forever."""
        ...

    def mark_refused(self, instance_id: str, deadline: OpenDeadline, version: int, reason: str) -> None:
        """Note that firing ``deadline`` was refused at ``version``, so workers stop claiming it until the
        instance changes. Does nothing if the instance has moved on."""
        ...

    def release(self, worker: str) -> None:
        """Drop the worker's remaining claims (a worker stopping cleanly)."""
        ...

    # --- the outbox ---

    def claim_outbox(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[OutboxRow]:
        """Claim up to ``limit`` pending outbox rows whose next attempt is due at ``now`` and that no live
        claim of another worker holds, by next attempt then id. The claim ends with ``record_delivery``,
        ``release``, or after ``lease`` (a worker killed mid-delivery: another delivers the row again)."""
        ...

    def record_delivery(
        self,
        delivery_id: str,
        *,
        state: str,
        attempts: int,
        next_attempt: datetime.datetime,
        sent_to: Sequence[str],
        error: str | None,
        now: datetime.datetime,
    ) -> None:
        """Write the outcome of an attempt on a pending row and end its claim: ``delivered``, ``dead``, or
        still ``pending`` until ``next_attempt``. A row no longer pending is left as it is."""
        ...

    def outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """Outbox rows (in ``state`` if given), oldest first."""
        ...

    def retry_dead(self, delivery_ids: Sequence[str] = (), *, now: datetime.datetime) -> int:
        """Put dead-lettered rows (those named, or every one) back to pending, due at ``now``, with their
        attempts counted from nought; how many."""
        ...

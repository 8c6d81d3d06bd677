"""A store held in a dict, for tests and trials: the same contract as the SQL stores, in one process.

Each instance is kept as its parts, so an event costs the same however long its case's history: the
history entries as the caller wrote them (frozen, so every load hands out a copy of the list, not of
the entries), each with its canonical text and digest made once, when written (``engine.stores.integrity``;
``read_checked`` reads the texts afresh, as the SQL stores read their rows), and a row that each write
replaces whole: state, data as JSON text (parsed afresh on every load, so no caller shares it), the
open deadlines (frozen) and what the runtime worked out of the history (``Instance.facts_cache``).
Definitions, work items and outbox rows are kept as the frozen values they are given as.

A batch keeps what it changes as it was before the first change (``_Undo``), not a copy of the store.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from engine.errors import DamagedRecord, DuplicateInstance, DuplicateKey, InstanceFormatError, NotFound, StaleVersion
from engine.instances import Entry, Instance, OpenDeadline, entry_from_json, entry_to_json
from engine.outbox import DEAD, PENDING, OutboxRow, messages
from engine.stores.base import (
    DEFAULT_LEASE,
    NO_DUE,
    CaseQuery,
    Damaged,
    DueDeadline,
    Found,
    InstanceSummary,
    NewDefinition,
    ProcessRef,
    StoredDefinition,
)
from engine.stores.identifiers import check_instance_id, check_key, check_written
from engine.stores.integrity import canonical, digest, entry_text
from engine.stores.search import check_query, keeps
from engine.work import CaseWork


@dataclass
class _Claim:
    worker: str | None = None
    until: datetime.datetime | None = None
    refused: str | None = None


_UNCLAIMED = _Claim()


@dataclass(frozen=True, slots=True)
class _Row:
    """What each write of an instance replaces whole: all of it but its history."""

    process_id: str
    process_version: int
    content_hash: str
    state: str
    data: str
    """Canonical JSON text, parsed afresh on every load."""
    entered_at: datetime.datetime
    deadlines: tuple[OpenDeadline, ...]
    facts: Mapping[Any, Any] | None
    """``Instance.facts_cache`` as the write left it (its answers are frozen; each load gets the dict copied)."""


@dataclass(slots=True)
class _Entries:
    """An instance's history as written: only ever appended to, but for a failed batch, which cuts it back."""

    history: list[Entry]
    texts: list[str]
    """Each entry's canonical text, as written."""
    digests: list[str]
    keys: dict[str, int]
    """The idempotency key of each event that had one (not the start's), and the entry it recorded."""

    def append(self, write: _Write) -> None:
        for index, (entry, text) in enumerate(zip(write.entries, write.texts, strict=True), write.first):
            self.history.append(entry)
            self.texts.append(text)
            self.digests.append(digest(write.instance.id, index, text))
            if entry.key is not None and index > 0:
                self.keys[entry.key] = index

    def cut(self, length: int) -> None:
        """Back to the first ``length`` entries."""
        for entry in self.history[length:]:
            if entry.key is not None:
                self.keys.pop(entry.key, None)
        del self.history[length:], self.texts[length:], self.digests[length:]


@dataclass
class _Record:
    row: _Row
    entries: _Entries
    claims: dict[int, _Claim] = field(default_factory=dict)
    set_aside: str | None = None
    """Why workers no longer claim the instance's deadlines, until it is next written."""
    work: CaseWork | None = None
    """Its work items as the last write gave them; ``None`` while ``pending`` or when it has none."""
    pending: bool = True

    @property
    def version(self) -> int:
        return len(self.entries.history)

    def copy(self) -> _Record:
        """A copy to put back, sharing the entries (which a batch cuts back instead)."""
        claims = {position: replace(claim) for position, claim in self.claims.items()}
        return _Record(self.row, self.entries, claims, self.set_aside, self.work, self.pending)


@dataclass(frozen=True, slots=True)
class _Write:
    """An instance's write, encoded (so nothing is written if its JSON cannot be): its row and its entries
    from ``first`` on, with their JSON and its text."""

    instance: Instance
    first: int
    row: _Row
    entries: list[Entry]
    documents: list[dict[str, Any]]
    texts: list[str]


@dataclass
class _Told:
    """An outbox row and the claim a worker holds on it."""

    row: OutboxRow
    claim: _Claim = field(default_factory=_Claim)


@dataclass(frozen=True, slots=True)
class _Before:
    """An instance as it was before a batch first changed it: its record (sharing the entries, which
    only grow) and how many entries it had."""

    record: _Record
    length: int


@dataclass
class _Undo:
    """What an open batch changed, to put back should it fail: how many definitions there were, and each
    instance and outbox row as it was before its first change (``None``: not there yet)."""

    definitions: int
    instances: dict[str, _Before | None] = field(default_factory=dict)
    outbox: dict[str, _Told | None] = field(default_factory=dict)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._definitions: list[StoredDefinition] = []
        self._instances: dict[str, _Record] = {}
        self._start_keys: dict[tuple[str, str], str] = {}
        self._outbox: dict[str, _Told] = {}
        self._undo: _Undo | None = None

    @property
    def url(self) -> str:
        return "memory:"

    @contextmanager
    def batch(self) -> Iterator[None]:
        """As the SQL stores' ``batch``: an exception leaving the block puts back what the store held
        when it began (each write inside is already whole or nothing on its own). Meant for one thread
        at a time, as this store is for tests and trials."""
        if self._undo is not None:
            yield
            return
        with self._lock:
            self._undo = undo = _Undo(len(self._definitions))
        try:
            yield
        except BaseException:
            with self._lock:
                self._put_back(undo)
            raise
        finally:
            self._undo = None

    def _put_back(self, undo: _Undo) -> None:
        del self._definitions[undo.definitions :]
        for instance_id, before in undo.instances.items():
            if before is None:  # inserted by the batch
                record = self._instances.pop(instance_id)
                start = record.entries.history[0].key
                if start is not None:
                    del self._start_keys[(record.row.process_id, start)]
            else:
                before.record.entries.cut(before.length)
                self._instances[instance_id] = before.record
        for delivery_id, told in undo.outbox.items():
            if told is None:
                del self._outbox[delivery_id]
            else:
                self._outbox[delivery_id] = told

    def _changing(self, instance_id: str) -> None:
        """Before the instance's record is changed (under the lock): in a batch, keep it as it was, once."""
        undo = self._undo
        if undo is not None and instance_id not in undo.instances:
            record = self._instances.get(instance_id)
            undo.instances[instance_id] = None if record is None else _Before(record.copy(), record.version)

    def _changing_told(self, delivery_id: str) -> None:
        """Before the outbox row is written or changed (under the lock): in a batch, keep it as it was, once."""
        undo = self._undo
        if undo is not None and delivery_id not in undo.outbox:
            told = self._outbox.get(delivery_id)
            undo.outbox[delivery_id] = None if told is None else _Told(told.row, replace(told.claim))

    def close(self) -> None:
        pass

    def add_definition(self, definition: NewDefinition) -> StoredDefinition:
        with self._lock:
            mine = [d for d in self._definitions if d.ref.id == definition.id]
            for stored in mine:
                if stored.ref.content_hash == definition.content_hash:
                    return stored
            for stored in mine:  # the same text that an older loader hashed differently
                if stored.source == definition.source:
                    return stored
            revision = 1 + max((d.ref.revision for d in mine), default=0)
            ref = ProcessRef(definition.id, definition.version, definition.content_hash, revision)
            added = StoredDefinition(ref, definition.source, definition.file, definition.registered_at)
            self._definitions.append(added)
            return added

    def definition(self, process_id: str, content_hash: str | None = None) -> StoredDefinition:
        with self._lock:
            found = [
                d for d in self._definitions if d.ref.id == process_id and content_hash in (None, d.ref.content_hash)
            ]
        if not found:
            raise NotFound(f"memory: holds no definition of process `{process_id}`; register it first")
        return max(found, key=lambda d: d.ref.revision)

    def definitions(self) -> list[StoredDefinition]:
        with self._lock:
            return sorted(self._definitions, key=lambda d: (d.ref.id, d.ref.revision))

    def insert(self, instance: Instance, work: CaseWork | None = None) -> Instance:
        check_written(instance)
        key = instance.history[0].key
        with self._lock:
            self._require_definition(instance)
            if key is not None and (instance.process_id, key) in self._start_keys:
                return self._load(self._start_keys[(instance.process_id, key)])
            if instance.id in self._instances:
                raise DuplicateInstance(f"memory: already holds an instance `{instance.id}`")
            self._add(_encoded(instance, 0), work)
            if key is not None:
                self._start_keys[(instance.process_id, key)] = instance.id
        return instance

    def _require_definition(self, instance: Instance) -> None:
        if not any(
            d.ref.id == instance.process_id and d.ref.content_hash == instance.content_hash for d in self._definitions
        ):
            raise NotFound(
                f"memory: holds no definition of process `{instance.process_id}` with content "
                f"{instance.content_hash[:12]}; register it first"
            )

    def load(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._lock:
            return self._load(instance_id)

    def _load(self, instance_id: str) -> Instance:
        record = self._instances.get(instance_id)
        if record is None:
            raise NotFound(f"memory: holds no instance `{instance_id}`")
        return _instance(instance_id, record.row, list(record.entries.history))

    def save(self, instance: Instance, expected_version: int, work: CaseWork | None = None) -> None:
        if not expected_version < instance.version:
            raise ValueError("save() needs at least one new history entry")
        check_written(instance, expected_version)
        with self._lock:
            write = self._checked(instance, expected_version)
            self._apply(write, work)

    def save_linked(
        self,
        saves: Sequence[tuple[Instance, int]],
        inserts: Sequence[Instance] = (),
        work: Mapping[str, CaseWork] | None = None,
    ) -> None:
        work = work or {}
        with self._lock:  # checked first, all of them, then written: nothing half-applied
            added = []
            for child in inserts:
                check_written(child)
                if child.history[0].key is not None:
                    raise ValueError("save_linked() inserts instances started without a key")
                self._require_definition(child)
                if child.id in self._instances:
                    raise DuplicateInstance(f"memory: already holds an instance `{child.id}`")
                added.append(_encoded(child, 0))
            saved = []
            for instance, expected in saves:
                if not expected < instance.version:
                    raise ValueError("save_linked() needs at least one new history entry for each instance saved")
                check_written(instance, expected)
                saved.append(self._checked(instance, expected))
            for write in added:
                self._add(write, work.get(write.instance.id))
            for write in saved:
                self._apply(write, work.get(write.instance.id))

    def _checked(self, instance: Instance, expected: int) -> _Write:
        """The write of the instance's entries from ``expected`` on, if the store can take it: in the SQL
        stores' order, the version first (the row's update), then the keys (their rows)."""
        record = self._instances.get(instance.id)
        if record is None:
            raise NotFound(f"memory: holds no instance `{instance.id}`")
        if record.version != expected:
            raise StaleVersion(
                f"instance `{instance.id}` is at version {record.version}, not {expected}: "
                "another writer moved it on since it was read",
                expected=expected,
                found=record.version,
            )
        keys = record.entries.keys
        for entry in instance.history[expected:]:
            if entry.key is not None and entry.key in keys:
                raise DuplicateKey(
                    f"instance `{instance.id}`: key `{entry.key}` is already recorded (entry {keys[entry.key]})",
                    instance_id=instance.id,
                    index=keys[entry.key],
                )
        return _encoded(instance, expected)

    def _add(self, write: _Write, work: CaseWork | None) -> None:
        """Write a new instance (under the lock, its checks passed)."""
        self._changing(write.instance.id)
        entries = _Entries([], [], [], {})
        entries.append(write)
        self._instances[write.instance.id] = _Record(write.row, entries, work=work, pending=work is None)
        self._tell(write)

    def _apply(self, write: _Write, work: CaseWork | None) -> None:
        """Write the instance's new entries and its row (under the lock, its checks passed)."""
        self._changing(write.instance.id)
        record = self._instances[write.instance.id]
        record.entries.append(write)
        record.row = write.row
        record.claims, record.set_aside = {}, None
        record.work, record.pending = work, work is None
        self._tell(write)

    def read_checked(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None:
                raise NotFound(f"memory: holds no instance `{instance_id}`")
            entries = record.entries
            texts, digests, kept = list(entries.texts), list(entries.digests), list(entries.history)
            keys = set(entries.keys.items())
            start_keys = {k for k, i in self._start_keys.items() if i == instance_id}
            row = record.row
        problems = []
        if not len(texts) == len(digests) == len(kept):
            problems.append(f"it holds {len(texts)} entry texts, {len(digests)} digests and {len(kept)} entries")
        history = []
        for index, text in enumerate(texts):
            try:
                entry = entry_from_json(json.loads(text), f"entry {index}")
            except (InstanceFormatError, ValueError, TypeError) as exc:
                raise _unreadable(instance_id, exc) from exc
            history.append(entry)
            if index < len(digests) and digests[index] != digest(instance_id, index, text):
                problems.append(f"entry {index} is not the entry written there (its digest differs)")
            elif entry_text(entry) != text:
                problems.append(f"entry {index} holds more or other than procflow writes")
        if history != kept:
            problems.append("the entries it hands out differ from the entries written (one was changed in place)")
        instance = _instance(instance_id, row, history)
        instance.facts_cache = None  # read afresh: nothing worked out of what it was read from
        if canonical(instance.data) != row.data:
            problems.append("its data holds more or other than procflow writes")
        if keys != {(e.key, i) for i, e in enumerate(history) if i > 0 and e.key is not None}:
            problems.append("the idempotency keys recorded differ from the keys of its entries")
        first = history[0].key if history else None
        if start_keys != ({(instance.process_id, first)} if first is not None else set()):
            problems.append("the key recorded for its start differs from its first entry's")
        if problems:
            raise DamagedRecord(f"memory: instance `{instance_id}`: " + "; ".join(problems), instance_id=instance_id)
        return instance

    def entry_for_key(self, instance_id: str, key: str) -> tuple[int, Entry] | None:
        check_instance_id(instance_id)
        check_key(key)
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None or key not in record.entries.keys:
                return None
            index = record.entries.keys[key]
            return index, record.entries.history[index]

    def summaries(
        self,
        process_id: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary | Damaged]:
        with self._lock:
            read = [_readable(i, r) for i, r in self._instances.items()]
            refs = {(d.ref.id, d.ref.content_hash): d.ref for d in self._definitions}
        listed: list[tuple[tuple[datetime.datetime, str], InstanceSummary | Damaged]] = []
        for instance in read:
            if isinstance(instance, Damaged):  # nothing of it can be read, so no filter applies
                listed.append(((_EARLIEST, instance.instance_id), instance))
            elif (
                process_id in (None, instance.process_id)
                and state in (None, instance.state)
                and (overdue_at is None or instance.overdue(overdue_at))
            ):
                summary = _summary(instance, refs)
                listed.append(((instance.history[0].at, instance.id), summary))
        return [item for _, item in sorted(listed, key=lambda pair: pair[0])]

    def case_counts(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            rows = [r.row for r in self._instances.values()]
        counts: dict[tuple[str, str, str], int] = {}
        for row in rows:
            key = (row.process_id, row.content_hash, row.state)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def search(
        self, query: CaseQuery, *, after: tuple[datetime.datetime, str] | None = None, limit: int = 50
    ) -> list[Found]:
        check_query(query)
        with self._lock:
            read = [_readable(i, r) for i, r in self._instances.items()]
            refs = {(d.ref.id, d.ref.content_hash): d.ref for d in self._definitions}
        found = []
        for instance in read:
            if isinstance(instance, Damaged):
                continue  # nothing of it can be read, not even where it sorts
            key = (instance.history[0].at, instance.id)
            if keeps(query, instance) and (after is None or key > after):
                summary = _summary(instance, refs)
                found.append((key, Found(summary, key[0])))
        return [item for _, item in sorted(found, key=lambda pair: pair[0])[: max(0, limit)]]

    def worklist(
        self,
        roles: Sequence[str],
        *,
        process_id: str | None = None,
        due_by: datetime.datetime | None = None,
        after: tuple[datetime.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[CaseWork | Damaged]:
        wanted = frozenset(roles)
        with self._lock:
            found = [
                ((r.work.due or NO_DUE, i), r.work)
                for i, r in self._instances.items()
                if r.work is not None
                and r.work.roles & wanted
                and process_id in (None, r.work.process_id)
                and (due_by is None or (r.work.due or NO_DUE) <= due_by)
            ]
        found = sorted((f for f in found if after is None or f[0] > after), key=lambda f: f[0])
        return [work for _, work in found[: max(0, limit)]]

    def work_pending(self, limit: int) -> list[str]:
        with self._lock:
            return sorted(i for i, r in self._instances.items() if r.pending)[: max(0, limit)]

    def write_work(self, instance_id: str, version: int | None, work: CaseWork | None) -> bool:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None or (version is not None and record.version != version):
                return False
            self._changing(instance_id)
            record.work, record.pending = (work if version is not None else None), False
            return True

    def claim_due(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[DueDeadline | Damaged]:
        """As the SQL stores' ``claim_due``; the deadlines held here are the values written, so none of
        them can be unreadable (a record whose data cannot be read is set aside when it is fired)."""
        with self._lock:
            candidates = []
            for instance_id, record in self._instances.items():
                if record.set_aside is not None:
                    continue
                for position, deadline in enumerate(record.row.deadlines):
                    claim = record.claims.get(position, _UNCLAIMED)
                    free = claim.until is None or claim.until <= now
                    if deadline.fire is not None and deadline.due <= now and claim.refused is None and free:
                        candidates.append((deadline.due, instance_id, position, deadline))
            chosen = sorted(candidates, key=lambda c: (c[0], c[1]))[: max(0, limit)]
            for _, instance_id, position, _ in chosen:
                self._changing(instance_id)
                self._instances[instance_id].claims[position] = _Claim(worker, now + lease)
            return [DueDeadline(i, d.state, d.due, d.fire or "") for _, i, _, d in chosen]

    def set_aside(self, instance_id: str, reason: str) -> None:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is not None:
                self._changing(instance_id)
                record.set_aside, record.claims = reason, {}

    def mark_refused(self, instance_id: str, deadline: OpenDeadline, version: int, reason: str) -> None:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is not None and record.version == version and deadline in record.row.deadlines:
                self._changing(instance_id)
                record.claims[record.row.deadlines.index(deadline)] = _Claim(refused=reason)

    def release(self, worker: str) -> None:
        with self._lock:
            for instance_id, record in self._instances.items():
                if any(claim.worker == worker for claim in record.claims.values()):
                    self._changing(instance_id)
                    for claim in record.claims.values():
                        if claim.worker == worker:
                            claim.worker = claim.until = None
            for delivery_id, told in self._outbox.items():
                if told.claim.worker == worker:
                    self._changing_told(delivery_id)
                    told.claim = _Claim()

    # --- the outbox ---

    def _tell(self, write: _Write) -> None:
        """The outbox rows of the entries written, with them (under the lock)."""
        now = datetime.datetime.now(datetime.UTC)
        for message in messages(write.instance, write.first, write.documents):
            self._changing_told(message.id)
            self._outbox[message.id] = _Told(OutboxRow(message, now, 0, now, PENDING))

    def claim_outbox(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[OutboxRow]:
        with self._lock:
            free = [
                t
                for t in self._outbox.values()
                if t.row.state == PENDING
                and t.row.next_attempt <= now
                and (t.claim.until is None or t.claim.until <= now)
            ]
            chosen = sorted(free, key=lambda t: (t.row.next_attempt, t.row.message.id))[: max(0, limit)]
            for told in chosen:
                self._changing_told(told.row.message.id)
                told.claim = _Claim(worker, now + lease)
            return [t.row for t in chosen]

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
        with self._lock:
            told = self._outbox.get(delivery_id)
            if told is None or told.row.state != PENDING:
                return
            self._changing_told(delivery_id)
            told.row = replace(
                told.row,
                state=state,
                attempts=attempts,
                next_attempt=next_attempt,
                sent_to=tuple(sent_to),
                last_error=error,
            )
            told.claim = _Claim()

    def outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        with self._lock:
            rows = [t.row for t in self._outbox.values() if state is None or t.row.state == state]
        return sorted(rows, key=lambda r: (r.created_at, r.message.id))[:limit]

    def retry_dead(self, delivery_ids: Sequence[str] = (), *, now: datetime.datetime) -> int:
        with self._lock:
            dead = [
                t
                for t in self._outbox.values()
                if t.row.state == DEAD and (not delivery_ids or t.row.message.id in delivery_ids)
            ]
            for told in dead:
                self._changing_told(told.row.message.id)
                told.row = replace(told.row, state=PENDING, attempts=0, next_attempt=now)
            return len(dead)


_EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
"""Where a record that cannot be read is listed: first, as its start time cannot be read either."""


def _encoded(instance: Instance, first: int) -> _Write:
    """The write of the instance's row and of its entries from ``first`` on; ``ValueError`` or
    ``TypeError`` (nothing written) if any of it is not JSON."""
    entries = instance.history[first:]
    documents = [entry_to_json(e) for e in entries]
    row = _Row(
        instance.process_id,
        instance.process_version,
        instance.content_hash,
        instance.state,
        canonical(instance.data),
        instance.entered_at,
        instance.deadlines,
        dict(instance.facts_cache) if isinstance(instance.facts_cache, dict) else None,
    )
    return _Write(instance, first, row, entries, documents, [canonical(d) for d in documents])


def _instance(instance_id: str, row: _Row, history: list[Entry]) -> Instance:
    """The instance of that row and history, for the caller to change: the data parsed afresh."""
    try:
        data = json.loads(row.data)
    except ValueError as exc:
        raise _unreadable(instance_id, exc) from exc
    if not isinstance(data, dict):
        raise _unreadable(instance_id, f"its data must be an object, got {type(data).__name__}")
    instance = Instance(
        id=instance_id,
        process_id=row.process_id,
        process_version=row.process_version,
        content_hash=row.content_hash,
        state=row.state,
        data=data,
        entered_at=row.entered_at,
        deadlines=row.deadlines,
        history=history,
    )
    if row.facts is not None:
        instance.facts_cache = dict(row.facts)
    return instance


def _readable(instance_id: str, record: _Record) -> Instance | Damaged:
    try:
        return _instance(instance_id, record.row, list(record.entries.history))
    except DamagedRecord as exc:
        return Damaged(instance_id, str(exc))


def _unreadable(instance_id: str, problem: object) -> DamagedRecord:
    return DamagedRecord(
        f"memory: instance `{instance_id}` is held in a form procflow cannot read: {problem}", instance_id=instance_id
    )


def _summary(instance: Instance, refs: Mapping[tuple[str, str], ProcessRef]) -> InstanceSummary:
    """An instance without its history, under the reference of the definition it runs on."""
    return InstanceSummary(
        instance.id,
        refs[(instance.process_id, instance.content_hash)],
        instance.state,
        instance.data,
        instance.entered_at,
        instance.deadlines,
        instance.version,
    )

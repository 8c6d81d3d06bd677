"""A store held in a dict, for tests and trials: the same contract as the SQL stores, in one process.

Instances go in and out as JSON, as they would through a database, so a caller can never change a
stored instance by holding on to an object; definitions, work items and outbox rows are kept as the
frozen values they are given as.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from engine.errors import DamagedRecord, DuplicateInstance, DuplicateKey, InstanceFormatError, NotFound, StaleVersion
from engine.instances import Entry, Instance, OpenDeadline, instance_from_json, instance_to_json
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
from engine.stores.integrity import digest, entry_text
from engine.stores.search import check_query, keeps
from engine.work import CaseWork


@dataclass
class _Claim:
    worker: str | None = None
    until: datetime.datetime | None = None
    refused: str | None = None


@dataclass
class _Record:
    document: str
    claims: dict[int, _Claim] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    digests: list[str] = field(default_factory=list)
    """Each entry's digest as written (``engine.stores.integrity``)."""
    set_aside: str | None = None
    """Why workers no longer claim the instance's deadlines, until it is next written."""
    work: CaseWork | None = None
    """Its work items as the last write gave them; ``None`` while ``pending`` or when it has none."""
    pending: bool = True


@dataclass
class _Told:
    """An outbox row and the claim a worker holds on it."""

    row: OutboxRow
    claim: _Claim = field(default_factory=_Claim)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._definitions: list[StoredDefinition] = []
        self._instances: dict[str, _Record] = {}
        self._start_keys: dict[tuple[str, str], str] = {}
        self._outbox: dict[str, _Told] = {}
        self._batching = False

    @property
    def url(self) -> str:
        return "memory:"

    @contextmanager
    def batch(self) -> Iterator[None]:
        """As the SQL stores' ``batch``: an exception leaving the block puts back what the store held
        when it began (each write inside is already whole or nothing on its own). Meant for one thread
        at a time, as this store is for tests and trials."""
        if self._batching:
            yield
            return
        with self._lock:
            before = (
                list(self._definitions),
                {i: _copied(r) for i, r in self._instances.items()},
                dict(self._start_keys),
                {i: _Told(t.row, replace(t.claim)) for i, t in self._outbox.items()},
            )
        self._batching = True
        try:
            yield
        except BaseException:
            with self._lock:
                self._definitions, self._instances, self._start_keys, self._outbox = before
            raise
        finally:
            self._batching = False

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
            if not any(
                d.ref.id == instance.process_id and d.ref.content_hash == instance.content_hash
                for d in self._definitions
            ):
                raise NotFound(
                    f"memory: holds no definition of process `{instance.process_id}` with content "
                    f"{instance.content_hash[:12]}; register it first"
                )
            if key is not None and (instance.process_id, key) in self._start_keys:
                return self._load(self._start_keys[(instance.process_id, key)])
            if instance.id in self._instances:
                raise DuplicateInstance(f"memory: already holds an instance `{instance.id}`")
            self._instances[instance.id] = _Record(
                _dumps(instance), digests=_digests(instance), work=work, pending=work is None
            )
            if key is not None:
                self._start_keys[(instance.process_id, key)] = instance.id
            self._tell(instance, 0)
        return instance

    def load(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._lock:
            return self._load(instance_id)

    def _load(self, instance_id: str) -> Instance:
        record = self._instances.get(instance_id)
        if record is None:
            raise NotFound(f"memory: holds no instance `{instance_id}`")
        return _read(instance_id, record.document)

    def save(self, instance: Instance, expected_version: int, work: CaseWork | None = None) -> None:
        if not expected_version < instance.version:
            raise ValueError("save() needs at least one new history entry")
        check_written(instance, expected_version)
        with self._lock:
            record = self._instances.get(instance.id)
            if record is None:
                raise NotFound(f"memory: holds no instance `{instance.id}`")
            # In the SQL stores' order: the version first (the row's update), then the keys (their rows).
            found = len(record.digests)  # one per entry written
            if found != expected_version:
                raise StaleVersion(
                    f"instance `{instance.id}` is at version {found}, not {expected_version}: "
                    "another writer moved it on since it was read",
                    expected=expected_version,
                    found=found,
                )
            new = list(enumerate(instance.history[expected_version:], start=expected_version))
            for _, entry in new:
                if entry.key is not None and entry.key in record.keys:
                    raise DuplicateKey(
                        f"instance `{instance.id}`: key `{entry.key}` is already recorded "
                        f"(entry {record.keys[entry.key]})",
                        instance_id=instance.id,
                        index=record.keys[entry.key],
                    )
            record.document = _dumps(instance)
            record.digests = record.digests + _digests(instance, expected_version)
            record.claims, record.set_aside = {}, None
            record.keys.update({e.key: i for i, e in new if e.key is not None})
            record.work, record.pending = work, work is None
            self._tell(instance, expected_version)

    def save_linked(
        self,
        saves: Sequence[tuple[Instance, int]],
        inserts: Sequence[Instance] = (),
        work: Mapping[str, CaseWork] | None = None,
    ) -> None:
        work = work or {}
        with self._lock:  # checked first, all of them, then written: nothing half-applied
            for child in inserts:
                check_written(child)
                if child.history[0].key is not None:
                    raise ValueError("save_linked() inserts instances started without a key")
                if not any(
                    d.ref.id == child.process_id and d.ref.content_hash == child.content_hash for d in self._definitions
                ):
                    raise NotFound(
                        f"memory: holds no definition of process `{child.process_id}` with content "
                        f"{child.content_hash[:12]}; register it first"
                    )
                if child.id in self._instances:
                    raise DuplicateInstance(f"memory: already holds an instance `{child.id}`")
            for instance, expected in saves:
                if not expected < instance.version:
                    raise ValueError("save_linked() needs at least one new history entry for each instance saved")
                check_written(instance, expected)
                record = self._instances.get(instance.id)
                if record is None:
                    raise NotFound(f"memory: holds no instance `{instance.id}`")
                if len(record.digests) != expected:
                    raise StaleVersion(
                        f"instance `{instance.id}` is at version {len(record.digests)}, not {expected}: "
                        "another writer moved it on since it was read",
                        expected=expected,
                        found=len(record.digests),
                    )
                for entry in instance.history[expected:]:
                    if entry.key is not None and entry.key in record.keys:
                        raise DuplicateKey(
                            f"instance `{instance.id}`: key `{entry.key}` is already recorded",
                            instance_id=instance.id,
                            index=record.keys[entry.key],
                        )
            # Each write below is what insert() and save() do once their checks have passed.
            for child in inserts:
                given = work.get(child.id)
                self._instances[child.id] = _Record(
                    _dumps(child), digests=_digests(child), work=given, pending=given is None
                )
                self._tell(child, 0)
            for instance, expected in saves:
                record = self._instances[instance.id]
                record.document = _dumps(instance)
                record.digests = record.digests + _digests(instance, expected)
                record.claims, record.set_aside = {}, None
                record.keys.update(
                    {e.key: i for i, e in enumerate(instance.history[expected:], start=expected) if e.key is not None}
                )
                record.work = work.get(instance.id)
                record.pending = record.work is None
                self._tell(instance, expected)

    def read_checked(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None:
                raise NotFound(f"memory: holds no instance `{instance_id}`")
            instance = _read(instance_id, record.document)
            start_keys = {k for k, i in self._start_keys.items() if i == instance_id}
            problems = []
            if record.document != _dumps(instance):
                problems.append("its record holds more or other than procflow writes")
            if record.digests != _digests(instance):
                problems.append("its entries are not the entries written (their digests differ)")
            if {(k, i) for k, i in record.keys.items()} != {
                (e.key, i) for i, e in enumerate(instance.history) if i > 0 and e.key is not None
            }:
                problems.append("the idempotency keys recorded differ from the keys of its entries")
            first = instance.history[0].key
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
            if record is None or key not in record.keys:
                return None
            index = record.keys[key]
            return index, _read(instance_id, record.document).history[index]

    def summaries(
        self,
        process_id: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary | Damaged]:
        with self._lock:
            read = [(i, self._readable(i, r.document)) for i, r in self._instances.items()]
            refs = {(d.ref.id, d.ref.content_hash): d.ref for d in self._definitions}
        listed: list[tuple[tuple[datetime.datetime, str], InstanceSummary | Damaged]] = []
        for instance_id, instance in read:
            if isinstance(instance, Damaged):  # nothing of it can be read, so no filter applies
                listed.append(((_EARLIEST, instance_id), instance))
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
            read = [self._readable(i, r.document) for i, r in self._instances.items()]
        counts: dict[tuple[str, str, str], int] = {}
        for instance in read:
            if isinstance(instance, Instance):
                key = (instance.process_id, instance.content_hash, instance.state)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def search(
        self, query: CaseQuery, *, after: tuple[datetime.datetime, str] | None = None, limit: int = 50
    ) -> list[Found]:
        check_query(query)
        with self._lock:
            read = [self._readable(i, r.document) for i, r in self._instances.items()]
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

    @staticmethod
    def _readable(instance_id: str, document: str) -> Instance | Damaged:
        try:
            return _read(instance_id, document)
        except DamagedRecord as exc:
            return Damaged(instance_id, str(exc))

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
            if record is None or (version is not None and len(record.digests) != version):
                return False
            record.work, record.pending = (work if version is not None else None), False
            return True

    def claim_due(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[DueDeadline | Damaged]:
        with self._lock:
            candidates, damaged = [], list[Damaged]()
            for instance_id, record in self._instances.items():
                if record.set_aside is not None:
                    continue
                instance = self._readable(instance_id, record.document)
                if isinstance(instance, Damaged):
                    record.set_aside, record.claims = instance.problem, {}
                    damaged.append(instance)
                    continue
                for position, deadline in enumerate(instance.deadlines):
                    claim = record.claims.setdefault(position, _Claim())
                    free = claim.until is None or claim.until <= now
                    if deadline.fire is not None and deadline.due <= now and claim.refused is None and free:
                        candidates.append((deadline.due, instance_id, position, deadline))
            chosen = sorted(candidates, key=lambda c: (c[0], c[1]))[: max(0, limit - len(damaged))]
            for _, instance_id, position, _ in chosen:
                self._instances[instance_id].claims[position] = _Claim(worker, now + lease)
            due: list[DueDeadline | Damaged] = [DueDeadline(i, d.state, d.due, d.fire or "") for _, i, _, d in chosen]
            return due + damaged[:limit]

    def set_aside(self, instance_id: str, reason: str) -> None:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is not None:
                record.set_aside, record.claims = reason, {}

    def mark_refused(self, instance_id: str, deadline: OpenDeadline, version: int, reason: str) -> None:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None:
                return
            instance = self._readable(instance_id, record.document)
            if isinstance(instance, Instance) and instance.version == version and deadline in instance.deadlines:
                record.claims[instance.deadlines.index(deadline)] = _Claim(refused=reason)

    def release(self, worker: str) -> None:
        with self._lock:
            for record in self._instances.values():
                for claim in record.claims.values():
                    if claim.worker == worker:
                        claim.worker = claim.until = None
            for told in self._outbox.values():
                if told.claim.worker == worker:
                    told.claim = _Claim()

    # --- the outbox ---

    def _tell(self, instance: Instance, first: int) -> None:
        """The outbox rows of the entries from ``first`` on, written with them (under the lock)."""
        now = datetime.datetime.now(datetime.UTC)
        for message in messages(instance, first):
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
                told.row = replace(told.row, state=PENDING, attempts=0, next_attempt=now)
            return len(dead)


_EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
"""Where a record that cannot be read is listed: first, as its start time cannot be read either."""


def _read(instance_id: str, document: str) -> Instance:
    try:
        return instance_from_json(json.loads(document))
    except (InstanceFormatError, ValueError, TypeError) as exc:
        raise DamagedRecord(
            f"memory: instance `{instance_id}` is held in a form procflow cannot read: {exc}", instance_id=instance_id
        ) from exc


def _copied(record: _Record) -> _Record:
    return replace(
        record,
        claims={p: replace(c) for p, c in record.claims.items()},
        keys=dict(record.keys),
        digests=list(record.digests),
    )


def _digests(instance: Instance, first: int = 0) -> list[str]:
    return [digest(instance.id, i, entry_text(e)) for i, e in enumerate(instance.history[first:], start=first)]


def _dumps(instance: Instance) -> str:
    return json.dumps(instance_to_json(instance), ensure_ascii=False, allow_nan=False)


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

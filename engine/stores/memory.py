"""A store held in a dict, for tests and trials: the same contract as the SQL stores, in one process.

Everything goes in and out as JSON, as it would through a database, so a caller can never change a
stored instance by holding on to an object.
"""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import dataclass, field

from engine.errors import DuplicateInstance, DuplicateKey, NotFound, StaleVersion
from engine.instances import Entry, Instance, OpenDeadline, entry_from_json, instance_from_json, instance_to_json
from engine.stores.base import (
    DEFAULT_LEASE,
    DueDeadline,
    InstanceSummary,
    NewDefinition,
    ProcessRef,
    StoredDefinition,
)


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


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._definitions: list[StoredDefinition] = []
        self._instances: dict[str, _Record] = {}
        self._start_keys: dict[tuple[str, str], str] = {}

    @property
    def url(self) -> str:
        return "memory:"

    def close(self) -> None:
        pass

    def add_definition(self, definition: NewDefinition) -> StoredDefinition:
        with self._lock:
            mine = [d for d in self._definitions if d.ref.id == definition.id]
            for stored in mine:
                if stored.ref.content_hash == definition.content_hash:
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

    def insert(self, instance: Instance) -> Instance:
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
            self._instances[instance.id] = _Record(_dumps(instance))
            if key is not None:
                self._start_keys[(instance.process_id, key)] = instance.id
        return instance

    def load(self, instance_id: str) -> Instance:
        with self._lock:
            return self._load(instance_id)

    def _load(self, instance_id: str) -> Instance:
        record = self._instances.get(instance_id)
        if record is None:
            raise NotFound(f"memory: holds no instance `{instance_id}`")
        return instance_from_json(json.loads(record.document))

    def save(self, instance: Instance, expected_version: int) -> None:
        if not expected_version < instance.version:
            raise ValueError("save() needs at least one new history entry")
        with self._lock:
            record = self._instances.get(instance.id)
            if record is None:
                raise NotFound(f"memory: holds no instance `{instance.id}`")
            new = list(enumerate(instance.history[expected_version:], start=expected_version))
            for _, entry in new:
                if entry.key is not None and entry.key in record.keys:
                    raise DuplicateKey(
                        f"instance `{instance.id}`: key `{entry.key}` is already recorded",
                        instance_id=instance.id,
                        index=record.keys[entry.key],
                    )
            found = len(json.loads(record.document)["history"])
            if found != expected_version:
                raise StaleVersion(
                    f"instance `{instance.id}` is at version {found}, not {expected_version}",
                    expected=expected_version,
                    found=found,
                )
            record.document = _dumps(instance)
            record.claims = {}
            record.keys.update({e.key: i for i, e in new if e.key is not None})

    def entry_for_key(self, instance_id: str, key: str) -> tuple[int, Entry] | None:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None or key not in record.keys:
                return None
            index = record.keys[key]
            return index, entry_from_json(json.loads(record.document)["history"][index])

    def summaries(
        self,
        process_id: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary]:
        with self._lock:
            instances = [instance_from_json(json.loads(r.document)) for r in self._instances.values()]
            refs = {(d.ref.id, d.ref.content_hash): d.ref for d in self._definitions}
        chosen = [
            InstanceSummary(
                i.id,
                refs[(i.process_id, i.content_hash)],
                i.state,
                i.data,
                i.entered_at,
                i.deadlines,
                i.version,
            )
            for i in instances
            if process_id in (None, i.process_id)
            and state in (None, i.state)
            and (overdue_at is None or i.overdue(overdue_at))
        ]
        starts = {i.id: i.history[0].at for i in instances}
        return sorted(chosen, key=lambda s: (starts[s.id], s.id))

    def claim_due(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[DueDeadline]:
        with self._lock:
            candidates = []
            for instance_id, record in self._instances.items():
                instance = instance_from_json(json.loads(record.document))
                for position, deadline in enumerate(instance.deadlines):
                    claim = record.claims.setdefault(position, _Claim())
                    free = claim.until is None or claim.until <= now
                    if deadline.fire is not None and deadline.due <= now and claim.refused is None and free:
                        candidates.append((deadline.due, instance_id, position, deadline))
            chosen = sorted(candidates, key=lambda c: (c[0], c[1]))[:limit]
            for _, instance_id, position, _ in chosen:
                self._instances[instance_id].claims[position] = _Claim(worker, now + lease)
            return [DueDeadline(i, d.state, d.due, d.fire or "") for _, i, _, d in chosen]

    def mark_refused(self, instance_id: str, deadline: OpenDeadline, version: int, reason: str) -> None:
        with self._lock:
            record = self._instances.get(instance_id)
            if record is None:
                return
            instance = instance_from_json(json.loads(record.document))
            if instance.version == version and deadline in instance.deadlines:
                record.claims[instance.deadlines.index(deadline)] = _Claim(refused=reason)

    def release(self, worker: str) -> None:
        with self._lock:
            for record in self._instances.values():
                for claim in record.claims.values():
                    if claim.worker == worker:
                        claim.worker = claim.until = None


def _dumps(instance: Instance) -> str:
    return json.dumps(instance_to_json(instance), ensure_ascii=False, allow_nan=False)

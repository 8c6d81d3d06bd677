"""``Workflows``: instances that outlive the process, kept in a store, moved by the runtime.

Each call reads what it needs from the store, lets the definition's ``Runtime`` check and apply the
event to that private copy, and writes the result back in one transaction that succeeds only if the
instance is still at the version read. When another writer got there first, the call reads again
and retries while the event is still allowed (``retries`` times, with a short random pause), and
otherwise raises ``EventConflict``; nothing is ever half-written. An event sent with an idempotency
key takes effect once: the same key again returns the entry it recorded.

Definitions are stored with their YAML text by process id and content hash; each distinct content
gets the next revision number of its process (the YAML's own ``version:`` is kept beside it, as
written). An instance names the content hash it started with and is always run on that definition,
whatever has been registered since. Compiled runtimes are cached per content hash.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.errors import (
    DuplicateKey,
    EventConflict,
    EventRefused,
    KeyReused,
    NotFound,
    ProcflowError,
    StaleVersion,
    StoreError,
)
from engine.inputs import json_object
from engine.instances import Entry, Instance, OpenDeadline
from engine.model import Process, thaw_json
from engine.processes import load_process, load_process_text
from engine.runtime import Actor, Choice, Runtime, utc_now
from engine.stores import DEFAULT_LEASE, InstanceSummary, NewDefinition, ProcessRef, Store, open_store

RETRIES = 5
"""How many times an event is tried against a moving instance before ``EventConflict``."""

_MAX_DEADLINE_STEPS = 1000
"""Bound on the deadline firings one worker does on one instance in one pass (a broken calendar guard)."""


@dataclass(frozen=True)
class Batch:
    """What one ``fire_due`` pass did."""

    claimed: int
    fired: int


class Workflows:
    """Start, fire and inspect stored instances; fire due deadlines as a worker.

    ``Workflows()`` opens ``$PROCFLOW_STORE``, else ``sqlite:///procflow.db``; pass a URL (or an open
    ``store``) to choose. ``clock`` gives the time of events sent without ``at``.
    """

    def __init__(
        self,
        store_url: str | None = None,
        *,
        store: Store | None = None,
        clock: Callable[[], datetime.datetime] = utc_now,
        retries: int = RETRIES,
    ):
        self.store: Store = store if store is not None else open_store(store_url)
        self._clock = clock
        self._retries = retries
        self._runtimes: dict[tuple[str, str], Runtime] = {}
        self._runtimes_lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workflows:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # --- definitions -----------------------------------------------------------------------------

    def register(self, source: str | Path | Process) -> ProcessRef:
        """Store a definition (a YAML file, or a loaded ``Process``) and return its reference.

        Each distinct content of a process is stored under the next revision (1, 2, 3...), whatever
        ``version:`` it declares; registering the same content again returns the revision it already
        has. Instances already started keep running on the definition they started with; ``start``
        by process id uses the highest revision.
        """
        process = source if isinstance(source, Process) else load_process(source)
        text, file = _source_text(process)
        stored = self.store.add_definition(
            NewDefinition(process.id, process.version, process.content_hash, text, file, utc_now())
        )
        with self._runtimes_lock:
            self._runtimes.setdefault((process.id, process.content_hash), Runtime(process, clock=self._clock))
        return stored.ref

    def latest(self, process_id: str) -> ProcessRef:
        """The highest stored revision of a process."""
        return self.store.definition(process_id).ref

    def ref_of(self, instance: Instance) -> ProcessRef:
        """The stored definition (revision, declared version, content hash) an instance runs on."""
        return self.store.definition(instance.process_id, instance.content_hash).ref

    def shares_version(self, ref: ProcessRef) -> ProcessRef | None:
        """The latest earlier revision of the process that declares the same ``version:`` as ``ref``,
        if any: a sign that a changed YAML kept its number."""
        earlier = [
            d.ref
            for d in self.store.definitions()
            if d.ref.id == ref.id and d.ref.version == ref.version and d.ref.revision < ref.revision
        ]
        return max(earlier, key=lambda r: r.revision, default=None)

    def runtime(self, process_id: str, content_hash: str) -> Runtime:
        """The runtime of one stored definition, compiled once per content hash."""
        with self._runtimes_lock:
            cached = self._runtimes.get((process_id, content_hash))
        if cached is not None:
            return cached
        stored = self.store.definition(process_id, content_hash)
        process = load_process_text(stored.source, stored.file)
        if process.content_hash != content_hash:
            raise StoreError(
                f"{self.store.url}: the stored text of `{process_id}` revision {stored.ref.revision} now reads as "
                f"content {process.content_hash[:12]}, not {content_hash[:12]}; this procflow reads definitions "
                "differently from the one that stored it"
            )
        runtime = Runtime(process, clock=self._clock)
        with self._runtimes_lock:
            return self._runtimes.setdefault((process_id, content_hash), runtime)

    # --- instances -------------------------------------------------------------------------------

    def start(
        self,
        process: str | ProcessRef,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        instance_id: str | None = None,
        at: datetime.datetime | None = None,
    ) -> Instance:
        """Start an instance of a registered process (its highest revision, or the one ``process``
        names) and store it. With ``key``, starting again with the same key returns the instance the
        first start made."""
        ref = process if isinstance(process, ProcessRef) else self.latest(process)
        runtime = self.runtime(ref.id, ref.content_hash)
        instance = runtime.start(actor, data, at=at, instance_id=instance_id or uuid.uuid4().hex, key=key)
        return self.store.insert(instance)

    def fire(
        self,
        instance_id: str,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        at: datetime.datetime | None = None,
    ) -> Entry:
        """Apply one event and store it; return its history entry.

        ``EventRefused`` (nothing written) when the runtime refuses it; ``EventConflict`` when other
        writers kept moving the instance on and it is no longer allowed, or kept winning the race;
        ``KeyReused`` when ``key`` already recorded a different event.
        """
        payload = json_object(payload or {}, "payload")  # within the limits before it is compared or stored
        for attempt in range(self._retries):
            instance = self.store.load(instance_id)
            runtime = self.runtime(instance.process_id, instance.content_hash)
            read = instance.version
            try:
                entry = runtime.fire(instance, trigger, actor, payload, at=at or self._now_after(instance), key=key)
            except EventRefused as refusal:
                # A key already recorded answers with its event, even one the instance has since moved past;
                # a key recorded for an event that is still allowed is caught by the store on writing.
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:
                    return _same_event(instance_id, key or "", recorded[1], trigger, payload)
                if attempt == 0:
                    raise
                raise EventConflict(
                    f"instance `{instance_id}` was moved on by other writers while `{trigger}` was being applied "
                    f"(it is now in `{instance.state}`, version {instance.version}) and the event is no longer "
                    f"allowed: {refusal}",
                    refusal=refusal,
                ) from refusal
            try:
                self.store.save(instance, read)
            except StaleVersion:
                _pause(attempt)
                continue
            except DuplicateKey as duplicate:
                recorded = self.store.entry_for_key(instance_id, key or "")
                if recorded is None:  # cannot happen: the key is only ever added
                    raise StoreError(f"{self.store.url}: key `{key}` reported but not found") from duplicate
                return _same_event(instance_id, key or "", recorded[1], trigger, payload)
            return entry
        raise EventConflict(
            f"instance `{instance_id}`: `{trigger}` lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    def get(self, instance_id: str) -> Instance:
        """The instance as stored, with its history; ``NotFound`` for an unknown id."""
        return self.store.load(instance_id)

    def history(self, instance_id: str) -> list[Entry]:
        return self.store.load(instance_id).history

    def available(self, instance_id: str, actor: Actor) -> tuple[Choice, ...]:
        """The triggers ``actor`` may fire on the instance now."""
        instance = self.store.load(instance_id)
        return self.runtime(instance.process_id, instance.content_hash).available(instance, actor)

    def verify(self, instance_id: str) -> None:
        """Replay the stored history on the instance's definition; ``ReplayMismatch`` if it differs."""
        instance = self.store.load(instance_id)
        self.runtime(instance.process_id, instance.content_hash).verify(instance)

    def list(
        self,
        process: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary]:
        """Instances (without histories), oldest first; ``overdue_at`` keeps those with a time limit or
        deadline passed by then."""
        return self.store.summaries(process, state, overdue_at)

    # --- timers ----------------------------------------------------------------------------------

    def fire_due(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> int:
        """Claim up to ``limit`` due deadlines and fire them, each at its own due time and each in its
        own transaction; return how many were fired. Several workers may run this at once: each due
        deadline fires exactly once."""
        return self.fire_due_batch(now, limit=limit, worker_id=worker_id, lease=lease).fired

    def fire_due_batch(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> Batch:
        now = now or self._clock()
        worker = worker_id or worker_name()
        claimed = self.store.claim_due(now, limit, worker, lease)
        fired = 0
        try:
            for instance_id in dict.fromkeys(d.instance_id for d in claimed):
                fired += self._fire_due_on(instance_id, now)
        finally:
            self.store.release(worker)
        return Batch(len(claimed), fired)

    def work(
        self,
        *,
        interval: float = 5.0,
        batch: int = 100,
        once: bool = False,
        stop: threading.Event | None = None,
        report: Callable[[Batch], None] | None = None,
        on_error: Callable[[StoreError], None] | None = None,
    ) -> int:
        """Fire due deadlines until ``stop`` is set (or, with ``once``, until none are due); return how
        many were fired. A full batch is followed at once by another; otherwise it waits ``interval``
        seconds. With ``on_error``, a store error (the database restarting, the network dropping) is
        passed to it and the worker carries on after ``interval``; otherwise it ends the loop."""
        stop = stop or threading.Event()
        worker, total = worker_name(), 0
        while not stop.is_set():
            try:
                done = self.fire_due_batch(limit=batch, worker_id=worker)
            except StoreError as error:
                if on_error is None or once:
                    raise
                on_error(error)
                stop.wait(interval)
                continue
            total += done.fired
            if report is not None:
                report(done)
            if done.claimed >= batch:
                continue
            if once:
                break
            stop.wait(interval)
        return total

    def _fire_due_on(self, instance_id: str, now: datetime.datetime) -> int:
        """Fire the instance's due deadlines earliest first, as ``Runtime.advance`` would, storing each."""
        fired, refused = 0, set[OpenDeadline]()
        for _ in range(_MAX_DEADLINE_STEPS):
            try:
                instance = self.store.load(instance_id)
            except NotFound:
                break
            due = [d for d in instance.deadlines if d.fire is not None and d.due <= now and d not in refused]
            if not due:
                break
            deadline = min(due, key=lambda d: d.due)
            read = instance.version
            try:
                self.runtime(instance.process_id, instance.content_hash).fire_deadline(instance, deadline)
            except EventRefused as refusal:
                refused.add(deadline)
                self.store.mark_refused(instance_id, deadline, read, str(refusal))
                continue
            try:
                self.store.save(instance, read)
            except StaleVersion:
                continue  # someone else moved it on: read it again and see what is still due
            fired += 1
        return fired

    def _now_after(self, instance: Instance) -> datetime.datetime:
        # Hosts' clocks differ a little; an event is never recorded before the one it follows.
        return max(self._clock(), instance.history[-1].at)


def worker_name() -> str:
    """A name for this worker in claims: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _source_text(process: Process) -> tuple[str, str]:
    """The YAML text to store for a loaded process: its file's text when that still holds the same
    content, else its content as JSON (which YAML reads too)."""
    try:
        text = Path(process.file).read_bytes().decode("utf-8-sig")
        if load_process_text(text, process.file).content_hash == process.content_hash:
            return text, process.file
    except (OSError, UnicodeDecodeError, ProcflowError):
        pass  # the file is gone or changed: store the content itself
    return json.dumps(thaw_json(process.document), ensure_ascii=False, indent=1), process.file


def _same_event(instance_id: str, key: str, recorded: Entry, trigger: str, payload: Mapping[str, Any] | None) -> Entry:
    try:
        sent = json.loads(json.dumps(dict(payload or {})))
    except (TypeError, ValueError):
        sent = None
    if recorded.trigger != trigger or recorded.payload != sent:
        raise KeyReused(
            f"instance `{instance_id}`: key `{key}` already recorded `{recorded.trigger}` with payload "
            f"{json.dumps(recorded.payload, ensure_ascii=False)}; a different event needs a new key"
        )
    return recorded


def _pause(attempt: int) -> None:
    """A short random wait before a retry, so writers that collided do not collide again in step."""
    time.sleep(random.uniform(0, 0.002 * 2**attempt))

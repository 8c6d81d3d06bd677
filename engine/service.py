"""``Workflows``: instances that outlive the process, kept in a store, moved by the runtime.

Each call reads what it needs from the store, lets the definition's ``Runtime`` check and apply the
event to that private copy, and writes the result back in one transaction that succeeds only if the
instance is still at the version read. When another writer got there first, the call reads again
and retries while the event is still allowed (``retries`` times, with a short random pause), and
otherwise raises ``EventConflict``; nothing is ever half-written. An event sent with an idempotency
key takes effect once: the same key again returns the entry it recorded, to the actor who sent it and
only if that actor may still send it (checked on the instance as it was before that event); another
actor's use of the key is ``KeyReused``, told nothing of what the key recorded.

Each write carries the case's work items (``Runtime.case_work``), which the store keeps in the same
transaction, so ``worklist`` answers from the store's indexes: every open step an actor may act on,
earliest due first, a page at a time by cursor. What each item offers is ``engine.work.offered`` on the
stored work, the function ``Runtime.available`` itself asks. ``claim``, ``release`` and ``assign``
are events like any other (history entries, replayed), with the rules of ``engine.work``.

Every write also carries the event's outbox rows (``engine.outbox``), in the same transaction: a worker
given an address book or a ``deliver`` callback (``deliver_due``, and ``work``) claims them with a
lease and delivers them (``engine.delivery``) at least once, retrying with backoff and dead-lettering
after the policy's limit.

Many events can share one transaction (``batch``, ``fire_many``): one commit, one flush to disk, for
all of them. The rule: each event is whole or nothing on its own (a savepoint each), and the batch is
committed when its block ends, or rolled back, every event of it, when an exception leaves the block.
``fire_many`` is all or nothing: the first event refused raises, and none of the batch is stored.
The worker (``fire_due_batch``, ``work``) fires each claimed batch of deadlines in one.

Damage is contained: a worker sets aside an instance it cannot read and fires the rest, and
``verify_store`` replays every stored instance and reports each one that does not match.

Definitions are stored with their YAML text by process id and content hash; each distinct content
gets the next revision number of its process (the YAML's own ``version:`` is kept beside it, as
written). An instance names the content hash it started with and is always run on that definition,
whatever has been registered since. Compiled runtimes are cached per content hash.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.changes import diff_processes
from engine.checks import check_children
from engine.clocks import ClockReport
from engine.delivery import AddressBook, Callback, Deliverer
from engine.errors import (
    DamagedRecord,
    DefinitionError,
    DuplicateKey,
    EventConflict,
    EventRefused,
    InvalidIdentifier,
    InvalidQuery,
    KeyReused,
    NotFound,
    ProcflowError,
    StaleVersion,
    StoreError,
    SubProcessRefused,
)
from engine.files import read_bounded
from engine.impact import Impact, impact
from engine.inputs import json_object
from engine.instances import Entry, Instance, Link, OpenDeadline, RecordVersion
from engine.loader import MAX_FILE_BYTES
from engine.migrating import CaseMigration, MigrationReport, migrate
from engine.migration import MigrationPlan, load_plan
from engine.model import Process, Text, thaw_json
from engine.outbox import DEAD, DELIVERED, PENDING, OutboxRow
from engine.processes import load_process, load_process_text
from engine.runtime import Actor, ChildStart, Choice, Runtime, Spawn, utc_now
from engine.stores import (
    DEFAULT_LEASE,
    NO_DUE,
    CaseQuery,
    Damaged,
    DueDeadline,
    InstanceSummary,
    JsonScalar,
    NewDefinition,
    ProcessRef,
    Store,
    open_store,
)
from engine.stores.identifiers import check_instance_id
from engine.work import CaseWork, ClockShown, Offer, offered

RETRIES = 5
"""How many times an event is tried against a moving instance before ``EventConflict``."""

_Children = list[Instance]
"""The child instances an event started, to be stored with it (``Workflows.list`` shadows the name)."""
_Saves = list[tuple[Instance, int]]
_Rows = list[OutboxRow]

_MAX_DEADLINE_STEPS = 1000
"""Bound on the deadline firings one worker does on one instance in one pass (a broken calendar guard)."""


@dataclass(frozen=True)
class Batch:
    """What one ``fire_due`` pass did."""

    claimed: int
    fired: int
    set_aside: tuple[Damaged, ...] = ()
    """Instances whose deadlines could not be read or fired because their record is damaged: no worker
    claims them again until they are next written."""
    deliveries: Deliveries | None = None
    """What the same pass delivered from the outbox, when the worker delivers."""


@dataclass(frozen=True)
class Deliveries:
    """What one ``deliver_due`` pass did with the outbox rows it claimed."""

    claimed: int
    delivered: tuple[str, ...] = ()
    retried: tuple[OutboxRow, ...] = ()
    """Rows that failed this time and will be tried again (``last_error`` says why)."""
    dead: tuple[OutboxRow, ...] = ()
    """Rows that failed for the last time the policy allows: dead-lettered."""


@dataclass(frozen=True)
class Event:
    """One event of ``Workflows.fire_many``: what ``fire`` is given."""

    instance_id: str
    trigger: str
    actor: Actor
    payload: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    at: datetime.datetime | None = None


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
        addresses: AddressBook | None = None,
        deliver: Callback | None = None,
    ):
        """``addresses`` and ``deliver`` make ``work`` deliver the outbox too: to the address book's
        webhooks and addresses, and to ``deliver`` (called with each ``OutboxRow``; raising means retry)."""
        self.store: Store = store if store is not None else open_store(store_url)
        self._deliverer = Deliverer(addresses, deliver) if addresses is not None or deliver is not None else None
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

    def register(self, source: str | Path | Process, *, text: str | None = None) -> ProcessRef:
        """Store a definition (a YAML file, or a loaded ``Process``) and return its reference.

        Each distinct content of a process is stored under the next revision (1, 2, 3...), whatever
        ``version:`` it declares; registering the same content again returns the revision it already
        has. Instances already started keep running on the definition they started with; ``start``
        by process id uses the highest revision. ``text``: the YAML a ``Process`` was read from when it
        has no file (the Studio's draft), stored as written when it holds that very content.
        """
        process = source if isinstance(source, Process) else load_process(source)
        self._check_children(process)
        given = text is not None and load_process_text(text, process.file).content_hash == process.content_hash
        text, file = (text, process.file) if given and text is not None else _source_text(process)
        stored = self.store.add_definition(
            NewDefinition(process.id, process.version, process.content_hash, text, file, utc_now())
        )
        process = _as_stored(process, stored.ref.content_hash)
        with self._runtimes_lock:
            self._runtimes.setdefault((process.id, process.content_hash), Runtime(process, clock=self._clock))
        return stored.ref

    def _check_children(self, process: Process) -> None:
        """The procedures its steps start must be registered, and fit how the steps use them."""
        named = {s.starts.process for s in process.states.values() if s.starts is not None}
        children: dict[str, Process | None] = {}
        for process_id in sorted(named):
            try:
                ref = self.latest(process_id)
            except NotFound:
                children[process_id] = None
                continue
            children[process_id] = self.runtime(ref.id, ref.content_hash).process
        if named:
            for definition in self.store.definitions():  # for "did you mean"
                children.setdefault(definition.ref.id, None)
        problems = check_children(process, {k: v for k, v in children.items() if k in named or v is None})
        if problems:
            raise DefinitionError(problems)

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
        stored = self.store.definition(process_id, content_hash)  # its text checked against its digest
        process = _as_stored(load_process_text(stored.source, stored.file), content_hash)
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
        first start made, to the same actor, if that actor may still start it and sends the same data
        (and the same ``instance_id``, if one is given); otherwise ``KeyReused`` (or ``PermissionDenied``)."""
        if instance_id is not None:
            check_instance_id(instance_id)  # here, as the runtime would take an empty one for "choose one"
        ref = process if isinstance(process, ProcessRef) else self.latest(process)
        runtime = self.runtime(ref.id, ref.content_hash)
        instance = runtime.start(
            actor, data, at=at, instance_id=uuid.uuid4().hex if instance_id is None else instance_id, key=key
        )
        stored = self.store.insert(instance, runtime.case_work(instance))
        if stored is not instance:
            self._same_start(stored, key or "", actor, instance, instance_id)
        return stored

    def _same_start(self, stored: Instance, key: str, actor: Actor, sent: Instance, instance_id: str | None) -> None:
        """Refuse a start that names a key already used, unless it is the very start that used it."""
        first = stored.history[0]
        if first.actor != actor.id:
            raise KeyReused(_someone_elses(key, f"start an instance of `{stored.process_id}`"))
        # Checked as a new start of the stored instance's own definition would be (its roles, its data).
        again = self.runtime(stored.process_id, stored.content_hash).start(
            actor, sent.history[0].payload, at=first.at, instance_id=stored.id, key=key
        )
        if instance_id is not None and instance_id != stored.id:
            raise KeyReused(
                f"key `{key}` already started instance `{stored.id}`; starting `{instance_id}` needs a new key"
            )
        if again.history[0].payload != first.payload:
            raise KeyReused(
                f"key `{key}` already started instance `{stored.id}` with data "
                f"{json.dumps(first.payload, ensure_ascii=False)}; other data needs a new key"
            )

    def fire(
        self,
        instance_id: str,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        at: datetime.datetime | None = None,
        if_version: int | None = None,
    ) -> Entry:
        """Apply one event and store it; return its history entry.

        ``EventRefused`` (nothing written) when the runtime refuses it; ``EventConflict`` when other
        writers kept moving the instance on and it is no longer allowed, or kept winning the race;
        ``KeyReused`` when ``key`` already recorded a different event. With ``if_version`` the event
        is applied only to the instance at that version (an HTTP ``If-Match``), never retried on a
        newer one: ``StaleVersion`` otherwise, unless ``key`` recorded this very event already.
        """
        return self.fire_and_get(instance_id, trigger, actor, payload, key=key, at=at, if_version=if_version)[0]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every event this thread stores inside the block shares one transaction, committed when the
        block ends. An event refused or lost to another writer raises as outside a batch and writes
        nothing; the events before and after it are still committed if the caller carries on. An
        exception that leaves the block rolls back every event of the batch. The store is held by this
        thread until the block ends; keep batches short (tens of events, not thousands)."""
        with self.store.batch():
            yield

    def fire_many(self, events: Iterable[Event]) -> list[Entry]:
        """Fire ``events`` in order in one transaction (``batch``); their entries. All or nothing: the
        first that cannot be stored raises, noted with its place in the batch, and none is stored."""
        entries: list[Entry] = []
        with self.batch():
            for index, event in enumerate(events):
                try:
                    entries.append(
                        self.fire(
                            event.instance_id, event.trigger, event.actor, event.payload, key=event.key, at=event.at
                        )
                    )
                except ProcflowError as error:
                    error.add_note(
                        f"event {index} of the batch (on `{event.instance_id}`): none of the batch was stored"
                    )
                    raise
        return entries

    def fire_and_get(
        self,
        instance_id: str,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        at: datetime.datetime | None = None,
        if_version: int | None = None,
        process: str | None = None,
    ) -> tuple[Entry, Instance]:
        """``fire``, and the instance as the event left it in the store (read again only when ``key``
        had recorded the event already): what an HTTP reply shows, without a second read. With
        ``process``, an instance of another process is ``NotFound`` (nothing written): the HTTP route
        names the process, and this checks it on the one read the event needs."""
        payload = json_object(payload or {}, "payload")  # within the limits before it is compared or stored
        for attempt in range(self._retries):
            instance, runtime = self._read(instance_id)
            if process is not None and instance.process_id != process:
                raise NotFound(f"`{process}` has no case `{instance.id}` (it is a case of `{instance.process_id}`)")
            read = instance.version
            if if_version is not None and read != if_version:
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:
                    return self._same_event(instance, key or "", recorded, trigger, actor, payload), self.get(
                        instance_id
                    )
                raise StaleVersion(
                    f"instance `{instance_id}` is at version {read}, not {if_version}: read it again and decide "
                    "whether the event still applies",
                    expected=if_version,
                    found=read,
                )
            children: list[Instance] = []
            try:
                entry = runtime.fire(
                    instance,
                    trigger,
                    actor,
                    payload,
                    at=at or self._now_after(instance),
                    key=key,
                    spawn=self._spawner(children),
                )
                parents = self._parents_moved_on(instance, runtime, children)
            except EventRefused as refusal:
                # A key already recorded answers with its event, even one the instance has since moved past;
                # a key recorded for an event that is still allowed is caught by the store on writing.
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:
                    return self._same_event(instance, key or "", recorded, trigger, actor, payload), self.get(
                        instance_id
                    )
                if attempt == 0:
                    raise
                raise EventConflict(
                    f"instance `{instance_id}` was moved on by other writers while `{trigger}` was being applied "
                    f"(it is now in `{instance.state}`, version {instance.version}) and the event is no longer "
                    f"allowed: {refusal}",
                    refusal=refusal,
                ) from refusal
            try:
                self._write(instance, read, parents, children)
            except StaleVersion:
                # A resent key whose event another writer already stored has nothing left to race for.
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:  # judged on the history as stored, which holds the recorded event
                    stored = self._read(instance_id)[0]
                    return self._same_event(stored, key or "", recorded, trigger, actor, payload), self.get(instance_id)
                _pause(attempt)
                continue
            except DuplicateKey as duplicate:
                recorded = self.store.entry_for_key(instance_id, key or "")
                if recorded is None:  # cannot happen: the key is only ever added
                    raise StoreError(f"{self.store.url}: key `{key}` reported but not found") from duplicate
                return self._same_event(instance, key or "", recorded, trigger, actor, payload), self.get(instance_id)
            return entry, instance
        raise EventConflict(
            f"instance `{instance_id}`: `{trigger}` lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    def move(
        self, instance_id: str, to: str, actor: Actor, reason: str, *, at: datetime.datetime | None = None
    ) -> Entry:
        """An administrator's correction, stored: the case put in step ``to`` by hand, with the reason
        (``Runtime.move`` says what is refused). Written as an event is, conditional on the version
        read; a child moved to its end moves its parent on, in the same transaction."""
        for attempt in range(self._retries):
            instance, runtime = self._read(instance_id)
            read = instance.version
            try:
                entry = runtime.move(instance, to, actor, reason, at=at or self._now_after(instance))
                parents = self._parents_moved_on(instance, runtime, [])
            except EventRefused as refusal:
                if attempt == 0:
                    raise
                raise EventConflict(
                    f"instance `{instance_id}` was moved on by other writers while it was being moved to `{to}` "
                    f"and the move is no longer allowed: {refusal}",
                    refusal=refusal,
                ) from refusal
            try:
                self._write(instance, read, parents, [])
            except StaleVersion:
                _pause(attempt)
                continue
            return entry
        raise EventConflict(
            f"instance `{instance_id}`: the move to `{to}` lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    # --- claims --------------------------------------------------------------------------------------

    def claim(self, instance_id: str, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """Take the instance's current step (``Runtime.claim``), recorded in its history; ``ClaimRefused``
        (nothing written) when it may not be taken."""
        return self._hold(instance_id, lambda i, r, m: r.claim(i, actor, at=m), at)

    def release(self, instance_id: str, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """Give the current step back (``Runtime.release``): its holder, or a supervisor."""
        return self._hold(instance_id, lambda i, r, m: r.release(i, actor, at=m), at)

    def assign(self, instance_id: str, to: Actor, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """A supervisor gives the current step to ``to`` (``Runtime.assign``)."""
        return self._hold(instance_id, lambda i, r, m: r.assign(i, to, actor, at=m), at)

    def _hold(
        self,
        instance_id: str,
        change: Callable[[Instance, Runtime, datetime.datetime], Entry],
        at: datetime.datetime | None,
    ) -> Entry:
        for attempt in range(self._retries):
            instance, runtime = self._read(instance_id)
            read = instance.version
            entry = change(instance, runtime, at or self._now_after(instance))
            try:
                self._write(instance, read, [], [])
            except StaleVersion:
                _pause(attempt)
                continue
            return entry
        raise EventConflict(
            f"instance `{instance_id}`: the claim lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    # --- the worklist ----------------------------------------------------------------------------

    def worklist(
        self,
        actor: Actor,
        *,
        process: str | None = None,
        role: str | None = None,
        overdue: bool = False,
        limit: int = 50,
        after: str | None = None,
        at: datetime.datetime | None = None,
    ) -> Worklist:
        """Every open step of every stored case that ``actor`` may act on, earliest due first (cases with
        no due time last), ``limit`` at a time: pass the page's ``next`` as ``after`` for the following
        one. Each item's offers are what ``available`` gives the actor (none on a step someone else holds,
        but for its parts and signatures ahead); a step they may act on once it is released is listed too,
        with its holder. ``process`` and ``role`` (one of the actor's) narrow it; ``overdue`` keeps the
        steps due by ``at`` (default: now). ``InvalidQuery`` for a role the actor does not hold or a
        cursor this method did not give."""
        if role is not None and role not in actor.roles:
            raise InvalidQuery(
                f"`{actor.id}` does not hold role `{role}` (roles: {', '.join(sorted(actor.roles)) or 'none'})"
            )
        if limit < 1:
            raise InvalidQuery(f"a page holds at least one item, not {limit}")
        roles = sorted(actor.roles if role is None else {role})
        now = self._clock() if at is None else at
        position = _read_cursor(after)
        self.fill_work()
        items: list[WorkItem] = []
        damaged: list[Damaged] = []
        while len(items) <= limit:
            page = self.store.worklist(
                roles, process_id=process, due_by=now if overdue else None, after=position, limit=limit + 1
            )
            for case in page:
                if isinstance(case, Damaged):
                    damaged.append(case)
                    continue
                position = (case.due or NO_DUE, case.instance_id)
                item = _item(case, actor, now)
                if item is not None:
                    items.append(item)
            if len(page) < limit + 1 or not page:
                break
        more = len(items) > limit
        items = items[:limit]
        return Worklist(tuple(items), items[-1].cursor if more else None, tuple(damaged))

    def fill_work(self, batch: int = 500) -> int:
        """Work out the work items of every stored case still waiting for them (written by a procflow
        before the worklist, or saved by a caller that gave none), each written only if the case has not
        moved on meanwhile; return how many. ``worklist`` calls it first: after an upgrade, the first
        worklist pays for the store's cases once."""
        filled = 0
        while True:
            pending = self.store.work_pending(batch)
            progress = False
            for instance_id in pending:
                try:
                    instance, runtime = self._read(instance_id)
                    work = runtime.case_work(instance)
                except (DamagedRecord, NotFound):  # verify reports it; the worklist leaves it out
                    progress |= self.store.write_work(instance_id, None, None)
                    continue
                if self.store.write_work(instance_id, instance.version, work):
                    filled += 1
                    progress = True
            if not pending or not progress:
                return filled

    def _work_of(self, instance: Instance) -> CaseWork | None:
        """The instance's work items to store with it; ``None`` (to be worked out later) if they cannot be."""
        try:
            return self.runtime(instance.process_id, instance.content_hash).case_work(instance)
        except ProcflowError:
            return None

    # --- changing definitions under running cases -----------------------------------------------

    def impact(self, old: Process, new: Process) -> Impact:
        """The open cases of ``old`` (a stored revision, found by its content) that changing it into
        ``new`` touches, grouped by how (``engine.impact``). None when the store does not hold ``old``."""
        cases = []
        for item in self.store.summaries(old.id):
            if isinstance(item, InstanceSummary) and item.process.content_hash == old.content_hash:
                cases.append(self.store.load(item.id))
        return impact(old, new, diff_processes(old, new), cases)

    def migrate(
        self,
        plan: MigrationPlan | str | Path,
        actor: Actor,
        *,
        dry_run: bool = False,
        at: datetime.datetime | None = None,
        progress: Callable[[CaseMigration], None] | None = None,
    ) -> MigrationReport:
        """Move the open cases a migration plan selects onto its new revision (``engine.migrating``):
        every case checked first, then each written in its own conditional transaction, recorded as a
        migration entry; with ``dry_run`` nothing is written. ``PlanError`` (nothing changed) for a plan
        that cannot be used: its YAML, its shape, a revision the store does not hold, steps or fields the
        revisions do not have, a new required field without a value. ``progress`` is told of each case
        as soon as it is done (written, or checked in a dry run)."""
        loaded = plan if isinstance(plan, MigrationPlan) else load_plan(plan)
        return migrate(
            loaded,
            actor,
            self.store,
            self.runtime,
            dry_run=dry_run,
            now=lambda instance: at or self._now_after(instance),
            retries=self._retries,
            progress=progress,
        )

    def get(self, instance_id: str) -> Instance:
        """The instance as stored, with its history; ``NotFound`` for an unknown id."""
        return self._read(instance_id)[0]

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

    def verify(self, instance_id: str) -> None:
        """Replay the stored history on the instance's definition; ``ReplayMismatch`` if it differs. A
        migrated case is replayed revision by revision (``replay``)."""
        instance, runtime = self._read(instance_id)
        runtime.check_replayed(instance, self.replay(instance))

    def replay(
        self,
        instance: Instance,
        upto: int | None = None,
        runtime_of: Callable[[str, str], Runtime] | None = None,
    ) -> Instance:
        """The instance its stored history (its first ``upto`` entries) produces, each part replayed on
        the revision it ran on: up to the first migration entry on the revision that entry moved from,
        then each migration on the runtime of the revision it moved to, which replays on from the
        migrated state up to the next one. ``ReplayMismatch`` when any part differs from the record."""
        history = instance.history[:upto]
        runtime_of = runtime_of or self.runtime
        first = next((e.migration for e in instance.history if e.migration is not None), None)
        runtime = runtime_of(instance.process_id, instance.content_hash if first is None else first.source.content_hash)
        replayed = runtime.replay(history, instance_id=instance.id)
        while len(replayed.history) < len(history):
            migration = history[len(replayed.history)].migration
            assert migration is not None  # a replay stops early only at a migration entry
            runtime = runtime_of(instance.process_id, migration.target.content_hash)
            replayed = runtime.replay_migration(replayed, history)
        return replayed

    def _read(self, instance_id: str) -> tuple[Instance, Runtime]:
        """The stored instance and its definition's runtime; ``DamagedRecord`` if the instance names a
        state or deadline its definition does not have (the runtime would not know where it is)."""
        return self._with_runtime(self.store.load(instance_id))

    def _with_runtime(self, instance: Instance) -> tuple[Instance, Runtime]:
        runtime = self.runtime(instance.process_id, instance.content_hash)
        states = runtime.process.states
        unknown = [s for s in (instance.state, *(d.state for d in instance.deadlines)) if s not in states]
        clocks = runtime.process.clocks
        unknown += [f"{d.clock}` (a clock" for d in instance.deadlines if d.clock is not None and d.clock not in clocks]
        if unknown:
            raise DamagedRecord(
                f"{self.store.url}: instance `{instance.id}` is stored in state `{unknown[0]}`, which "
                f"`{instance.process_id}` revision {self.ref_of(instance).revision} does not have",
                instance_id=instance.id,
            )
        return instance, runtime

    def verify_store(self, instance_ids: Iterable[str] | None = None) -> Verified:
        """Check every stored instance (or those named), each on its own, reporting every damaged one:
        it is read afresh with the store's own checks (``Store.read_checked``); the stored text of the
        definition revision it runs on must be the text registered (its SHA-256) and declare the
        version recorded; and replaying its history there must give its state, data and deadlines.
        Without ids every stored definition is checked too, used or not. Nothing is written."""
        runtimes: dict[tuple[str, str], Runtime] = {}
        definitions: list[str] = []
        named = instance_ids is not None
        if instance_ids is None:
            definitions = self._damaged_definitions(runtimes)
            listed = self.store.summaries()
            instance_ids = [item.id if isinstance(item, InstanceSummary) else item.instance_id for item in listed]
        checked, damaged, missing = 0, list[Damaged](), list[str]()
        for instance_id in instance_ids:
            try:
                self._verify_one(instance_id, runtimes)
            except NotFound:
                if named:  # a mistyped id is the caller's mistake, not damage in the store
                    missing.append(instance_id)
                    continue
                damaged.append(Damaged(instance_id, "listed, but cannot be read"))
            except ProcflowError as damage:
                _reraise_unless_damage(damage)
                damaged.append(Damaged(instance_id, str(damage)))
            checked += 1
        return Verified(checked, tuple(damaged), tuple(definitions), tuple(missing))

    def _verify_one(self, instance_id: str, runtimes: dict[tuple[str, str], Runtime]) -> None:
        """``NotFound`` only when there is no such instance; any damage as another ``ProcflowError``."""
        instance = self.store.read_checked(instance_id)
        try:
            runtime = self._checked_runtime(instance.process_id, instance.content_hash, runtimes)
        except NotFound as missing:
            raise DamagedRecord(str(missing), instance_id=instance_id) from missing
        if runtime.process.version != instance.process_version:
            raise DamagedRecord(
                f"instance `{instance_id}` records version {instance.process_version} of "
                f"`{instance.process_id}`, but the definition it runs on declares {runtime.process.version}",
                instance_id=instance_id,
            )
        runtime.check_replayed(
            instance, self.replay(instance, runtime_of=lambda p, h: self._checked_runtime(p, h, runtimes))
        )

    def _damaged_definitions(self, runtimes: dict[tuple[str, str], Runtime]) -> list[str]:
        """What is wrong with each stored definition: unreadable, its text changed, declaring another
        process or version, or revisions of a process not numbered 1, 2, 3..."""
        try:
            stored = self.store.definitions()
        except DamagedRecord as damage:
            return [str(damage)]
        numbered: dict[str, list[int]] = {}
        for definition in stored:
            numbered.setdefault(definition.ref.id, []).append(definition.ref.revision)
        found = [
            f"{self.store.url}: the definitions of `{process_id}` are numbered {sorted(revisions)}, "
            f"not 1 to {len(revisions)}"
            for process_id, revisions in numbered.items()
            if sorted(revisions) != list(range(1, len(revisions) + 1))
        ]
        for definition in stored:
            try:
                self._checked_runtime(definition.ref.id, definition.ref.content_hash, runtimes)
            except ProcflowError as damage:
                _reraise_unless_damage(damage)
                found.append(str(damage))
        return found

    def _checked_runtime(self, process_id: str, content_hash: str, runtimes: dict[tuple[str, str], Runtime]) -> Runtime:
        """A runtime of the definition as its stored text reads now (never one remembered from ``register``)."""
        known = runtimes.get((process_id, content_hash))
        if known is not None:
            return known
        stored = self.store.definition(process_id, content_hash)
        where = f"{self.store.url}: the definition of `{process_id}` revision {stored.ref.revision}"
        try:
            process = load_process_text(stored.source, stored.file)
        except DefinitionError as exc:
            raise DamagedRecord(f"{where} no longer reads as a valid definition: {exc}") from exc
        if (process.id, process.version) != (process_id, stored.ref.version):
            raise DamagedRecord(
                f"{where} is stored as version {stored.ref.version}, but its text reads "
                f"as `{process.id}` version {process.version}"
            )
        runtimes[(process_id, content_hash)] = runtime = Runtime(_as_stored(process, content_hash), clock=self._clock)
        return runtime

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
        rows = self.store.search(query, after=_read_cursor(after, "search"), limit=limit + 1)
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
        return Cases(cases, _cursor(shown[-1].started_at, last_id), damaged, started)

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

    # --- timers ----------------------------------------------------------------------------------

    def fire_due(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> int:
        """Claim up to ``limit`` due deadlines and fire them, each at its own due time, all in one
        transaction (``batch``); return how many were fired. Several workers may run this at once: each due
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
        fired, set_aside = 0, [c for c in claimed if isinstance(c, Damaged)]
        try:
            with self.batch():  # one commit for the claimed batch: should it fail, none fired, all claimable again
                for instance_id in dict.fromkeys(c.instance_id for c in claimed if isinstance(c, DueDeadline)):
                    try:
                        fired += self._fire_due_on(instance_id, now)
                    except (DamagedRecord, NotFound) as damage:  # NotFound: the definition it names is gone
                        self.store.set_aside(instance_id, str(damage))
                        set_aside.append(Damaged(instance_id, str(damage)))
        finally:
            self.store.release(worker)
        return Batch(len(claimed), fired, tuple(set_aside))

    # --- the outbox --------------------------------------------------------------------------------

    @property
    def delivers(self) -> bool:
        """Whether this ``Workflows`` was given somewhere to deliver the outbox (``addresses``, ``deliver``)."""
        return self._deliverer is not None

    def deliver_due(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> Deliveries:
        """Claim up to ``limit`` outbox rows due for an attempt and deliver each to its targets. ``now``
        is the wall clock (not the ``clock`` events are stamped with): retries wait real time. A row
        whose every target took it is delivered; otherwise it is tried again after the policy's backoff,
        or dead-lettered once its attempts are spent. A worker killed mid-delivery leaves its rows
        claimed until ``lease`` runs out, then another delivers them again, with the same delivery id."""
        if self._deliverer is None:
            return Deliveries(0)
        now = now or datetime.datetime.now(datetime.UTC)
        worker = worker_id or worker_name()
        rows = self.store.claim_outbox(now, limit, worker, lease)
        delivered, retried, dead = list[str](), _Rows(), _Rows()
        policy = self._deliverer.retry
        try:
            for row in rows:
                attempt = self._deliverer.attempt(row)
                if not attempt.errors:
                    self.store.record_delivery(
                        row.message.id,
                        state=DELIVERED,
                        attempts=row.attempts + 1,
                        next_attempt=row.next_attempt,
                        sent_to=attempt.sent_to,
                        error=None,
                        now=now,
                    )
                    delivered.append(row.message.id)
                    continue
                failures = row.attempts + 1
                state = DEAD if policy.gives_up(failures) else PENDING
                after = row.next_attempt if state == DEAD else now + policy.delay(failures)
                error = "; ".join(attempt.errors)
                self.store.record_delivery(
                    row.message.id,
                    state=state,
                    attempts=failures,
                    next_attempt=after,
                    sent_to=attempt.sent_to,
                    error=error,
                    now=now,
                )
                failed = replace(
                    row, attempts=failures, next_attempt=after, state=state, sent_to=attempt.sent_to, last_error=error
                )
                (dead if state == DEAD else retried).append(failed)
        finally:
            self.store.release(worker)
        return Deliveries(len(rows), tuple(delivered), tuple(retried), tuple(dead))

    def outbox(self, *, dead: bool = False, state: str | None = None, limit: int = 100) -> _Rows:
        """The outbox rows, oldest first: every one, those in ``state``, or (``dead``) the dead letters."""
        return self.store.outbox(DEAD if dead else state, limit)

    def retry_dead(self, delivery_ids: Iterable[str] = ()) -> int:
        """Put dead letters (those named, or all) back in the outbox, due now, attempts counted afresh."""
        return self.store.retry_dead(tuple(delivery_ids), now=datetime.datetime.now(datetime.UTC))

    def work(
        self,
        *,
        interval: float = 5.0,
        batch: int = 100,
        once: bool = False,
        stop: threading.Event | None = None,
        report: Callable[[Batch], None] | None = None,
        on_error: Callable[[StoreError], None] | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> int:
        """Fire due deadlines, and deliver due outbox rows when given somewhere to deliver them, until
        ``stop`` is set (or, with ``once``, until none are due); return how many deadlines were fired. A
        full batch is followed at once by another; otherwise it waits ``interval`` seconds. With
        ``on_error``, a store error (the database restarting, the network dropping) is
        passed to it and the worker carries on after ``interval``; otherwise it ends the loop."""
        stop = stop or threading.Event()
        worker, total = worker_name(), 0
        while not stop.is_set():
            try:
                done = self.fire_due_batch(limit=batch, worker_id=worker, lease=lease)
                if self._deliverer is not None:
                    done = replace(done, deliveries=self.deliver_due(limit=batch, worker_id=worker, lease=lease))
            except StoreError as error:
                if on_error is None or once:
                    raise
                on_error(error)
                stop.wait(interval)
                continue
            total += done.fired
            if report is not None:
                report(done)
            if done.claimed >= batch or (done.deliveries is not None and done.deliveries.claimed >= batch):
                continue
            if once:
                break
            stop.wait(interval)
        return total

    def _fire_due_on(self, instance_id: str, now: datetime.datetime) -> int:
        """Fire the instance's due deadlines earliest first, as ``Runtime.advance`` would, storing each.
        ``DamagedRecord`` (or ``NotFound`` for its definition) when it cannot be read."""
        fired, refused = 0, set[OpenDeadline]()
        for _ in range(_MAX_DEADLINE_STEPS):
            try:
                stored = self.store.load(instance_id)
            except NotFound:
                break  # the instance itself is gone
            instance, runtime = self._with_runtime(stored)
            deadline = runtime.next_due(instance, now, refused)
            if deadline is None:
                break
            read = instance.version
            children: list[Instance] = []
            try:
                runtime.fire_deadline(instance, deadline, spawn=self._spawner(children))
                parents = self._parents_moved_on(instance, runtime, children)
            except EventRefused as refusal:
                refused.add(deadline)
                self.store.mark_refused(instance_id, deadline, read, str(refusal))
                continue
            try:
                self._write(instance, read, parents, children)
            except StaleVersion:
                continue  # someone else moved it on: read it again and see what is still due
            fired += 1
        return fired

    # --- sub-procedures ----------------------------------------------------------------------------

    def children(self, instance_id: str) -> tuple[Link, ...]:
        """The instances the stored instance's steps started, oldest first: each child's id, process
        and the step here that started it (read from the history, which keeps the links)."""
        return tuple(e.child for e in self.history(instance_id) if e.child is not None)

    def parent(self, instance_id: str) -> Link | None:
        """The instance and step that started this one, if a step of another procedure did."""
        return self.history(instance_id)[0].parent

    def _spawner(self, children: _Children) -> Spawn:
        """The hook a runtime calls to start a child procedure: the child is started (and checked) on
        its latest registered definition and kept in ``children``, to be stored with the parent."""

        def spawn(request: ChildStart) -> str:
            try:
                ref = self.latest(request.process)
            except NotFound as missing:
                raise SubProcessRefused(
                    f"`{request.process}` is not registered in {self.store.url}; register it first"
                ) from missing
            runtime = self.runtime(ref.id, ref.content_hash)
            start = runtime.process.start
            role = request.role if request.role is not None else start.role if start is not None else None
            child = runtime.start(
                Actor(request.actor, () if role is None else (role,)),
                request.data,
                at=request.at,
                instance_id=uuid.uuid4().hex,
                parent=request.parent,
            )
            children.append(child)
            return child.id

        return spawn

    def _parents_moved_on(self, instance: Instance, runtime: Runtime, children: _Children) -> _Saves:
        """When the event ended an instance that a step of another started, that step's continuation
        fired on the parent (and so on up, if that ends the parent too), as ``(parent, version read)``.
        A parent that no longer waits for it is left alone; a continuation refused refuses the event."""
        moved: _Saves = []
        current, current_runtime = instance, runtime
        for _ in range(100):  # a chain of parents is short; the bound only guards a damaged store
            link = current.history[0].parent
            if link is None or not current_runtime.process.states[current.state].is_final:
                break
            parent, parent_runtime = self._read(link.instance)
            read = parent.version
            ended = Link(current.id, current.process_id, current.state)
            try:
                entry = parent_runtime.child_ended(
                    parent,
                    ended,
                    parent_runtime.returns_of(parent.state, current.data),
                    at=max(current.history[-1].at, parent.history[-1].at),
                    spawn=self._spawner(children),
                )
            except EventRefused as refusal:
                raise SubProcessRefused(
                    f"instance `{current.id}` would end in `{current.state}`, but its parent `{parent.id}` cannot "
                    f"go on from step `{parent.state}`: {refusal}",
                    refusal=refusal,
                ) from refusal
            if entry is None:
                break
            moved.append((parent, read))
            current, current_runtime = parent, parent_runtime
        return moved

    def _write(self, instance: Instance, read: int, parents: _Saves, children: _Children) -> None:
        """Store the event: alone, or with the children it started and the parents it moved on, in one
        transaction."""
        if not parents and not children:
            self.store.save(instance, read, self._work_of(instance))
        else:
            moved = [instance, *(parent for parent, _ in parents), *children]
            work = {i.id: w for i in moved if (w := self._work_of(i)) is not None}
            self.store.save_linked([(instance, read), *parents], children, work)

    def _same_event(
        self,
        instance: Instance,
        key: str,
        recorded: tuple[int, Entry],
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None,
    ) -> Entry:
        """The entry ``key`` recorded, if this is the very event it recorded, sent again by the same
        actor, who may still send it: checked on the instance as it was before that event, as a new
        event would be (roles, signatures). ``KeyReused`` or ``PermissionDenied`` otherwise."""
        index, entry = recorded
        if entry.actor != actor.id:
            raise KeyReused(f"instance `{instance.id}`: " + _someone_elses(key, "send an event"))
        try:
            sent = json.loads(json.dumps(dict(payload or {})))
        except (TypeError, ValueError):
            sent = None
        if entry.trigger != trigger or entry.payload != sent:
            raise KeyReused(
                f"instance `{instance.id}`: key `{key}` already recorded `{entry.trigger}` with payload "
                f"{json.dumps(entry.payload, ensure_ascii=False)}; a different event needs a new key"
            )
        before = self.replay(instance, index)  # on the revision the event was sent to, if migrated since
        runtime = self.runtime(before.process_id, before.content_hash)
        runtime.fire(before, trigger, actor, payload, at=entry.at, key=key, spawn=_the_child_recorded(entry))
        return entry

    def _now_after(self, instance: Instance) -> datetime.datetime:
        # Hosts' clocks differ a little; an event is never recorded before the one it follows.
        return max(self._clock(), instance.history[-1].at)


@dataclass(frozen=True)
class WorkItem:
    """An open step an actor may act on, as their worklist shows it."""

    instance_id: str
    process_id: str
    step: str
    step_label: Text
    offers: tuple[Offer, ...]
    """What they may do in it now: what ``Workflows.available`` gives them (trigger, label, form)."""
    due: datetime.datetime | None
    """The earliest open deadline, time limit or clock point of the case."""
    overdue: bool
    clocks: tuple[tuple[ClockShown, str], ...]
    """Each clock of the case, with its status at the time the worklist was asked for."""
    claimed_by: str | None
    cursor: str
    """Pass it as ``after`` for the items that follow this one."""


@dataclass(frozen=True)
class Worklist:
    items: tuple[WorkItem, ...]
    next: str | None
    """The cursor of the following page; ``None`` when this is the last."""
    damaged: tuple[Damaged, ...] = ()
    """Cases whose stored work items cannot be read (``procflow verify`` says more)."""


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


def _item(case: CaseWork, actor: Actor, now: datetime.datetime) -> WorkItem | None:
    """The case as ``actor``'s work item: ``None`` unless they may act on its step, if not now then once
    whoever holds it lets go (one barred from every signature it needs has nothing there)."""
    work = case.work
    if not offered(work, actor.id, actor.roles, claims=False):
        return None
    offers = tuple(offer for _, offer, _ in offered(work, actor.id, actor.roles))
    return WorkItem(
        instance_id=case.instance_id,
        process_id=case.process_id,
        step=work.state,
        step_label=Text(case.step_zh, case.step_en),
        offers=offers,
        due=case.due,
        overdue=case.due is not None and case.due <= now,
        clocks=tuple((clock, clock.status_at(now)) for clock in case.clocks),
        claimed_by=work.claimed_by,
        cursor=_cursor(case.due or NO_DUE, case.instance_id),
    )


def _cursor(due: datetime.datetime, instance_id: str) -> str:
    text = json.dumps([due.astimezone(datetime.UTC).isoformat(), instance_id], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _read_cursor(cursor: str | None, kind: str = "worklist") -> tuple[datetime.datetime, str] | None:
    if cursor is None:
        return None
    try:
        due, instance_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.datetime.fromisoformat(due)
        if moment.tzinfo is None or not isinstance(instance_id, str):
            raise ValueError("not a cursor")
        check_instance_id(instance_id)
    except (ValueError, TypeError, UnicodeDecodeError, InvalidIdentifier, binascii.Error):
        raise InvalidQuery(
            f"`{cursor[:80]}` is not a {kind} cursor; pass the `next` of the page before, as given"
        ) from None
    return moment, instance_id


@dataclass(frozen=True)
class Verified:
    """What ``verify_store`` found."""

    checked: int
    """How many instances were checked."""
    damaged: tuple[Damaged, ...]
    """Each instance that cannot be read or does not match, with what is wrong."""
    definitions: tuple[str, ...] = ()
    """What is wrong with each stored definition that does not read as it was stored."""
    missing: tuple[str, ...] = ()
    """Each id asked for that names no stored instance (a mistyped id, not damage)."""

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.definitions and not self.missing


def _reraise_unless_damage(error: ProcflowError) -> None:
    """A store that cannot be reached says nothing about the records in it: stop rather than report."""
    if isinstance(error, StoreError) and not isinstance(error, DamagedRecord):
        raise error


def _the_child_recorded(entry: Entry) -> Spawn:
    """For checking an event sent again: the child its first sending started (none is started again)."""

    def spawn(request: ChildStart) -> str:
        if entry.child is None:
            raise SubProcessRefused(f"the event recorded did not start `{request.process}`")
        return entry.child.instance

    return spawn


def worker_name() -> str:
    """A name for this worker in claims: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _source_text(process: Process) -> tuple[str, str]:
    """The YAML text to store for a loaded process: its file's text when that still holds the same
    content, else its content as JSON (which YAML reads too)."""
    try:
        text = read_bounded(process.file, MAX_FILE_BYTES).decode("utf-8-sig")
        if load_process_text(text, process.file).content_hash == process.content_hash:
            return text, process.file
    except (OSError, UnicodeDecodeError, ProcflowError):
        pass  # the file is gone or changed: store the content itself
    return json.dumps(thaw_json(process.document), ensure_ascii=False, indent=1), process.file


def _someone_elses(key: str, what: str) -> str:
    # Says nothing of what the key recorded: that is the other actor's.
    return f"key `{key}` was used by another actor to {what}; send your own key"


def _pause(attempt: int) -> None:
    """A short random wait before a retry, so writers that collided do not collide again in step."""
    time.sleep(random.uniform(0, 0.002 * 2**attempt))


def _as_stored(process: Process, content_hash: str) -> Process:
    """The process under the content hash its stored text was registered with. The same text may hash
    differently under a newer loader (the hash is taken from the document the loader reads); the
    stored hash is what its instances name, so it stays the definition's identity."""
    return process if process.content_hash == content_hash else replace(process, content_hash=content_hash)

"""The SQL both relational stores share. ``sqlite.py`` and ``postgres.py`` supply the connection, the
transactions, how times and JSON are passed, and the one statement that differs in kind (claiming
due deadlines); everything else is written once, with ``?`` placeholders.

Every event is one write transaction: move the instance's row on with
``UPDATE ... WHERE id = ? AND version = ?`` (no row updated means another writer got there first),
append the history entries, record their idempotency keys (a key already recorded for the instance
makes the insert do nothing, and the transaction is rolled back), and replace the instance's
deadlines when they changed. History entries are only ever inserted, so a reader who reads the
instance's row first and then the entries below its version sees a consistent instance without a
snapshot.

Because entries never change once committed, the store keeps the parsed history of the instances it
last read or wrote (``_Known``, bounded): a load reads the instance's row and then only the entries
from the version it already knows up to the row's version, usually none. The history is never
trusted beyond the version the row says; the row itself is always read.

The same transaction replaces the instance's work items (``engine.work``): its case's JSON in
``work_cases`` and a row per role in ``work_items``, indexed by role then due time and id, so a
worklist page is one index range per role, merged and cut at the page (keyset: the cursor is the last
due time and id, never an offset). A write given no work items marks the instance in
``work_pending`` instead, for ``Workflows.fill_work``.

The same transaction writes the entries' outbox rows (``engine.outbox``: one per message, with its
stable delivery id as primary key), so an event is never stored without what it tells, nor told without
being stored. Workers claim deadlines and outbox rows alike (``_claim``: one ``UPDATE ... WHERE key IN
(SELECT ... LIMIT ?) RETURNING``, with the dialect's ``_skip_locked``), each claim held for a lease.

Each entry is written with its digest (``integrity``); ``read_checked`` reads everything afresh and
compares. A row that cannot be read is ``DamagedRecord`` when loaded, a ``Damaged`` item when listed,
and set aside (``refused``) when a worker claims its deadline, so one bad row never stops the rest.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, NoReturn, Protocol

from engine.errors import (
    DamagedRecord,
    DuplicateInstance,
    DuplicateKey,
    InstanceFormatError,
    InvalidIdentifier,
    NotFound,
    StaleVersion,
    StoreError,
)
from engine.instances import (
    Entry,
    Instance,
    OpenDeadline,
    deadline_from_json,
    deadline_to_json,
    entry_from_json,
)
from engine.outbox import DEAD, DELIVERED, PENDING, Message, OutboxRow, messages
from engine.stores import migrations
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
from engine.stores.integrity import canonical, digest, entry_text, source_digest
from engine.stores.search import check_query, search_sql
from engine.work import CaseWork, work_from_json, work_to_json

Row = Sequence[Any]
Params = Sequence[Any]


class Transaction(Protocol):
    """One open transaction: run statements written with ``?`` placeholders."""

    def run(self, sql: str, params: Params = ()) -> int:
        """Execute; the number of rows changed."""
        ...

    def one(self, sql: str, params: Params = ()) -> Row | None: ...

    def all(self, sql: str, params: Params = ()) -> list[Row]: ...


_OUTBOX_COLUMNS = (
    "id, instance_id, process_id, entry_index, kind, roles, payload, created_at, attempts, next_attempt, "
    "state, sent_to, last_error"
)
_EARLIEST_DUE = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
"""The earliest due time read back: any session time zone still gives a Python ``datetime``."""

_DEFINITION_COLUMNS = (
    "SELECT process_id, revision, version, content_hash, source, file, registered_at, source_sha256 FROM definitions "
)
_INSTANCE_COLUMNS = "id, process_id, process_version, content_hash, state, data, entered_at, deadlines, version"

KNOWN_INSTANCES = 1000
"""How many instances' parsed histories a store keeps, most recently used first."""


class _Known:
    """What this store last read or wrote of an instance: its history (entries never change once
    committed; the version is its length), the deadlines it had at that version, and their column's
    value as stored (a read that finds the same value need not parse it again)."""

    __slots__ = ("deadlines", "history", "stored_deadlines")

    def __init__(self, history: tuple[Entry, ...], deadlines: tuple[OpenDeadline, ...], stored_deadlines: Any):
        self.history = history
        self.deadlines = deadlines
        self.stored_deadlines = stored_deadlines


class SqlStore:
    """A store over a SQL database; subclasses supply the dialect."""

    dialect = ""

    def __init__(self, url: str):
        self._url = url
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._known_lock = threading.Lock()

    def _recall(self, instance_id: str) -> _Known | None:
        with self._known_lock:
            known = self._known.get(instance_id)
            if known is not None:
                self._known.move_to_end(instance_id)
            return known

    def _remember(self, instance: Instance, stored_deadlines: Any) -> None:
        """Note an instance as committed (read from the store, or written in a committed transaction)."""
        known = _Known(tuple(instance.history), instance.deadlines, stored_deadlines)
        with self._known_lock:
            self._known[instance.id] = known
            self._known.move_to_end(instance.id)
            if len(self._known) > KNOWN_INSTANCES:
                self._known.popitem(last=False)

    @property
    def url(self) -> str:
        return self._url

    # --- what a dialect supplies -----------------------------------------------------------------

    def _transaction(self, *, write: bool) -> AbstractContextManager[Transaction]:
        """A transaction; ``write`` ones hold the database's write lock where it has one. Reads may
        run each statement on its own: every read here is one statement, or (``_load``) a row and then
        entries below its version, which entries being append-only keeps consistent. Driver errors
        leave it as ``StoreError``; any error rolls it back."""
        raise NotImplementedError

    def _time(self, moment: datetime.datetime) -> Any:
        raise NotImplementedError

    def _from_time(self, value: Any) -> datetime.datetime:
        raise NotImplementedError

    def _from_json(self, value: Any) -> Any:
        """A JSON column's value as read (text on SQLite; psycopg decodes ``json`` itself)."""
        raise NotImplementedError

    _skip_locked = ""
    """What a claim's choice of rows ends with, so that workers claiming at once skip each other's rows
    (PostgreSQL's ``FOR UPDATE SKIP LOCKED``; SQLite's write lock lets one worker claim at a time)."""

    def close(self) -> None:
        raise NotImplementedError

    # --- migrations ------------------------------------------------------------------------------

    _digests = True
    """Whether entries are written with their digest (the store's tables are at ``DIGESTS_FROM`` or later)."""

    _work = True
    """Whether the store keeps work items (its tables are at ``WORK_FROM`` or later)."""

    _outbox = True
    """Whether the store keeps an outbox (its tables are at ``OUTBOX_FROM`` or later)."""

    def _migrate(self, target: int = migrations.LATEST) -> None:
        self._digests = target >= migrations.DIGESTS_FROM  # only a test opens a store at an older schema
        self._work = target >= migrations.WORK_FROM
        self._outbox = target >= migrations.OUTBOX_FROM
        bookkeeping = migrations.BOOKKEEPING[0 if self.dialect == "sqlite" else 1]
        with self._transaction(write=True) as tx:
            self._lock_for_migration(tx)
            tx.run(bookkeeping)
            current = self._schema_version(tx)
            if current > migrations.LATEST:
                raise StoreError(
                    f"{self.url}: the store is at schema version {current}, newer than this procflow knows "
                    f"({migrations.LATEST}); upgrade procflow to use it"
                )
            for migration in migrations.pending(current, target):
                for statement in migration.statements(self.dialect):
                    tx.run(statement)
                self._check_migrated(tx, migration.number)
                tx.run(
                    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    (migration.number, migration.description, self._time(_utc_now())),
                )

    def _lock_for_migration(self, tx: Transaction) -> None:
        """Keep other processes from migrating at the same time (SQLite's write lock already does)."""

    def _check_migrated(self, tx: Transaction, number: int) -> None:
        """Refuse (roll back) a migration step that left the tables inconsistent."""

    @staticmethod
    def _schema_version(tx: Transaction) -> int:
        row = tx.one("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row is not None and row[0] is not None else 0

    def schema_version(self) -> int:
        """The number of the last migration applied to this store."""
        with self._transaction(write=False) as tx:
            return self._schema_version(tx)

    # --- definitions -----------------------------------------------------------------------------

    def add_definition(self, definition: NewDefinition) -> StoredDefinition:
        with self._transaction(write=True) as tx:
            self._lock_definitions(tx, definition.id)
            text_digest = source_digest(definition.source)
            # The same content, or the same text that an older loader hashed differently: the same revision.
            same = tx.one(
                _DEFINITION_COLUMNS + "WHERE process_id = ? AND (content_hash = ? OR source_sha256 = ?) "
                "ORDER BY content_hash = ? DESC, revision LIMIT 1",
                (definition.id, definition.content_hash, text_digest, definition.content_hash),
            )
            if same is not None:
                return self._definition(same)
            last = tx.one("SELECT MAX(revision) FROM definitions WHERE process_id = ?", (definition.id,))
            revision = 1 if last is None or last[0] is None else int(last[0]) + 1
            tx.run(
                "INSERT INTO definitions "
                "(process_id, revision, version, content_hash, source, file, registered_at, source_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    definition.id,
                    revision,
                    definition.version,
                    definition.content_hash,
                    definition.source,
                    definition.file,
                    self._time(definition.registered_at),
                    text_digest,
                ),
            )
        ref = ProcessRef(definition.id, definition.version, definition.content_hash, revision)
        return StoredDefinition(ref, definition.source, definition.file, definition.registered_at)

    def _lock_definitions(self, tx: Transaction, process_id: str) -> None:
        """Keep other writers from numbering a revision of ``process_id`` until this transaction ends
        (SQLite's write lock already does; the primary key on the revision refuses a duplicate anyway)."""

    def definition(self, process_id: str, content_hash: str | None = None) -> StoredDefinition:
        with self._transaction(write=False) as tx:
            if content_hash is None:
                row = tx.one(_DEFINITION_COLUMNS + "WHERE process_id = ? ORDER BY revision DESC LIMIT 1", (process_id,))
            else:
                row = tx.one(
                    _DEFINITION_COLUMNS + "WHERE process_id = ? AND content_hash = ?", (process_id, content_hash)
                )
        if row is None:
            which = f"with content {content_hash[:12]}" if content_hash else "at all"
            raise NotFound(f"{self.url} holds no definition of process `{process_id}` {which}; register it first")
        return self._definition(row)

    def definitions(self) -> list[StoredDefinition]:
        with self._transaction(write=False) as tx:
            rows = tx.all(_DEFINITION_COLUMNS + "ORDER BY process_id, revision")
        return [self._definition(row) for row in rows]

    def _definition(self, row: Row) -> StoredDefinition:
        try:
            ref = ProcessRef(row[0], int(row[2]), row[3], int(row[1]))
            stored = StoredDefinition(ref, row[4], row[5], self._from_time(row[6]))
        except (ValueError, TypeError) as exc:
            raise DamagedRecord(
                f"{self.url}: the definition of `{row[0]}` revision {row[1]} cannot be read: {exc}"
            ) from exc
        if not isinstance(stored.source, str) or source_digest(stored.source) != row[7]:
            raise DamagedRecord(
                f"{self.url}: the stored text of `{row[0]}` revision {row[1]} is not the text registered "
                "(its SHA-256 differs): it was changed behind procflow's back"
            )
        return stored

    # --- instances -------------------------------------------------------------------------------

    def insert(self, instance: Instance, work: CaseWork | None = None) -> Instance:
        check_written(instance)
        start = instance.history[0]
        try:
            with self._transaction(write=True) as tx:
                self._require_definition(tx, instance)
                if start.key is not None:
                    existing = self._started_with(tx, instance.process_id, start.key)
                    if existing is not None:
                        return self._load(tx, existing)
                inserted = tx.run(
                    f"INSERT INTO instances ({_INSTANCE_COLUMNS}, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (*self._instance_row(instance), self._time(start.at)),
                )
                if not inserted:
                    raise DuplicateInstance(f"{self.url} already holds an instance `{instance.id}`")
                self._append(tx, instance, 0)
                self._write_deadlines(tx, instance)
                self._write_work(tx, instance.id, work, new=True)
                self._write_outbox(tx, instance, 0)
                if start.key is not None and not tx.run(
                    "INSERT INTO start_keys (process_id, key, instance_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (instance.process_id, start.key, instance.id),
                ):
                    raise _StartKeyTaken  # by a start that committed after our check: roll ours back
        except _StartKeyTaken:
            with self._transaction(write=False) as tx:
                existing = self._started_with(tx, instance.process_id, start.key or "")
                assert existing is not None
                return self._load(tx, existing)
        self._remember(instance, None)
        return instance

    def _require_definition(self, tx: Transaction, instance: Instance) -> None:
        # The foreign key would refuse it too, but as a driver error: say it as the other stores do.
        if (
            tx.one(
                "SELECT 1 FROM definitions WHERE process_id = ? AND content_hash = ?",
                (instance.process_id, instance.content_hash),
            )
            is None
        ):
            raise NotFound(
                f"{self.url} holds no definition of process `{instance.process_id}` with content "
                f"{instance.content_hash[:12]}; register it first"
            )

    @staticmethod
    def _started_with(tx: Transaction, process_id: str, key: str) -> str | None:
        row = tx.one("SELECT instance_id FROM start_keys WHERE process_id = ? AND key = ?", (process_id, key))
        return None if row is None else str(row[0])

    def load(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._transaction(write=False) as tx:
            return self._load(tx, instance_id)

    def _load(self, tx: Transaction, instance_id: str) -> Instance:
        row = tx.one(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE id = ?", (instance_id,))
        if row is None:
            raise NotFound(f"{self.url} holds no instance `{instance_id}`")
        version = int(row[8])
        if version < 1:
            raise DamagedRecord(
                f"{self.url}: instance `{instance_id}` is at version {version}; every instance has its start entry",
                instance_id=instance_id,
            )
        known = self._recall(instance_id)
        history = list(known.history) if known is not None and len(known.history) <= version else []
        up_to_date = len(history) == version
        try:
            if len(history) < version:
                entries = tx.all(
                    "SELECT entry FROM entries WHERE instance_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
                    (instance_id, len(history), version),
                )
                history.extend(
                    entry_from_json(self._from_json(e[0]), f"entry {i}") for i, e in enumerate(entries, len(history))
                )
            data = self._from_json(row[5])
            if not isinstance(data, dict):
                raise InstanceFormatError(f"its data must be an object, got {type(data).__name__}")
            instance = Instance(
                id=row[0],
                process_id=row[1],
                process_version=int(row[2]),
                content_hash=row[3],
                state=row[4],
                data=data,
                entered_at=datetime.datetime.fromisoformat(row[6]),
                deadlines=(
                    known.deadlines
                    if known is not None and row[7] == known.stored_deadlines
                    else tuple(deadline_from_json(d) for d in self._from_json(row[7]))
                ),
                history=history,
            )
        except (InstanceFormatError, ValueError, TypeError) as exc:
            raise DamagedRecord(
                f"{self.url}: instance `{instance_id}` is stored in a form procflow cannot read: {exc}",
                instance_id=instance_id,
            ) from exc
        if instance.version != version:
            raise DamagedRecord(
                f"{self.url}: instance `{instance_id}` is at version {version} but only {instance.version} "
                "history entries are stored",
                instance_id=instance_id,
            )
        if not up_to_date:
            self._remember(instance, row[7])
        return instance

    def read_checked(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._known_lock:
            self._known.pop(instance_id, None)  # read every entry from the database, not from memory
        with self._transaction(write=False) as tx:
            instance = self._load(tx, instance_id)
            # The JSON as text, exactly as stored (PostgreSQL's `json` keeps it as written).
            entries = tx.all(
                "SELECT idx, CAST(entry AS TEXT), digest FROM entries WHERE instance_id = ? ORDER BY idx",
                (instance_id,),
            )
            started = tx.one(
                "SELECT started_at, state, CAST(data AS TEXT), entered_at, CAST(deadlines AS TEXT) "
                "FROM instances WHERE id = ?",
                (instance_id,),
            )
            deadlines = tx.all(
                "SELECT position, state, due, fire FROM deadlines WHERE instance_id = ? ORDER BY position",
                (instance_id,),
            )
            keys = tx.all("SELECT key, entry_index FROM idempotency_keys WHERE instance_id = ?", (instance_id,))
            start_keys = tx.all("SELECT process_id, key FROM start_keys WHERE instance_id = ?", (instance_id,))
        problems = []
        if [int(e[0]) for e in entries] != list(range(instance.version)):
            problems.append(
                f"its row counts {instance.version} events, but the entries stored are numbered "
                f"{[int(e[0]) for e in entries]}"
            )
        for index, text, stored in ((int(e[0]), e[1], e[2]) for e in entries if int(e[0]) < instance.version):
            if stored is not None and stored != digest(instance_id, index, text):
                problems.append(f"entry {index} is not the entry written there (its digest differs)")
            elif text != entry_text(instance.history[index]):
                problems.append(f"entry {index} holds more or other than procflow writes")
        if started is not None and tuple(started[1:5]) != self._instance_row(instance)[4:8]:
            problems.append("its row holds more or other than procflow writes (in its data, times or deadlines)")
        try:
            if started is None or self._from_time(started[0]) != instance.history[0].at:
                problems.append("its start time differs from its first entry's")
            rows = [(int(d[0]), d[1], self._from_time(d[2]), d[3]) for d in deadlines]
        except (ValueError, TypeError, StoreError) as exc:
            problems.append(f"a stored time cannot be read: {exc}")
        else:
            if rows != [(i, d.state, d.due, d.fire) for i, d in enumerate(instance.deadlines)]:
                problems.append("the deadlines workers claim differ from the instance's deadlines")
        if {(k[0], int(k[1])) for k in keys} != _event_keys(instance):
            problems.append("the idempotency keys recorded differ from the keys of its entries")
        first = instance.history[0].key
        if {(k[0], k[1]) for k in start_keys} != ({(instance.process_id, first)} if first is not None else set()):
            problems.append("the key recorded for its start differs from its first entry's")
        if problems:
            raise DamagedRecord(
                f"{self.url}: instance `{instance_id}`: " + "; ".join(problems), instance_id=instance_id
            )
        return instance

    def save(self, instance: Instance, expected_version: int, work: CaseWork | None = None) -> None:
        if not expected_version < instance.version:
            raise ValueError("save() needs at least one new history entry")
        check_written(instance, expected_version)
        known = self._recall(instance.id)
        deadlines_kept = (
            known is not None and len(known.history) == expected_version and known.deadlines == instance.deadlines
        )
        row = self._instance_row(instance)
        new = instance.history[expected_version:]
        if (
            self._moves_in_one_statement
            and self._digests
            and (work is not None or not self._work)
            and deadlines_kept
            and len(new) == 1
            and new[0].key is None
            and new[0].migration is None  # a migration switches the revision, which that statement keeps
            and self._outbox
        ):
            text = entry_text(new[0])
            told = messages(instance, expected_version)
            if not self._move_on(row, expected_version, text, digest(instance.id, expected_version, text), work, told):
                with self._transaction(write=False) as tx:
                    self._refuse_stale(tx, instance.id, expected_version)
            self._remember(instance, row[7])
            return
        with self._transaction(write=True) as tx:
            moved_on = tx.run(
                "UPDATE instances SET process_version = ?, content_hash = ?, state = ?, data = ?, entered_at = ?, "
                "deadlines = ?, version = ? WHERE id = ? AND version = ?",
                (*row[2:9], instance.id, expected_version),
            )
            if not moved_on:
                self._refuse_stale(tx, instance.id, expected_version)
            self._append(tx, instance, expected_version)
            if deadlines_kept:
                # The rows already hold these deadlines: only end the claims and refusals, as a rewrite would.
                if instance.deadlines:
                    tx.run(
                        "UPDATE deadlines SET claimed_by = NULL, claimed_until = NULL, refused = NULL "
                        "WHERE instance_id = ?",
                        (instance.id,),
                    )
            else:
                tx.run("DELETE FROM deadlines WHERE instance_id = ?", (instance.id,))
                self._write_deadlines(tx, instance)
            self._write_work(tx, instance.id, work)
            self._write_outbox(tx, instance, expected_version)
        self._remember(instance, row[7])

    def save_linked(
        self,
        saves: Sequence[tuple[Instance, int]],
        inserts: Sequence[Instance] = (),
        work: Mapping[str, CaseWork] | None = None,
    ) -> None:
        work = work or {}
        for child in inserts:
            check_written(child)
            if child.history[0].key is not None:
                raise ValueError("save_linked() inserts instances started without a key")
        for instance, expected in saves:
            if not expected < instance.version:
                raise ValueError("save_linked() needs at least one new history entry for each instance saved")
            check_written(instance, expected)
        with self._transaction(write=True) as tx:  # one transaction: any refusal below rolls back all of it
            for child in inserts:
                self._require_definition(tx, child)
                if not tx.run(
                    f"INSERT INTO instances ({_INSTANCE_COLUMNS}, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (*self._instance_row(child), self._time(child.history[0].at)),
                ):
                    raise DuplicateInstance(f"{self.url} already holds an instance `{child.id}`")
                self._append(tx, child, 0)
                self._write_deadlines(tx, child)
                self._write_work(tx, child.id, work.get(child.id), new=True)
                self._write_outbox(tx, child, 0)
            for instance, expected in saves:
                row = self._instance_row(instance)
                if not tx.run(
                    "UPDATE instances SET state = ?, data = ?, entered_at = ?, deadlines = ?, version = ? "
                    "WHERE id = ? AND version = ?",
                    (row[4], row[5], row[6], row[7], row[8], instance.id, expected),
                ):
                    self._refuse_stale(tx, instance.id, expected)
                self._append(tx, instance, expected)
                tx.run("DELETE FROM deadlines WHERE instance_id = ?", (instance.id,))
                self._write_deadlines(tx, instance)
                self._write_work(tx, instance.id, work.get(instance.id))
                self._write_outbox(tx, instance, expected)
        for child in inserts:
            self._remember(child, None)
        for instance, _ in saves:
            self._remember(instance, self._instance_row(instance)[7])

    _moves_in_one_statement = False
    """Whether the dialect writes the common event in one statement (``_move_on``)."""

    def _move_on(
        self,
        row: tuple[Any, ...],
        expected_version: int,
        entry: str,
        entry_digest: str,
        work: CaseWork | None,
        told: Sequence[Message],
    ) -> bool:
        """Write the common event (one new entry, no key, deadlines kept, their claims and refusals
        ended, its work items, its outbox rows ``told``) in a single statement; whether the instance was
        still at ``expected_version``."""
        raise NotImplementedError

    def _refuse_stale(self, tx: Transaction, instance_id: str, expected_version: int) -> NoReturn:
        current = tx.one("SELECT version FROM instances WHERE id = ?", (instance_id,))
        if current is None:
            raise NotFound(f"{self.url} holds no instance `{instance_id}`")
        raise StaleVersion(
            f"instance `{instance_id}` is at version {current[0]}, not {expected_version}: "
            "another writer moved it on since it was read",
            expected=expected_version,
            found=int(current[0]),
        )

    def _append(self, tx: Transaction, instance: Instance, first: int) -> None:
        """Insert the entries from ``first`` on and record their keys; ``DuplicateKey`` (so the
        transaction is rolled back) if a key is already recorded for the instance."""
        for index, entry in enumerate(instance.history[first:], start=first):
            text = entry_text(entry)
            if self._digests:
                tx.run(
                    "INSERT INTO entries (instance_id, idx, entry, digest) VALUES (?, ?, ?, ?)",
                    (instance.id, index, text, digest(instance.id, index, text)),
                )
            else:
                tx.run("INSERT INTO entries (instance_id, idx, entry) VALUES (?, ?, ?)", (instance.id, index, text))
            if entry.key is not None and index > 0:
                recorded = tx.run(
                    "INSERT INTO idempotency_keys (instance_id, key, entry_index) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (instance.id, entry.key, index),
                )
                if not recorded:
                    found = tx.one(
                        "SELECT entry_index FROM idempotency_keys WHERE instance_id = ? AND key = ?",
                        (instance.id, entry.key),
                    )
                    raise DuplicateKey(
                        f"instance `{instance.id}`: key `{entry.key}` is already recorded"
                        + (f" (entry {found[0]})" if found is not None else ""),
                        instance_id=instance.id,
                        index=int(found[0]) if found is not None else -1,
                    )

    def _write_deadlines(self, tx: Transaction, instance: Instance) -> None:
        for position, deadline in enumerate(instance.deadlines):
            tx.run(
                "INSERT INTO deadlines (instance_id, position, state, due, fire) VALUES (?, ?, ?, ?, ?)",
                (instance.id, position, deadline.state, self._time(deadline.due), deadline.fire),
            )

    def _write_outbox(self, tx: Transaction, instance: Instance, first: int) -> None:
        """The outbox rows of the entries from ``first`` on (``engine.outbox``), in the event's transaction."""
        if not self._outbox:
            return
        told = messages(instance, first)
        if not told:
            return
        now = self._time(_utc_now())
        tx.run(
            "INSERT INTO outbox (id, instance_id, process_id, entry_index, kind, roles, payload, created_at, "
            "attempts, next_attempt, state, sent_to) VALUES "
            + ", ".join([f"(?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '{PENDING}', '[]')"] * len(told)),
            [
                value
                for m in told
                for value in (
                    m.id,
                    m.instance_id,
                    m.process_id,
                    m.entry_index,
                    m.kind,
                    canonical(list(m.roles)),
                    canonical(m.payload),
                    now,
                    now,
                )
            ],
        )

    def _write_work(self, tx: Transaction, instance_id: str, work: CaseWork | None, *, new: bool = False) -> None:
        """Replace the instance's work items with ``work``; without it, mark them as still to be worked
        out. A pending mark is left where it is when work is given: working it out again is harmless
        (``write_work``), and it saves the event a statement."""
        if not self._work:
            return
        if not new:
            tx.run("DELETE FROM work_items WHERE instance_id = ?", (instance_id,))
        if work is None or not work.roles:
            if not new:
                tx.run("DELETE FROM work_cases WHERE instance_id = ?", (instance_id,))
            if work is None:
                tx.run("INSERT INTO work_pending (instance_id) VALUES (?) ON CONFLICT DO NOTHING", (instance_id,))
            return
        self._insert_work(tx, instance_id, work)

    def _insert_work(self, tx: Transaction, instance_id: str, work: CaseWork) -> None:
        """The case's work (its JSON, and a row per role), over any it had; a case nobody acts on (a
        finished one, or one waiting for a sub-procedure) has none."""
        roles = sorted(work.roles)
        if not roles:
            return
        due = self._time(work.due if work.due is not None else NO_DUE)
        tx.run(
            "INSERT INTO work_cases (instance_id, process_id, due_order, item) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (instance_id) DO UPDATE SET process_id = excluded.process_id, "
            "due_order = excluded.due_order, item = excluded.item",
            (instance_id, work.process_id, due, canonical(work_to_json(work))),
        )
        tx.run(
            "INSERT INTO work_items (instance_id, role, process_id, state, due_order, claimed_by) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(roles)),
            [
                value
                for role in roles
                for value in (instance_id, role, work.process_id, work.work.state, due, work.work.claimed_by)
            ],
        )

    def worklist(
        self,
        roles: Sequence[str],
        *,
        process_id: str | None = None,
        due_by: datetime.datetime | None = None,
        after: tuple[datetime.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[CaseWork | Damaged]:
        if not roles or limit < 1:
            return []
        # One index range per role (taking `limit` of each is enough for `limit` distinct cases), merged.
        where, params = ["role = ?"], list[Any]()
        if process_id is not None:
            where.append("process_id = ?")
        if due_by is not None:
            where.append("due_order <= ?")
        if after is not None:
            where.append("due_order >= ? AND (due_order > ? OR instance_id > ?)")
        ranges = []
        for role in sorted(set(roles)):
            ranges.append(
                "SELECT instance_id FROM (SELECT instance_id FROM work_items WHERE "
                + " AND ".join(where)
                + " ORDER BY due_order, instance_id LIMIT ?) AS r"
            )
            params.append(role)
            if process_id is not None:
                params.append(process_id)
            if due_by is not None:
                params.append(self._time(due_by))
            if after is not None:
                params += [self._time(after[0]), self._time(after[0]), after[1]]
            params.append(limit)
        sql = (
            "SELECT instance_id, process_id, item FROM work_cases WHERE instance_id IN ("
            + " UNION ALL ".join(ranges)
            + ") ORDER BY due_order, instance_id LIMIT ?"
        )
        with self._transaction(write=False) as tx:
            rows = tx.all(sql, [*params, limit])
        found: list[CaseWork | Damaged] = []
        for row in rows:
            try:
                found.append(work_from_json(str(row[0]), str(row[1]), self._from_json(row[2])))
            except (InstanceFormatError, ValueError, TypeError) as exc:
                found.append(Damaged(str(row[0]), f"its work items cannot be read: {exc}"))
        return found

    def work_pending(self, limit: int) -> list[str]:
        if not self._work:
            return []
        with self._transaction(write=False) as tx:
            rows = tx.all("SELECT instance_id FROM work_pending ORDER BY instance_id LIMIT ?", (limit,))
        return [str(r[0]) for r in rows]

    def write_work(self, instance_id: str, version: int | None, work: CaseWork | None) -> bool:
        with self._transaction(write=True) as tx:
            if version is not None:
                row = tx.one("SELECT version FROM instances WHERE id = ?", (instance_id,))
                if row is None or int(row[0]) != version:
                    return False
            tx.run("DELETE FROM work_items WHERE instance_id = ?", (instance_id,))
            tx.run("DELETE FROM work_cases WHERE instance_id = ?", (instance_id,))
            tx.run("DELETE FROM work_pending WHERE instance_id = ?", (instance_id,))
            if work is not None and version is not None:
                self._insert_work(tx, instance_id, work)
        return True

    def _instance_row(self, instance: Instance) -> tuple[Any, ...]:
        return (
            instance.id,
            instance.process_id,
            instance.process_version,
            instance.content_hash,
            instance.state,
            canonical(instance.data),
            instance.entered_at.isoformat(),
            canonical([deadline_to_json(d) for d in instance.deadlines]),
            instance.version,
        )

    def entry_for_key(self, instance_id: str, key: str) -> tuple[int, Entry] | None:
        check_instance_id(instance_id)
        check_key(key)
        with self._transaction(write=False) as tx:
            row = tx.one(
                "SELECT e.idx, e.entry FROM idempotency_keys k JOIN entries e "
                "ON e.instance_id = k.instance_id AND e.idx = k.entry_index "
                "WHERE k.instance_id = ? AND k.key = ?",
                (instance_id, key),
            )
        if row is None:
            return None
        try:
            return int(row[0]), entry_from_json(self._from_json(row[1]), f"entry {row[0]}")
        except (InstanceFormatError, ValueError, TypeError) as exc:
            raise DamagedRecord(
                f"{self.url}: instance `{instance_id}`: the entry recorded with key {key!r} cannot be read: {exc}",
                instance_id=instance_id,
            ) from exc

    def summaries(
        self,
        process_id: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary | Damaged]:
        where, params = [], []
        if process_id is not None:
            where.append("i.process_id = ?")
            params.append(process_id)
        if state is not None:
            where.append("i.state = ?")
            params.append(state)
        if overdue_at is not None:
            where.append("EXISTS (SELECT 1 FROM deadlines d WHERE d.instance_id = i.id AND d.due <= ?)")
            params.append(self._time(overdue_at))
        columns = ", ".join(f"i.{c.strip()}" for c in _INSTANCE_COLUMNS.split(","))
        sql = (
            f"SELECT {columns}, defn.revision FROM instances i LEFT JOIN definitions defn "
            "ON defn.process_id = i.process_id AND defn.content_hash = i.content_hash"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._transaction(write=False) as tx:
            rows = tx.all(sql + " ORDER BY i.started_at, i.id", params)
        return [self._summary(row) for row in rows]

    def case_counts(self) -> dict[tuple[str, str, str], int]:
        with self._transaction(write=False) as tx:
            rows = tx.all("SELECT process_id, content_hash, state, COUNT(*) FROM instances GROUP BY 1, 2, 3")
        return {(str(r[0]), str(r[1]), str(r[2])): int(r[3]) for r in rows}

    def search(
        self, query: CaseQuery, *, after: tuple[datetime.datetime, str] | None = None, limit: int = 50
    ) -> list[Found]:
        if limit < 1:
            return []
        columns = ", ".join(f"i.{c.strip()}" for c in _INSTANCE_COLUMNS.split(","))
        sql, params = search_sql(
            check_query(query), dialect=self.dialect, columns=columns, time=self._time, after=after, limit=limit
        )
        with self._transaction(write=False) as tx:
            rows = tx.all(sql, params)
        return [Found(self._summary(row), self._from_time(row[10])) for row in rows]

    def _summary(self, row: Row) -> InstanceSummary | Damaged:
        try:
            check_instance_id(row[0])
            if row[9] is None:
                raise InstanceFormatError(
                    f"it runs on `{row[1]}` with content {str(row[3])[:12]}, a definition the store does not hold"
                )
            data = self._from_json(row[5])
            if not isinstance(data, dict):
                raise InstanceFormatError(f"its data must be an object, got {type(data).__name__}")
            deadlines = self._from_json(row[7])
            if not isinstance(deadlines, list):
                raise InstanceFormatError(f"its deadlines must be a list, got {type(deadlines).__name__}")
            return InstanceSummary(
                id=row[0],
                process=ProcessRef(row[1], int(row[2]), row[3], int(row[9])),
                state=row[4],
                data=data,
                entered_at=datetime.datetime.fromisoformat(row[6]),
                deadlines=tuple(deadline_from_json(d, f"deadline {i}") for i, d in enumerate(deadlines)),
                version=int(row[8]),
            )
        except (InstanceFormatError, InvalidIdentifier, ValueError, TypeError) as exc:
            return Damaged(str(row[0]), f"stored in a form procflow cannot read: {exc}")

    # --- claims ----------------------------------------------------------------------------------

    def _claim(
        self,
        tx: Transaction,
        table: str,
        keys: str,
        choose: str,
        params: Params,
        returning: str,
        returning_params: Params,
        worker: str,
        until: datetime.datetime,
        now: datetime.datetime,
        limit: int,
    ) -> list[Row]:
        """Claim up to ``limit`` rows of ``table`` for ``worker`` until ``until``: those ``choose`` (a
        condition and its order, ``... ORDER BY ...``) picks among the unclaimed and those whose claim has
        run out at ``now``; one statement, the rows ``returning`` names back. How deadlines and outbox
        rows are claimed, with the dialect's ``_skip_locked``."""
        where, order = choose.split(" ORDER BY ")
        return tx.all(
            f"UPDATE {table} SET claimed_by = ?, claimed_until = ? WHERE ({keys}) IN ("
            f"SELECT {keys} FROM {table} WHERE {where} AND (claimed_until IS NULL OR claimed_until <= ?) "
            f"ORDER BY {order} LIMIT ?{self._skip_locked}) RETURNING {returning}",
            (worker, self._time(until), *params, self._time(now), limit, *returning_params),
        )

    # --- timers ----------------------------------------------------------------------------------

    def claim_due(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[DueDeadline | Damaged]:
        # A time Python cannot hold (before year 1, -infinity on PostgreSQL) comes back as NULL, to be set aside.
        with self._transaction(write=True) as tx:
            rows = self._claim(
                tx,
                "deadlines",
                "instance_id, position",
                "fire IS NOT NULL AND refused IS NULL AND due <= ? ORDER BY due",
                (self._time(now),),
                "instance_id, state, CASE WHEN due >= ? THEN due END, fire, position",
                (self._time(_EARLIEST_DUE),),
                worker,
                now + lease,
                now,
                limit,
            )
            return self._due(tx, rows)

    def mark_refused(self, instance_id: str, deadline: OpenDeadline, version: int, reason: str) -> None:
        with self._transaction(write=True) as tx:
            row = tx.one(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE id = ?", (instance_id,))
            if row is None or int(row[8]) != version:
                return
            open_now = [deadline_from_json(d) for d in self._from_json(row[7])]
            if deadline not in open_now:
                return
            tx.run(
                "UPDATE deadlines SET refused = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE instance_id = ? AND position = ?",
                (reason, instance_id, open_now.index(deadline)),
            )

    def set_aside(self, instance_id: str, reason: str) -> None:
        with self._transaction(write=True) as tx:
            tx.run(
                "UPDATE deadlines SET refused = ?, claimed_by = NULL, claimed_until = NULL WHERE instance_id = ?",
                (reason, instance_id),
            )

    def release(self, worker: str) -> None:
        with self._transaction(write=True) as tx:
            tx.run("UPDATE deadlines SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", (worker,))
            if self._outbox:
                tx.run("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", (worker,))

    # --- the outbox --------------------------------------------------------------------------------

    def claim_outbox(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[OutboxRow]:
        if not self._outbox or limit < 1:
            return []
        with self._transaction(write=True) as tx:
            rows = self._claim(
                tx,
                "outbox",
                "id",
                f"state = '{PENDING}' AND next_attempt <= ? ORDER BY next_attempt, id",
                (self._time(now),),
                _OUTBOX_COLUMNS,
                (),
                worker,
                now + lease,
                now,
                limit,
            )
        return sorted((self._outbox_row(r) for r in rows), key=lambda r: (r.next_attempt, r.message.id))

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
        with self._transaction(write=True) as tx:
            tx.run(
                "UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, sent_to = ?, last_error = ?, "
                "claimed_by = NULL, claimed_until = NULL, finished_at = ? WHERE id = ? AND state = ?",
                (
                    state,
                    attempts,
                    self._time(next_attempt),
                    canonical(list(sent_to)),
                    error,
                    self._time(now) if state in (DELIVERED, DEAD) else None,
                    delivery_id,
                    PENDING,
                ),
            )

    def outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        if not self._outbox:
            return []
        where, params = ("WHERE state = ? ", [state]) if state is not None else ("", [])
        with self._transaction(write=False) as tx:
            rows = tx.all(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox {where}ORDER BY created_at, id LIMIT ?", [*params, limit]
            )
        return [self._outbox_row(r) for r in rows]

    def retry_dead(self, delivery_ids: Sequence[str] = (), *, now: datetime.datetime) -> int:
        if not self._outbox:
            return 0
        sql = (
            f"UPDATE outbox SET state = '{PENDING}', attempts = 0, next_attempt = ?, finished_at = NULL "
            f"WHERE state = '{DEAD}'"
        )
        params: list[Any] = [self._time(now)]
        if delivery_ids:
            sql += " AND id IN (" + ", ".join("?" * len(delivery_ids)) + ")"
            params += list(delivery_ids)
        with self._transaction(write=True) as tx:
            return tx.run(sql, params)

    def _outbox_row(self, row: Row) -> OutboxRow:
        try:
            message = Message(
                str(row[0]),
                str(row[4]),
                str(row[1]),
                str(row[2]),
                int(row[3]),
                self._from_json(row[6]),
                tuple(self._from_json(row[5])),
            )
            return OutboxRow(
                message,
                created_at=self._from_time(row[7]),
                attempts=int(row[8]),
                next_attempt=self._from_time(row[9]),
                state=str(row[10]),
                sent_to=tuple(self._from_json(row[11])),
                last_error=row[12],
            )
        except (ValueError, TypeError, StoreError) as exc:
            raise DamagedRecord(f"{self.url}: outbox row {row[0]!r} cannot be read: {exc}") from exc

    def _due(self, tx: Transaction, rows: Sequence[Row]) -> list[DueDeadline | Damaged]:
        """The claimed rows (instance id, state, due, fire, position) as deadlines, earliest first; a row
        whose due time cannot be read is set aside in ``tx`` and returned as ``Damaged``, after them."""
        due, damaged = [], list[Damaged]()
        for row in rows:
            try:
                if row[2] is None:
                    raise ValueError("it is outside the years 1 to 9999")
                due.append(DueDeadline(row[0], row[1], self._from_time(row[2]), row[3]))
            except (ValueError, TypeError, StoreError) as exc:
                reason = f"the due time of its deadline {row[4]} cannot be read: {exc}"
                tx.run(
                    "UPDATE deadlines SET refused = ?, claimed_by = NULL, claimed_until = NULL "
                    "WHERE instance_id = ? AND position = ?",
                    (reason, row[0], row[4]),
                )
                damaged.append(Damaged(str(row[0]), reason))
        return [*sorted(due, key=lambda d: (d.due, d.instance_id)), *damaged]


def _event_keys(instance: Instance) -> set[tuple[str, int]]:
    """The idempotency keys of the instance's events (the start's is kept per process, apart)."""
    return {(e.key, i) for i, e in enumerate(instance.history) if i > 0 and e.key is not None}


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class _StartKeyTaken(Exception):
    pass

"""The SQL both relational stores share. ``sqlite.py`` and ``postgres.py`` supply the connection, the
transactions, how times and JSON are passed, and the one clause that differs in kind (claiming rows
without waiting on each other); everything else is written once, with ``?`` placeholders, and read by
column name. What workers claim is in ``sql_queues``, what listings read in ``sql_listing``, the write
itself and the parsed histories remembered in ``sql_writes``.

Every event is one write, always the same one (``_write``), on its own transaction or in a batch's
(``batch``, one savepoint per write): move the instance's row on with
``UPDATE ... WHERE id = ? AND version = ?`` (no row updated means another writer got there first),
append the history entries, record their idempotency keys (a key already recorded for the instance
makes the insert do nothing, and the write is rolled back), replace the instance's deadlines when they
changed (else end their claims), its work items (``engine.work``; without them the instance is marked
in ``work_pending`` for ``Workflows.fill_work``) and write its entries' outbox rows (``engine.outbox``),
so an event is never stored without what it tells, nor told without being stored. A start is the same
write with an ``INSERT`` of the row. History entries are only ever inserted, so a reader who reads the
instance's row first and then the entries below its version sees a consistent instance without a
snapshot.

Because entries never change once committed, the store keeps the parsed history of the instances it
last read or wrote (``Known``, bounded by the entries held): a load reads the instance's row and then
only the entries from the version it already knows up to the row's version, usually none. The history
is never trusted beyond the version the row says; the row itself is always read.

Each entry is written with its digest (``integrity``); ``read_checked`` reads everything afresh and
compares. A row that cannot be read is ``DamagedRecord`` when loaded, a ``Damaged`` item when listed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from engine.errors import (
    DamagedRecord,
    InstanceFormatError,
    NotFound,
    StoreError,
)
from engine.instances import Instance, entry_from_json
from engine.stores import migrations
from engine.stores.base import NewDefinition, ProcessRef, StoredDefinition
from engine.stores.identifiers import check_instance_id, check_written
from engine.stores.integrity import digest, entry_text, source_digest
from engine.stores.sql_base import Params, Row, Transaction, utc_now
from engine.stores.sql_listing import SqlListing, instance_columns
from engine.stores.sql_queues import SqlQueues
from engine.stores.sql_writes import KNOWN_ENTRIES, SqlWrites
from engine.work import CaseWork

__all__ = ["KNOWN_ENTRIES", "Params", "Row", "SqlStore", "Transaction"]

_DEFINITION_COLUMNS = (
    "SELECT process_id, revision, version, content_hash, source, file, registered_at, source_sha256 FROM definitions "
)


class SqlStore(SqlWrites, SqlQueues, SqlListing):
    """A store over a SQL database; subclasses supply the dialect."""

    _load_sql = ""

    # --- migrations ------------------------------------------------------------------------------

    def _migrate(self, target: int = migrations.LATEST) -> None:
        self._set_schema(target)  # only a test opens a store at an older schema
        bookkeeping = migrations.BOOKKEEPING[0 if self.dialect == "sqlite" else 1]
        with self._transaction(write=True) as tx:
            self._lock_for_migration(tx)
            tx.run(bookkeeping)
            row = tx.one("SELECT MAX(version) AS version FROM schema_migrations")
            current = int(row["version"]) if row is not None and row["version"] is not None else 0
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
                    (migration.number, migration.description, self._time(utc_now())),
                )

    def _lock_for_migration(self, tx: Transaction) -> None:
        """Keep other processes from migrating at the same time (SQLite's write lock already does)."""

    def _check_migrated(self, tx: Transaction, number: int) -> None:
        """Refuse (roll back) a migration step that left the tables inconsistent."""

    # --- definitions -----------------------------------------------------------------------------

    def add_definition(self, definition: NewDefinition) -> StoredDefinition:
        with self._tx(write=True) as tx:
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
            last = tx.one("SELECT MAX(revision) AS revision FROM definitions WHERE process_id = ?", (definition.id,))
            revision = 1 if last is None or last["revision"] is None else int(last["revision"]) + 1
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
        with self._tx(write=False) as tx:
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
        with self._tx(write=False) as tx:
            rows = tx.all(_DEFINITION_COLUMNS + "ORDER BY process_id, revision")
        return [self._definition(row) for row in rows]

    def _definition(self, row: Row) -> StoredDefinition:
        named = f"`{row['process_id']}` revision {row['revision']}"
        try:
            ref = ProcessRef(row["process_id"], int(row["version"]), row["content_hash"], int(row["revision"]))
            stored = StoredDefinition(ref, row["source"], row["file"], self._from_time(row["registered_at"]))
        except (ValueError, TypeError) as exc:
            raise DamagedRecord(f"{self.url}: the definition of {named} cannot be read: {exc}") from exc
        if not isinstance(stored.source, str) or source_digest(stored.source) != row["source_sha256"]:
            raise DamagedRecord(
                f"{self.url}: the stored text of {named} is not the text registered "
                "(its SHA-256 differs): it was changed behind procflow's back"
            )
        return stored

    # --- instances -------------------------------------------------------------------------------

    def insert(self, instance: Instance, work: CaseWork | None = None) -> Instance:
        check_written(instance)
        start = instance.history[0]
        try:
            with self._tx(write=True) as tx:
                if start.key is not None:
                    existing = self._started_with(tx, instance.process_id, start.key)
                    if existing is not None:
                        return self._load(tx, existing)
                self._write(tx, instance, None, work)
                if start.key is not None and not tx.run(
                    "INSERT INTO start_keys (process_id, key, instance_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (instance.process_id, start.key, instance.id),
                ):
                    raise _StartKeyTaken  # by a start that committed after our check: roll ours back
        except _StartKeyTaken:
            with self._tx(write=False) as tx:
                existing = self._started_with(tx, instance.process_id, start.key or "")
                assert existing is not None
                return self._load(tx, existing)
        self._remember(instance, work)
        return instance

    @staticmethod
    def _started_with(tx: Transaction, process_id: str, key: str) -> str | None:
        row = tx.one("SELECT instance_id FROM start_keys WHERE process_id = ? AND key = ?", (process_id, key))
        return None if row is None else str(row["instance_id"])

    def load(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        with self._tx(write=False) as tx:
            return self._load(tx, instance_id)

    def _load(self, tx: Transaction, instance_id: str) -> Instance:
        # One statement: the row and its deadlines as one commit left them.
        if not self._load_sql:  # its deadline columns depend on the schema version, set once opened
            self._load_sql = (
                f"SELECT {instance_columns('i')}, {self._deadline_columns('d')} FROM instances i "
                "LEFT JOIN deadlines d ON d.instance_id = i.id WHERE i.id = ? ORDER BY d.position"
            )
        rows = tx.all(self._load_sql, (instance_id,))
        if not rows:
            raise NotFound(f"{self.url} holds no instance `{instance_id}`")
        row = rows[0]
        version = int(row["version"])
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
                    entry_from_json(self._from_json(e["entry"]), f"entry {i}")
                    for i, e in enumerate(entries, len(history))
                )
            data = self._from_json(row["data"])
            if not isinstance(data, dict):
                raise InstanceFormatError(f"its data must be an object, got {type(data).__name__}")
            instance = Instance(
                id=row["id"],
                process_id=row["process_id"],
                process_version=int(row["process_version"]),
                content_hash=row["content_hash"],
                state=row["state"],
                data=data,
                entered_at=datetime.datetime.fromisoformat(row["entered_at"]),
                deadlines=(
                    known.deadlines
                    if known is not None and up_to_date
                    else tuple(self._deadline(r) for r in rows if r["deadline_position"] is not None)
                ),
                history=history,
            )
            if known is not None and known.facts is not None:
                instance.facts_cache = dict(known.facts)
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
            self._remember(instance)
        return instance

    def read_checked(self, instance_id: str) -> Instance:
        check_instance_id(instance_id)
        self._forget(instance_id)  # read every entry from the database, not from memory
        with self._tx(write=False) as tx:
            instance = self._load(tx, instance_id)
            # The JSON as text, exactly as stored (PostgreSQL's `json` keeps it as written).
            entries = tx.all(
                "SELECT idx, CAST(entry AS TEXT) AS entry, digest FROM entries WHERE instance_id = ? ORDER BY idx",
                (instance_id,),
            )
            started = tx.one(
                "SELECT started_at, CAST(data AS TEXT) AS data, entered_at FROM instances WHERE id = ?", (instance_id,)
            )
            positions = tx.all("SELECT position FROM deadlines WHERE instance_id = ? ORDER BY position", (instance_id,))
            keys = tx.all("SELECT key, entry_index FROM idempotency_keys WHERE instance_id = ?", (instance_id,))
            start_keys = tx.all("SELECT process_id, key FROM start_keys WHERE instance_id = ?", (instance_id,))
        problems = []
        numbered = [int(e["idx"]) for e in entries]
        if numbered != list(range(instance.version)):
            problems.append(f"its row counts {instance.version} events, but the entries stored are numbered {numbered}")
        for e in entries:
            index, text, stored = int(e["idx"]), e["entry"], e["digest"]
            if index >= instance.version:
                continue
            if stored is not None and stored != digest(instance_id, index, text):
                problems.append(f"entry {index} is not the entry written there (its digest differs)")
            elif text != entry_text(instance.history[index]):
                problems.append(f"entry {index} holds more or other than procflow writes")
        written = self._columns(instance)
        if started is not None and any(started[c] != written[c] for c in ("data", "entered_at")):
            problems.append("its row holds more or other than procflow writes (in its data or times)")
        try:
            if started is None or self._from_time(started["started_at"]) != instance.history[0].at:
                problems.append("its start time differs from its first entry's")
        except (ValueError, TypeError, StoreError) as exc:
            problems.append(f"a stored time cannot be read: {exc}")
        if [int(p["position"]) for p in positions] != list(range(len(positions))):
            problems.append(f"its deadlines are numbered {[int(p['position']) for p in positions]}, with gaps")
        if {(k["key"], int(k["entry_index"])) for k in keys} != _event_keys(instance):
            problems.append("the idempotency keys recorded differ from the keys of its entries")
        first = instance.history[0].key
        recorded = {(k["process_id"], k["key"]) for k in start_keys}
        if recorded != ({(instance.process_id, first)} if first is not None else set()):
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
        with self._tx(write=True) as tx:
            self._write(tx, instance, expected_version, work)
        self._remember(instance, work)

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
        with self._tx(write=True) as tx:  # one transaction: any refusal below rolls back all of it
            for child in inserts:
                self._write(tx, child, None, work.get(child.id))
            for instance, expected in saves:
                self._write(tx, instance, expected, work.get(instance.id))
        for child in inserts:
            self._remember(child, work.get(child.id))
        for instance, _ in saves:
            self._remember(instance, work.get(instance.id))

    def write_work(self, instance_id: str, version: int | None, work: CaseWork | None) -> bool:
        with self._tx(write=True) as tx:
            if version is not None:
                row = tx.one("SELECT version FROM instances WHERE id = ?", (instance_id,))
                if row is None or int(row["version"]) != version:
                    return False
            tx.run("DELETE FROM work_items WHERE instance_id = ?", (instance_id,))
            tx.run("DELETE FROM work_cases WHERE instance_id = ?", (instance_id,))
            tx.run("DELETE FROM work_pending WHERE instance_id = ?", (instance_id,))
            if work is not None and version is not None:
                self._insert_work(tx, instance_id, work)
        return True


def _event_keys(instance: Instance) -> set[tuple[str, int]]:
    """The idempotency keys of the instance's events (the start's is kept per process, apart)."""
    return {(e.key, i) for i, e in enumerate(instance.history) if i > 0 and e.key is not None}


class _StartKeyTaken(Exception):
    pass

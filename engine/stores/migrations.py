"""The stores' tables, as numbered migrations that the stores apply themselves when opened.

A store records each migration it has applied in ``schema_migrations``. Opening a store applies the
missing ones, in order, all in one transaction (both SQLite and PostgreSQL run DDL inside
transactions, so a failed step leaves the store as it was, earlier steps included), while holding
the store's write lock so two processes opening one store at once do not both upgrade it. A store written by a newer
procflow than this one is refused rather than guessed at.

Add a migration by appending to ``MIGRATIONS``; never edit one that has shipped. Each step is
written once per dialect where the dialects differ: times are ``TIMESTAMPTZ`` on PostgreSQL and
fixed-width UTC text on SQLite (so text order is time order); JSON is PostgreSQL's ``json``, which
keeps the text exactly as written, and text on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    number: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


def _both(template: str) -> tuple[str, str]:
    """A statement for each dialect from one template with ``{time}`` and ``{json}`` column types."""
    return (
        template.format(time="TEXT", json="TEXT"),
        template.format(time="TIMESTAMPTZ", json="JSON"),
    )


_INITIAL = [
    _both(
        """CREATE TABLE definitions (
            process_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            source TEXT NOT NULL,
            file TEXT NOT NULL,
            registered_at {time} NOT NULL,
            PRIMARY KEY (process_id, version),
            UNIQUE (process_id, content_hash)
        )"""
    ),
    _both(
        """CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            process_id TEXT NOT NULL,
            process_version INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            state TEXT NOT NULL,
            data {json} NOT NULL,
            entered_at TEXT NOT NULL,
            deadlines {json} NOT NULL,
            version INTEGER NOT NULL,
            started_at {time} NOT NULL,
            FOREIGN KEY (process_id, content_hash) REFERENCES definitions (process_id, content_hash)
        )"""
    ),
    _both("CREATE INDEX instances_by_process_state ON instances (process_id, state, started_at)"),
    _both(
        """CREATE TABLE entries (
            instance_id TEXT NOT NULL REFERENCES instances (id),
            idx INTEGER NOT NULL,
            entry {json} NOT NULL,
            PRIMARY KEY (instance_id, idx)
        )"""
    ),
    _both(
        """CREATE TABLE deadlines (
            instance_id TEXT NOT NULL REFERENCES instances (id),
            position INTEGER NOT NULL,
            state TEXT NOT NULL,
            due {time} NOT NULL,
            fire TEXT,
            PRIMARY KEY (instance_id, position)
        )"""
    ),
    _both("CREATE INDEX deadlines_by_due ON deadlines (due)"),
    _both(
        """CREATE TABLE idempotency_keys (
            instance_id TEXT NOT NULL REFERENCES instances (id),
            key TEXT NOT NULL,
            entry_index INTEGER NOT NULL,
            PRIMARY KEY (instance_id, key)
        )"""
    ),
    _both(
        """CREATE TABLE start_keys (
            process_id TEXT NOT NULL,
            key TEXT NOT NULL,
            instance_id TEXT NOT NULL REFERENCES instances (id),
            PRIMARY KEY (process_id, key)
        )"""
    ),
]

_WORKER_CLAIMS = [
    _both("ALTER TABLE deadlines ADD COLUMN claimed_by TEXT"),
    _both("ALTER TABLE deadlines ADD COLUMN claimed_until {time}"),
    _both("ALTER TABLE deadlines ADD COLUMN refused TEXT"),
    _both("CREATE INDEX deadlines_fireable ON deadlines (due) WHERE fire IS NOT NULL AND refused IS NULL"),
]

# Revisions: each distinct content a process is registered with is numbered 1, 2, 3... by the store, so
# a changed YAML that keeps its `version:` is stored too. Existing rows are numbered by their version,
# then by when they were registered. SQLite cannot drop a primary key in place, so it rebuilds the table
# (the SQLite store runs migrations with foreign key enforcement off and checks the keys before commit;
# the instances' reference to `definitions` then names the rebuilt table).
_NUMBERED = "ROW_NUMBER() OVER (PARTITION BY process_id ORDER BY version, registered_at, content_hash)"
_REVISIONS_SQLITE = (
    """CREATE TABLE definitions_by_revision (
        process_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        file TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        revision INTEGER NOT NULL,
        PRIMARY KEY (process_id, revision),
        UNIQUE (process_id, content_hash)
    )""",
    "INSERT INTO definitions_by_revision (process_id, version, content_hash, source, file, registered_at, revision) "
    f"SELECT process_id, version, content_hash, source, file, registered_at, {_NUMBERED} FROM definitions",
    "DROP TABLE definitions",
    "ALTER TABLE definitions_by_revision RENAME TO definitions",
)
_REVISIONS_POSTGRESQL = (
    "ALTER TABLE definitions ADD COLUMN revision INTEGER",
    "UPDATE definitions SET revision = numbered.revision "
    f"FROM (SELECT process_id, content_hash, {_NUMBERED} AS revision FROM definitions) AS numbered "
    "WHERE definitions.process_id = numbered.process_id AND definitions.content_hash = numbered.content_hash",
    "ALTER TABLE definitions ALTER COLUMN revision SET NOT NULL",
    "ALTER TABLE definitions DROP CONSTRAINT definitions_pkey",
    "ALTER TABLE definitions ADD PRIMARY KEY (process_id, revision)",
)

# Listing by process: an index that holds `state` must be rewritten by nearly every event (1.5 of the 5
# pages an event wrote on SQLite, and no HOT updates on PostgreSQL). Process and start time never change,
# so an index on them costs an event nothing; a listing by state reads the process's rows in start order.
_LISTING = [
    _both("DROP INDEX instances_by_process_state"),
    _both("CREATE INDEX instances_by_process_started ON instances (process_id, started_at)"),
]

# Each history entry is kept with a digest of its text, its instance and its position
# (``engine.stores.integrity``), so `procflow verify` notices an entry changed after it was written.
_DIGESTS = [_both("ALTER TABLE entries ADD COLUMN digest TEXT")]

# Each definition is kept with the SHA-256 of its text. The content hash is taken from the document the
# loader reads out of the text, so a newer loader may hash the same text differently; the text's own
# digest still finds it (registering the same file again is the same revision), and tells a change of
# loader from damage to the stored text. SQLite has no SHA-256 of its own: the store gives it one.
_SOURCE_DIGESTS = [
    ("ALTER TABLE definitions ADD COLUMN source_sha256 TEXT", "ALTER TABLE definitions ADD COLUMN source_sha256 TEXT"),
    (
        "UPDATE definitions SET source_sha256 = procflow_sha256(source)",
        "UPDATE definitions SET source_sha256 = encode(sha256(convert_to(source, 'UTF8')), 'hex')",
    ),
    _both("CREATE INDEX definitions_by_source ON definitions (process_id, source_sha256)"),
]

# The worklist (``engine.work``): per open case, what can be done in its step (``work_cases``, its JSON and
# due time) and one row per role that may find something to do there (``work_items``), indexed by role
# and by process then role, in due-time order, so a role's page is an index range. Every event rewrites
# them in its own transaction. Which roles may act comes from the compiled definition, which SQL cannot
# work out: the migration marks every stored instance as waiting for its items (``work_pending``), and
# ``Workflows`` fills them in, case by case, before it first answers a worklist (``Workflows.fill_work``).
_WORK = [
    _both(
        """CREATE TABLE work_cases (
            instance_id TEXT PRIMARY KEY REFERENCES instances (id),
            process_id TEXT NOT NULL,
            due_order {time} NOT NULL,
            item {json} NOT NULL
        )"""
    ),
    _both(
        """CREATE TABLE work_items (
            instance_id TEXT NOT NULL REFERENCES instances (id),
            role TEXT NOT NULL,
            process_id TEXT NOT NULL,
            state TEXT NOT NULL,
            due_order {time} NOT NULL,
            claimed_by TEXT,
            PRIMARY KEY (instance_id, role)
        )"""
    ),
    _both("CREATE INDEX work_items_by_role ON work_items (role, due_order, instance_id)"),
    _both("CREATE INDEX work_items_by_process ON work_items (process_id, role, due_order, instance_id)"),
    _both("CREATE TABLE work_pending (instance_id TEXT PRIMARY KEY REFERENCES instances (id))"),
    _both("INSERT INTO work_pending (instance_id) SELECT id FROM instances"),
]

# The transactional outbox (``engine.outbox``): what each event tells other systems, one row per message,
# written in the event's own transaction, claimed by workers with a lease as deadlines are, and kept once
# delivered or dead-lettered (``procflow outbox``). Events stored before it are not announced.
_OUTBOX = [
    _both(
        """CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            instance_id TEXT NOT NULL REFERENCES instances (id),
            process_id TEXT NOT NULL,
            entry_index INTEGER NOT NULL,
            kind TEXT NOT NULL,
            roles {json} NOT NULL,
            payload {json} NOT NULL,
            created_at {time} NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt {time} NOT NULL,
            state TEXT NOT NULL,
            sent_to {json} NOT NULL,
            last_error TEXT,
            claimed_by TEXT,
            claimed_until {time},
            finished_at {time}
        )"""
    ),
    _both("CREATE INDEX outbox_due ON outbox (next_attempt) WHERE state = 'pending'"),
    _both("CREATE INDEX outbox_by_state ON outbox (state, created_at)"),
]

# Searching cases (``engine.stores.search``) pages by start time then id (by code point: PostgreSQL's
# "C" collation, so the index serves that order). Neither column ever changes: only a start writes it.
_SEARCH = [
    (
        "CREATE INDEX instances_by_started ON instances (started_at, id)",
        'CREATE INDEX instances_by_started ON instances (started_at, id COLLATE "C")',
    ),
]

# Deadlines kept once: the rows workers claim hold all of a deadline (its clock and threshold, and the
# UTC offset its due time was given in, so it reads back as written), and the instance's JSON copy goes.
# Each event that changed its deadlines wrote them twice; a listing now reads the rows. The offset is
# worked out from the JSON's due time (local time less the UTC instant, to the minute).
_DEADLINE_DETAILS = (
    "ADD COLUMN due_offset INTEGER NOT NULL DEFAULT 0",
    "ADD COLUMN clock TEXT",
    "ADD COLUMN threshold TEXT",
)
_DUE = "json_extract(j.value, '$.due')"
_DEADLINES_ONCE_SQLITE = (
    *(f"ALTER TABLE deadlines {column}" for column in _DEADLINE_DETAILS),
    "UPDATE deadlines SET "
    + ", ".join(
        f"{column} = (SELECT {value} FROM instances i, json_each(i.deadlines) j "
        "WHERE i.id = deadlines.instance_id AND j.key = deadlines.position)"
        for column, value in (
            ("clock", "json_extract(j.value, '$.clock')"),
            ("threshold", "json_extract(j.value, '$.threshold')"),
            (
                "due_offset",
                f"CAST(ROUND((julianday(substr({_DUE}, 1, 19)) - julianday({_DUE})) * 1440) AS INTEGER) * 60",
            ),
        )
    )
    + " WHERE EXISTS (SELECT 1 FROM instances i WHERE i.id = deadlines.instance_id)",
    "ALTER TABLE instances DROP COLUMN deadlines",
)
_DEADLINES_ONCE_POSTGRESQL = (
    "ALTER TABLE deadlines " + ", ".join(_DEADLINE_DETAILS),
    "UPDATE deadlines d SET clock = j.value->>'clock', threshold = j.value->>'threshold', "
    "due_offset = CAST(ROUND(EXTRACT(EPOCH FROM (CAST(substr(j.value->>'due', 1, 19) AS TIMESTAMP) "
    "- (CAST(j.value->>'due' AS TIMESTAMPTZ) AT TIME ZONE 'UTC'))) / 60) AS INTEGER) * 60 "
    "FROM instances i, json_array_elements(i.deadlines) WITH ORDINALITY AS j(value, n) "
    "WHERE i.id = d.instance_id AND j.n - 1 = d.position",
    "ALTER TABLE instances DROP COLUMN deadlines",
)

# Work items kept by case: on SQLite a table clustered on (instance, role) (``WITHOUT ROWID``), so an
# event's change of the case's roles writes the case's own page instead of a row at the table's end and
# an entry in its key's index too; the rows are small, as such tables want. PostgreSQL keeps rows in
# heaps: there, the rows every event moves on in place (the instance's, its work items') get room on
# their page, so the update of columns no index holds (state, data, claims) leaves the indexes alone.
_WORK_COLUMNS = "instance_id, role, process_id, state, due_order, claimed_by"
_WORK_BY_CASE_SQLITE = (
    """CREATE TABLE work_items_by_case (
        instance_id TEXT NOT NULL REFERENCES instances (id),
        role TEXT NOT NULL,
        process_id TEXT NOT NULL,
        state TEXT NOT NULL,
        due_order TEXT NOT NULL,
        claimed_by TEXT,
        PRIMARY KEY (instance_id, role)
    ) WITHOUT ROWID""",
    f"INSERT INTO work_items_by_case ({_WORK_COLUMNS}) SELECT {_WORK_COLUMNS} FROM work_items",
    "DROP TABLE work_items",
    "ALTER TABLE work_items_by_case RENAME TO work_items",
    "CREATE INDEX work_items_by_role ON work_items (role, due_order, instance_id)",
    "CREATE INDEX work_items_by_process ON work_items (process_id, role, due_order, instance_id)",
)
_WORK_BY_CASE_POSTGRESQL = (
    "ALTER TABLE instances SET (fillfactor = 70)",
    "ALTER TABLE work_items SET (fillfactor = 70)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "definitions, instances, history entries, deadlines, idempotency keys",
        tuple(s for s, _ in _INITIAL),
        tuple(p for _, p in _INITIAL),
    ),
    Migration(
        2,
        "worker claims on deadlines, and deadlines whose firing was refused",
        tuple(s for s, _ in _WORKER_CLAIMS),
        tuple(p for _, p in _WORKER_CLAIMS),
    ),
    Migration(
        3,
        "definitions numbered by revision; a declared version may be shared by several revisions",
        _REVISIONS_SQLITE,
        _REVISIONS_POSTGRESQL,
    ),
    Migration(
        4,
        "instances listed by process and start time, an index no event has to rewrite",
        tuple(s for s, _ in _LISTING),
        tuple(p for _, p in _LISTING),
    ),
    Migration(
        5,
        "a digest beside each history entry, to notice one changed after it was written",
        tuple(s for s, _ in _DIGESTS),
        tuple(p for _, p in _DIGESTS),
    ),
    Migration(
        6,
        "a digest of each definition's text, to find it by its text whatever the loader makes of it",
        tuple(s for s, _ in _SOURCE_DIGESTS),
        tuple(p for _, p in _SOURCE_DIGESTS),
    ),
    Migration(
        7,
        "the worklist: each open case's work items by role, and the cases still to be worked out",
        tuple(s for s, _ in _WORK),
        tuple(p for _, p in _WORK),
    ),
    Migration(
        8,
        "the outbox: what each event tells other systems, written in the event's transaction",
        tuple(s for s, _ in _OUTBOX),
        tuple(p for _, p in _OUTBOX),
    ),
    Migration(
        9,
        "cases searched in start order: an index on start time and id, which only a start writes",
        tuple(s for s, _ in _SEARCH),
        tuple(p for _, p in _SEARCH),
    ),
    Migration(
        10,
        "deadlines kept once, in the rows workers claim: with their clock and the offset they were given in",
        _DEADLINES_ONCE_SQLITE,
        _DEADLINES_ONCE_POSTGRESQL,
    ),
    Migration(
        11,
        "work items kept by case (SQLite), and room for the rows each event moves on in place (PostgreSQL)",
        _WORK_BY_CASE_SQLITE,
        _WORK_BY_CASE_POSTGRESQL,
    ),
)

LATEST = MIGRATIONS[-1].number
DIGESTS_FROM = 5
"""The migration that gave history entries their digest."""
WORK_FROM = 7
"""The migration that gave stores their work items."""
OUTBOX_FROM = 8
"""The migration that gave stores their outbox."""
DEADLINES_ONCE_FROM = 10
"""The migration that kept deadlines only in their rows."""

BOOKKEEPING = _both(
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at {time} NOT NULL)"
)
"""The table that records the applied migrations, per dialect (created before anything else)."""


def pending(current: int, target: int = LATEST) -> tuple[Migration, ...]:
    """The migrations that take a store from schema version ``current`` to ``target``, in order."""
    return tuple(m for m in MIGRATIONS if current < m.number <= target)

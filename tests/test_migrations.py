"""The stores create and upgrade their own tables: from nothing, from an older procflow's tables,
once even when several processes open a new store together, and never past what they know."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from contextlib import closing

import pytest
from store_support import (
    CLERK,
    CUSTOMER,
    LONG_AGO,
    MINIMAL,
    MONDAY,
    OUT_OF_WARRANTY,
    SUPERVISOR,
    finish,
    postgres_base_url,
    spawn,
    with_schema,
)

from engine import Runtime, load_process_text
from engine.errors import GuardFailed, StoreError
from engine.service import Workflows
from engine.stores import migrations, open_store
from engine.stores.migrations import LATEST, MIGRATIONS, Migration
from engine.stores.postgres import PostgresStore
from engine.stores.sqlite import SQLiteStore

pytest_plugins = ["store_support"]


def open_at(url: str, schema_version: int) -> SQLiteStore | PostgresStore:
    """The store at ``url``, brought up to ``schema_version`` only (as an older procflow left it)."""
    if url.startswith("sqlite:"):
        return SQLiteStore(url[len("sqlite:///") :], schema_version=schema_version)
    return PostgresStore(url, shown_as=url, schema_version=schema_version)


def register_as_before(store: SQLiteStore | PostgresStore, text: str, registered_at: dt.datetime) -> Runtime:
    """Store a definition as procflow did before revisions (schema 1 and 2): under its declared version."""
    process = load_process_text(text, "old.yaml")
    with store._transaction(write=True) as tx:
        tx.run(
            "INSERT INTO definitions (process_id, version, content_hash, source, file, registered_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (process.id, process.version, process.content_hash, text, "old.yaml", store._time(registered_at)),
        )
    return Runtime(process)


def started_as_before(store: SQLiteStore | PostgresStore, runtime: Runtime, instance_id: str) -> None:
    """An instance an older procflow started and submitted, waiting in `quote` for its deadline."""
    instance = runtime.start(CUSTOMER, instance_id=instance_id, at=LONG_AGO)
    store.insert(instance)
    runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=LONG_AGO)
    store.save(instance, 1)


def edited(version: int, most_quoted: int, process_id: str = "minimal_repair") -> str:
    text = MINIMAL.read_text(encoding="utf-8").replace("version: 1\n", f"version: {version}\n", 1)
    text = text.replace("id: minimal_repair\n", f"id: {process_id}\n", 1)
    return text.replace("conditions: payload.quote <= 500", f"conditions: payload.quote <= {most_quoted}", 1)


def applied(url: str) -> list[int]:
    store = open_at(url, 0)
    try:
        with store._transaction(write=False) as tx:
            return [int(row["version"]) for row in tx.all("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        store.close()


def test_a_new_store_gets_every_migration_once(durable_url):
    open_store(durable_url).close()
    open_store(durable_url).close()  # opening again applies nothing twice
    assert applied(durable_url) == [m.number for m in MIGRATIONS] == list(range(1, LATEST + 1))


def test_the_migrations_are_numbered_in_order_and_written_for_both_dialects():
    assert [m.number for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    for migration in MIGRATIONS:
        assert migration.sqlite and migration.postgresql, migration.number


def test_a_store_left_by_an_older_procflow_is_upgraded_and_keeps_its_instances(durable_url):
    # Version 1 had no worker claims: make a store as it left one, with an instance waiting on a deadline.
    store = open_at(durable_url, 1)
    with Workflows(store=store):
        runtime = register_as_before(store, MINIMAL.read_text(encoding="utf-8"), LONG_AGO)
        started_as_before(store, runtime, "I-1")
        before = store.load("I-1")  # the instance alone: its definition cannot be read at schema 1
    assert applied(durable_url) == [1]
    with Workflows(durable_url) as upgraded:
        assert applied(durable_url) == list(range(1, LATEST + 1))
        assert upgraded.get("I-1") == before
        assert upgraded.fire_due(LONG_AGO + dt.timedelta(days=30)) == 1  # needs the claim columns of 2
        upgraded.fire("I-1", "hold", CLERK)
        upgraded.verify("I-1")
        assert [e.trigger for e in upgraded.history("I-1")] == [None, "submit", "escalate", "hold"]


def test_definitions_stored_by_version_are_numbered_by_revision_and_their_instances_still_run(durable_url):
    # Schema 2 kept one definition per declared version. Version 2 (quotes up to 800) was registered
    # before version 1 (up to 500) was: revisions follow the versions, then the registration times.
    old = open_at(durable_url, 2)
    second = register_as_before(old, edited(2, 800), LONG_AGO)
    first = register_as_before(old, edited(1, 500), LONG_AGO + dt.timedelta(days=1))
    register_as_before(old, edited(4, 500, "other_repair"), LONG_AGO)
    started_as_before(old, first, "on-1")
    started_as_before(old, second, "on-2")
    old.close()
    assert applied(durable_url) == [1, 2]

    with Workflows(durable_url) as upgraded:
        assert applied(durable_url) == list(range(1, LATEST + 1))
        refs = [(d.ref.id, d.ref.revision, d.ref.version) for d in upgraded.store.definitions()]
        assert refs == [("minimal_repair", 1, 1), ("minimal_repair", 2, 2), ("other_repair", 1, 4)]
        assert upgraded.latest("minimal_repair").content_hash == second.process.content_hash
        assert [(s.id, s.process.revision) for s in upgraded.list()] == [("on-1", 1), ("on-2", 2)]
        with pytest.raises(GuardFailed):
            upgraded.fire("on-1", "send_quote", SUPERVISOR, {"quote": 600})  # still on version 1's rule
        upgraded.fire("on-2", "send_quote", SUPERVISOR, {"quote": 600})
        upgraded.fire("on-1", "send_quote", SUPERVISOR, {"quote": 400})
        upgraded.verify("on-1")
        upgraded.verify("on-2")
        assert upgraded.fire_due(LONG_AGO + dt.timedelta(days=30)) == 0  # both moved on from `quote`

        # A changed file that keeps version 2 is now stored too, as revision 3.
        third = upgraded.register(load_process_text(edited(2, 700), "edit.yaml"))
        assert (third.revision, third.version) == (3, 2)
        assert upgraded.start("minimal_repair", CUSTOMER).content_hash == third.content_hash


def test_work_items_written_before_they_were_kept_by_case_read_the_same_and_move_on(durable_url):
    with Workflows(store=open_at(durable_url, 10), clock=lambda: MONDAY) as old:
        old.register(MINIMAL)
        case = old.start("minimal_repair", CUSTOMER).id
        old.fire(case, "submit", CUSTOMER, OUT_OF_WARRANTY)
        before = old.worklist(CLERK).items
    assert applied(durable_url) == list(range(1, 11)) and len(before) == 1
    with Workflows(durable_url, clock=lambda: MONDAY) as upgraded:
        assert applied(durable_url) == list(range(1, LATEST + 1))
        assert upgraded.worklist(CLERK).items == before
        upgraded.claim(case, CLERK)  # the same roles: the migrated rows are moved on in place
        (item,) = upgraded.worklist(CLERK).items
        assert item.instance_id == case and item.claimed_by == "li"
        upgraded.verify(case)


def test_a_sqlite_rebuild_that_would_break_a_reference_is_refused_and_changes_nothing(sqlite_url):
    old = open_at(sqlite_url, 2)
    runtime = register_as_before(old, edited(1, 500), LONG_AGO)
    started_as_before(old, runtime, "orphan")
    old.close()
    path = sqlite_url[len("sqlite:///") :]
    with closing(sqlite3.connect(path)) as damaged, damaged:  # foreign keys are off on a plain connection
        damaged.execute("UPDATE instances SET content_hash = 'lost'")
    with pytest.raises(StoreError, match=r"migration 3 would leave 1 row\(s\) referring to rows that do not exist"):
        open_store(sqlite_url)
    assert applied(sqlite_url) == [1, 2]
    with closing(sqlite3.connect(path)) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(definitions)")]
    assert "revision" not in columns


def test_a_store_from_a_newer_procflow_is_refused(durable_url):
    open_store(durable_url).close()
    store = open_at(durable_url, 0)
    with store._transaction(write=True) as tx:
        tx.run(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
            (LATEST + 1, "from the future", store._time(dt.datetime.now(dt.UTC))),
        )
    store.close()
    with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, newer than this procflow knows"):
        open_store(durable_url)


def test_a_failing_migration_leaves_the_store_as_it_was(durable_url, monkeypatch):
    open_store(durable_url).close()
    broken = Migration(
        LATEST + 1,
        "a step that fails halfway",
        ("CREATE TABLE half_done (x INTEGER)", "SELECT * FROM no_such_table"),
        ("CREATE TABLE half_done (x INTEGER)", "SELECT * FROM no_such_table"),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(StoreError, match="no_such_table"):
        open_at(durable_url, LATEST + 1)
    monkeypatch.undo()
    assert applied(durable_url) == list(range(1, LATEST + 1))
    store = open_at(durable_url, LATEST)
    with pytest.raises(StoreError), store._transaction(write=False) as tx:
        tx.all("SELECT * FROM half_done")
    store.close()


def test_processes_opening_a_new_store_together_upgrade_it_once(durable_url):
    openers = [spawn("-m", "engine", "list", "--store", durable_url) for _ in range(3)]
    for opener in openers:
        out, err = finish(opener)
        assert opener.returncode == 0, err
        assert out == "0 instance(s)\n"
    assert applied(durable_url) == list(range(1, LATEST + 1))


def test_a_store_in_another_schema_opens_while_one_is_migrating(pg_url):
    """Many stores may share one PostgreSQL database, a schema each: one's migration never holds up another's."""
    import psycopg

    base, schema = postgres_base_url(), f"t_{uuid.uuid4().hex[:12]}"
    other = with_schema(base, schema).replace("lock_timeout%3D60s", "lock_timeout%3D2s")
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        migrating = PostgresStore(pg_url, shown_as="migrating")
        with migrating._transaction(write=True) as tx:
            migrating._lock_for_migration(tx)  # what a migration holds until it commits
            open_store(other).close()
        migrating.close()
        assert applied(other) == list(range(1, LATEST + 1))
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

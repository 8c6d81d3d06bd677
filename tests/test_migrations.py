"""The stores create and upgrade their own tables: from nothing, from an older procflow's tables,
once even when several processes open a new store together, and never past what they know."""

from __future__ import annotations

import datetime as dt

import pytest
from store_support import CLERK, CUSTOMER, LONG_AGO, MINIMAL, OUT_OF_WARRANTY, finish, spawn

from engine.errors import StoreError
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


def applied(url: str) -> list[int]:
    store = open_at(url, 0)
    try:
        with store._transaction(write=False) as tx:
            return [int(row[0]) for row in tx.all("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        store.close()


def test_a_new_store_gets_every_migration_once(durable_url):
    open_store(durable_url).close()
    open_store(durable_url).close()  # opening again applies nothing twice
    assert applied(durable_url) == [m.number for m in MIGRATIONS] == list(range(1, LATEST + 1))


def test_the_migrations_are_numbered_in_order_and_written_for_both_dialects():
    assert [m.number for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    for migration in MIGRATIONS:
        assert migration.sqlite and len(migration.sqlite) == len(migration.postgresql), migration.number


def test_a_store_left_by_an_older_procflow_is_upgraded_and_keeps_its_instances(durable_url):
    # Version 1 had no worker claims: make a store as it left one, with an instance waiting on a deadline.
    with Workflows(store=open_at(durable_url, 1)) as old:
        old.register(MINIMAL)
        old.start("minimal_repair", CUSTOMER, instance_id="I-1", at=LONG_AGO)
        old.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, at=LONG_AGO)
        before = old.get("I-1")
    assert applied(durable_url) == [1]
    with Workflows(durable_url) as upgraded:
        assert applied(durable_url) == list(range(1, LATEST + 1))
        assert upgraded.get("I-1") == before
        assert upgraded.fire_due(LONG_AGO + dt.timedelta(days=30)) == 1  # needs the claim columns of 2
        upgraded.fire("I-1", "hold", CLERK)
        upgraded.verify("I-1")
        assert [e.trigger for e in upgraded.history("I-1")] == [None, "submit", "escalate", "hold"]


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

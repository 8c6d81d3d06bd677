"""Stores and instance files written by earlier procflows are read, upgraded and carried on.

Each folder under ``tests/fixtures/formats/`` was written once by ``tools/format_fixtures.py`` with
the procflow of its date and is never rewritten: a SQLite store, the same cases as instance JSON, and
the scenarios they were played from. Whatever changes in the loader, the model or the formats, these
must keep opening, verifying and running on.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import engine.definition
from engine import Runtime, instance_from_json, instance_to_json, load_process_text
from engine.errors import EventRefused
from engine.scenarios import load_scenario
from engine.service import Workflows
from engine.stores.migrations import LATEST
from engine.stores.postgres import PostgresStore

pytest_plugins = ["store_support"]

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
FOLDERS = sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def test_there_is_a_fixture_of_each_store_format_since_the_first_release():
    versions = {_schema_version(folder / "store.db") for folder in FOLDERS}
    assert {4, 5, 8} <= versions


def _schema_version(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return int(connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])


def _cases(folder: Path) -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "instances").glob("*.json"))}


def _as_written(now: dict[str, object], written: dict[str, object]) -> dict[str, object]:
    """What is written today, of the keys the old file has: each must read back unchanged. A newer
    format may add keys (``records`` came after the first files); it may not drop or change one."""
    return {key: now[key] for key in written if key in now}


@pytest.fixture(params=FOLDERS, ids=[f.name for f in FOLDERS])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    folder: Path = request.param
    shutil.copy(folder / "store.db", tmp_path / "store.db")
    return folder, f"sqlite:///{tmp_path / 'store.db'}"


def test_an_old_store_opens_upgraded_with_every_case_as_it_was_written(old_store):
    folder, url = old_store
    with Workflows(url) as flows:
        assert _schema_version(Path(url[len("sqlite:///") :])) == LATEST
        stored = {summary.id for summary in flows.list()}
        assert stored == set(_cases(folder))
        for case_id, written in _cases(folder).items():
            assert _as_written(instance_to_json(flows.get(case_id)), written) == written
        report = flows.verify_store()
        assert (report.checked, report.damaged, report.definitions) == (len(stored), (), ())


def test_an_open_case_of_an_old_store_carries_on_to_where_its_scenario_ends(old_store, tmp_path):
    folder, url = old_store
    assert _carry_on(folder, Path(url[len("sqlite:///") :]), tmp_path) >= 8  # two open cases of each procedure


def _carry_on(folder: Path, db: Path, scratch: Path) -> int:
    """Play the rest of its scenario on every case stopped part way, each in a copy of the store of
    its own (a worker firing one case's deadlines moves the others on); it must end as the case played
    whole did, and replay."""
    carried = 0
    for scenario_file in sorted((folder / "scenarios").glob("*.yaml")):
        scenario = load_scenario(scenario_file)
        whole = f"{scenario.instance_id}-{len(scenario.events)}"
        for case_id in sorted(c for c in _cases(folder) if c.startswith(f"{scenario.instance_id}-") and c != whole):
            shutil.copy(db, scratch / f"{case_id}.db")
            with Workflows(f"sqlite:///{scratch / f'{case_id}.db'}") as flows:
                _play(flows, case_id, scenario.events[int(case_id.rsplit("-", 1)[1]) :])
                again, finished = flows.get(case_id), flows.get(whole)
                assert again.state == finished.state, case_id
                assert [e.trigger for e in again.history] == [e.trigger for e in finished.history], case_id
                flows.verify(case_id)
            carried += 1
    return carried


def _play(flows: Workflows, case_id: str, events: tuple[object, ...]) -> None:
    for event in events:
        at = getattr(event, "at", None)
        if at is not None:
            flows.fire_due(at)
        if getattr(event, "advance", False):
            continue
        try:
            flows.fire(case_id, event.trigger, event.actor, dict(event.payload), at=at)  # type: ignore[attr-defined]
        except EventRefused:
            continue  # the scenario expects it refused


def test_an_old_instance_file_reads_back_the_same_and_replays_on_its_definition(old_store):
    folder, url = old_store
    with Workflows(url) as flows:
        for written in _cases(folder).values():
            instance = instance_from_json(written)
            assert _as_written(instance_to_json(instance), written) == written
            stored = flows.store.definition(instance.process_id, instance.content_hash)
            Runtime(load_process_text(stored.source, stored.file)).verify(instance)


def test_an_old_store_copied_into_postgresql_is_upgraded_there(pg_url):
    """The same rows in PostgreSQL at the schema version they were written at: opening upgrades them."""
    folder = FOLDERS[0]
    version = _schema_version(folder / "store.db")
    PostgresStore(pg_url, shown_as=pg_url, schema_version=version).close()
    _copy_rows(folder / "store.db", pg_url)
    with Workflows(pg_url) as flows:
        assert _applied_in_postgresql(pg_url) == LATEST
        for case_id, written in _cases(folder).items():
            assert _as_written(instance_to_json(flows.get(case_id)), written) == written
        assert flows.verify_store().damaged == ()


def _applied_in_postgresql(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    assert row is not None
    return int(row[0])


def _copy_rows(db: Path, url: str) -> None:
    import psycopg

    with closing(sqlite3.connect(db)) as source, psycopg.connect(url) as target:
        for table in ("definitions", "instances", "entries", "deadlines", "idempotency_keys", "start_keys"):
            rows = source.execute(f"SELECT * FROM {table}")
            columns = [c[0] for c in rows.description]
            marks = ", ".join(["%s"] * len(columns))
            for row in rows.fetchall():
                target.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", row)


def test_a_definition_a_newer_loader_hashes_differently_is_still_found(old_store, monkeypatch, tmp_path):
    """The content hash is taken from what the loader reads; the stored text stays the identity."""
    folder, url = old_store
    hashed_by_the_old_loader = engine.definition.content_hash
    monkeypatch.setattr(engine.definition, "content_hash", lambda data: "new" + hashed_by_the_old_loader(data)[3:])
    with Workflows(url) as flows:
        before = {d.ref for d in flows.store.definitions()}
        for stored in flows.store.definitions():
            again_file = tmp_path / f"{stored.ref.id}.yaml"  # the same text, where the owner keeps it now
            again_file.write_text(stored.source, encoding="utf-8")
            again = flows.register(again_file)
            assert again == stored.ref  # the same revision, not a new one
        assert {d.ref for d in flows.store.definitions()} == before
        assert flows.verify_store().damaged == ()
    assert _carry_on(folder, Path(url[len("sqlite:///") :]), tmp_path) >= 8

"""Write the stored-format fixtures of the procflow this runs with: a SQLite store and instance JSON.

Run it with the checkout of a release on ``PYTHONPATH`` (``git worktree add`` an old commit), once per
format, and commit what it writes under ``tests/fixtures/formats/LABEL/``; never rewrite a folder
that has been committed. ``tests/test_formats.py`` proves that today's procflow reads every one of
them, upgrades the store, verifies each case and carries it on.

Each shipped procedure's scenario is played three times: stopped after a third of its events, after
two thirds, and to its end, so cases stand open at several steps and some have ended. Each case is
played in a store of its own (a worker firing one case's deadlines would move the others on) and
the stores are then merged into one. The scenarios are copied beside them.

    PYTHONPATH=/tmp/old python tools/format_fixtures.py /tmp/old/processes tests/fixtures/formats/LABEL
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from engine import instance_to_json
from engine.errors import EventRefused
from engine.scenarios import load_scenario
from engine.service import Workflows


def write(processes: Path, out: Path) -> None:
    (out / "instances").mkdir(parents=True)
    shutil.copytree(processes / "scenarios", out / "scenarios")
    with tempfile.TemporaryDirectory() as scratch:
        cases = [
            _play(yaml_file, thirds, Path(scratch))
            for yaml_file in sorted(processes.glob("*.yaml"))
            for thirds in (1, 2, 3)
        ]
        _merge(cases, out / "store.db")
    with Workflows(f"sqlite:///{out / 'store.db'}") as workflows:
        for summary in workflows.list():
            text = json.dumps(instance_to_json(workflows.get(summary.id)), ensure_ascii=False, indent=1)
            (out / "instances" / f"{summary.id}.json").write_text(text + "\n", encoding="utf-8")


def _play(yaml_file: Path, thirds: int, scratch: Path) -> Path:
    """A store holding one case of the procedure, played to ``thirds`` thirds of its scenario."""
    scenario = load_scenario(yaml_file.parent / "scenarios" / yaml_file.name)
    events = scenario.events[: len(scenario.events) * thirds // 3]
    case_id = f"{scenario.instance_id}-{len(events)}"
    db = scratch / f"{case_id}.db"
    with Workflows(f"sqlite:///{db}") as workflows:
        ref = workflows.register(yaml_file)
        workflows.start(ref.id, scenario.starter, dict(scenario.data), instance_id=case_id, at=scenario.start_at)
        for event in events:
            if event.at is not None:
                workflows.fire_due(event.at)  # the deadlines due by then fire first, as in a scenario
            if event.advance:
                continue
            assert event.trigger is not None and event.actor is not None
            try:
                workflows.fire(case_id, event.trigger, event.actor, dict(event.payload), at=event.at)
            except EventRefused:
                continue  # the scenario expects it refused
    return db


def _merge(cases: list[Path], into: Path) -> None:
    shutil.copy(cases[0], into)
    with closing(sqlite3.connect(into)) as target:
        tables = [row[0] for row in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for db in cases[1:]:
            target.execute("ATTACH DATABASE ? AS one_case", (str(db),))
            for table in tables:
                if table != "schema_migrations":  # definitions: the same procedure's rows are the same
                    target.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM one_case.{table}")
            target.commit()
            target.execute("DETACH DATABASE one_case")
        target.execute("VACUUM")


if __name__ == "__main__":
    write(Path(sys.argv[1]), Path(sys.argv[2]))

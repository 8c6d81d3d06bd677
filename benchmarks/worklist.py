"""Section 6: a role's first worklist page on 1,000 and 100,000 open cases, on SQLite and PostgreSQL.

The cases are the workload's procedure (``return_repair``) stopped at each step of its path in turn,
each with its due time spread over two months around now (so some are overdue). They are written in
bulk with the very rows ``Store.insert`` writes for the instance and its work items (instance row,
``work_cases``, ``work_items``), in one transaction; their history rows are left out, as the worklist
never reads them. Then ``Workflows.worklist`` is asked for the first page of 20 for one role, and
for an actor with two roles, overdue only: wall time and this process's CPU time (the SQLite work
is in it; PostgreSQL's server time is not), the median of 21 calls after one to warm up.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.report import Row, Size
from benchmarks.stores_postgres import DEFAULT_POSTGRES, postgres_problem, schema
from benchmarks.workload import PROCESS_FILE, load_workload

SECTION = "6 worklist"
PAGE = 20
CALLS = 21
TARGET = 0.050
"""The issue's bound on a role's first page at 100,000 open cases."""


def worklist(size: Size) -> list[Row]:
    templates = _templates()
    rows: list[Row] = []
    url = os.environ.get("PROCFLOW_BENCH_POSTGRES") or os.environ.get("PROCFLOW_TEST_POSTGRES") or DEFAULT_POSTGRES
    problem = postgres_problem(url)
    for cases in size.worklist_cases:
        with tempfile.TemporaryDirectory(prefix="procflow-bench-") as folder:
            rows += _measure("SQLite", f"sqlite:///{Path(folder) / 'store.db'}", cases, templates)
        if problem is None:
            with schema(url) as schema_url:
                rows += _measure("PostgreSQL", schema_url, cases, templates)
    if problem is not None:
        rows.append(Row(SECTION, "PostgreSQL", None, "", note=f"not measured: {problem}"))
    return rows


def _templates() -> list[tuple[Any, Any]]:
    """The workload's instance at each open step of its path, with its work items."""
    from engine.runtime import Runtime

    workload = load_workload()
    runtime = Runtime(workload.process)
    instance = runtime.start(workload.starter, instance_id="template")
    found = []
    for event in workload.events:
        if workload.process.states[instance.state].is_final:
            break
        found.append((_copy(instance), runtime.case_work(instance)))
        runtime.fire(instance, event.trigger, event.actor, event.payload)
    return found


def _copy(instance: Any) -> Any:
    return replace(instance, history=list(instance.history), data=dict(instance.data))


def _measure(store: str, url: str, cases: int, templates: list[tuple[Any, Any]]) -> list[Row]:
    from engine.runtime import Actor
    from engine.service import Workflows

    with Workflows(url) as flows:
        flows.register(PROCESS_FILE)
        _fill(flows.store, cases, templates)
        roles = Counter(role for _, work in templates for role in work.roles)
        (busiest, _), (second, _) = roles.most_common(2)
        share = sum(1 for _, work in templates if busiest in work.roles) / len(templates)
        one = Actor("bench", [busiest])
        two = Actor("bench", [busiest, second])
        first = _timed(lambda: flows.worklist(one, limit=PAGE))
        overdue = _timed(lambda: flows.worklist(two, overdue=True, limit=PAGE))
        assert len(flows.worklist(one, limit=PAGE).items) == min(PAGE, round(cases * share))
    met = first[0] < TARGET if cases >= 100_000 else None
    return [
        Row(
            SECTION,
            f"{store}: role `{busiest}`'s first page of {PAGE}, {cases:,} open cases",
            first[0] * 1000,
            "ms",
            None,
            f"CPU {first[1] * 1000:.2f} ms",
            f"< {TARGET * 1000:.0f} ms" if cases >= 100_000 else "",
            met,
            f"{share:.0%} of the cases are theirs",
        ),
        Row(
            SECTION,
            f"{store}: roles `{busiest}`+`{second}`, overdue only, first page, {cases:,} open cases",
            overdue[0] * 1000,
            "ms",
            None,
            f"CPU {overdue[1] * 1000:.2f} ms",
        ),
    ]


def _timed(action: Any) -> tuple[float, float]:
    """Median wall and CPU seconds of ``action`` over ``CALLS`` calls, after one to warm up."""
    action()
    walls, cpus = [], []
    for _ in range(CALLS):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


def _fill(store: Any, cases: int, templates: list[tuple[Any, Any]]) -> None:
    """``cases`` open cases, each a template under its own id and due time, written in bulk with the rows
    ``Store.insert`` writes for an instance and its work items (the history rows left out)."""
    from engine.stores.integrity import canonical
    from engine.work import work_to_json

    chooser = random.Random(7)
    now = datetime.datetime.now(datetime.UTC)
    instances, work_cases, work_items = [], [], []
    for n in range(cases):
        instance, work = templates[n % len(templates)]
        instance_id = f"wl-{n:07d}"
        due = now + datetime.timedelta(minutes=chooser.randint(-30 * 24 * 60, 30 * 24 * 60))
        work = replace(work, instance_id=instance_id, due=due)
        columns = {**store._columns(instance), "id": instance_id}
        instances.append((*columns.values(), store._time(instance.history[0].at)))
        due_order = store._time(due)
        work_cases.append((instance_id, work.process_id, due_order, canonical(work_to_json(work))))
        work_items += [
            (instance_id, role, work.process_id, work.work.state, due_order, None) for role in sorted(work.roles)
        ]
    names = ", ".join(store._columns(templates[0][0]))
    marks = ", ".join(["?"] * (len(store._columns(templates[0][0])) + 1))
    statements = [
        (f"INSERT INTO instances ({names}, started_at) VALUES ({marks})", instances),
        (
            "INSERT INTO work_cases (instance_id, process_id, due_order, item) VALUES (?, ?, ?, ?)",
            work_cases,
        ),
        (
            "INSERT INTO work_items (instance_id, role, process_id, state, due_order, claimed_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            work_items,
        ),
    ]
    with _bulk(store) as run:
        for sql, rows in statements:
            run(sql, rows)


@contextlib.contextmanager
def _bulk(store: Any) -> Iterator[Any]:
    """An ``executemany`` inside one write transaction on the store's own connection (a benchmark may
    reach inside: the store has no bulk load, and 100,000 single inserts would take minutes)."""
    connection = store._connection
    if store.dialect == "sqlite":
        connection.execute("BEGIN IMMEDIATE")
        yield connection.executemany
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        return
    with connection.transaction(), connection.cursor() as cursor:
        yield lambda sql, rows: cursor.executemany(sql.replace("?", "%s"), rows)
    connection.execute("ANALYZE")

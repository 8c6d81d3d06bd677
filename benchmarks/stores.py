"""Section 3: events committed through ``Workflows`` on SQLite and PostgreSQL.

SQLite is set against its floor: a bare ``sqlite3`` transaction doing the same two writes an event
needs (update the instance row, insert the history row), with the same pragmas (WAL,
``synchronous=FULL``), the same ``BEGIN IMMEDIATE``, and the very JSON texts our events wrote.

Then the store's own CPU per event (in ``Store.load`` and ``Store.save``) against the runtime's (in
``Runtime.fire``); events per second with ten times as many active instances; and ``Workflows.fire_many``
in batches of 50 against one transaction per event (one flush to disk per batch instead of per event).

PostgreSQL's rows are ``benchmarks.stores_postgres``'s.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.report import Row, Size
from benchmarks.stores_postgres import DEFAULT_POSTGRES, postgres, postgres_problem
from benchmarks.workload import PROCESS_FILE, load_workload

SECTION = "3 stores"
BATCH = 50
WAL_HEADER, WAL_FRAME_HEADER = 32, 24
"""The sizes SQLite's WAL file format gives its header and each frame's (a page follows each)."""


def stores(size: Size) -> list[Row]:
    try:
        from engine.service import Workflows  # noqa: F401
    except ImportError as exc:
        return [Row(SECTION, "not measured", None, "", note=f"stores not landed: {exc}")]
    rows = _sqlite(size)
    url = os.environ.get("PROCFLOW_BENCH_POSTGRES") or os.environ.get("PROCFLOW_TEST_POSTGRES") or DEFAULT_POSTGRES
    problem = postgres_problem(url)
    if problem is not None:
        rows.append(Row(SECTION, "PostgreSQL", None, "", note=f"not measured: {problem}"))
        return rows
    return rows + postgres(size, url)


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite(size: Size) -> list[Row]:
    from engine.service import Workflows

    workload = load_workload()
    events = workload.events
    instances = max(1, size.store_events // len(events))
    with tempfile.TemporaryDirectory(prefix="procflow-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'store.db'}"
        with Workflows(url) as flows:
            flows.register(PROCESS_FILE)
            ids = [flows.start(workload.process.id, workload.starter).id for _ in range(instances)]
            began = time.perf_counter()
            for event in events:
                for instance_id in ids:
                    flows.fire(instance_id, event.trigger, event.actor, event.payload)
            ours = instances * len(events) / (time.perf_counter() - began)
            writes = _written_rows(flows, ids[0])
        floor, floor_cpu = _bare_sqlite(Path(folder) / "bare.db", writes, instances)
        extra = [
            *_cpu_per_event(Path(folder), instances, floor_cpu),
            _pages_per_event(Path(folder), instances, writes),
            _active(Path(folder), size),
            _batched(Path(folder), instances),
            _long_history(Path(folder), size),
        ]
    return [
        Row(SECTION, "bare sqlite3: update instance + insert history, one transaction", floor, "events/s"),
        Row(
            SECTION,
            f"SQLite through Workflows.fire ({instances} instances × {len(events)} events)",
            ours,
            "events/s",
            ours / floor,
            f"{ours / floor:.2f}× the bare rate",
            "≥ 0.8× bare",
            ours / floor >= 0.8,
            "synchronous=FULL and WAL on both",
        ),
        *extra,
    ]


def _timed(target: Any, name: str, spent: list[float]) -> None:
    """Add the CPU time each call of ``target.name`` takes to ``spent[0]``."""
    call = getattr(target, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return call(*args, **kwargs)
        finally:
            spent[0] += time.thread_time() - began

    setattr(target, name, timed)


class _StatementClock:
    """A stand-in for the store's SQLite connection that adds the thread CPU time of each statement to
    ``commit`` (the ``COMMIT``: SQLite writing its log and flushing it to disk) or ``statements``
    (the others, with the fetching of their rows)."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection
        self.commit = self.statements = 0.0

    def execute(self, sql: str, params: Any = ()) -> _TimedCursor:
        began = time.thread_time()
        try:
            return _TimedCursor(self._connection.execute(sql, params), self)
        finally:
            spent = time.thread_time() - began
            if sql == "COMMIT":
                self.commit += spent
            else:
                self.statements += spent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class _TimedCursor:
    """A statement's cursor whose rows are fetched on its clock's statement time."""

    def __init__(self, cursor: sqlite3.Cursor, clock: _StatementClock):
        self._cursor, self._clock = cursor, clock
        self.rowcount = cursor.rowcount

    def fetchone(self) -> Any:
        began = time.thread_time()
        try:
            return self._cursor.fetchone()
        finally:
            self._clock.statements += time.thread_time() - began

    def fetchall(self) -> list[Any]:
        began = time.thread_time()
        try:
            return self._cursor.fetchall()
        finally:
            self._clock.statements += time.thread_time() - began


def _cpu_per_event(folder: Path, instances: int, bare_cpu: float) -> list[Row]:
    """The store's CPU per event against the runtime's, and where it goes: the commit's flush to disk,
    SQLite running the statements, and the store's own Python; the bare loop's CPU beside them."""
    from engine.service import Workflows

    workload = load_workload()
    store_cpu, runtime_cpu = [0.0], [0.0]
    with Workflows(f"sqlite:///{folder / 'cpu.db'}") as flows:
        flows.register(PROCESS_FILE)
        ids = [flows.start(workload.process.id, workload.starter).id for _ in range(instances)]
        _timed(flows.runtime(workload.process.id, workload.process.content_hash), "fire", runtime_cpu)
        for name in ("load", "save", "save_linked"):
            _timed(flows.store, name, store_cpu)
        clock = _StatementClock(flows.store._connection)  # type: ignore[attr-defined]
        flows.store._connection = clock  # type: ignore[attr-defined]
        for event in workload.events:
            for instance_id in ids:
                flows.fire(instance_id, event.trigger, event.actor, event.payload)
    events = instances * len(workload.events)
    ours, runtime = store_cpu[0] / events * 1e6, runtime_cpu[0] / events * 1e6
    commit, statements = clock.commit / events * 1e6, clock.statements / events * 1e6

    def part(name: str, value: float) -> Row:
        return Row(SECTION, name, value, "µs", value / ours, f"{value / ours:.0%} of the store's CPU")

    return [
        Row(
            SECTION,
            "SQLite store CPU per event (load + save), against the runtime's (Runtime.fire)",
            ours,
            "µs",
            ours / runtime,
            f"{ours / runtime:.2f}× the runtime's {runtime:.0f} µs",
            "≤ 1× the runtime's",
            ours <= runtime,
            "thread CPU time, the flush to disk included; the rows below split it",
        ),
        part("the store's CPU per event: the COMMIT (SQLite's log written, flushed to disk)", commit),
        part("the store's CPU per event: SQLite running the other statements, their rows fetched", statements),
        part(
            "the store's CPU per event: its own Python (JSON, rows, the worklist and outbox)",
            ours - commit - statements,
        ),
        Row(
            SECTION,
            "bare sqlite3 loop CPU per event (two statements and the COMMIT)",
            bare_cpu * 1e6,
            "µs",
            bare_cpu * 1e6 / runtime,
            f"{bare_cpu * 1e6 / runtime:.2f}× the runtime's",
            note="the floor of one transaction per event on this disk, before any procflow code",
        ),
    ]


def _active(folder: Path, size: Size) -> Row:
    """Events per second when ten times as many instances are active (each has taken the path's first
    events), in batches so that the flush to disk does not hide the CPU. The two stores take turns,
    ``size.rounds`` rounds of the same number of batches each, and the median of the rounds' ratios is
    kept: measured one after the other, a burst of load on the shared machine decided the ratio."""
    from engine.service import Workflows

    few, many = max(10, size.instances // 10), max(100, size.instances)
    batches_of_few = -(-few // BATCH)
    per_round = max(1, (16 * batches_of_few) // size.rounds)  # few's cases take at most 16 more events
    with (
        Workflows(f"sqlite:///{folder / f'active-{few}.db'}") as few_flows,
        Workflows(f"sqlite:///{folder / f'active-{many}.db'}") as many_flows,
    ):
        turns = {count: _active_batches(flows, count) for count, flows in ((few, few_flows), (many, many_flows))}
        seconds: dict[int, list[float]] = {few: [], many: []}
        done: dict[int, list[int]] = {few: [], many: []}
        for _ in range(size.rounds):
            for count, batches in turns.items():
                began, fired = time.perf_counter(), 0
                for _ in range(per_round):
                    fired += next(batches)()
                seconds[count].append(time.perf_counter() - began)
                done[count].append(fired)
    rate = {count: [n / s for n, s in zip(done[count], seconds[count], strict=True)] for count in (few, many)}
    ratio = statistics.median(m / f for m, f in zip(rate[many], rate[few], strict=True))
    return Row(
        SECTION,
        f"SQLite with {many} active instances, against {few}",
        statistics.median(rate[many]),
        "events/s",
        ratio,
        f"{ratio:.2f}× the rate at {few}",
        "≥ 0.9× (no cliff)",
        ratio >= 0.9,
        f"the next events of every instance, in batches of {BATCH}; {size.rounds} interleaved rounds, median ratio",
    )


def _active_batches(flows: Any, count: int) -> Iterator[Callable[[], int]]:
    """``count`` cases started and driven three events along the path; then their next events, one
    batch of ``BATCH`` cases at a time (each a call that fires it and says how many it fired), every
    case taking its next event before any takes the one after."""
    from engine.service import Event

    workload = load_workload()
    flows.register(PROCESS_FILE)
    ids: list[str] = []
    for start in range(0, count, BATCH):
        with flows.batch():
            ids += [flows.start(workload.process.id, workload.starter).id for _ in range(min(BATCH, count - start))]
    chunks = [ids[start : start + BATCH] for start in range(0, count, BATCH)]
    for event in workload.events[:3]:
        for chunk in chunks:
            flows.fire_many(Event(i, event.trigger, event.actor, event.payload) for i in chunk)

    for event in workload.events[3:]:
        for chunk in chunks:
            yield functools.partial(_fire_batch, flows, event, chunk)


def _fire_batch(flows: Any, event: Any, chunk: list[str]) -> int:
    from engine.service import Event

    flows.fire_many(Event(i, event.trigger, event.actor, event.payload) for i in chunk)
    return len(chunk)


def _batched(folder: Path, instances: int) -> Row:
    """The path's events through ``fire_many`` in batches of ``BATCH``, against one transaction each."""
    from engine.service import Event, Workflows

    workload = load_workload()
    rates = {}
    for batch in (1, BATCH):
        with Workflows(f"sqlite:///{folder / f'batch-{batch}.db'}") as flows:
            flows.register(PROCESS_FILE)
            ids = [flows.start(workload.process.id, workload.starter).id for _ in range(instances)]
            began = time.perf_counter()
            for event in workload.events:
                for start in range(0, instances, batch):
                    chunk = ids[start : start + batch]
                    if batch == 1:
                        flows.fire(chunk[0], event.trigger, event.actor, event.payload)
                    else:
                        flows.fire_many(Event(i, event.trigger, event.actor, event.payload) for i in chunk)
            rates[batch] = instances * len(workload.events) / (time.perf_counter() - began)
    ratio = rates[BATCH] / rates[1]
    return Row(
        SECTION,
        f"SQLite, Workflows.fire_many in batches of {BATCH}, against one transaction per event",
        rates[BATCH],
        "events/s",
        ratio,
        f"{ratio:.1f}× one per transaction ({rates[1]:.0f} events/s)",
        "≥ 5×",
        ratio >= 5,
        "synchronous=FULL",
    )


LONG_CASES = 10


def long_history_cases(flows: Any) -> list[str]:
    """``LONG_CASES`` cases driven along the path to the plan's review (``_long_history``)."""
    from engine.service import Event

    workload = load_workload()
    ids = [flows.start(workload.process.id, workload.starter).id for _ in range(LONG_CASES)]
    for event in workload.events[:8]:
        flows.fire_many(Event(i, event.trigger, event.actor, event.payload) for i in ids)
    return ids


def send_back_and_resubmit(flows: Any, ids: list[str], rounds: int) -> int:
    """The supervisor sends each case's plan back and the engineer submits it again, ``rounds`` times
    (the review's sign-off asks who planned the repair each time); how many events that was."""
    from engine.service import Event

    again = load_workload().events[8:10]
    for _ in range(rounds):
        for event in again:
            flows.fire_many(Event(i, event.trigger, event.actor, event.payload) for i in ids)
    return rounds * len(again) * len(ids)


def long_history_rounds(size: Size) -> int:
    """How many times the plan goes back and forth to make a long history: 1,000 entries in a full run."""
    return max(5, size.store_events // 8)


def _long_history(folder: Path, size: Size) -> Row:
    """CPU per event on cases whose histories are long, against the same events on short ones (in
    instructions, section 9 has the same comparison)."""
    from engine.service import Workflows

    with Workflows(f"sqlite:///{folder / 'long.db'}") as flows:
        flows.register(PROCESS_FILE)
        ids = long_history_cases(flows)

        def cpu_per_event() -> float:
            began = time.process_time()
            events = send_back_and_resubmit(flows, ids, 5)
            return (time.process_time() - began) / events

        short = min(cpu_per_event() for _ in range(3))
        send_back_and_resubmit(flows, ids, long_history_rounds(size))
        length = flows.get(ids[0]).version
        long = min(cpu_per_event() for _ in range(3))
    ratio = long / short
    return Row(
        SECTION,
        f"SQLite CPU per event on histories of {length} entries, against about 30",
        long * 1e6,
        "µs",
        ratio,
        f"{ratio:.2f}× the short histories' {short * 1e6:.0f} µs",
        note=f"{LONG_CASES} cases in batches, send_back and submit_plan again; best of 3 runs of 5 rounds; "
        "the target reads section 9's count of the same, in instructions (time also follows the cache "
        "misses of a larger working set)",
    )


def _written_rows(flows: Any, instance_id: str) -> list[tuple[str, str, str, str, str]]:
    """What each event of the path wrote for one instance: state, data, entered_at, deadlines, entry."""
    from engine.instances import deadline_to_json, entry_to_json

    instance = flows.get(instance_id)
    runtime = flows.runtime(instance.process_id, instance.content_hash)
    replay = runtime.start(
        _actor(instance.history[0].actor, instance.history[0].roles),
        instance.history[0].payload,
        at=instance.history[0].at,
    )
    rows = []
    for entry in instance.history[1:]:
        runtime.fire(replay, entry.trigger or "", _actor(entry.actor, entry.roles), entry.payload, at=entry.at)
        rows.append(
            (
                replay.state,
                json.dumps(replay.data, ensure_ascii=False),
                replay.entered_at.isoformat(),
                json.dumps([deadline_to_json(d) for d in replay.deadlines]),
                json.dumps(entry_to_json(entry), ensure_ascii=False),
            )
        )
    return rows


def _bare_sqlite(path: Path, writes: list[tuple[str, str, str, str, str]], instances: int) -> tuple[float, float]:
    """Events per second, and CPU seconds per event."""
    connection, ids = _bare_store(path, instances)
    began, cpu = time.perf_counter(), time.thread_time()
    _bare_events(connection, ids, writes)
    events = len(writes) * instances
    rate, cpu = events / (time.perf_counter() - began), (time.thread_time() - cpu) / events
    connection.close()
    return rate, cpu


def _bare_store(path: Path, instances: int) -> tuple[sqlite3.Connection, list[str]]:
    connection = sqlite3.connect(str(path), isolation_level=None)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"):
        connection.execute(pragma)
    connection.execute(
        "CREATE TABLE instances (id TEXT PRIMARY KEY, state TEXT NOT NULL, data TEXT NOT NULL, "
        "entered_at TEXT NOT NULL, deadlines TEXT NOT NULL, version INTEGER NOT NULL)"
    )
    connection.execute(
        "CREATE TABLE entries (instance_id TEXT NOT NULL REFERENCES instances (id), idx INTEGER NOT NULL, "
        "entry TEXT NOT NULL, PRIMARY KEY (instance_id, idx))"
    )
    ids = [uuid.uuid4().hex for _ in range(instances)]
    connection.executemany(
        "INSERT INTO instances VALUES (?, 'apply', '{}', '', '[]', 1)", [(instance_id,) for instance_id in ids]
    )
    return connection, ids


def _bare_events(connection: sqlite3.Connection, ids: list[str], writes: list[tuple[str, str, str, str, str]]) -> None:
    for index, (state, data, entered_at, deadlines, entry) in enumerate(writes, start=1):
        for instance_id in ids:
            connection.execute("BEGIN IMMEDIATE")
            updated = connection.execute(
                "UPDATE instances SET state = ?, data = ?, entered_at = ?, deadlines = ?, version = ? "
                "WHERE id = ? AND version = ?",
                (state, data, entered_at, deadlines, index + 1, instance_id, index),
            ).rowcount
            if updated != 1:
                raise RuntimeError("the bare SQLite floor lost its own race")
            connection.execute("INSERT INTO entries VALUES (?, ?, ?)", (instance_id, index, entry))
            connection.execute("COMMIT")


def _pages_per_event(folder: Path, instances: int, writes: list[tuple[str, str, str, str, str]]) -> Row:
    """The pages an event writes to SQLite's log (its WAL frames, the checkpoints held off while they are
    counted): ``Workflows.fire`` along the path against the bare loop's two statements."""
    from engine.service import Workflows

    workload = load_workload()
    with Workflows(f"sqlite:///{folder / 'pages.db'}") as flows:
        flows.register(PROCESS_FILE)
        ids = [flows.start(workload.process.id, workload.starter).id for _ in range(instances)]
        connection = flows.store._connection  # type: ignore[attr-defined]

        def path() -> None:
            for event in workload.events:
                for instance_id in ids:
                    flows.fire(instance_id, event.trigger, event.actor, event.payload)

        ours = _wal_frames(connection, folder / "pages.db-wal", path) / (instances * len(workload.events))
    bare_connection, bare_ids = _bare_store(folder / "bare-pages.db", instances)
    bare = _wal_frames(
        bare_connection, folder / "bare-pages.db-wal", lambda: _bare_events(bare_connection, bare_ids, writes)
    ) / (instances * len(writes))
    bare_connection.close()
    return Row(
        SECTION,
        "SQLite pages written an event (WAL frames), against the bare loop's",
        ours,
        "pages",
        ours / bare,
        f"{ours / bare:.1f}× the bare loop's {bare:.1f}",
        note="the case, its entry, the work items and case, the outbox row, the deadlines, with their indexes",
    )


def _wal_frames(connection: sqlite3.Connection, wal: Path, run: Callable[[], None]) -> float:
    """The frames ``run`` appends to the WAL file ``wal`` of ``connection``'s database."""
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    try:
        run()
        page_size = int(connection.execute("PRAGMA page_size").fetchone()[0])
        return max(0, wal.stat().st_size - WAL_HEADER) / (page_size + WAL_FRAME_HEADER)
    finally:
        connection.execute("PRAGMA wal_autocheckpoint=1000")


def _actor(actor_id: str, roles: Any) -> Any:
    from engine.runtime import Actor

    return Actor(actor_id, roles)

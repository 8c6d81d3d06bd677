"""Section 3's PostgreSQL rows: 1, 2 and 4 worker processes, each driving its own instances along the
workload's path; then 8 workers firing at the same 100 instances at once. Each contended event carries a
unique marker in its payload and an idempotency key; afterwards every history is read back and each
acknowledged marker must be there exactly once (lost = 0, doubled = 0). Each run has a schema of its
own (``schema``), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from benchmarks.report import Row, Size
from benchmarks.workload import PROCESS_FILE, Event, load_workload

SECTION = "3 stores"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CONTENDED_TRIGGER = "contact_customer"
"""fault_detection → fault_detection: always allowed, so contending writers only ever race on versions."""
CONTENDED_ACTOR = ("liu", ("engineer",))
CONTENDING_WORKERS = 8


def postgres(size: Size, base: str) -> list[Row]:
    """1, 2 and 4 workers in turn, for up to 3 rounds (the same database serves other work on this
    machine); the median rate of each is kept."""
    rows = []
    samples: dict[int, list[float]] = {1: [], 2: [], 4: []}
    per_worker = max(1, size.store_events // len(load_workload().events) // 4)
    with schema(base) as url:
        _register(url)
        for _ in range(min(size.rounds, 3)):
            for workers in samples:
                ids = _started(url, per_worker * workers)
                results = _run_workers(url, [ids[w::workers] for w in range(workers)], "path", 0)
                samples[workers].append(sum(r["events"] for r in results["workers"]) / results["seconds"])
        rates = {workers: statistics.median(rates) for workers, rates in samples.items()}
        for workers, rate in rates.items():
            row = Row(SECTION, f"PostgreSQL, {workers} worker process(es), distinct instances", rate, "events/s")
            if workers > 1:
                ratio = rate / rates[1]
                row.ratio, row.ratio_text = ratio, f"{ratio:.2f}× one worker"
                if workers == 4:
                    row.target, row.met = "≥ 1.5× one worker", ratio >= 1.5
                    row.note = f"{per_worker} instances × 22 events per worker; median of {len(samples[1])} rounds"
            rows.append(row)
        rows.append(_contended(url, size))
    return rows


def _contended(url: str, size: Size) -> Row:
    from engine.service import Workflows

    ids = _started(url, size.contended_instances, to_fault_detection=True)
    results = _run_workers(url, [ids] * CONTENDING_WORKERS, "contend", size.contended_events)
    acknowledged = [marker for r in results["workers"] for marker in r["markers"]]
    with Workflows(url) as flows:
        found: Counter[str] = Counter()
        for instance_id in ids:
            for entry in flows.history(instance_id):
                if entry.trigger == CONTENDED_TRIGGER:
                    found[str(entry.payload.get("symptoms_confirmed"))] += 1
    lost = sum(1 for marker in acknowledged if found[marker] == 0)
    doubled = sum(1 for count in found.values() if count > 1)
    conflicts = sum(r["conflicts"] for r in results["workers"])
    given_up = sum(r["given_up"] for r in results["workers"])
    rate = len(acknowledged) / results["seconds"]
    return Row(
        SECTION,
        f"PostgreSQL, {CONTENDING_WORKERS} workers contending on the same {size.contended_instances} instances",
        rate,
        "events/s",
        ratio_text=f"lost={lost} doubled={doubled}",
        target="lost = 0, doubled = 0",
        met=lost == 0 and doubled == 0 and len(found) == len(acknowledged),
        note=(
            f"{len(acknowledged)} events acknowledged, {sum(found.values())} in the histories; "
            f"{conflicts} version conflicts retried by Workflows.fire, {given_up} sent again after EventConflict"
        ),
    )


def _register(url: str) -> None:
    from engine.service import Workflows

    with Workflows(url) as flows:
        flows.register(PROCESS_FILE)


def _started(url: str, count: int, *, to_fault_detection: bool = False) -> list[str]:
    from engine.service import Workflows

    workload = load_workload()
    with Workflows(url) as flows:
        ids = [flows.start(workload.process.id, workload.starter).id for _ in range(count)]
        if to_fault_detection:
            for event in _to_fault_detection(workload.events):
                for instance_id in ids:
                    flows.fire(instance_id, event.trigger, event.actor, event.payload)
    return ids


def _to_fault_detection(events: tuple[Event, ...]) -> list[Event]:
    by_trigger = {event.trigger: event for event in reversed(events)}  # the first of each
    path = []
    for trigger in ("submit", "reviewed", "issue_order", "shipped", "register"):
        event = by_trigger[trigger]
        if trigger == "reviewed":  # under warranty, so it goes straight on to accept the application
            event = Event(trigger, event.actor, {**event.payload, "in_warranty": True}, event.at)
        path.append(event)
    return path


def _run_workers(url: str, shares: list[list[str]], job: str, count: int) -> dict[str, Any]:
    """Start one process per share, wait until each is ready, release them together, and time it."""
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    processes = [
        context.Process(target=_worker, args=(url, share, job, count, index, ready, go, results))
        for index, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    began = time.perf_counter()
    go.set()
    collected = [results.get(timeout=1800) for _ in processes]
    seconds = time.perf_counter() - began
    for process in processes:
        process.join(timeout=60)
    failures = [r["error"] for r in collected if r.get("error")]
    if failures:
        raise RuntimeError(f"a benchmark worker failed: {failures[0]}")
    return {"seconds": seconds, "workers": collected}


def _worker(url: str, ids: list[str], job: str, count: int, index: int, ready: Any, go: Any, results: Any) -> None:
    from engine.errors import EventConflict, StaleVersion
    from engine.runtime import Actor
    from engine.service import Workflows

    report: dict[str, Any] = {"events": 0, "markers": [], "conflicts": 0, "given_up": 0, "error": None}
    try:
        workload = load_workload()
        with Workflows(url) as flows:
            flows.runtime(workload.process.id, workload.process.content_hash)  # compiled before the clock starts
            save = flows.store.save

            def counting_save(instance: Any, read: int, work: Any = None) -> Any:
                try:
                    return save(instance, read, work)
                except StaleVersion:
                    report["conflicts"] += 1
                    raise

            flows.store.save = counting_save  # type: ignore[method-assign,assignment]
            ready.put(index)
            go.wait()
            if job == "path":
                for event in workload.events:
                    for instance_id in ids:
                        flows.fire(instance_id, event.trigger, event.actor, event.payload)
                        report["events"] += 1
            else:
                actor = Actor(CONTENDED_ACTOR[0], CONTENDED_ACTOR[1])
                chooser = random.Random(index)
                for number in range(count):
                    marker = f"w{index}-{number}"
                    instance_id = chooser.choice(ids)
                    while True:
                        try:
                            flows.fire(
                                instance_id, CONTENDED_TRIGGER, actor, {"symptoms_confirmed": marker}, key=marker
                            )
                            break
                        except EventConflict:
                            report["given_up"] += 1  # the same key again: it takes effect at most once
                    report["markers"].append(marker)
                    report["events"] += 1
    except Exception as exc:  # reported to the parent, which raises it
        report["error"] = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            ready.put(index)
    results.put(report)


@contextlib.contextmanager
def schema(base: str) -> Iterator[str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    option = quote(f"-csearch_path={schema}", safe="")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options={option}"
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute("SET lock_timeout = '30s'")
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_problem(url: str) -> str | None:
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL at {url}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
    return None

"""Due deadlines fire exactly once, however many workers run, and a worker killed mid-batch loses
nothing: its claims run out and another worker fires what it had taken."""

from __future__ import annotations

import datetime as dt
import signal
import threading

import pytest
from store_support import (
    CUSTOMER,
    LONG_AGO,
    MINIMAL,
    OUT_OF_WARRANTY,
    SUPERVISOR,
    finish,
    minimal_runtime,
    spawn,
)

from engine.errors import StoreError
from engine.service import Workflows
from engine.stores import DEFAULT_LEASE

pytest_plugins = ["store_support"]

DUE = 200


def quoted_long_ago(workflows: Workflows, count: int) -> list[str]:
    """Instances in `quote` since long ago: each has one due deadline that fires `escalate`
    (back into `quote`, which keeps the stay) and a time limit that only marks it overdue."""
    runtime, ids = minimal_runtime(), []
    for n in range(count):
        instance = runtime.start(CUSTOMER, at=LONG_AGO, instance_id=f"T-{n:03}")
        runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=LONG_AGO)
        workflows.store.insert(instance)
        ids.append(instance.id)
    return ids


def escalations(workflows: Workflows, instance_id: str) -> int:
    instance = workflows.get(instance_id)
    workflows.verify(instance_id)
    fired = [e for e in instance.history if e.by_deadline]
    assert all(e.trigger == "escalate" for e in fired)
    return len(fired)


def test_several_workers_fire_each_due_deadline_exactly_once(durable_url):
    with Workflows(durable_url) as workflows:
        workflows.register(MINIMAL)
        ids = quoted_long_ago(workflows, DUE)
    workers = [spawn("-m", "engine", "worker", "--store", durable_url, "--once", "--batch", "15") for _ in range(3)]
    reports = []
    for worker in workers:
        out, err = finish(worker)
        assert worker.returncode == 0, err
        reports.append(out)
    fired_by = [int(out.rsplit("fired ", 1)[1].split()[0]) for out in reports]
    assert sum(fired_by) == DUE, fired_by
    with Workflows(durable_url) as workflows:
        assert [escalations(workflows, i) for i in ids] == [1] * DUE
        assert workflows.fire_due(limit=DUE) == 0  # nothing left, nothing fires again


DEAD_LEASE = dt.timedelta(hours=1)


def test_a_killed_worker_loses_nothing(durable_url):
    with Workflows(durable_url) as workflows:
        workflows.register(MINIMAL)
        ids = quoted_long_ago(workflows, 60)
        # A long lease, so a slow start of the worker below on a busy machine cannot outlast it.
        workflows.store.claim_due(dt.datetime.now(dt.UTC), 20, "a worker that dies holding its claims", DEAD_LEASE)
    worker = spawn("-m", "engine", "worker", "--store", durable_url, "--batch", "5", "--interval", "0.2")
    assert worker.stdout is not None
    try:
        assert worker.stdout.readline().startswith("worker on ")
        assert " fired " in worker.stdout.readline()  # its first batch is done
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        finish(worker)
    with Workflows(durable_url) as workflows:
        now = dt.datetime.now(dt.UTC)
        while workflows.fire_due(now):  # everything but what the dead hold (and the killed worker's last)
            pass
        assert sum(escalations(workflows, i) for i in ids) < 60
        assert DEAD_LEASE > DEFAULT_LEASE  # so `later` is past the killed worker's own claims too
        later = now + DEAD_LEASE + dt.timedelta(seconds=1)
        while workflows.fire_due(later):  # the claims have run out
            pass
        assert [escalations(workflows, i) for i in ids] == [1] * 60


def test_a_deadline_whose_transition_is_refused_stays_open_and_is_not_claimed_again(store_url, tmp_path):
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "        dest: quote\n        roles: [supervisor]\n",
        "        dest: quote\n        roles: [supervisor]\n        conditions: data.model == 'X2'\n",
        1,
    )
    guarded = tmp_path / "guarded.yaml"
    guarded.write_text(text, encoding="utf-8")
    with Workflows(store_url) as workflows:
        workflows.register(guarded)
        workflows.start("minimal_repair", CUSTOMER, instance_id="G", at=LONG_AGO)
        workflows.fire("G", "submit", CUSTOMER, OUT_OF_WARRANTY, at=LONG_AGO)
        before = workflows.get("G")
        assert workflows.fire_due() == 0  # `escalate` needs model X2
        assert workflows.get("G") == before  # the deadline is still open, nothing recorded
        assert workflows.store.claim_due(dt.datetime.now(dt.UTC), 10, "another worker") == []
        workflows.fire("G", "hold", SUPERVISOR)  # people can still move it on
        assert workflows.get("G").state == "on_hold"


def test_workers_fire_due_deadlines_earliest_first_at_their_own_due_times(workflows):
    workflows.start("minimal_repair", CUSTOMER, instance_id="R", at=LONG_AGO)
    workflows.fire("R", "submit", CUSTOMER, OUT_OF_WARRANTY, at=LONG_AGO)
    workflows.fire("R", "hold", SUPERVISOR, at=LONG_AGO)
    due = workflows.get("R").deadlines
    assert workflows.fire_due(LONG_AGO + dt.timedelta(days=30)) == 1  # `remind` (after 3 days) fires once
    [reminder] = [e for e in workflows.history("R") if e.by_deadline]
    assert (reminder.trigger, reminder.at) == ("remind", next(d.due for d in due if d.fire == "remind"))
    assert workflows.fire_due(LONG_AGO + dt.timedelta(days=60)) == 0


def test_a_worker_reports_a_store_error_and_carries_on(workflows):
    workflows.start("minimal_repair", CUSTOMER, instance_id="E", at=LONG_AGO)
    workflows.fire("E", "submit", CUSTOMER, OUT_OF_WARRANTY, at=LONG_AGO)
    claim_due, failures, errors, stop = workflows.store.claim_due, [1], [], threading.Event()

    def failing_once(*args, **kwargs):
        if failures:
            failures.pop()
            raise StoreError("the database went away")
        return claim_due(*args, **kwargs)

    def report(batch):
        if batch.fired:
            stop.set()

    workflows.store.claim_due = failing_once
    fired = workflows.work(interval=0.01, stop=stop, report=report, on_error=errors.append)
    assert fired == 1
    assert [str(e) for e in errors] == ["the database went away"]
    failures.append(1)
    with pytest.raises(StoreError):  # without on_error, the error ends the loop
        workflows.work(once=True)

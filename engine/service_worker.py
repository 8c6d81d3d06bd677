"""The worker: due deadlines claimed with a lease and fired, each claimed batch in one transaction
(``fire_due_batch``), and the outbox delivered in the same loop (``work``). Damage is contained: a
worker sets aside an instance it cannot read and fires the rest.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from engine.errors import DamagedRecord, EventRefused, NotFound, StaleVersion, StoreError
from engine.instances import Instance, OpenDeadline
from engine.service_outbox import Deliveries, WorkflowsOutbox, worker_name
from engine.service_writes import WorkflowsWrites
from engine.stores import DEFAULT_LEASE, Damaged, DueDeadline

_MAX_DEADLINE_STEPS = 1000
"""Bound on the deadline firings one worker does on one instance in one pass (a broken calendar guard)."""


@dataclass(frozen=True)
class Batch:
    """What one ``fire_due`` pass did."""

    claimed: int
    fired: int
    set_aside: tuple[Damaged, ...] = ()
    """Instances whose deadlines could not be read or fired because their record is damaged: no worker
    claims them again until they are next written."""
    deliveries: Deliveries | None = None
    """What the same pass delivered from the outbox, when the worker delivers."""


class WorkflowsWorker(WorkflowsWrites, WorkflowsOutbox):
    """Due deadlines fired, and the worker's loop over them and the outbox."""

    def fire_due(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> int:
        """Claim up to ``limit`` due deadlines and fire them, each at its own due time, all in one
        transaction (``batch``); return how many were fired. Several workers may run this at once: each due
        deadline fires exactly once."""
        return self.fire_due_batch(now, limit=limit, worker_id=worker_id, lease=lease).fired

    def fire_due_batch(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> Batch:
        now = now or self._clock()
        worker = worker_id or worker_name()
        claimed = self.store.claim_due(now, limit, worker, lease)
        fired, set_aside = 0, [c for c in claimed if isinstance(c, Damaged)]
        try:
            with self.batch():  # one commit for the claimed batch: should it fail, none fired, all claimable again
                for instance_id in dict.fromkeys(c.instance_id for c in claimed if isinstance(c, DueDeadline)):
                    try:
                        fired += self._fire_due_on(instance_id, now)
                    except (DamagedRecord, NotFound) as damage:  # NotFound: the definition it names is gone
                        self.store.set_aside(instance_id, str(damage))
                        set_aside.append(Damaged(instance_id, str(damage)))
        finally:
            self.store.release(worker)
        return Batch(len(claimed), fired, tuple(set_aside))

    def work(
        self,
        *,
        interval: float = 5.0,
        batch: int = 100,
        once: bool = False,
        stop: threading.Event | None = None,
        report: Callable[[Batch], None] | None = None,
        on_error: Callable[[StoreError], None] | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> int:
        """Fire due deadlines, and deliver due outbox rows when given somewhere to deliver them, until
        ``stop`` is set (or, with ``once``, until none are due); return how many deadlines were fired. A
        full batch is followed at once by another; otherwise it waits ``interval`` seconds. With
        ``on_error``, a store error (the database restarting, the network dropping) is
        passed to it and the worker carries on after ``interval``; otherwise it ends the loop."""
        stop = stop or threading.Event()
        worker, total = worker_name(), 0
        while not stop.is_set():
            try:
                done = self.fire_due_batch(limit=batch, worker_id=worker, lease=lease)
                if self._deliverer is not None:
                    done = replace(done, deliveries=self.deliver_due(limit=batch, worker_id=worker, lease=lease))
            except StoreError as error:
                if on_error is None or once:
                    raise
                on_error(error)
                stop.wait(interval)
                continue
            total += done.fired
            if report is not None:
                report(done)
            if done.claimed >= batch or (done.deliveries is not None and done.deliveries.claimed >= batch):
                continue
            if once:
                break
            stop.wait(interval)
        return total

    def _fire_due_on(self, instance_id: str, now: datetime.datetime) -> int:
        """Fire the instance's due deadlines earliest first, as ``Runtime.advance`` would, storing each.
        ``DamagedRecord`` (or ``NotFound`` for its definition) when it cannot be read."""
        fired, refused = 0, set[OpenDeadline]()
        for _ in range(_MAX_DEADLINE_STEPS):
            try:
                stored = self.store.load(instance_id)
            except NotFound:
                break  # the instance itself is gone
            instance, runtime = self._with_runtime(stored)
            deadline = runtime.next_due(instance, now, refused)
            if deadline is None:
                break
            read = instance.version
            children: list[Instance] = []
            try:
                runtime.fire_deadline(instance, deadline, spawn=self._spawner(children))
                parents = self._parents_moved_on(instance, runtime, children)
            except EventRefused as refusal:
                refused.add(deadline)
                self.store.mark_refused(instance_id, deadline, read, str(refusal))
                continue
            try:
                self._write(instance, read, parents, children)
            except StaleVersion:
                continue  # someone else moved it on: read it again and see what is still due
            fired += 1
        return fired

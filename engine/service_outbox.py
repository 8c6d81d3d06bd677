"""Delivering the outbox: every write carries the event's outbox rows (``engine.outbox``), in the same
transaction; a worker given an address book or a ``deliver`` callback claims them with a lease and
delivers them (``engine.delivery``) at least once, retrying with backoff and dead-lettering after the
policy's limit. The rows, and the dead letters put back.
"""

from __future__ import annotations

import datetime
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

from engine.outbox import DEAD, DELIVERED, PENDING, OutboxRow
from engine.service_definitions import WorkflowsDefinitions
from engine.stores import DEFAULT_LEASE


@dataclass(frozen=True)
class Deliveries:
    """What one ``deliver_due`` pass did with the outbox rows it claimed."""

    claimed: int
    delivered: tuple[str, ...] = ()
    retried: tuple[OutboxRow, ...] = ()
    """Rows that failed this time and will be tried again (``last_error`` says why)."""
    dead: tuple[OutboxRow, ...] = ()
    """Rows that failed for the last time the policy allows: dead-lettered."""


class WorkflowsOutbox(WorkflowsDefinitions):
    """The outbox: delivered by a worker, listed, its dead letters put back."""

    @property
    def delivers(self) -> bool:
        """Whether this ``Workflows`` was given somewhere to deliver the outbox (``addresses``, ``deliver``)."""
        return self._deliverer is not None

    def deliver_due(
        self,
        now: datetime.datetime | None = None,
        *,
        limit: int = 100,
        worker_id: str | None = None,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> Deliveries:
        """Claim up to ``limit`` outbox rows due for an attempt and deliver each to its targets. ``now``
        is the wall clock (not the ``clock`` events are stamped with): retries wait real time. A row
        whose every target took it is delivered; otherwise it is tried again after the policy's backoff,
        or dead-lettered once its attempts are spent. A worker killed mid-delivery leaves its rows
        claimed until ``lease`` runs out, then another delivers them again, with the same delivery id."""
        if self._deliverer is None:
            return Deliveries(0)
        now = now or datetime.datetime.now(datetime.UTC)
        worker = worker_id or worker_name()
        rows = self.store.claim_outbox(now, limit, worker, lease)
        delivered, retried, dead = list[str](), list[OutboxRow](), list[OutboxRow]()
        policy = self._deliverer.retry
        try:
            for row in rows:
                attempt = self._deliverer.attempt(row)
                if not attempt.errors:
                    self.store.record_delivery(
                        row.message.id,
                        state=DELIVERED,
                        attempts=row.attempts + 1,
                        next_attempt=row.next_attempt,
                        sent_to=attempt.sent_to,
                        error=None,
                        now=now,
                    )
                    delivered.append(row.message.id)
                    continue
                failures = row.attempts + 1
                state = DEAD if policy.gives_up(failures) else PENDING
                after = row.next_attempt if state == DEAD else now + policy.delay(failures)
                error = "; ".join(attempt.errors)
                self.store.record_delivery(
                    row.message.id,
                    state=state,
                    attempts=failures,
                    next_attempt=after,
                    sent_to=attempt.sent_to,
                    error=error,
                    now=now,
                )
                failed = replace(
                    row, attempts=failures, next_attempt=after, state=state, sent_to=attempt.sent_to, last_error=error
                )
                (dead if state == DEAD else retried).append(failed)
        finally:
            self.store.release(worker)
        return Deliveries(len(rows), tuple(delivered), tuple(retried), tuple(dead))

    def outbox(self, *, dead: bool = False, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """The outbox rows, oldest first: every one, those in ``state``, or (``dead``) the dead letters."""
        return self.store.outbox(DEAD if dead else state, limit)

    def retry_dead(self, delivery_ids: Iterable[str] = ()) -> int:
        """Put dead letters (those named, or all) back in the outbox, due now, attempts counted afresh."""
        return self.store.retry_dead(tuple(delivery_ids), now=datetime.datetime.now(datetime.UTC))


def worker_name() -> str:
    """A name for this worker in claims: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

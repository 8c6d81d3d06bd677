"""``Workflows``: instances that outlive the process, kept in a store, moved by the runtime.

``Workflows`` is assembled from one part per concern, each in a module of its own, all standing on
``engine.service_definitions`` (the store, the clock, the definitions and their runtimes):
``engine.service_writes`` (what an event stores, in one transaction, and batches of them),
``engine.service_verify`` (replaying histories, damage found), ``engine.service_events`` (starts,
events, moves and claims, with retries and idempotency keys), ``engine.service_outbox`` (delivering
the outbox), ``engine.service_worker`` (due deadlines fired, the worker's loop),
``engine.service_worklist`` (the worklist), ``engine.service_queries`` (reading, listing and
searching cases) and ``engine.service_migrations`` (changing a definition under running cases).
This module names every value they hand back, where callers have always imported them from.
"""

from __future__ import annotations

from types import TracebackType

from engine.service_definitions import RETRIES
from engine.service_events import Event, WorkflowsEvents
from engine.service_migrations import WorkflowsMigrations
from engine.service_outbox import Deliveries, worker_name
from engine.service_queries import Cases, WorkflowsQueries
from engine.service_verify import Verified
from engine.service_worker import Batch, WorkflowsWorker
from engine.service_worklist import WorkflowsWorklist, WorkItem, Worklist

__all__ = [  # what ``engine.service`` has always offered, wherever each now lives
    "RETRIES",
    "Batch",
    "Cases",
    "Deliveries",
    "Event",
    "Verified",
    "WorkItem",
    "Workflows",
    "Worklist",
    "worker_name",
]


class Workflows(WorkflowsEvents, WorkflowsWorker, WorkflowsWorklist, WorkflowsQueries, WorkflowsMigrations):
    """Start, fire and inspect stored instances; fire due deadlines as a worker.

    ``Workflows()`` opens ``$PROCFLOW_STORE``, else ``sqlite:///procflow.db``; pass a URL (or an open
    ``store``) to choose. ``clock`` gives the time of events sent without ``at``.
    """

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workflows:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

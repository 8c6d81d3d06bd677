"""What an event stores, written one way (``_write``): the instance moved on, alone or with the children
its steps started and the parents its end moved on, each with its work items, in one transaction.

A step that starts another procedure starts the child on its latest registered definition; an event
that ends a child fires the continuation of the step that started it, and so on up.

Many events can share one transaction (``batch``): one commit, one flush to disk, for all of them.
The rule: each event is whole or nothing on its own (a savepoint each), and the batch is committed
when its block ends, or rolled back, every event of it, when an exception leaves the block.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import EventRefused, NotFound, ProcflowError, SubProcessRefused
from engine.instances import Instance, Link
from engine.runtime import Actor, ChildStart, Runtime, Spawn
from engine.service_definitions import WorkflowsDefinitions
from engine.work import CaseWork

_Saves = list[tuple[Instance, int]]
"""Instances an event moved on, each with the version it was read at."""


class WorkflowsWrites(WorkflowsDefinitions):
    """The one write path of every event, and batches of events in one transaction."""

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every event this thread stores inside the block shares one transaction, committed when the
        block ends. An event refused or lost to another writer raises as outside a batch and writes
        nothing; the events before and after it are still committed if the caller carries on. An
        exception that leaves the block rolls back every event of the batch. The store is held by this
        thread until the block ends; keep batches short (tens of events, not thousands)."""
        with self.store.batch():
            yield

    def _spawner(self, children: list[Instance]) -> Spawn:
        """The hook a runtime calls to start a child procedure: the child is started (and checked) on
        its latest registered definition and kept in ``children``, to be stored with the parent."""

        def spawn(request: ChildStart) -> str:
            try:
                ref = self.latest(request.process)
            except NotFound as missing:
                raise SubProcessRefused(
                    f"`{request.process}` is not registered in {self.store.url}; register it first"
                ) from missing
            runtime = self.runtime(ref.id, ref.content_hash)
            start = runtime.process.start
            role = request.role if request.role is not None else start.role if start is not None else None
            child = runtime.start(
                Actor(request.actor, () if role is None else (role,)),
                request.data,
                at=request.at,
                instance_id=uuid.uuid4().hex,
                parent=request.parent,
            )
            children.append(child)
            return child.id

        return spawn

    def _parents_moved_on(self, instance: Instance, runtime: Runtime, children: list[Instance]) -> _Saves:
        """When the event ended an instance that a step of another started, that step's continuation
        fired on the parent (and so on up, if that ends the parent too), as ``(parent, version read)``.
        A parent that no longer waits for it is left alone; a continuation refused refuses the event."""
        moved: _Saves = []
        current, current_runtime = instance, runtime
        for _ in range(100):  # a chain of parents is short; the bound only guards a damaged store
            link = current.history[0].parent
            if link is None or not current_runtime.process.states[current.state].is_final:
                break
            parent, parent_runtime = self._read(link.instance)
            read = parent.version
            ended = Link(current.id, current.process_id, current.state)
            try:
                entry = parent_runtime.child_ended(
                    parent,
                    ended,
                    parent_runtime.returns_of(parent.state, current.data),
                    at=max(current.history[-1].at, parent.history[-1].at),
                    spawn=self._spawner(children),
                )
            except EventRefused as refusal:
                raise SubProcessRefused(
                    f"instance `{current.id}` would end in `{current.state}`, but its parent `{parent.id}` cannot "
                    f"go on from step `{parent.state}`: {refusal}",
                    refusal=refusal,
                ) from refusal
            if entry is None:
                break
            moved.append((parent, read))
            current, current_runtime = parent, parent_runtime
        return moved

    def _write(self, instance: Instance, read: int, parents: _Saves, children: list[Instance]) -> None:
        """Store the event: alone, or with the children it started and the parents it moved on, in one
        transaction."""
        if not parents and not children:
            self.store.save(instance, read, self._work_of(instance))
        else:
            moved = [instance, *(parent for parent, _ in parents), *children]
            work = {i.id: w for i in moved if (w := self._work_of(i)) is not None}
            self.store.save_linked([(instance, read), *parents], children, work)

    def _work_of(self, instance: Instance) -> CaseWork | None:
        """The instance's work items to store with it; ``None`` (to be worked out later) if they cannot be."""
        try:
            return self.runtime(instance.process_id, instance.content_hash).case_work(instance)
        except ProcflowError:
            return None

"""Changing a definition under running cases: the open cases a change touches (``engine.impact``), and
moving them onto the new revision (``engine.migrating``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from engine.changes import diff_processes
from engine.impact import Impact, impact
from engine.migrating import CaseMigration, MigrationReport, migrate
from engine.migration import MigrationPlan, load_plan
from engine.model import Process
from engine.runtime import Actor
from engine.service_definitions import WorkflowsDefinitions
from engine.stores import InstanceSummary


class WorkflowsMigrations(WorkflowsDefinitions):
    """The cases a definition's change touches, and their migration onto it."""

    def impact(self, old: Process, new: Process) -> Impact:
        """The open cases of ``old`` (a stored revision, found by its content) that changing it into
        ``new`` touches, grouped by how (``engine.impact``). None when the store does not hold ``old``."""
        cases = []
        for item in self.store.summaries(old.id):
            if isinstance(item, InstanceSummary) and item.process.content_hash == old.content_hash:
                cases.append(self.store.load(item.id))
        return impact(old, new, diff_processes(old, new), cases)

    def migrate(
        self,
        plan: MigrationPlan | str | Path,
        actor: Actor,
        *,
        dry_run: bool = False,
        at: datetime.datetime | None = None,
        progress: Callable[[CaseMigration], None] | None = None,
    ) -> MigrationReport:
        """Move the open cases a migration plan selects onto its new revision (``engine.migrating``):
        every case checked first, then each written in its own conditional transaction, recorded as a
        migration entry; with ``dry_run`` nothing is written. ``PlanError`` (nothing changed) for a plan
        that cannot be used: its YAML, its shape, a revision the store does not hold, steps or fields the
        revisions do not have, a new required field without a value. ``progress`` is told of each case
        as soon as it is done (written, or checked in a dry run)."""
        loaded = plan if isinstance(plan, MigrationPlan) else load_plan(plan)
        return migrate(
            loaded,
            actor,
            self.store,
            self.runtime,
            dry_run=dry_run,
            now=lambda instance: at or self._now_after(instance),
            retries=self._retries,
            progress=progress,
        )

"""Replaying what the store holds: an instance's history revision by revision (``replay``), one
instance checked against it (``verify``), and the whole store checked for damage (``verify_store``),
each instance that cannot be read or does not match reported on its own, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.errors import DamagedRecord, DefinitionError, NotFound, ProcflowError, StoreError
from engine.instances import Instance
from engine.processes import load_process_text
from engine.runtime import Runtime
from engine.service_definitions import WorkflowsDefinitions, as_stored
from engine.stores import Damaged, InstanceSummary


class WorkflowsVerify(WorkflowsDefinitions):
    """Stored histories replayed, and the store checked for damage."""

    def verify(self, instance_id: str) -> None:
        """Replay the stored history on the instance's definition; ``ReplayMismatch`` if it differs. A
        migrated case is replayed revision by revision (``replay``)."""
        instance, runtime = self._read(instance_id)
        runtime.check_replayed(instance, self.replay(instance))

    def replay(
        self,
        instance: Instance,
        upto: int | None = None,
        runtime_of: Callable[[str, str], Runtime] | None = None,
    ) -> Instance:
        """The instance its stored history (its first ``upto`` entries) produces, each part replayed on
        the revision it ran on: up to the first migration entry on the revision that entry moved from,
        then each migration on the runtime of the revision it moved to, which replays on from the
        migrated state up to the next one. ``ReplayMismatch`` when any part differs from the record."""
        history = instance.history[:upto]
        runtime_of = runtime_of or self.runtime
        first = next((e.migration for e in instance.history if e.migration is not None), None)
        runtime = runtime_of(instance.process_id, instance.content_hash if first is None else first.source.content_hash)
        replayed = runtime.replay(history, instance_id=instance.id)
        while len(replayed.history) < len(history):
            migration = history[len(replayed.history)].migration
            assert migration is not None  # a replay stops early only at a migration entry
            runtime = runtime_of(instance.process_id, migration.target.content_hash)
            replayed = runtime.replay_migration(replayed, history)
        return replayed

    def verify_store(self, instance_ids: Iterable[str] | None = None) -> Verified:
        """Check every stored instance (or those named), each on its own, reporting every damaged one:
        it is read afresh with the store's own checks (``Store.read_checked``); the stored text of the
        definition revision it runs on must be the text registered (its SHA-256) and declare the
        version recorded; and replaying its history there must give its state, data and deadlines.
        Without ids every stored definition is checked too, used or not. Nothing is written."""
        runtimes: dict[tuple[str, str], Runtime] = {}
        definitions: list[str] = []
        named = instance_ids is not None
        if instance_ids is None:
            definitions = self._damaged_definitions(runtimes)
            listed = self.store.summaries()
            instance_ids = [item.id if isinstance(item, InstanceSummary) else item.instance_id for item in listed]
        checked, damaged, missing = 0, list[Damaged](), list[str]()
        for instance_id in instance_ids:
            try:
                self._verify_one(instance_id, runtimes)
            except NotFound:
                if named:  # a mistyped id is the caller's mistake, not damage in the store
                    missing.append(instance_id)
                    continue
                damaged.append(Damaged(instance_id, "listed, but cannot be read"))
            except ProcflowError as damage:
                _reraise_unless_damage(damage)
                damaged.append(Damaged(instance_id, str(damage)))
            checked += 1
        return Verified(checked, tuple(damaged), tuple(definitions), tuple(missing))

    def _verify_one(self, instance_id: str, runtimes: dict[tuple[str, str], Runtime]) -> None:
        """``NotFound`` only when there is no such instance; any damage as another ``ProcflowError``."""
        instance = self.store.read_checked(instance_id)
        try:
            runtime = self._checked_runtime(instance.process_id, instance.content_hash, runtimes)
        except NotFound as missing:
            raise DamagedRecord(str(missing), instance_id=instance_id) from missing
        if runtime.process.version != instance.process_version:
            raise DamagedRecord(
                f"instance `{instance_id}` records version {instance.process_version} of "
                f"`{instance.process_id}`, but the definition it runs on declares {runtime.process.version}",
                instance_id=instance_id,
            )
        runtime.check_replayed(
            instance, self.replay(instance, runtime_of=lambda p, h: self._checked_runtime(p, h, runtimes))
        )

    def _damaged_definitions(self, runtimes: dict[tuple[str, str], Runtime]) -> list[str]:
        """What is wrong with each stored definition: unreadable, its text changed, declaring another
        process or version, or revisions of a process not numbered 1, 2, 3..."""
        try:
            stored = self.store.definitions()
        except DamagedRecord as damage:
            return [str(damage)]
        numbered: dict[str, list[int]] = {}
        for definition in stored:
            numbered.setdefault(definition.ref.id, []).append(definition.ref.revision)
        found = [
            f"{self.store.url}: the definitions of `{process_id}` are numbered {sorted(revisions)}, "
            f"not 1 to {len(revisions)}"
            for process_id, revisions in numbered.items()
            if sorted(revisions) != list(range(1, len(revisions) + 1))
        ]
        for definition in stored:
            try:
                self._checked_runtime(definition.ref.id, definition.ref.content_hash, runtimes)
            except ProcflowError as damage:
                _reraise_unless_damage(damage)
                found.append(str(damage))
        return found

    def _checked_runtime(self, process_id: str, content_hash: str, runtimes: dict[tuple[str, str], Runtime]) -> Runtime:
        """A runtime of the definition as its stored text reads now (never one remembered from ``register``)."""
        known = runtimes.get((process_id, content_hash))
        if known is not None:
            return known
        stored = self.store.definition(process_id, content_hash)
        where = f"{self.store.url}: the definition of `{process_id}` revision {stored.ref.revision}"
        try:
            process = load_process_text(stored.source, stored.file)
        except DefinitionError as exc:
            raise DamagedRecord(f"{where} no longer reads as a valid definition: {exc}") from exc
        if (process.id, process.version) != (process_id, stored.ref.version):
            raise DamagedRecord(
                f"{where} is stored as version {stored.ref.version}, but its text reads "
                f"as `{process.id}` version {process.version}"
            )
        runtimes[(process_id, content_hash)] = runtime = Runtime(as_stored(process, content_hash), clock=self._clock)
        return runtime


@dataclass(frozen=True)
class Verified:
    """What ``verify_store`` found."""

    checked: int
    """How many instances were checked."""
    damaged: tuple[Damaged, ...]
    """Each instance that cannot be read or does not match, with what is wrong."""
    definitions: tuple[str, ...] = ()
    """What is wrong with each stored definition that does not read as it was stored."""
    missing: tuple[str, ...] = ()
    """Each id asked for that names no stored instance (a mistyped id, not damage)."""

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.definitions and not self.missing


def _reraise_unless_damage(error: ProcflowError) -> None:
    """A store that cannot be reached says nothing about the records in it: stop rather than report."""
    if isinstance(error, StoreError) and not isinstance(error, DamagedRecord):
        raise error

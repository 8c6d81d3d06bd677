"""What every part of ``Workflows`` stands on: its store and clock, the definitions it runs, and an
instance read from the store with the runtime of its definition.

Definitions are stored with their YAML text by process id and content hash; each distinct content
gets the next revision number of its process (the YAML's own ``version:`` is kept beside it, as
written). An instance names the content hash it started with and is always run on that definition,
whatever has been registered since. Compiled runtimes are cached per content hash.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.checks import check_children
from engine.delivery import AddressBook, Callback, Deliverer
from engine.errors import DamagedRecord, DefinitionError, NotFound, ProcflowError
from engine.files import read_bounded
from engine.instances import Instance
from engine.loader import MAX_FILE_BYTES
from engine.model import Process, thaw_json
from engine.processes import load_process, load_process_text
from engine.runtime import Runtime, utc_now
from engine.stores import NewDefinition, ProcessRef, Store, open_store

RETRIES = 5
"""How many times an event is tried against a moving instance before ``EventConflict``."""


class WorkflowsDefinitions:
    """The store, the clock and the definitions of a ``Workflows``, which ``engine.service`` assembles
    from this and the parts built on it."""

    def __init__(
        self,
        store_url: str | None = None,
        *,
        store: Store | None = None,
        clock: Callable[[], datetime.datetime] = utc_now,
        retries: int = RETRIES,
        addresses: AddressBook | None = None,
        deliver: Callback | None = None,
    ):
        """``addresses`` and ``deliver`` make ``work`` deliver the outbox too: to the address book's
        webhooks and addresses, and to ``deliver`` (called with each ``OutboxRow``; raising means retry)."""
        self.store: Store = store if store is not None else open_store(store_url)
        self._deliverer = Deliverer(addresses, deliver) if addresses is not None or deliver is not None else None
        self._clock = clock
        self._retries = retries
        self._runtimes: dict[tuple[str, str], Runtime] = {}
        self._runtimes_lock = threading.Lock()

    def register(self, source: str | Path | Process, *, text: str | None = None) -> ProcessRef:
        """Store a definition (a YAML file, or a loaded ``Process``) and return its reference.

        Each distinct content of a process is stored under the next revision (1, 2, 3...), whatever
        ``version:`` it declares; registering the same content again returns the revision it already
        has. Instances already started keep running on the definition they started with; ``start``
        by process id uses the highest revision. ``text``: the YAML a ``Process`` was read from when it
        has no file (the Studio's draft), stored as written when it holds that very content.
        """
        process = source if isinstance(source, Process) else load_process(source)
        self._check_children(process)
        given = text is not None and load_process_text(text, process.file).content_hash == process.content_hash
        text, file = (text, process.file) if given and text is not None else _source_text(process)
        stored = self.store.add_definition(
            NewDefinition(process.id, process.version, process.content_hash, text, file, utc_now())
        )
        process = as_stored(process, stored.ref.content_hash)
        with self._runtimes_lock:
            self._runtimes.setdefault((process.id, process.content_hash), Runtime(process, clock=self._clock))
        return stored.ref

    def _check_children(self, process: Process) -> None:
        """The procedures its steps start must be registered, and fit how the steps use them."""
        named = {s.starts.process for s in process.states.values() if s.starts is not None}
        children: dict[str, Process | None] = {}
        for process_id in sorted(named):
            try:
                ref = self.latest(process_id)
            except NotFound:
                children[process_id] = None
                continue
            children[process_id] = self.runtime(ref.id, ref.content_hash).process
        if named:
            for definition in self.store.definitions():  # for "did you mean"
                children.setdefault(definition.ref.id, None)
        problems = check_children(process, {k: v for k, v in children.items() if k in named or v is None})
        if problems:
            raise DefinitionError(problems)

    def latest(self, process_id: str) -> ProcessRef:
        """The highest stored revision of a process."""
        return self.store.definition(process_id).ref

    def ref_of(self, instance: Instance) -> ProcessRef:
        """The stored definition (revision, declared version, content hash) an instance runs on."""
        return self.store.definition(instance.process_id, instance.content_hash).ref

    def shares_version(self, ref: ProcessRef) -> ProcessRef | None:
        """The latest earlier revision of the process that declares the same ``version:`` as ``ref``,
        if any: a sign that a changed YAML kept its number."""
        earlier = [
            d.ref
            for d in self.store.definitions()
            if d.ref.id == ref.id and d.ref.version == ref.version and d.ref.revision < ref.revision
        ]
        return max(earlier, key=lambda r: r.revision, default=None)

    def runtime(self, process_id: str, content_hash: str) -> Runtime:
        """The runtime of one stored definition, compiled once per content hash."""
        with self._runtimes_lock:
            cached = self._runtimes.get((process_id, content_hash))
        if cached is not None:
            return cached
        stored = self.store.definition(process_id, content_hash)  # its text checked against its digest
        process = as_stored(load_process_text(stored.source, stored.file), content_hash)
        runtime = Runtime(process, clock=self._clock)
        with self._runtimes_lock:
            return self._runtimes.setdefault((process_id, content_hash), runtime)

    def get(self, instance_id: str) -> Instance:
        """The instance as stored, with its history; ``NotFound`` for an unknown id."""
        return self._read(instance_id)[0]

    def _read(self, instance_id: str) -> tuple[Instance, Runtime]:
        """The stored instance and its definition's runtime; ``DamagedRecord`` if the instance names a
        state or deadline its definition does not have (the runtime would not know where it is)."""
        return self._with_runtime(self.store.load(instance_id))

    def _with_runtime(self, instance: Instance) -> tuple[Instance, Runtime]:
        runtime = self.runtime(instance.process_id, instance.content_hash)
        states = runtime.process.states
        unknown = [s for s in (instance.state, *(d.state for d in instance.deadlines)) if s not in states]
        clocks = runtime.process.clocks
        unknown += [f"{d.clock}` (a clock" for d in instance.deadlines if d.clock is not None and d.clock not in clocks]
        if unknown:
            raise DamagedRecord(
                f"{self.store.url}: instance `{instance.id}` is stored in state `{unknown[0]}`, which "
                f"`{instance.process_id}` revision {self.ref_of(instance).revision} does not have",
                instance_id=instance.id,
            )
        return instance, runtime

    def _now_after(self, instance: Instance) -> datetime.datetime:
        # Hosts' clocks differ a little; an event is never recorded before the one it follows.
        return max(self._clock(), instance.history[-1].at)


def _source_text(process: Process) -> tuple[str, str]:
    """The YAML text to store for a loaded process: its file's text when that still holds the same
    content, else its content as JSON (which YAML reads too)."""
    try:
        text = read_bounded(process.file, MAX_FILE_BYTES).decode("utf-8-sig")
        if load_process_text(text, process.file).content_hash == process.content_hash:
            return text, process.file
    except (OSError, UnicodeDecodeError, ProcflowError):
        pass  # the file is gone or changed: store the content itself
    return json.dumps(thaw_json(process.document), ensure_ascii=False, indent=1), process.file


def as_stored(process: Process, content_hash: str) -> Process:
    """The process under the content hash its stored text was registered with. The same text may hash
    differently under a newer loader (the hash is taken from the document the loader reads); the
    stored hash is what its instances name, so it stays the definition's identity."""
    return process if process.content_hash == content_hash else replace(process, content_hash=content_hash)

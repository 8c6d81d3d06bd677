"""What an event writes in a SQL store, always the same way (``_write``), and what the store remembers
of the instances it wrote or read (``Known``: their parsed histories, so a load reads only the entries
it has not seen, usually none).

A write moves the instance's row on with ``UPDATE ... WHERE id = ? AND version = ?`` (or inserts it,
for a start), appends the history entries with their digests and keys, replaces the deadline rows when
they changed (else ends their claims), the work items and the outbox rows, in the caller's transaction.
In a batch, what was written is remembered only once the batch commits.

What the store wrote last of an instance spares the next write what did not change: the row's
revision columns (an index and a foreign key cover them), deadline rows, and work item rows of roles
the case keeps (moved in place; any gone missing are written afresh). Each JSON is encoded once: an
outbox event message sets in the entry's text (``engine.outbox.payload_text``). A statement's text
repeats (a multi-row insert has one per row count), so the driver's cache prepares each once;
``executemany`` would save about 0.3 µs a row (measured on SQLite), which is why a batch shares the
transaction and its flush to disk, not the statements.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from typing import Any, NoReturn

from engine.errors import DuplicateInstance, DuplicateKey, NotFound, StaleVersion
from engine.instances import Instance, deadline_to_json, entry_to_json
from engine.outbox import PENDING, messages, payload_text
from engine.stores.base import NO_DUE
from engine.stores.integrity import canonical, digest
from engine.stores.sql_base import UNKNOWN, Batch, Known, SqlBase, Transaction, Unknown, utc_now
from engine.work import CaseWork, work_text

KNOWN_ENTRIES = 400_000
"""How many parsed history entries a store keeps, of the instances most recently used: ten thousand
active instances with forty events each. Bounded by entries, not instances, so many short cases do not
push each other out (a cache of a thousand instances made every event past a thousand active cases
read and parse its whole history again: 0.68× the events per second)."""


_MOVE_ON = "UPDATE instances SET state = ?, data = ?, entered_at = ?, version = ? WHERE id = ? AND version = ?"
"""An event's move of the instance's row when its revision is the one last written: the columns an
index or a foreign key covers are left out of ``SET``, so SQLite neither rewrites the index on process
and start time nor looks the definition up again."""
_END_CLAIMS = (
    "UPDATE deadlines SET claimed_by = NULL, claimed_until = NULL, refused = NULL WHERE instance_id = ? "
    "AND (claimed_by IS NOT NULL OR claimed_until IS NOT NULL OR refused IS NOT NULL)"
)
"""Ends claims and refusals of the instance's deadlines; rows with none are not touched (nor written)."""
_INSERT_ENTRY = "INSERT INTO entries (instance_id, idx, entry, digest) VALUES (?, ?, ?, ?)"
_INSERT_KEY = "INSERT INTO idempotency_keys (instance_id, key, entry_index) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_MOVE_WORK = "UPDATE work_items SET state = ?, claimed_by = ? WHERE instance_id = ?"
_MOVE_WORK_DUE = "UPDATE work_items SET process_id = ?, state = ?, due_order = ?, claimed_by = ? WHERE instance_id = ?"
_MOVE_WORK_CASE = "UPDATE work_cases SET process_id = ?, due_order = ?, item = ? WHERE instance_id = ?"
_OUTBOX_ROW = f"(?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '{PENDING}', '[]')"


class SqlWrites(SqlBase):
    def __init__(self, url: str):
        super().__init__(url)
        self._known: OrderedDict[str, Known] = OrderedDict()
        self._known_entries = 0
        self._known_lock = threading.Lock()

    # --- what this store remembers of the instances it read or wrote ---------------------------

    def _recall(self, instance_id: str) -> Known | None:
        batch = self._in_batch()
        if batch is not None and instance_id in batch.known:
            return batch.known[instance_id]
        with self._known_lock:
            known = self._known.get(instance_id)
            if known is not None:
                self._known.move_to_end(instance_id)
            return known

    def _remember(self, instance: Instance, work: CaseWork | None | Unknown = UNKNOWN) -> None:
        """Note an instance as committed (read from the store, or written in a committed transaction,
        with ``work``); in a batch, as written in it, to be remembered once the batch commits."""
        known = Known(
            tuple(instance.history),
            instance.deadlines,
            (instance.process_id, instance.process_version, instance.content_hash),
            work,
            dict(instance.facts_cache) if isinstance(instance.facts_cache, dict) else None,
        )
        batch = self._in_batch()
        if batch is not None:
            batch.known[instance.id] = known
            return
        self._keep(instance.id, known)

    def _forget(self, instance_id: str) -> None:
        batch = self._in_batch()
        if batch is not None:
            batch.known[instance_id] = None
        self._keep(instance_id, None)

    def _keep(self, instance_id: str, known: Known | None) -> None:
        with self._known_lock:
            before = self._known.pop(instance_id, None)
            if before is not None:
                self._known_entries -= len(before.history)
            if known is None:
                return
            self._known[instance_id] = known
            self._known_entries += len(known.history)
            while self._known_entries > KNOWN_ENTRIES and len(self._known) > 1:
                _, dropped = self._known.popitem(last=False)
                self._known_entries -= len(dropped.history)

    def _batch_committed(self, batch: Batch) -> None:
        for instance_id, known in batch.known.items():
            self._keep(instance_id, known)

    # --- the one write path ----------------------------------------------------------------------

    def _columns(self, instance: Instance, entered_at: str | None = None) -> dict[str, Any]:
        """What the instance's row holds, by column (``INSTANCE_COLUMNS``; with the deadlines' JSON too
        before ``DEADLINES_ONCE_FROM``); ``entered_at``, its time of entering the state as text, if the
        caller has it already."""
        columns = {
            "id": instance.id,
            "process_id": instance.process_id,
            "process_version": instance.process_version,
            "content_hash": instance.content_hash,
            "state": instance.state,
            "data": canonical(instance.data),
            "entered_at": instance.entered_at.isoformat() if entered_at is None else entered_at,
            "version": instance.version,
        }
        if not self._deadlines_once:
            columns["deadlines"] = canonical([deadline_to_json(d) for d in instance.deadlines])
        return columns

    def _write(self, tx: Transaction, instance: Instance, expected: int | None, work: CaseWork | None) -> None:
        """Write an event in ``tx``: a start (``expected`` is ``None``: insert the row) or the entries
        from ``expected`` on, if the stored instance is still there; ``StaleVersion``, ``DuplicateKey``,
        ``DuplicateInstance`` or ``NotFound`` (its definition) otherwise, and the caller rolls back.

        What the store last wrote of the instance (``Known``, when its version is ``expected``) spares
        the statements of what did not change: the row's revision columns, the deadline rows, and the
        work item rows of the same roles, which are updated in place."""
        known = None if expected is None else self._recall(instance.id)
        if known is not None and len(known.history) != expected:
            known = None
        first = expected or 0
        written = _encoded(instance, first)
        # An event that moved the case entered the state at its own moment: that text is the entry's.
        last = instance.history[-1] if instance.history else None
        if written.documents and last is not None and instance.entered_at is last.at:
            entered_at = written.documents[-1]["at"]
        else:
            entered_at = instance.entered_at.isoformat()
        if expected is None:
            columns = self._columns(instance, entered_at)
            self._require_definition(tx, instance)
            if not tx.run(
                f"INSERT INTO instances ({', '.join(columns)}, started_at) "
                f"VALUES ({', '.join('?' * (len(columns) + 1))}) ON CONFLICT DO NOTHING",
                (*columns.values(), self._time(instance.history[0].at)),
            ):
                raise DuplicateInstance(f"{self.url} already holds an instance `{instance.id}`")
        elif (
            known is not None
            and self._deadlines_once
            and known.revision == (instance.process_id, instance.process_version, instance.content_hash)
        ):
            moved = (instance.state, canonical(instance.data), entered_at, instance.version)
            if not tx.run(_MOVE_ON, (*moved, instance.id, expected)):
                self._refuse_stale(tx, instance.id, expected)
        else:
            columns = self._columns(instance, entered_at)
            names = [c for c in columns if c != "id"]
            if not tx.run(
                f"UPDATE instances SET {', '.join(f'{c} = ?' for c in names)} WHERE id = ? AND version = ?",
                (*(columns[c] for c in names), instance.id, expected),
            ):
                self._refuse_stale(tx, instance.id, expected)
        self._append(tx, instance, first, written)
        if known is not None and known.deadlines == instance.deadlines:
            if instance.deadlines:  # the rows hold these deadlines: end their claims and refusals only
                tx.run(_END_CLAIMS, (instance.id,))
        else:
            if expected is not None:
                tx.run("DELETE FROM deadlines WHERE instance_id = ?", (instance.id,))
            self._write_deadlines(tx, instance)
        self._write_work(tx, instance.id, work, new=expected is None, before=UNKNOWN if known is None else known.work)
        self._write_outbox(tx, instance, first, written)

    def _require_definition(self, tx: Transaction, instance: Instance) -> None:
        # The foreign key would refuse it too, but as a driver error: say it as the other stores do.
        if (
            tx.one(
                "SELECT 1 AS held FROM definitions WHERE process_id = ? AND content_hash = ?",
                (instance.process_id, instance.content_hash),
            )
            is None
        ):
            raise NotFound(
                f"{self.url} holds no definition of process `{instance.process_id}` with content "
                f"{instance.content_hash[:12]}; register it first"
            )

    def _refuse_stale(self, tx: Transaction, instance_id: str, expected_version: int) -> NoReturn:
        current = tx.one("SELECT version FROM instances WHERE id = ?", (instance_id,))
        if current is None:
            raise NotFound(f"{self.url} holds no instance `{instance_id}`")
        raise StaleVersion(
            f"instance `{instance_id}` is at version {current['version']}, not {expected_version}: "
            "another writer moved it on since it was read",
            expected=expected_version,
            found=int(current["version"]),
        )

    def _append(self, tx: Transaction, instance: Instance, first: int, written: _Texts) -> None:
        """Insert the entries from ``first`` on, ``written`` their JSON texts, and record their keys;
        ``DuplicateKey`` (so the transaction is rolled back) if a key is already recorded for the instance."""
        for index, text in enumerate(written.texts, start=first):
            entry = instance.history[index]
            if self._digests:
                tx.run(_INSERT_ENTRY, (instance.id, index, text, digest(instance.id, index, text)))
            else:
                tx.run("INSERT INTO entries (instance_id, idx, entry) VALUES (?, ?, ?)", (instance.id, index, text))
            if entry.key is not None and index > 0 and not tx.run(_INSERT_KEY, (instance.id, entry.key, index)):
                found = tx.one(
                    "SELECT entry_index FROM idempotency_keys WHERE instance_id = ? AND key = ?",
                    (instance.id, entry.key),
                )
                raise DuplicateKey(
                    f"instance `{instance.id}`: key `{entry.key}` is already recorded"
                    + (f" (entry {found['entry_index']})" if found is not None else ""),
                    instance_id=instance.id,
                    index=int(found["entry_index"]) if found is not None else -1,
                )

    def _write_deadlines(self, tx: Transaction, instance: Instance) -> None:
        if not instance.deadlines:
            return
        values: list[tuple[Any, ...]] = [
            (instance.id, position, d.state, self._time(d.due), d.fire, _offset(d.due), d.clock, d.threshold)
            for position, d in enumerate(instance.deadlines)
        ]
        columns = "instance_id, position, state, due, fire, due_offset, clock, threshold"
        if not self._deadlines_once:
            values, columns = [v[:5] for v in values], "instance_id, position, state, due, fire"
        marks = "(" + ", ".join("?" * len(values[0])) + ")"
        tx.run(
            f"INSERT INTO deadlines ({columns}) VALUES " + ", ".join([marks] * len(values)),
            [value for row in values for value in row],
        )

    def _write_outbox(self, tx: Transaction, instance: Instance, first: int, written: _Texts) -> None:
        """The outbox rows of the entries from ``first`` on (``engine.outbox``), in the event's transaction;
        each event message's payload holds its entry's text as ``_append`` encoded it."""
        if not self._outbox:
            return
        told = messages(instance, first, written.documents)
        if not told:
            return
        now = self._time(utc_now())
        tx.run(
            "INSERT INTO outbox (id, instance_id, process_id, entry_index, kind, roles, payload, created_at, "
            "attempts, next_attempt, state, sent_to) VALUES " + ", ".join([_OUTBOX_ROW] * len(told)),
            [
                value
                for m in told
                for value in (
                    m.id,
                    m.instance_id,
                    m.process_id,
                    m.entry_index,
                    m.kind,
                    canonical(list(m.roles)) if m.roles else "[]",
                    payload_text(m, canonical, written.texts[m.entry_index - first]),
                    now,
                    now,
                )
            ],
        )

    def _write_work(
        self,
        tx: Transaction,
        instance_id: str,
        work: CaseWork | None,
        *,
        new: bool = False,
        before: CaseWork | None | Unknown = UNKNOWN,
    ) -> None:
        """Replace the instance's work items with ``work``; without it, mark them as still to be worked
        out. A pending mark is left where it is when work is given: working it out again is harmless
        (``write_work``), and it saves the event a statement. ``before``, the work this store wrote with
        the version before, if known: with the same roles, the rows are moved on in place."""
        if not self._work:
            return
        roles: frozenset[str] = frozenset() if work is None else work.roles
        if (
            not new
            and work is not None
            and isinstance(before, CaseWork)
            and roles
            and before.roles == roles
            and self._move_work(tx, instance_id, work, before, len(roles))
        ):
            return
        if not new:
            tx.run("DELETE FROM work_items WHERE instance_id = ?", (instance_id,))
        if work is None or not roles:
            if not new:
                tx.run("DELETE FROM work_cases WHERE instance_id = ?", (instance_id,))
            if work is None:
                tx.run("INSERT INTO work_pending (instance_id) VALUES (?) ON CONFLICT DO NOTHING", (instance_id,))
            return
        self._insert_work(tx, instance_id, work, roles)

    def _move_work(self, tx: Transaction, instance_id: str, work: CaseWork, before: CaseWork, rows: int) -> bool:
        """Update the ``rows`` rows of the roles ``before`` wrote, which ``work`` has too, in place (their
        indexes are rewritten only when the due time or the process changed); whether the rows were all
        there (else the caller writes them afresh)."""
        due = self._time(work.due if work.due is not None else NO_DUE)
        if work.due == before.due and work.process_id == before.process_id:
            moved = tx.run(_MOVE_WORK, (work.work.state, work.work.claimed_by, instance_id))
        else:
            moved = tx.run(_MOVE_WORK_DUE, (work.process_id, work.work.state, due, work.work.claimed_by, instance_id))
        if moved != rows:
            return False
        return bool(tx.run(_MOVE_WORK_CASE, (work.process_id, due, work_text(work), instance_id)))

    def _insert_work(
        self, tx: Transaction, instance_id: str, work: CaseWork, of_roles: frozenset[str] | None = None
    ) -> None:
        """The case's work (its JSON, and a row per role: ``of_roles``, if the caller has them already),
        over any it had; a case nobody acts on (a finished one, or one waiting for a sub-procedure) has none."""
        roles = sorted(work.roles if of_roles is None else of_roles)
        if not roles:
            return
        due = self._time(work.due if work.due is not None else NO_DUE)
        tx.run(
            "INSERT INTO work_cases (instance_id, process_id, due_order, item) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (instance_id) DO UPDATE SET process_id = excluded.process_id, "
            "due_order = excluded.due_order, item = excluded.item",
            (instance_id, work.process_id, due, work_text(work)),
        )
        tx.run(
            "INSERT INTO work_items (instance_id, role, process_id, state, due_order, claimed_by) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(roles)),
            [
                value
                for role in roles
                for value in (instance_id, role, work.process_id, work.work.state, due, work.work.claimed_by)
            ],
        )


def _encoded(instance: Instance, first: int) -> _Texts:
    """The JSON of the instance's entries from ``first`` on, and its text, for the entry rows and the
    outbox rows to share."""
    written = _Texts()
    for entry in instance.history[first:]:
        document = entry_to_json(entry)
        written.documents.append(document)
        written.texts.append(canonical(document))
    return written


class _Texts:
    """The JSON of the entries a write appended, and its text, in order."""

    __slots__ = ("documents", "texts")

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self.texts: list[str] = []


def _offset(moment: datetime.datetime) -> int:
    """The UTC offset a due time was given in, in seconds, so it reads back as it was written."""
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())

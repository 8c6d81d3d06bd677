"""What every part of the SQL stores shares: the transaction a dialect supplies, rows read by column
name, how a statement joins a batch (``Workflows.batch``), and how a deadline row reads back.

Rows are read by name (``row["state"]``): SQLite's ``sqlite3.Row`` and psycopg's ``dict_row``, so no
statement has to keep its columns in an order another place counts on. Measured on a one-row read:
``sqlite3.Row`` 5.0 µs against 3.0 µs for a tuple, about two of an event's near 1,000 µs of CPU here.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from engine.instances import Entry, OpenDeadline
from engine.stores import migrations
from engine.work import CaseWork

Row = Mapping[str, Any]
Params = Sequence[Any]


_IN_LIST = 500
"""How many ids one ``IN (...)`` lists (SQLite allows 32,766 parameters; a listing reads a page or all)."""


class Transaction(Protocol):
    """One open transaction: run statements written with ``?`` placeholders; rows are read by name."""

    def run(self, sql: str, params: Params = ()) -> int:
        """Execute; the number of rows changed."""
        ...

    def one(self, sql: str, params: Params = ()) -> Row | None: ...

    def all(self, sql: str, params: Params = ()) -> list[Row]: ...


class Known:
    """What this store last read or wrote of an instance: its history (entries never change once
    committed; the version is its length), the deadlines it had at that version, the revision it ran
    on (process id, version, content hash), the work items written with it (``UNKNOWN`` after a
    read: a load does not read them), and what the runtime had worked out of the history
    (``Instance.facts_cache``), handed to the next load so its event reads only the entries after it."""

    __slots__ = ("deadlines", "facts", "history", "revision", "work")

    def __init__(
        self,
        history: tuple[Entry, ...],
        deadlines: tuple[OpenDeadline, ...],
        revision: tuple[str, int, str],
        work: CaseWork | None | Unknown,
        facts: dict[Any, Any] | None = None,
    ):
        self.history = history
        self.deadlines = deadlines
        self.revision = revision
        self.work = work
        self.facts = facts


class Unknown:
    """What ``Known.work`` holds when the store did not write the work items itself."""


UNKNOWN = Unknown()


class Batch:
    """A transaction several events share (``SqlBase.batch``): the thread that holds it, and what its
    events wrote, remembered only once it commits."""

    __slots__ = ("known", "thread", "tx")

    def __init__(self, tx: Transaction):
        self.tx = tx
        self.thread = threading.get_ident()
        self.known: dict[str, Known | None] = {}
        """Instances written or read in the batch (``None``: forget what was known before it)."""


class SqlBase:
    """The dialect's part (``sqlite.py``, ``postgres.py``) and the batch every statement joins."""

    dialect = ""

    def __init__(self, url: str):
        self._url = url
        self._batch: Batch | None = None

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        raise NotImplementedError

    # --- what a dialect supplies -----------------------------------------------------------------

    def _transaction(self, *, write: bool) -> AbstractContextManager[Transaction]:
        """A transaction; ``write`` ones hold the database's write lock where it has one. Reads may
        run each statement on its own: every read here is one statement, or (``_load``) a row and then
        entries below its version, which entries being append-only keeps consistent. Driver errors
        leave it as ``StoreError``; any error rolls it back."""
        raise NotImplementedError

    def _driver_errors(self) -> AbstractContextManager[None]:
        """Driver errors raised inside leave as ``StoreError``."""
        raise NotImplementedError

    def _time(self, moment: datetime.datetime) -> Any:
        raise NotImplementedError

    def _from_time(self, value: Any) -> datetime.datetime:
        raise NotImplementedError

    def _from_json(self, value: Any) -> Any:
        """A JSON column's value as read (text on SQLite; psycopg decodes ``json`` itself)."""
        raise NotImplementedError

    _skip_locked = ""
    """What a claim's choice of rows ends with, so that workers claiming at once skip each other's rows
    (PostgreSQL's ``FOR UPDATE SKIP LOCKED``; SQLite's write lock lets one worker claim at a time)."""

    _reads_in_savepoints = False
    """Whether a read inside a batch needs a savepoint of its own (PostgreSQL: a failed statement
    aborts the whole transaction; SQLite's does not)."""

    # --- flags set by the schema version (only a test opens a store at an older one) -------------

    _digests = True
    """Whether entries are written with their digest (the store's tables are at ``DIGESTS_FROM`` or later)."""

    _work = True
    """Whether the store keeps work items (its tables are at ``WORK_FROM`` or later)."""

    _outbox = True
    """Whether the store keeps an outbox (its tables are at ``OUTBOX_FROM`` or later)."""

    _deadlines_once = True
    """Whether deadlines are kept only in their rows (the tables are at ``DEADLINES_ONCE_FROM`` or later);
    before, the instance's row held them as JSON too, and the rows had no clock nor offset."""

    def _set_schema(self, version: int) -> None:
        self._digests = version >= migrations.DIGESTS_FROM
        self._work = version >= migrations.WORK_FROM
        self._outbox = version >= migrations.OUTBOX_FROM
        self._deadlines_once = version >= migrations.DEADLINES_ONCE_FROM

    def _deadline_columns(self, alias: str = "") -> str:
        """What a deadline is read from (named ``deadline_*``), of table ``alias`` if given."""
        prefix = f"{alias}." if alias else ""
        details = (
            f"{prefix}due_offset AS deadline_offset, {prefix}clock AS deadline_clock, "
            f"{prefix}threshold AS deadline_threshold"
            if self._deadlines_once
            else "0 AS deadline_offset, NULL AS deadline_clock, NULL AS deadline_threshold"
        )
        return (
            f"{prefix}position AS deadline_position, {prefix}state AS deadline_state, {prefix}due AS deadline_due, "
            f"{prefix}fire AS deadline_fire, {details}"
        )

    def _deadline(self, row: Row) -> OpenDeadline:
        """The deadline a row read with ``_deadline_columns`` holds, its due time in the offset it was given in."""
        offset = datetime.timezone(datetime.timedelta(seconds=int(row["deadline_offset"])))
        return OpenDeadline(
            row["deadline_state"],
            self._from_time(row["deadline_due"]).astimezone(offset),
            row["deadline_fire"],
            row["deadline_clock"],
            row["deadline_threshold"],
        )

    def _deadlines_of(self, tx: Transaction, instance_ids: Sequence[str]) -> dict[str, list[OpenDeadline]]:
        """The deadlines of the instances, each in position order (instances without any are left out)."""
        found: dict[str, list[OpenDeadline]] = {}
        for start in range(0, len(instance_ids), _IN_LIST):
            chunk = instance_ids[start : start + _IN_LIST]
            rows = tx.all(
                f"SELECT instance_id, {self._deadline_columns()} FROM deadlines WHERE instance_id IN "
                f"({', '.join('?' * len(chunk))}) ORDER BY instance_id, position",
                chunk,
            )
            for row in rows:
                found.setdefault(row["instance_id"], []).append(self._deadline(row))
        return found

    # --- batches ---------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write of this thread inside the block joins one transaction, committed when the block
        ends and rolled back, all of it, if an exception leaves the block. Each write keeps its own
        savepoint, so a write that fails (a stale version, a key already recorded) changes nothing and
        the others stand. Other threads wait for the block to end. Nested, the inner block is part of
        the outer one."""
        if self._in_batch() is not None:
            yield
            return
        with self._transaction(write=True) as tx:
            batch = Batch(tx)
            self._batch = batch
            try:
                yield
            finally:
                self._batch = None
        self._batch_committed(batch)

    def _batch_committed(self, batch: Batch) -> None:
        """Remember what the batch's events wrote, now that it is committed."""

    def _in_batch(self) -> Batch | None:
        batch = self._batch
        return batch if batch is not None and batch.thread == threading.get_ident() else None

    def _tx(self, *, write: bool) -> AbstractContextManager[Transaction]:
        """The transaction a store method runs in: its own, or, in this thread's batch, a savepoint of
        the batch's (so a write that fails leaves the batch as it was before the write)."""
        batch = self._in_batch()
        if batch is None:
            return self._transaction(write=write)
        return self._in_batch_tx(batch, write=write)

    @contextmanager
    def _in_batch_tx(self, batch: Batch, *, write: bool) -> Iterator[Transaction]:
        if not write and not self._reads_in_savepoints:
            with self._driver_errors():
                yield batch.tx
            return
        with self._driver_errors():
            batch.tx.run("SAVEPOINT procflow_event")
            try:
                yield batch.tx
            except BaseException:
                batch.tx.run("ROLLBACK TO SAVEPOINT procflow_event")
                batch.tx.run("RELEASE SAVEPOINT procflow_event")
                raise
            batch.tx.run("RELEASE SAVEPOINT procflow_event")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

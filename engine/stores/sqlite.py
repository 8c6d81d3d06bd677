"""The default store: one SQLite file (the standard library's ``sqlite3``), safe for several processes.

The file runs in WAL mode, so readers never wait for the writer. Every write takes the database's
write lock at its start (``BEGIN IMMEDIATE``): two writers queue instead of both reading and then
one failing to upgrade its lock, and the claim of due deadlines and outbox rows needs no ``SKIP LOCKED``
because only one worker claims at a time. A writer waits up to ``BUSY_TIMEOUT`` for the lock.
``synchronous=FULL``: an event acknowledged is on disk, even across a power cut.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import StoreError
from engine.stores import migrations
from engine.stores.integrity import source_digest
from engine.stores.sql import Params, Row, SqlStore, Transaction

BUSY_TIMEOUT = datetime.timedelta(seconds=30)
MEMORY = ":memory:"
PAGE_CACHE_KIB = 64 * 1024
"""The most this connection keeps of the file's pages in memory (SQLite's default is 2 MiB, taken as
needed): each event touches about fifteen pages spread over the file, so with ten thousand active
cases, in batches of 50, the default cache made 19 reads an event from the operating system; 64 MiB
cut them by 63%, and the writes by 8% (strace, ``benchmarks/stores.py``'s workload)."""
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How a time is stored: UTC to the microsecond, so the text sorts as the time does. Written and read
with ``isoformat``/``fromisoformat``, which give and take this for every year procflow records and
cost a third of ``strftime``/``strptime`` (three times an event)."""


class SQLiteStore(SqlStore):
    dialect = "sqlite"

    def __init__(self, path: str | Path, *, url: str | None = None, schema_version: int = migrations.LATEST):
        """Open (creating if needed) the store in ``path`` (``":memory:"`` for one held in memory) and
        bring its tables up to ``schema_version`` (the latest unless a test asks for an older one)."""
        super().__init__(url or f"sqlite:///{path}")
        self._lock = threading.RLock()
        try:
            self._connection = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT.total_seconds()
            )
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
                f"PRAGMA busy_timeout={int(BUSY_TIMEOUT.total_seconds() * 1000)}",
                f"PRAGMA cache_size=-{PAGE_CACHE_KIB}",
            ):
                self._connection.execute(pragma)
            self._connection.create_function("procflow_sha256", 1, source_digest, deterministic=True)
            self._connection.row_factory = sqlite3.Row
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot open the SQLite file {str(path)!r}: {exc}") from exc
        try:
            self._migrate(schema_version)
        except BaseException:
            self._connection.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _migrate(self, target: int = migrations.LATEST) -> None:
        # A step may rebuild a table others refer to (SQLite cannot drop a key in place); enforcement is
        # off for that, outside the transaction as SQLite requires, and the keys are checked before commit.
        self._pragma("PRAGMA foreign_keys=OFF")
        try:
            super()._migrate(target)
        finally:
            self._pragma("PRAGMA foreign_keys=ON")

    def _pragma(self, statement: str) -> None:
        try:
            self._connection.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: {exc}") from exc

    def _check_migrated(self, tx: Transaction, number: int) -> None:
        broken = tx.all("PRAGMA foreign_key_check")
        if broken:
            raise StoreError(
                f"{self.url}: migration {number} would leave {len(broken)} row(s) referring to rows that do "
                f"not exist (first: table {broken[0]['table']}, row {broken[0]['rowid']}); nothing was changed"
            )

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[_Transaction]:
        # Reads run each statement on its own (SQLite gives each one a consistent view); the shared
        # SQL reads nothing that needs two statements to agree beyond what append-only entries give.
        with self._lock:
            connection = self._connection
            if not write:
                try:
                    yield _Transaction(connection)
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.url}: {exc}") from exc
                return
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.url}: cannot begin a transaction: {exc}") from exc
            try:
                yield _Transaction(connection)
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(connection)
                raise StoreError(f"{self.url}: {exc}") from exc
            except BaseException:
                _rollback(connection)
                raise

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: {exc}") from exc

    def _time(self, moment: datetime.datetime) -> str:
        return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")[:-6] + "Z"

    def _from_time(self, value: Any) -> datetime.datetime:
        # fromisoformat takes other forms too (any separator before the hour, a comma before the
        # fraction): only the text this store writes is a stored time.
        try:
            moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) and value[-1:] == "Z" else None
        except ValueError:  # its own words ("Invalid isoformat string") would not say what a stored time is
            moment = None
        if moment is None or self._time(moment) != value:
            raise ValueError(f"a stored time must read {TIME_FORMAT}, got {value!r}")
        return moment

    def _from_json(self, value: Any) -> Any:
        return json.loads(value)


class _Transaction:
    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    def run(self, sql: str, params: Params = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self._connection.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the error that brought us here is the one to report

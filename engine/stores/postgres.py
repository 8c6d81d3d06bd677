"""The store for many workers on many hosts: PostgreSQL through psycopg 3.

Transactions run at READ COMMITTED: the conditional ``UPDATE ... WHERE version = ?`` re-reads the
row it waited for, so of two writers from one version exactly one moves the instance on. Workers
claim due deadlines with ``FOR UPDATE SKIP LOCKED``, so they never wait on, nor take, each other's.
Migrations hold a transaction-scoped advisory lock, so processes opening a new database at once
upgrade it once. The schema is the first one on the connection's ``search_path`` (pass
``?options=-csearch_path%3Dname`` in the URL to keep several stores in one database).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, LiteralString, cast

import psycopg
from psycopg.rows import dict_row

from engine.errors import StoreError
from engine.stores import migrations
from engine.stores.sql import Params, Row, SqlStore, Transaction

CONNECT_TIMEOUT = 10
_MIGRATION_LOCK = 0x70726F63  # "proc": any constant the application owns will do
_DEFINITIONS_LOCK = 0x64656673  # "defs", with the hash of schema and process id as the second key


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(self, url: str, *, shown_as: str, schema_version: int = migrations.LATEST):
        super().__init__(shown_as)
        self._conninfo = url
        self._lock = threading.RLock()
        self._connection = self._connect()
        try:
            self._migrate(schema_version)
        except BaseException:
            self._connection.close()
            raise

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        try:
            return psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT, row_factory=dict_row
            )
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: cannot connect to PostgreSQL: {_first_line(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[_Transaction]:
        with self._lock:
            if self._connection.closed or self._connection.broken:
                self._connection = self._connect()  # the server restarted, or the network dropped
            try:
                if write:
                    with self._connection.transaction():
                        yield _Transaction(self._connection.cursor())
                else:  # each statement on its own, in autocommit: no BEGIN and COMMIT round trips
                    yield _Transaction(self._connection.cursor())
            except psycopg.Error as exc:
                raise StoreError(f"{self.url}: {_first_line(exc)}") from exc

    def _lock_for_migration(self, tx: Transaction) -> None:
        # Keyed by schema too: stores in other schemas of the same database never wait on this one.
        tx.one("SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(current_schema()))", (_MIGRATION_LOCK,))

    def _lock_definitions(self, tx: Transaction, process_id: str) -> None:
        # Registrations of one process queue here, so each reads the highest revision the last one wrote.
        tx.one(
            "SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(current_schema() || '.' || ?))",
            (_DEFINITIONS_LOCK, process_id),
        )

    def _time(self, moment: datetime.datetime) -> datetime.datetime:
        return moment

    def _from_time(self, value: Any) -> datetime.datetime:
        if not isinstance(value, datetime.datetime):
            raise StoreError(f"{self.url}: expected a timestamp, read {value!r}")
        return value

    def _from_json(self, value: Any) -> Any:
        return value

    _skip_locked = " FOR UPDATE SKIP LOCKED"
    _reads_in_savepoints = True

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: {_first_line(exc)}") from exc


class _Transaction:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.Cursor[dict[str, Any]]):
        self._cursor = cursor

    def run(self, sql: str, params: Params = ()) -> int:
        return self._cursor.execute(_placeholders(sql), params).rowcount

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self._cursor.execute(_placeholders(sql), params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return cast(list[Row], self._cursor.execute(_placeholders(sql), params).fetchall())  # dicts are rows


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> LiteralString:
    # The shared statements are constants written with ``?``; they hold no other ``?`` and no ``%``.
    return sql.replace("?", "%s")  # mypy reads LiteralString as str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

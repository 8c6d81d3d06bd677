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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, LiteralString

import psycopg

from engine.errors import StoreError
from engine.outbox import PENDING, Message
from engine.stores import migrations
from engine.stores.base import NO_DUE
from engine.stores.integrity import canonical
from engine.stores.sql import Params, Row, SqlStore, Transaction
from engine.work import CaseWork, work_to_json

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

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
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

    _moves_in_one_statement = True
    _skip_locked = " FOR UPDATE SKIP LOCKED"

    def _move_on(
        self,
        row: tuple[Any, ...],
        expected_version: int,
        entry: str,
        entry_digest: str,
        work: CaseWork | None,
        told: Sequence[Message],
    ) -> bool:
        # One statement runs atomically on its own: no BEGIN and COMMIT round trips. Its parts all see
        # the row as it was, and the entry, the end of the claims and the work items follow only if the
        # row moved. The work rows of roles kept are upserted and the others deleted: no row is touched
        # twice, as one statement may not.
        parts = [
            "moved AS ("
            "  UPDATE instances SET state = ?, data = CAST(? AS JSON), entered_at = ?, "
            "  deadlines = CAST(? AS JSON), version = ? WHERE id = ? AND version = ? RETURNING id)",
            "cleared AS ("
            "  UPDATE deadlines SET claimed_by = NULL, claimed_until = NULL, refused = NULL "
            "  WHERE instance_id IN (SELECT id FROM moved))",
        ]
        params: list[Any] = [*row[4:9], row[0], expected_version]
        if self._work and work is not None:
            roles = sorted(work.roles)
            parts.append(
                "gone AS (DELETE FROM work_items WHERE instance_id IN (SELECT id FROM moved) "
                "AND NOT role = ANY(CAST(? AS TEXT[])))"
            )
            params.append(roles)
            if roles:
                due = work.due if work.due is not None else NO_DUE
                parts += [
                    "items AS (INSERT INTO work_items (instance_id, role, process_id, state, due_order, claimed_by) "
                    "SELECT id, r, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TIMESTAMPTZ), CAST(? AS TEXT) "
                    "FROM moved, unnest(CAST(? AS TEXT[])) AS r "
                    "ON CONFLICT (instance_id, role) DO UPDATE SET process_id = excluded.process_id, "
                    "state = excluded.state, due_order = excluded.due_order, claimed_by = excluded.claimed_by)",
                    "cased AS (INSERT INTO work_cases (instance_id, process_id, due_order, item) "
                    "SELECT id, CAST(? AS TEXT), CAST(? AS TIMESTAMPTZ), CAST(? AS JSON) FROM moved "
                    "ON CONFLICT (instance_id) DO UPDATE SET process_id = excluded.process_id, "
                    "due_order = excluded.due_order, item = excluded.item)",
                ]
                params += [work.process_id, work.work.state, due, work.work.claimed_by, roles]
                params += [work.process_id, due, canonical(work_to_json(work))]
            else:
                parts.append("uncased AS (DELETE FROM work_cases WHERE instance_id IN (SELECT id FROM moved))")
        if told:
            now = datetime.datetime.now(datetime.UTC)
            parts.append(
                "told AS (INSERT INTO outbox (id, instance_id, process_id, entry_index, kind, roles, payload, "
                "created_at, attempts, next_attempt, state, sent_to) "
                "SELECT o.id, moved.id, CAST(? AS TEXT), CAST(? AS INTEGER), o.kind, CAST(o.roles AS JSON), "
                f"CAST(o.payload AS JSON), CAST(? AS TIMESTAMPTZ), 0, CAST(? AS TIMESTAMPTZ), '{PENDING}', "
                "CAST('[]' AS JSON) FROM moved, unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), "
                "CAST(? AS TEXT[])) AS o(id, kind, roles, payload))"
            )
            params += [told[0].process_id, expected_version, now, now]
            params += [[m.id for m in told], [m.kind for m in told]]
            params += [[canonical(list(m.roles)) for m in told], [canonical(m.payload) for m in told]]
        params += [expected_version, entry, entry_digest]
        with self._transaction(write=False) as tx:
            return bool(
                tx.run(
                    "WITH " + ", ".join(parts) + " INSERT INTO entries (instance_id, idx, entry, digest) "
                    "SELECT id, CAST(? AS INTEGER), CAST(? AS JSON), CAST(? AS TEXT) FROM moved",
                    params,
                )
            )


class _Transaction:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.Cursor[Any]):
        self._cursor = cursor

    def run(self, sql: str, params: Params = ()) -> int:
        return self._cursor.execute(_placeholders(sql), params).rowcount

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self._cursor.execute(_placeholders(sql), params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return self._cursor.execute(_placeholders(sql), params).fetchall()


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> LiteralString:
    # The shared statements are constants written with ``?``; they hold no other ``?`` and no ``%``.
    return sql.replace("?", "%s")  # mypy reads LiteralString as str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""What a SQL store lists without loading a history: instances' summaries and counts, case search,
the worklist, and the entry an idempotency key recorded.

The worklist (``engine.work``) is served by the work item rows an event writes: a row per role,
indexed by role then due time and id, so a page is one index range per role, merged and cut at the
page (keyset: the cursor is the last due time and id, never an offset).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from engine.errors import DamagedRecord, InstanceFormatError, InvalidIdentifier, StoreError
from engine.instances import Entry, OpenDeadline, entry_from_json
from engine.stores.base import CaseQuery, Damaged, Found, InstanceSummary, ProcessRef
from engine.stores.identifiers import check_instance_id, check_key
from engine.stores.search import check_query, search_sql
from engine.stores.sql_base import Row, SqlBase, Transaction
from engine.work import CaseWork, work_from_json

INSTANCE_COLUMNS = ("id", "process_id", "process_version", "content_hash", "state", "data", "entered_at", "version")
"""The instance columns a load or a listing reads; its deadlines are rows of their own."""


def instance_columns(alias: str = "") -> str:
    """The columns an instance is read from, each of table ``alias`` if given."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{c}" for c in INSTANCE_COLUMNS)


class SqlListing(SqlBase):
    def summaries(
        self,
        process_id: str | None = None,
        state: str | None = None,
        overdue_at: datetime.datetime | None = None,
    ) -> list[InstanceSummary | Damaged]:
        where, params = [], []
        if process_id is not None:
            where.append("i.process_id = ?")
            params.append(process_id)
        if state is not None:
            where.append("i.state = ?")
            params.append(state)
        if overdue_at is not None:
            where.append("EXISTS (SELECT 1 FROM deadlines d WHERE d.instance_id = i.id AND d.due <= ?)")
            params.append(self._time(overdue_at))
        sql = (
            f"SELECT {instance_columns('i')}, defn.revision FROM instances i LEFT JOIN definitions defn "
            "ON defn.process_id = i.process_id AND defn.content_hash = i.content_hash"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._tx(write=False) as tx:
            rows = tx.all(sql + " ORDER BY i.started_at, i.id", params)
            deadlines = self._listed_deadlines(tx, rows)
        return [self._summary(row, deadlines) for row in rows]

    def case_counts(self) -> dict[tuple[str, str, str], int]:
        with self._tx(write=False) as tx:
            rows = tx.all("SELECT process_id, content_hash, state, COUNT(*) AS cases FROM instances GROUP BY 1, 2, 3")
        return {(str(r["process_id"]), str(r["content_hash"]), str(r["state"])): int(r["cases"]) for r in rows}

    def search(
        self, query: CaseQuery, *, after: tuple[datetime.datetime, str] | None = None, limit: int = 50
    ) -> list[Found]:
        if limit < 1:
            return []
        sql, params = search_sql(
            check_query(query),
            dialect=self.dialect,
            columns=instance_columns("i"),
            time=self._time,
            after=after,
            limit=limit,
        )
        with self._tx(write=False) as tx:
            rows = tx.all(sql, params)
            deadlines = self._listed_deadlines(tx, rows)
        return [Found(self._summary(row, deadlines), self._from_time(row["started_at"])) for row in rows]

    def _listed_deadlines(self, tx: Transaction, rows: Sequence[Row]) -> dict[str, list[OpenDeadline]] | Exception:
        """The listed instances' deadlines, or why they cannot be read (each listed as ``Damaged`` then)."""
        try:
            return self._deadlines_of(tx, [str(row["id"]) for row in rows])
        except (ValueError, TypeError, StoreError) as exc:
            return exc

    def _summary(self, row: Row, deadlines: dict[str, list[OpenDeadline]] | Exception) -> InstanceSummary | Damaged:
        try:
            check_instance_id(row["id"])
            if row["revision"] is None:
                raise InstanceFormatError(
                    f"it runs on `{row['process_id']}` with content {str(row['content_hash'])[:12]}, "
                    "a definition the store does not hold"
                )
            data = self._from_json(row["data"])
            if not isinstance(data, dict):
                raise InstanceFormatError(f"its data must be an object, got {type(data).__name__}")
            if isinstance(deadlines, Exception):
                raise InstanceFormatError(f"its deadlines cannot be read: {deadlines}")
            return InstanceSummary(
                id=row["id"],
                process=ProcessRef(
                    row["process_id"], int(row["process_version"]), row["content_hash"], int(row["revision"])
                ),
                state=row["state"],
                data=data,
                entered_at=datetime.datetime.fromisoformat(row["entered_at"]),
                deadlines=tuple(deadlines.get(row["id"], ())),
                version=int(row["version"]),
            )
        except (InstanceFormatError, InvalidIdentifier, ValueError, TypeError) as exc:
            return Damaged(str(row["id"]), f"stored in a form procflow cannot read: {exc}")

    def entry_for_key(self, instance_id: str, key: str) -> tuple[int, Entry] | None:
        check_instance_id(instance_id)
        check_key(key)
        with self._tx(write=False) as tx:
            row = tx.one(
                "SELECT e.idx, e.entry FROM idempotency_keys k JOIN entries e "
                "ON e.instance_id = k.instance_id AND e.idx = k.entry_index "
                "WHERE k.instance_id = ? AND k.key = ?",
                (instance_id, key),
            )
        if row is None:
            return None
        try:
            return int(row["idx"]), entry_from_json(self._from_json(row["entry"]), f"entry {row['idx']}")
        except (InstanceFormatError, ValueError, TypeError) as exc:
            raise DamagedRecord(
                f"{self.url}: instance `{instance_id}`: the entry recorded with key {key!r} cannot be read: {exc}",
                instance_id=instance_id,
            ) from exc

    # --- the worklist ----------------------------------------------------------------------------

    def worklist(
        self,
        roles: Sequence[str],
        *,
        process_id: str | None = None,
        due_by: datetime.datetime | None = None,
        after: tuple[datetime.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[CaseWork | Damaged]:
        if not roles or limit < 1:
            return []
        # One index range per role (taking `limit` of each is enough for `limit` distinct cases), merged.
        where, params = ["role = ?"], list[Any]()
        if process_id is not None:
            where.append("process_id = ?")
        if due_by is not None:
            where.append("due_order <= ?")
        if after is not None:
            where.append("due_order >= ? AND (due_order > ? OR instance_id > ?)")
        ranges = []
        for role in sorted(set(roles)):
            ranges.append(
                "SELECT instance_id FROM (SELECT instance_id FROM work_items WHERE "
                + " AND ".join(where)
                + " ORDER BY due_order, instance_id LIMIT ?) AS r"
            )
            params.append(role)
            if process_id is not None:
                params.append(process_id)
            if due_by is not None:
                params.append(self._time(due_by))
            if after is not None:
                params += [self._time(after[0]), self._time(after[0]), after[1]]
            params.append(limit)
        sql = (
            "SELECT instance_id, process_id, item FROM work_cases WHERE instance_id IN ("
            + " UNION ALL ".join(ranges)
            + ") ORDER BY due_order, instance_id LIMIT ?"
        )
        with self._tx(write=False) as tx:
            rows = tx.all(sql, [*params, limit])
        found: list[CaseWork | Damaged] = []
        for row in rows:
            try:
                found.append(
                    work_from_json(str(row["instance_id"]), str(row["process_id"]), self._from_json(row["item"]))
                )
            except (InstanceFormatError, ValueError, TypeError) as exc:
                found.append(Damaged(str(row["instance_id"]), f"its work items cannot be read: {exc}"))
        return found

    def work_pending(self, limit: int) -> list[str]:
        if not self._work:
            return []
        with self._tx(write=False) as tx:
            rows = tx.all("SELECT instance_id FROM work_pending ORDER BY instance_id LIMIT ?", (limit,))
        return [str(r["instance_id"]) for r in rows]

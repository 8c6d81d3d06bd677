"""What workers claim from a SQL store: due deadlines and outbox rows.

Both are claimed alike (``_claim``: one ``UPDATE ... WHERE key IN (SELECT ... LIMIT ?) RETURNING``,
with the dialect's ``_skip_locked``), each claim held for a lease. A deadline whose due time cannot
be read is set aside (``refused``) when claimed, so one bad row never stops the rest.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from engine.errors import DamagedRecord, StoreError
from engine.instances import OpenDeadline
from engine.outbox import DEAD, DELIVERED, PENDING, Message, OutboxRow
from engine.stores.base import DEFAULT_LEASE, Damaged, DueDeadline
from engine.stores.integrity import canonical
from engine.stores.sql_base import Params, Row, SqlBase, Transaction

OUTBOX_COLUMNS = (
    "id, instance_id, process_id, entry_index, kind, roles, payload, created_at, attempts, next_attempt, "
    "state, sent_to, last_error"
)
_EARLIEST_DUE = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
"""The earliest due time read back: any session time zone still gives a Python ``datetime``."""


class SqlQueues(SqlBase):
    def _claim(
        self,
        tx: Transaction,
        table: str,
        keys: str,
        choose: str,
        params: Params,
        returning: str,
        returning_params: Params,
        worker: str,
        until: datetime.datetime,
        now: datetime.datetime,
        limit: int,
    ) -> list[Row]:
        """Claim up to ``limit`` rows of ``table`` for ``worker`` until ``until``: those ``choose`` (a
        condition and its order, ``... ORDER BY ...``) picks among the unclaimed and those whose claim has
        run out at ``now``; one statement, the rows ``returning`` names back."""
        where, order = choose.split(" ORDER BY ")
        return tx.all(
            f"UPDATE {table} SET claimed_by = ?, claimed_until = ? WHERE ({keys}) IN ("
            f"SELECT {keys} FROM {table} WHERE {where} AND (claimed_until IS NULL OR claimed_until <= ?) "
            f"ORDER BY {order} LIMIT ?{self._skip_locked}) RETURNING {returning}",
            (worker, self._time(until), *params, self._time(now), limit, *returning_params),
        )

    # --- timers ----------------------------------------------------------------------------------

    def claim_due(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[DueDeadline | Damaged]:
        # A time Python cannot hold (before year 1, -infinity on PostgreSQL) comes back as NULL, to be set aside.
        with self._tx(write=True) as tx:
            rows = self._claim(
                tx,
                "deadlines",
                "instance_id, position",
                "fire IS NOT NULL AND refused IS NULL AND due <= ? ORDER BY due",
                (self._time(now),),
                "instance_id, state, CASE WHEN due >= ? THEN due END AS due, fire, position",
                (self._time(_EARLIEST_DUE),),
                worker,
                now + lease,
                now,
                limit,
            )
            return self._due(tx, rows)

    def mark_refused(self, instance_id: str, deadline: OpenDeadline, version: int, reason: str) -> None:
        with self._tx(write=True) as tx:
            row = tx.one("SELECT version FROM instances WHERE id = ?", (instance_id,))
            if row is None or int(row["version"]) != version:
                return
            open_now = self._deadlines_of(tx, [instance_id]).get(instance_id, [])
            if deadline not in open_now:
                return
            tx.run(
                "UPDATE deadlines SET refused = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE instance_id = ? AND position = ?",
                (reason, instance_id, open_now.index(deadline)),
            )

    def set_aside(self, instance_id: str, reason: str) -> None:
        with self._tx(write=True) as tx:
            tx.run(
                "UPDATE deadlines SET refused = ?, claimed_by = NULL, claimed_until = NULL WHERE instance_id = ?",
                (reason, instance_id),
            )

    def release(self, worker: str) -> None:
        with self._tx(write=True) as tx:
            tx.run("UPDATE deadlines SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", (worker,))
            if self._outbox:
                tx.run("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", (worker,))

    def _due(self, tx: Transaction, rows: Sequence[Row]) -> list[DueDeadline | Damaged]:
        """The claimed rows as deadlines, earliest first; a row whose due time cannot be read is set
        aside in ``tx`` and returned as ``Damaged``, after them."""
        due, damaged = [], list[Damaged]()
        for row in rows:
            try:
                if row["due"] is None:
                    raise ValueError("it is outside the years 1 to 9999")
                due.append(DueDeadline(row["instance_id"], row["state"], self._from_time(row["due"]), row["fire"]))
            except (ValueError, TypeError, StoreError) as exc:
                reason = f"the due time of its deadline {row['position']} cannot be read: {exc}"
                tx.run(
                    "UPDATE deadlines SET refused = ?, claimed_by = NULL, claimed_until = NULL "
                    "WHERE instance_id = ? AND position = ?",
                    (reason, row["instance_id"], row["position"]),
                )
                damaged.append(Damaged(str(row["instance_id"]), reason))
        return [*sorted(due, key=lambda d: (d.due, d.instance_id)), *damaged]

    # --- the outbox ------------------------------------------------------------------------------

    def claim_outbox(
        self, now: datetime.datetime, limit: int, worker: str, lease: datetime.timedelta = DEFAULT_LEASE
    ) -> list[OutboxRow]:
        if not self._outbox or limit < 1:
            return []
        with self._tx(write=True) as tx:
            rows = self._claim(
                tx,
                "outbox",
                "id",
                f"state = '{PENDING}' AND next_attempt <= ? ORDER BY next_attempt, id",
                (self._time(now),),
                OUTBOX_COLUMNS,
                (),
                worker,
                now + lease,
                now,
                limit,
            )
        return sorted((self._outbox_row(r) for r in rows), key=lambda r: (r.next_attempt, r.message.id))

    def record_delivery(
        self,
        delivery_id: str,
        *,
        state: str,
        attempts: int,
        next_attempt: datetime.datetime,
        sent_to: Sequence[str],
        error: str | None,
        now: datetime.datetime,
    ) -> None:
        with self._tx(write=True) as tx:
            tx.run(
                "UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, sent_to = ?, last_error = ?, "
                "claimed_by = NULL, claimed_until = NULL, finished_at = ? WHERE id = ? AND state = ?",
                (
                    state,
                    attempts,
                    self._time(next_attempt),
                    canonical(list(sent_to)),
                    error,
                    self._time(now) if state in (DELIVERED, DEAD) else None,
                    delivery_id,
                    PENDING,
                ),
            )

    def outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        if not self._outbox:
            return []
        where, params = ("WHERE state = ? ", [state]) if state is not None else ("", [])
        with self._tx(write=False) as tx:
            rows = tx.all(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox {where}ORDER BY created_at, id LIMIT ?", [*params, limit]
            )
        return [self._outbox_row(r) for r in rows]

    def retry_dead(self, delivery_ids: Sequence[str] = (), *, now: datetime.datetime) -> int:
        if not self._outbox:
            return 0
        sql = (
            f"UPDATE outbox SET state = '{PENDING}', attempts = 0, next_attempt = ?, finished_at = NULL "
            f"WHERE state = '{DEAD}'"
        )
        params: list[Any] = [self._time(now)]
        if delivery_ids:
            sql += " AND id IN (" + ", ".join("?" * len(delivery_ids)) + ")"
            params += list(delivery_ids)
        with self._tx(write=True) as tx:
            return tx.run(sql, params)

    def _outbox_row(self, row: Row) -> OutboxRow:
        try:
            message = Message(
                str(row["id"]),
                str(row["kind"]),
                str(row["instance_id"]),
                str(row["process_id"]),
                int(row["entry_index"]),
                self._from_json(row["payload"]),
                tuple(self._from_json(row["roles"])),
            )
            return OutboxRow(
                message,
                created_at=self._from_time(row["created_at"]),
                attempts=int(row["attempts"]),
                next_attempt=self._from_time(row["next_attempt"]),
                state=str(row["state"]),
                sent_to=tuple(self._from_json(row["sent_to"])),
                last_error=row["last_error"],
            )
        except (ValueError, TypeError, StoreError) as exc:
            raise DamagedRecord(f"{self.url}: outbox row {row['id']!r} cannot be read: {exc}") from exc

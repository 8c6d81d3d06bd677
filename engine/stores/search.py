"""Searching cases (``Store.search``): the query checked once, as SQL for both databases, and as a
plain Python test for the in-memory store, so every store keeps the same cases in the same order.

Nothing a person typed is ever written into the SQL: values go in as parameters, and the one name a
query carries (the data field) must match ``FIELD_NAME`` before a statement is built, and then goes
in as a parameter too (the JSON path on SQLite, the key on PostgreSQL).

The order is start time, then id by code point (PostgreSQL's ``COLLATE "C"``, which is SQLite's and
Python's order), so a page ends at a keyset cursor (start time, id), never an offset. A process filter
reads the ``instances_by_process_started`` index range, any other search ``instances_by_started``
(start time and id, migration 9) in its order; the other filters are conditions on the rows read.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import InvalidQuery
from engine.instances import Instance
from engine.stores.base import CaseQuery, JsonScalar

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""A data field a search may name: an identifier, as the definitions' data fields are."""
MAX_VALUE_LENGTH = 1000


def check_query(query: CaseQuery) -> CaseQuery:
    """``query`` if it can be searched; ``InvalidQuery`` naming what is wrong (a field that is not a
    plain name, a value without a field, times without their offset, an empty period)."""
    if query.field is not None:
        if not isinstance(query.field, str) or not FIELD_NAME.fullmatch(query.field):
            shown = json.dumps(str(query.field)[:80], ensure_ascii=False)
            raise InvalidQuery(
                f"the data field {shown} is not a field name: a name is a letter or _ then letters, digits "
                "or _ (at most 64)"
            )
        if query.value is None or not isinstance(query.value, str | int | float | bool):
            raise InvalidQuery(
                f"the data field `{query.field}` needs a value to compare with: text, a number or a boolean"
            )
        if isinstance(query.value, str) and len(query.value) > MAX_VALUE_LENGTH:
            raise InvalidQuery(f"the value for `{query.field}` is longer than {MAX_VALUE_LENGTH} characters")
    elif query.value is not None:
        raise InvalidQuery("a value to search for needs the data field that holds it")
    for name in ("overdue_at", "started_from", "started_to"):
        moment = getattr(query, name)
        if moment is not None and (not isinstance(moment, datetime.datetime) or moment.utcoffset() is None):
            raise InvalidQuery(f"`{name}` must be a time with its UTC offset, got {moment!r}")
    if query.started_from is not None and query.started_to is not None and query.started_to <= query.started_from:
        raise InvalidQuery("the period searched ends before it starts: `started_to` must come after `started_from`")
    if query.case_id is not None and (not query.case_id or len(query.case_id) > 200):
        raise InvalidQuery("a case id to search for is 1 to 200 characters")
    return query


# --- SQL ----------------------------------------------------------------------------------------------


def search_sql(
    query: CaseQuery,
    *,
    dialect: str,
    columns: str,
    time: Callable[[datetime.datetime], Any],
    after: tuple[datetime.datetime, str] | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The statement and its parameters: ``columns`` of ``instances i`` (joined with ``definitions
    defn`` for the revision), kept by ``query``, in start order from after ``after``."""
    collate = ' COLLATE "C"' if dialect == "postgresql" else ""
    where: list[str] = []
    params: list[Any] = []
    if query.process_id is not None:
        where.append("i.process_id = ?")
        params.append(query.process_id)
    if query.state is not None:
        where.append("i.state = ?")
        params.append(query.state)
    if query.overdue_at is not None:
        where.append("EXISTS (SELECT 1 FROM deadlines d WHERE d.instance_id = i.id AND d.due <= ?)")
        params.append(time(query.overdue_at))
    if query.case_id is not None:
        if query.id_prefix:
            where.append("substr(i.id, 1, ?) = ?")
            params += [len(query.case_id), query.case_id]
        else:
            where.append("i.id = ?")
            params.append(query.case_id)
    if query.field is not None and query.value is not None:
        clause, values = _field_sql(dialect, query.field, query.value)
        where.append(clause)
        params += values
    if query.started_from is not None:
        where.append("i.started_at >= ?")
        params.append(time(query.started_from))
    if query.started_to is not None:
        where.append("i.started_at < ?")
        params.append(time(query.started_to))
    if after is not None:
        # The first condition alone is an index range; the second cuts the ties at the cursor's id.
        where.append(f"i.started_at >= ? AND (i.started_at > ? OR i.id{collate} > ?)")
        params += [time(after[0]), time(after[0]), after[1]]
    sql = (
        f"SELECT {columns}, defn.revision, i.started_at FROM instances i LEFT JOIN definitions defn "
        "ON defn.process_id = i.process_id AND defn.content_hash = i.content_hash"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY i.started_at, i.id{collate} LIMIT ?"
    return sql, [*params, limit]


def _field_sql(dialect: str, field: str, value: JsonScalar) -> tuple[str, list[Any]]:
    """One data field holding ``value``, with its type: a boolean is not the number 1, nor text "1"."""
    if dialect == "postgresql":
        # Containment of {field: value}: equality for a scalar (numbers by value), and what a GIN index
        # on the data would serve.
        return "CAST(i.data AS JSONB) @> CAST(? AS JSONB)", [json.dumps({field: value}, ensure_ascii=False)]
    path = f'$."{field}"'  # the name is an identifier (checked), and still a parameter
    kind = "CASE WHEN json_valid(i.data) THEN json_type(i.data, ?) END"
    if isinstance(value, bool):
        return f"{kind} = ?", [path, "true" if value else "false"]
    if isinstance(value, int | float):
        return f"{kind} IN ('integer', 'real') AND json_extract(i.data, ?) = ?", [path, path, value]
    return f"{kind} = 'text' AND json_extract(i.data, ?) = ?", [path, path, value]


# --- the same in Python -------------------------------------------------------------------------------


def keeps(query: CaseQuery, instance: Instance) -> bool:
    """Whether ``query`` keeps ``instance``: what the SQL above says, for the in-memory store."""
    started = instance.history[0].at
    return (
        query.process_id in (None, instance.process_id)
        and query.state in (None, instance.state)
        and (query.overdue_at is None or bool(instance.overdue(query.overdue_at)))
        and (query.case_id is None or _id_matches(query, instance.id))
        and (query.field is None or holds(instance.data, query.field, query.value))
        and (query.started_from is None or started >= query.started_from)
        and (query.started_to is None or started < query.started_to)
    )


def _id_matches(query: CaseQuery, instance_id: str) -> bool:
    assert query.case_id is not None
    return instance_id.startswith(query.case_id) if query.id_prefix else instance_id == query.case_id


def holds(data: Mapping[str, Any], field: str, value: JsonScalar | None) -> bool:
    """Whether ``data[field]`` is ``value``: the same JSON type, the same value."""
    if field not in data or value is None:
        return False
    found = data[field]
    if isinstance(value, bool) or isinstance(found, bool):
        return isinstance(value, bool) and isinstance(found, bool) and found == value
    if isinstance(value, int | float):
        return isinstance(found, int | float) and found == value
    return isinstance(found, str) and found == value

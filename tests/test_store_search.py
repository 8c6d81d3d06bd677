"""Searching cases in the store: every store keeps the cases a plain Python filter keeps, in start
order, page after page; names that are not field names are refused before any SQL is built."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import CLERK, CUSTOMER, MONDAY, at

from engine.errors import InvalidQuery
from engine.service import Workflows
from engine.stores.base import InstanceSummary

pytest_plugins = ["store_support"]

MODELS = ["X1", "X2", "<script>alert(1)</script>", "维修 X"]
CASES = 14


def make_cases(workflows: Workflows) -> list[str]:
    """Cases started hours apart (two at the same moment, so the id breaks the tie), some still at the
    start, some submitted in or out of warranty, some put on hold (a deadline due three days on)."""
    ids = []
    for n in range(CASES):
        when = at(hours=5 * (n // 2 * 2)) if n < 4 else at(hours=5 * n)
        name = f"{'ab' if n % 3 == 0 else 'b'}-{n:02d}"
        instance = workflows.start("minimal_repair", CUSTOMER, at=when, instance_id=name)
        if n % 4 != 3:
            payload = {"in_warranty": n % 2 == 0, "model": MODELS[n % len(MODELS)]}
            workflows.fire(instance.id, "submit", CUSTOMER, payload, at=when)
            if n % 5 == 1:
                workflows.fire(instance.id, "hold", CLERK, at=when)
        ids.append(instance.id)
    return ids


@pytest.fixture
def stocked(workflows):
    return workflows, make_cases(workflows)


def every_page(workflows: Workflows, limit: int, **filters) -> list[str]:
    found, after = [], None
    while True:
        page = workflows.search(limit=limit, after=after, **filters)
        assert not page.damaged
        found += [case.id for case in page.cases]
        assert len(page.cases) <= limit
        if page.next is None:
            return found
        after = page.next


def plain_filter(workflows: Workflows, ids: list[str], **f) -> list[str]:
    kept = []
    for instance in (workflows.get(i) for i in ids):
        started = instance.history[0].at
        if f.get("process") not in (None, instance.process_id) or f.get("step") not in (None, instance.state):
            continue
        if f.get("overdue_at") and not any(d.due <= f["overdue_at"] for d in instance.deadlines):
            continue
        if f.get("case") and not (instance.id.startswith(f["case"]) if f.get("prefix") else instance.id == f["case"]):
            continue
        if f.get("field"):
            held = instance.data.get(f["field"], object())
            if type(held) is not type(f["value"]) or held != f["value"]:
                continue
        if f.get("started_from") and started < f["started_from"]:
            continue
        if f.get("started_to") and started >= f["started_to"]:
            continue
        kept.append((started, instance.id))
    return [i for _, i in sorted(kept)]


moments = st.integers(min_value=-2, max_value=80).map(lambda h: MONDAY + dt.timedelta(hours=h))
queries = st.fixed_dictionaries(
    {},
    optional={
        "step": st.sampled_from(["apply", "quote", "accept", "on_hold", "done"]),
        "overdue_at": st.sampled_from([at(days=2), at(days=4), at(days=30)]),
        "case": st.sampled_from(["ab", "b-", "b-01", "ab-00", "zz"]),
        "prefix": st.booleans(),
        "started_from": moments,
        "started_to": moments,
    },
)
fields = st.sampled_from(
    [{}, {"field": "in_warranty", "value": True}, {"field": "in_warranty", "value": False}]
    + [{"field": "model", "value": m} for m in MODELS]
    + [{"field": "in_warranty", "value": 1}, {"field": "model", "value": "x1"}, {"field": "quote", "value": 3}]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries, field=fields, limit=st.integers(min_value=1, max_value=5))
def test_every_store_finds_what_a_plain_filter_over_the_same_cases_finds(stocked, query, field, limit):
    workflows, ids = stocked
    filters = {"process": "minimal_repair", **query, **field}
    if "started_from" in filters and "started_to" in filters and filters["started_to"] <= filters["started_from"]:
        with pytest.raises(InvalidQuery):
            workflows.search(**filters)
        return
    assert every_page(workflows, limit, **filters) == plain_filter(workflows, ids, **filters)


def test_a_search_with_no_filter_lists_every_case_oldest_first_and_ties_by_id(stocked):
    workflows, ids = stocked
    found = every_page(workflows, 3)
    assert sorted(found) == sorted(ids) and found[:4] == ["ab-00", "b-01", "ab-03", "b-02"]


def test_a_data_value_is_matched_with_its_type(stocked):
    workflows, _ = stocked
    warranty = every_page(workflows, 50, field="in_warranty", value=True)
    assert warranty and every_page(workflows, 50, field="in_warranty", value=1) == []
    assert every_page(workflows, 50, field="model", value="<script>alert(1)</script>") == ["b-02", "ab-06", "b-10"]


@pytest.mark.parametrize("name", ["model'); DROP TABLE instances; --", "a.b", "$.model", "1st", "", "x" * 65, 'model"'])
def test_a_field_that_is_not_a_plain_name_is_refused_before_any_sql(stocked, name):
    workflows, _ = stocked
    with pytest.raises(InvalidQuery, match="not a field name"):
        workflows.search(field=name, value="X1")
    assert len(every_page(workflows, 50)) == CASES


def test_a_cursor_the_search_did_not_give_is_refused(stocked):
    workflows, _ = stocked
    with pytest.raises(InvalidQuery, match="search cursor"):
        workflows.search(after="made-up")


def test_a_case_found_carries_its_revision(stocked):
    workflows, _ = stocked
    page = workflows.search(case="b-01")
    assert [type(c) for c in page.cases] == [InstanceSummary] and page.cases[0].process.revision == 1


def test_open_cases_are_counted_in_the_store_by_revision(stocked):
    workflows, _ = stocked
    ref = workflows.latest("minimal_repair")
    open_now = [
        s for s in workflows.list() if not workflows.runtime(ref.id, ref.content_hash).process.states[s.state].is_final
    ]
    assert workflows.open_cases() == {(ref.id, ref.content_hash): len(open_now)}
    assert sum(workflows.store.case_counts().values()) == CASES

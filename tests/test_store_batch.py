"""Many events in one transaction: ``Workflows.fire_many`` (all or nothing) and ``Workflows.batch``
(each event whole or nothing, the batch committed when its block ends)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import CLERK, CUSTOMER, MINIMAL, MONDAY, OUT_OF_WARRANTY, SUPERVISOR, at, dump

from engine.errors import EventRefused, GuardFailed, NotFound
from engine.service import Event, Workflows

pytest_plugins = ["store_support"]

INSTANCES = 3
# In `quote`: `escalate` stays there, a quote up to 500 moves on to `accept`, one above is refused;
# once in `accept`, a quote is refused and `accept` moves on to `done`.
KINDS = {
    "escalate": ("escalate", SUPERVISOR, {}),
    "quote": ("send_quote", SUPERVISOR, {"quote": 300}),
    "too_high": ("send_quote", SUPERVISOR, {"quote": 900}),
    "accept": ("accept", CLERK, {}),
}


def _quoting(flows: Workflows) -> list[str]:
    flows.register(MINIMAL)
    ids = []
    for n in range(INSTANCES):
        instance = flows.start("minimal_repair", CUSTOMER, instance_id=f"case-{n}", at=MONDAY)
        flows.fire(instance.id, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
        ids.append(instance.id)
    return ids


def _events(ids: list[str], plan: list[tuple[int, str]]) -> list[Event]:
    return [
        Event(ids[i], KINDS[kind][0], KINDS[kind][1], KINDS[kind][2], at=at(hours=1 + n))
        for n, (i, kind) in enumerate(plan)
    ]


def _held(flows: Workflows, ids: list[str]) -> list[tuple[str, list[str | None]]]:
    return [(flows.get(i).state, [e.trigger for e in flows.history(i)]) for i in ids]


plans = st.lists(st.tuples(st.integers(0, INSTANCES - 1), st.sampled_from(sorted(KINDS))), min_size=1, max_size=8)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans)
def test_a_batch_stores_every_event_as_one_by_one_would_or_none_when_one_is_refused(plan):
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'batch.db'}"
        with Workflows("memory:") as one_by_one, Workflows(url) as batched:
            ids, same_ids = _quoting(one_by_one), _quoting(batched)
            refused = None
            for n, event in enumerate(_events(ids, plan)):
                try:
                    one_by_one.fire(event.instance_id, event.trigger, event.actor, event.payload, at=event.at)
                except EventRefused:
                    refused = n
                    break
            before = dump(url)
            if refused is None:
                entries = batched.fire_many(_events(same_ids, plan))
                assert len(entries) == len(plan)
                assert _held(batched, same_ids) == _held(one_by_one, ids)
                batched.verify_store()
            else:
                with pytest.raises(EventRefused) as raised:
                    batched.fire_many(_events(same_ids, plan))
                assert f"event {refused} of the batch" in "\n".join(raised.value.__notes__)
                assert dump(url) == before


def test_a_refused_event_inside_a_batch_block_writes_nothing_and_the_others_commit(workflows):
    first, second, third = _quoting(workflows)
    with workflows.batch():
        workflows.fire(first, "send_quote", SUPERVISOR, {"quote": 300})
        with pytest.raises(GuardFailed):
            workflows.fire(second, "send_quote", SUPERVISOR, {"quote": 900})
        workflows.fire(third, "escalate", SUPERVISOR)
    assert [workflows.get(i).state for i in (first, second, third)] == ["accept", "quote", "quote"]
    assert [len(workflows.history(i)) for i in (first, second, third)] == [3, 2, 3]
    workflows.verify_store()


def test_an_error_leaving_the_batch_block_rolls_back_every_event_of_it(workflows):
    first, second, _ = _quoting(workflows)
    before = [workflows.get(i) for i in (first, second)]
    told = workflows.outbox(limit=1000)
    with pytest.raises(RuntimeError, match="stop"), workflows.batch():
        workflows.fire(first, "send_quote", SUPERVISOR, {"quote": 300})
        workflows.fire(second, "escalate", SUPERVISOR)
        assert workflows.get(first).state == "accept"  # the batch reads what it wrote
        raise RuntimeError("stop")
    assert [workflows.get(i) for i in (first, second)] == before
    assert workflows.outbox(limit=1000) == told
    workflows.fire(first, "send_quote", SUPERVISOR, {"quote": 300})  # what was read in the batch is forgotten
    assert [e.trigger for e in workflows.history(first)] == [None, "submit", "send_quote"]


def test_a_batch_rolled_back_leaves_no_instance_key_or_outbox_row_of_it(workflows):
    first, _, _ = _quoting(workflows)
    before, told = workflows.get(first), workflows.outbox(limit=1000)
    with pytest.raises(RuntimeError, match="stop"), workflows.batch():
        workflows.start("minimal_repair", CUSTOMER, instance_id="started", key="start-1", at=MONDAY)
        workflows.fire(first, "escalate", SUPERVISOR, key="k-1")
        workflows.fire(first, "escalate", SUPERVISOR, key="k-2")
        raise RuntimeError("stop")
    assert workflows.get(first) == before and workflows.outbox(limit=1000) == told
    with pytest.raises(NotFound):
        workflows.get("started")
    assert workflows.start("minimal_repair", CUSTOMER, instance_id="other", key="start-1", at=MONDAY).id == "other"
    workflows.fire(first, "escalate", SUPERVISOR, key="k-2")  # a new event: the key was not kept
    assert [e.key for e in workflows.history(first)] == [None, None, "k-2"]
    assert workflows.verify_store().ok


def test_a_key_recorded_earlier_in_the_same_batch_is_found(workflows):
    first, _, _ = _quoting(workflows)
    with workflows.batch():
        entry = workflows.fire(first, "escalate", SUPERVISOR, key="k-1")
        again = workflows.fire(first, "escalate", SUPERVISOR, key="k-1")
    assert again == entry
    assert [e.trigger for e in workflows.history(first)] == [None, "submit", "escalate"]

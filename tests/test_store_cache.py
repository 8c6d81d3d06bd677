"""A store keeps the histories it last read or wrote, and writes an instance's deadlines only when
they changed; neither may change what a developer sees.

What a developer relies on: several processes writing one instance each see every event, in order,
whoever wrote it; a key recorded by another process still answers with its event; a write that keeps
the deadlines still ends the workers' claims and refusals on them, as any write of the instance does.
"""

from __future__ import annotations

import datetime as dt

from store_support import (
    CLERK,
    CUSTOMER,
    MINIMAL,
    MONDAY,
    OUT_OF_WARRANTY,
    at,
    execute,
    minimal_runtime,
    on_hold,
    snapshot,
)

from engine.service import Workflows

pytest_plugins = ["store_support"]

LATER = at(days=30)
"""When every deadline of an instance put on hold at ``MONDAY`` is due."""


def test_writers_in_turn_each_see_every_event_in_order(durable_url):
    with Workflows(durable_url, clock=lambda: MONDAY) as mine, Workflows(durable_url, clock=lambda: MONDAY) as theirs:
        mine.register(MINIMAL)
        [instance_id] = on_hold(mine, 1)
        theirs.get(instance_id)  # both now hold its history
        for turn in range(6):
            writer = (mine, theirs)[turn % 2]
            writer.fire(instance_id, "remind", CLERK, {"turn": turn}, at=at(hours=turn + 1))
        writer.fire(instance_id, "customer_replied", CUSTOMER, at=at(hours=8))
        seen = [mine.get(instance_id), theirs.get(instance_id)]
        with Workflows(durable_url) as fresh:  # a process that read nothing before
            seen.append(fresh.get(instance_id))
    assert [e.payload.get("turn") for e in seen[2].history] == [None, None, None, 0, 1, 2, 3, 4, 5, None]
    assert snapshot(seen[0]) == snapshot(seen[1]) == snapshot(seen[2])
    minimal_runtime().verify(seen[2])  # the history replays to the stored state and data


def test_a_key_recorded_by_another_writer_answers_with_its_event(durable_url):
    with Workflows(durable_url, clock=lambda: MONDAY) as mine, Workflows(durable_url, clock=lambda: MONDAY) as theirs:
        mine.register(MINIMAL)
        [instance_id] = on_hold(mine, 1)
        theirs.get(instance_id)
        still_allowed = mine.fire(instance_id, "remind", CLERK, {"n": 1}, key="remind-1")
        assert theirs.fire(instance_id, "remind", CLERK, {"n": 1}, key="remind-1") == still_allowed
        moved_on = mine.fire(instance_id, "customer_replied", CUSTOMER, key="reply-1")
        assert theirs.fire(instance_id, "customer_replied", CUSTOMER, key="reply-1") == moved_on
        history = theirs.history(instance_id)
    assert [e.key for e in history] == [None, None, None, "remind-1", "reply-1"]


def test_a_write_that_keeps_the_deadlines_ends_the_claims_on_them(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(MINIMAL)
        [instance_id] = on_hold(workflows, 1)
        store = workflows.store
        assert [d.fire for d in store.claim_due(LATER, 10, "worker 1")] == ["remind"]
        assert store.claim_due(LATER, 10, "worker 2") == []  # worker 1 holds it
        before = workflows.get(instance_id).deadlines
        workflows.fire(instance_id, "remind", CLERK)  # a person reminds: same state, same deadlines
        assert workflows.get(instance_id).deadlines == before
        assert [d.fire for d in store.claim_due(LATER, 10, "worker 2")] == ["remind"]


def test_a_write_that_keeps_the_deadlines_ends_their_refusals(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(MINIMAL)
        [instance_id] = on_hold(workflows, 1)
        instance, store = workflows.get(instance_id), workflows.store
        [remind] = [d for d in instance.deadlines if d.fire == "remind"]
        store.mark_refused(instance_id, remind, instance.version, "refused in this test")
        assert store.claim_due(LATER, 10, "worker 1") == []
        workflows.fire(instance_id, "remind", CLERK)
        assert [d.fire for d in store.claim_due(LATER, 10, "worker 1")] == ["remind"]


def test_a_write_that_changes_the_deadlines_replaces_them(durable_url):
    with Workflows(durable_url, clock=lambda: MONDAY) as workflows:
        workflows.register(MINIMAL)
        [instance_id] = on_hold(workflows, 1)
        assert [d.fire for d in workflows.store.claim_due(LATER, 10, "worker")] == ["remind"]
        workflows.store.release("worker")
        workflows.fire(instance_id, "customer_replied", CUSTOMER, at=at(hours=1))  # on to `accept`: 24 h
        [limit] = workflows.get(instance_id).deadlines
        with Workflows(durable_url) as fresh:
            assert fresh.get(instance_id).deadlines == (limit,)
            assert fresh.store.claim_due(LATER, 10, "worker") == []  # `accept`'s limit fires nothing
            assert [s.id for s in fresh.list(overdue_at=limit.due)] == [instance_id]
            assert fresh.list(overdue_at=limit.due - dt.timedelta(seconds=1)) == []
        assert limit.state == "accept"


def test_a_write_that_keeps_the_roles_moves_the_work_items_on_and_rewrites_any_gone_missing(durable_url):
    with Workflows(durable_url, clock=lambda: MONDAY) as workflows:
        workflows.register(MINIMAL)
        case = workflows.start("minimal_repair", CUSTOMER).id
        workflows.fire(case, "submit", CUSTOMER, OUT_OF_WARRANTY)
        workflows.claim(case, CLERK)  # the same roles as the step had: its rows are moved on in place
        (claimed,) = workflows.worklist(CLERK).items
        assert claimed.instance_id == case and claimed.claimed_by == "li"
        execute(durable_url, "DELETE FROM work_items WHERE instance_id = ?", (case,))  # behind procflow's back
        assert workflows.worklist(CLERK).items == ()
        workflows.release(case, CLERK)
        (released,) = workflows.worklist(CLERK).items
        assert released.instance_id == case and released.claimed_by is None
        with Workflows(durable_url, clock=lambda: MONDAY) as fresh:  # what a process that wrote nothing reads
            assert fresh.worklist(CLERK).items == (released,)

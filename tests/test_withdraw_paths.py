"""The withdraw paths of the shipped procedures: a customer who no longer wants the return or exchange,
the complaint or the factory repair withdraws it, with a reason, from any step the definition lets
them (``cancels: true``), and the case ends in ``withdrawn`` with its clocks stopped, nothing left to
fire and the reason in its history. None of the sources names a withdrawal, so each is a declared
addition; the QC screening (an internal procedure on a product already returned) and the retail sale
(where a customer who leaves is already seen off) have none."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PROCESSES
from test_branch_coverage import STEP, TABLES, Fire, play

from engine import Actor, InvalidPayload, PermissionDenied, Runtime, UnknownTrigger, instance_to_json, load_process

WITHDRAWABLE = {
    "complaint": (
        "register",
        "answer_directly",
        "technical_support",
        "progress_report",
        "onsite_service",
        "resolution",
        "leader_approval",
    ),
    "exchange": ("review", "await_information", "instruct_return", "await_return", "collect_return"),
    "return_repair": ("review_application", "out_of_warranty_review", "accept_application", "ship_in"),
}
"""Where each procedure's customer may withdraw: until a resolution is decided (complaint), until the
merchant has the product back (exchange), until the product is shipped to the factory (repair)."""
TOO_LATE = {"complaint": "follow_up", "exchange": "inspect", "return_repair": "fault_detection"}
"""A step past them: there the case goes on to its own ends (a repair the customer no longer wants is
declined at the plan, 三.7, and returned unrepaired)."""
AGENT_ROLE = {"complaint": "service_agent", "exchange": "cs_agent", "return_repair": "cs_agent"}

CASES = [(process, state) for process, states in WITHDRAWABLE.items() for state in states]


def runtime_of(process_id: str) -> Runtime:
    return Runtime(load_process(PROCESSES / f"{process_id}.yaml"))


def resting_in(runtime: Runtime, process_id: str, state: str):  # type: ignore[no-untyped-def]
    """An instance walked along the branch-coverage path that withdraws from ``state``, up to ``state``."""
    table = TABLES[process_id]
    path = table.paths[f"withdraw from {state}"]
    instance = play(runtime, table.starter, f"{process_id}-{state}", path[:-1])
    assert instance.state == state
    return instance


def later(instance) -> dt.datetime:  # type: ignore[no-untyped-def]
    return instance.history[-1].at + STEP


@pytest.mark.parametrize("process_id, state", CASES, ids=[f"{p}-{s}" for p, s in CASES])
def test_a_customer_withdraws_with_a_reason_and_the_case_ends_with_its_clocks_stopped(process_id, state):
    runtime = runtime_of(process_id)
    instance = resting_in(runtime, process_id, state)
    running = {
        r.clock for r in runtime.clocks(instance, instance.history[-1].at) if r.status not in ("idle", "stopped")
    }
    moment = later(instance)
    customer = TABLES[process_id].starter
    entry = runtime.fire(instance, "withdraw", customer, {"reason": "问题已自行解决，不再需要"}, at=moment)
    assert (instance.state, entry.source, entry.actor) == ("withdrawn", state, customer.id)
    assert entry.payload == {"reason": "问题已自行解决，不再需要"}
    assert instance.deadlines == ()  # no time limit, deadline or clock point is left to fire
    reports = {r.clock: r for r in runtime.clocks(instance, moment + dt.timedelta(weeks=4))}
    assert {r.status for r in reports.values()} <= {"idle", "stopped"}
    assert all(reports[name].status == "stopped" and reports[name].stopped_at == moment for name in running)
    assert runtime.advance(instance, moment + dt.timedelta(weeks=4)).fired == ()
    runtime.verify(instance)


@pytest.mark.parametrize("process_id, state", CASES, ids=[f"{p}-{s}" for p, s in CASES])
def test_a_withdrawal_without_a_reason_is_refused_and_changes_nothing(process_id, state):
    runtime = runtime_of(process_id)
    instance = resting_in(runtime, process_id, state)
    before = instance_to_json(instance)
    customer = TABLES[process_id].starter
    for payload in ({}, {"reason": ""}):
        with pytest.raises(InvalidPayload, match="reason"):
            runtime.fire(instance, "withdraw", customer, payload, at=later(instance))
    assert instance_to_json(instance) == before


@pytest.mark.parametrize("process_id", sorted(WITHDRAWABLE))
def test_the_agent_may_record_a_withdrawal_for_the_customer_and_nobody_else_may(process_id):
    runtime = runtime_of(process_id)
    state = WITHDRAWABLE[process_id][0]
    instance = resting_in(runtime, process_id, state)
    before = instance_to_json(instance)
    with pytest.raises(PermissionDenied):
        runtime.fire(instance, "withdraw", Actor("x", ["finance"]), {"reason": "替客户撤回"}, at=later(instance))
    assert instance_to_json(instance) == before
    agent = Actor("li", [AGENT_ROLE[process_id]])
    runtime.fire(instance, "withdraw", agent, {"reason": "客户来电撤回"}, at=later(instance))
    assert instance.state == "withdrawn"


@pytest.mark.parametrize("process_id", sorted(TOO_LATE))
def test_there_is_no_withdrawal_once_the_case_is_past_the_steps_that_allow_it(process_id):
    runtime = runtime_of(process_id)
    table = TABLES[process_id]
    path = next(
        p[: i + 1]
        for p in table.paths.values()
        for i, step in enumerate(p)
        if isinstance(step, Fire) and step.lands == TOO_LATE[process_id]
    )
    instance = play(runtime, table.starter, process_id, path)
    with pytest.raises(UnknownTrigger):
        runtime.fire(instance, "withdraw", table.starter, {"reason": "不要了"}, at=later(instance))


@pytest.mark.parametrize("process_id", sorted(WITHDRAWABLE))
def test_each_withdrawal_is_a_declared_addition_that_asks_why(process_id):
    process = load_process(PROCESSES / f"{process_id}.yaml")
    (withdraw,) = [t for t in process.transitions if t.cancels]
    assert withdraw.sources == WITHDRAWABLE[process_id]
    assert withdraw.addition is not None and withdraw.addition.zh and withdraw.addition.en
    assert withdraw.label.zh and withdraw.label.en
    end = process.states[withdraw.dest]
    assert end.addition is not None and end.source is None
    assert withdraw.payload_schema is not None and "reason" in withdraw.payload_schema["required"]


@pytest.mark.parametrize("process_id", ["qc_signoff", "sales_service"])
def test_a_procedure_whose_source_implies_no_withdrawal_has_none(process_id):
    process = load_process(PROCESSES / f"{process_id}.yaml")
    assert [t.trigger for t in process.transitions if t.cancels] == []


@pytest.mark.parametrize(
    "process_id, state, clocks",
    [
        ("complaint", "register", {"first_response", "resolve_or_progress"}),
        ("complaint", "leader_approval", {"resolve_or_progress"}),
        ("exchange", "review", {"first_answer"}),
    ],
)
def test_the_promises_running_at_a_withdrawal_stop_with_it_and_never_breach(process_id, state, clocks):
    runtime = runtime_of(process_id)
    instance = resting_in(runtime, process_id, state)
    now = instance.history[-1].at
    assert {r.clock for r in runtime.clocks(instance, now) if r.status == "running"} == clocks
    moment = later(instance)
    runtime.fire(instance, "withdraw", TABLES[process_id].starter, {"reason": "不需要了"}, at=moment)
    stops = [m for m in instance.history[-1].clocks if m.event == "stopped"]
    assert {m.clock for m in stops} == clocks
    after = {r.clock: r for r in runtime.clocks(instance, moment + dt.timedelta(weeks=4))}
    assert all(after[c].status == "stopped" and after[c].reached == () for c in clocks)

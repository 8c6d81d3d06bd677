"""Cancelling a case, and an administrator's correction by hand: who may, what it records, what it refuses."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from conftest import position
from store_support import dump

from engine import (
    Actor,
    DefinitionError,
    PermissionDenied,
    Runtime,
    instance_from_json,
    instance_to_json,
    load_process,
    load_process_text,
)
from engine.cli import run
from engine.errors import MoveRefused, SubProcessRefused
from engine.service import Workflows

pytest_plugins = ["store_support"]

FIXTURE = Path(__file__).parent / "fixtures" / "corrections" / "withdrawable.yaml"
TEXT = FIXTURE.read_text(encoding="utf-8")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
CUSTOMER = Actor("wang", ["customer"])
CLERK = Actor("li", ["clerk"])
FINANCE = Actor("qian", ["finance"])
SUPERVISOR = Actor("zhou", ["supervisor"])


def at(hours: float) -> dt.datetime:
    return MONDAY + dt.timedelta(hours=hours)


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(load_process(FIXTURE))


def in_review(runtime: Runtime):  # type: ignore[no-untyped-def]
    instance = runtime.start(CUSTOMER, at=at(0), instance_id="R-1")
    runtime.fire(instance, "submit", CUSTOMER, at=at(1))
    return instance


# --- cancelling ----------------------------------------------------------------------------------------


def test_the_customer_withdraws_from_a_step_whose_parts_are_open_with_a_reason(runtime):
    instance = in_review(runtime)
    assert runtime.open_parts(instance)  # neither department has done its part
    entry = runtime.fire(instance, "withdraw", CUSTOMER, {"reason": "买到了更便宜的"}, at=at(2))
    assert (instance.state, entry.source, entry.payload) == ("withdrawn", "review", {"reason": "买到了更便宜的"})
    assert instance.deadlines == ()  # the step's time limit and the clock end with the case
    runtime.verify(instance)


def test_a_cancellation_into_a_final_state_needs_none_of_the_records_the_other_end_requires(runtime):
    instance = in_review(runtime)
    for part, actor in (("check_goods", CLERK), ("check_account", FINANCE)):
        runtime.fire(instance, part, actor, at=at(2))
    runtime.fire(instance, "approve", CLERK, at=at(3))
    runtime.fire(instance, "withdraw", CUSTOMER, {"reason": "不退了"}, at=at(4))
    assert instance.state == "withdrawn" and instance.records == {}


def test_a_cancellation_without_a_reason_or_by_another_role_is_refused_and_changes_nothing(runtime):
    instance = in_review(runtime)
    before = instance_to_json(instance)
    with pytest.raises(Exception, match="reason") as refused:
        runtime.fire(instance, "withdraw", CUSTOMER, {}, at=at(2))
    assert refused.value.code == "invalid-payload"  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):
        runtime.fire(instance, "withdraw", CLERK, {"reason": "客服替顾客撤回"}, at=at(2))
    assert instance_to_json(instance) == before


def test_a_cancelling_transition_must_end_the_case_and_ask_why():
    text = TEXT.replace("    dest: withdrawn\n    cancels: true", "    dest: review\n    cancels: true")
    text = text.replace("      required: [reason]\n", "")
    with pytest.raises(DefinitionError) as refused:
        load_process_text(text, "bad.yaml")
    found = {(p.code, p.location.line, p.location.column) for p in refused.value.problems}
    assert ("cancel-not-final", *position(text, "    dest: review\n    cancels", "review")) in found
    assert any(code == "cancel-without-reason" for code, _, _ in found)
    messages = " ".join(p.message for p in refused.value.problems)
    assert "`review` is not a final state" in messages and "required: [reason]" in messages


def test_a_step_waiting_for_a_child_is_not_moved_by_hand_until_the_child_ends(tmp_path):
    fixtures = Path(__file__).parent / "fixtures" / "subprocess"
    intake = tmp_path / "intake.yaml"
    text = (fixtures / "intake.yaml").read_text(encoding="utf-8")
    intake.write_text(text.replace("roles:\n", "administrators: [clerk]\nroles:\n", 1), encoding="utf-8")
    clerk = Actor("li", ["clerk"])
    with Workflows("memory:", clock=lambda: MONDAY) as flows:
        flows.register(fixtures / "workshop_repair.yaml")
        flows.register(intake)
        parent = flows.start("intake", clerk)
        flows.fire(parent.id, "to_workshop", clerk, {"fault": "no power"})
        before = instance_to_json(flows.get(parent.id))
        with pytest.raises(SubProcessRefused, match="waits for instance"):
            flows.move(parent.id, "receive", clerk, "wrong step")
        assert instance_to_json(flows.get(parent.id)) == before


# --- moving by hand -------------------------------------------------------------------------------------


def test_an_administrator_moves_a_case_to_another_step_with_a_reason_recorded_and_replayed(runtime):
    instance = in_review(runtime)
    entry = runtime.move(instance, "refund", SUPERVISOR, "审核已在线下完成 / reviewed on paper", at=at(2))
    assert (instance.state, instance.entered_at) == ("refund", at(2))
    assert (entry.trigger, entry.source, entry.dest, entry.correction) == (
        None,
        "review",
        "refund",
        "审核已在线下完成 / reviewed on paper",
    )
    assert [d.state for d in instance.deadlines if d.clock is None] == []  # review's 24 h limit is gone
    runtime.fire(instance, "refunded", FINANCE, {"amount": 120}, at=at(3))
    assert instance.state == "done"
    again = instance_from_json(instance_to_json(instance))
    assert again.history[2].correction == entry.correction
    runtime.verify(again)


def test_a_move_into_a_step_starts_its_time_limit_and_a_clock_on_entering_it(runtime):
    instance = runtime.start(CUSTOMER, at=at(0), instance_id="R-2")
    runtime.fire(instance, "submit", CUSTOMER, at=at(1))
    runtime.move(instance, "apply", SUPERVISOR, "客户要补充申请", at=at(2))
    runtime.move(instance, "review", SUPERVISOR, "补充完毕", at=at(3))
    assert [(d.state, d.due) for d in instance.deadlines if d.clock is None] == [("review", at(27))]
    [clock] = runtime.clocks(instance, at(3))
    assert clock.status == "running"


@pytest.mark.parametrize(
    ("to", "actor", "reason", "refusal", "words"),
    [
        ("refund", CLERK, "clerk tries", PermissionDenied, "needs one of `supervisor`"),
        ("refund", SUPERVISOR, "  ", MoveRefused, "needs a reason"),
        ("refnud", SUPERVISOR, "typo", MoveRefused, "did you mean `refund`"),
        ("review", SUPERVISOR, "already there", MoveRefused, "already in `review`"),
        ("refund", SUPERVISOR, "x" * 2_001, MoveRefused, "1 to 2,000 characters"),
        ("refund", SUPERVISOR, "bell\x07", MoveRefused, "control character U\\+0007"),
    ],
    ids=["not an administrator", "blank reason", "unknown step", "same step", "reason too long", "control character"],
)
def test_a_move_that_cannot_be_made_is_refused_in_words_and_changes_nothing(runtime, to, actor, reason, refusal, words):
    instance = in_review(runtime)
    before = instance_to_json(instance)
    with pytest.raises(refusal, match=words.replace("(", r"\(")):
        runtime.move(instance, to, actor, reason, at=at(2))
    assert instance_to_json(instance) == before


def test_a_procedure_without_administrators_lets_nobody_move_its_cases():
    runtime = Runtime(load_process_text(TEXT.replace("administrators: [supervisor]\n", ""), "plain.yaml"))
    instance = in_review(runtime)
    with pytest.raises(PermissionDenied, match="names no administrators"):
        runtime.move(instance, "refund", SUPERVISOR, "why not", at=at(2))


def test_a_move_is_stored_and_verified_in_every_store_and_a_refused_one_writes_nothing(store_url):
    with Workflows(store_url, clock=lambda: at(5)) as flows:
        flows.register(FIXTURE)
        flows.start("withdrawable", CUSTOMER, instance_id="S-1", at=at(0))
        flows.fire("S-1", "submit", CUSTOMER, at=at(1))
        entry = flows.move("S-1", "refund", SUPERVISOR, "线下已审核", at=at(2))
        assert flows.get("S-1").state == "refund" and flows.history("S-1")[-1] == entry
        flows.verify("S-1")
        if store_url != "memory:":
            before = dump(store_url)
            with pytest.raises(MoveRefused):
                flows.move("S-1", "nowhere", SUPERVISOR, "typo", at=at(3))
            assert dump(store_url) == before


def test_procflow_move_prints_the_correction_and_refuses_a_wrong_role_with_status_1(sqlite_url):
    def call(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        return run(list(argv), out, err), out.getvalue(), err.getvalue()

    assert call("start", str(FIXTURE), "--store", sqlite_url, "--id", "C-1", "--as", "wang:customer")[0] == 0
    assert call("fire", "C-1", "submit", "--store", sqlite_url, "--as", "wang:customer")[0] == 0
    code, _, err = call("move", "C-1", "--to", "refund", "--reason", "r", "--store", sqlite_url, "--as", "li:clerk")
    assert code == 1 and "needs one of `supervisor`" in err and "Traceback" not in err
    code, out, _ = call(
        "move", "C-1", "--to", "refund", "--reason", "线下已审核", "--store", sqlite_url, "--as", "zhou:supervisor"
    )
    assert code == 0
    assert "moved by hand" in out and "review → refund" in out and "reason: 线下已审核" in out

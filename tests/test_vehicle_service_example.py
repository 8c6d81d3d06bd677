"""The 4S dealership's vehicle service (examples/vehicle_service_4s.yaml, from seed 001), a procedure
none of the shipped five covers, run through ``Workflows``: the parts store and the workshop do their
shares of one step in either order and the technician starts only when both are done; the workshop is
a sub-procedure whose two ends continue the parent (back to the advisor who received the car, or back
to agree added items); the signatures, the estimate's ±10% and the notifications the source names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from engine import Actor, GuardFailed, MissingSignature, PartsOpen, PermissionDenied, validate_file
from engine.service import Workflows

pytest_plugins = ["store_support"]

EXAMPLES = ROOT / "examples"
PARENT = EXAMPLES / "vehicle_service_4s.yaml"
CHILD = EXAMPLES / "vehicle_workshop_4s.yaml"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)

GUIDE = Actor("wang", ["guide"])
ADVISOR = Actor("li", ["service_advisor"])
OTHER_ADVISOR = Actor("chen", ["service_advisor"])
CUSTOMER = Actor("zhang", ["customer"])
EXPERT = Actor("sun", ["expert_technician"])
APPROVER = Actor("wu", ["warranty_approver"])
KEEPER = Actor("qian", ["parts_keeper"])
DISPATCHER = Actor("zhou", ["workshop_dispatcher"])
TECHNICIAN = Actor("zhao", ["technician"])
INSPECTOR = Actor("feng", ["qc_inspector"])
CASHIER = Actor("hu", ["cashier"])
CALLER = Actor("ma", ["follow_up_agent"])

BRAKES = {
    "repair_items": [{"item": "更换前刹车片", "warranty": False}],
    "parts": ["前刹车片"],
    "parts_assured": True,
    "estimate": 800,
    "pickup_time": "2026-11-23T17:00:00+08:00",
    "old_parts": "return_to_customer",
    "payment_method": "刷卡",
    "engine_no": "EA888-1234",
    "chassis_no": "LSVAA4180E2000001",
}
WALKAROUND = {
    "exterior": "左后门轻微划痕",
    "interior": "整洁",
    "functions": "灯光、雨刮、刹车正常",
    "valuables_reminded": True,
}


@pytest.fixture
def workflows(store_url: str) -> Iterator[Workflows]:
    with Workflows(store_url, clock=lambda: MONDAY) as opened:
        opened.register(CHILD)  # a procedure a step starts is registered first
        opened.register(PARENT)
        yield opened


@pytest.fixture
def memory() -> Iterator[Workflows]:
    with Workflows("memory:", clock=lambda: MONDAY) as opened:
        opened.register(CHILD)
        opened.register(PARENT)
        yield opened


def agreed(workflows: Workflows, order: dict | None = None, *, needs_expert: bool = False) -> str:
    """A case taken from the car's arrival to a signed repair order (no warranty item)."""
    case = workflows.start("vehicle_service_4s", GUIDE).id
    workflows.fire(case, "parked", GUIDE, {"plate": "浙A12345", "zone": "repair", "return_repair": False})
    reception = {"customer": "张先生", "new_customer": False, "symptom": "刹车异响", "covers_fitted": True}
    workflows.fire(case, "received", ADVISOR, {**reception, "needs_expert": needs_expert})
    if needs_expert:
        workflows.fire(case, "expert_opinion", EXPERT, {"finding": "前刹车片磨损到限"})
    workflows.fire(case, "diagnosed", ADVISOR, {"diagnosis": "前刹车片需更换"})
    workflows.fire(case, "sign:walkaround_checked", CUSTOMER)
    workflows.fire(case, "walkaround_checked", ADVISOR, WALKAROUND)
    workflows.fire(case, "sign:agree", CUSTOMER)
    workflows.fire(case, "agree", ADVISOR, order or BRAKES)
    return case


def dispatched(workflows: Workflows, order: dict | None = None) -> str:
    case = agreed(workflows, order)
    workflows.fire(case, "issue_orders", ADVISOR)
    assert workflows.get(case).state == "dispatch"
    return case


def in_workshop(workflows: Workflows) -> tuple[str, str]:
    case = dispatched(workflows)
    workflows.fire(case, "issue_parts", KEEPER, {"issued": ["前刹车片"]})
    workflows.fire(case, "assign_job", DISPATCHER, {"technician": "赵师傅"})
    workflows.fire(case, "begin_repair", TECHNICIAN)
    (child,) = workflows.children(case)
    return case, child.instance


# --- the definition -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PARENT, CHILD], ids=lambda p: p.stem)
def test_the_example_validates_strictly(path: Path):
    report = validate_file(path)
    assert report.problems == (), "\n".join(map(str, report.problems))


# --- parts: the store and the workshop at the same time ------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        ("issue_parts", KEEPER, {"issued": ["前刹车片"]}, "assign_job"),
        ("assign_job", DISPATCHER, {"technician": "赵师傅"}, "issue_parts"),
    ],
    ids=["store first", "workshop first"],
)
def test_the_technician_starts_only_when_the_store_and_the_workshop_have_both_done_their_part(memory, first):
    part, actor, payload, other = first
    case = dispatched(memory)
    with pytest.raises(PartsOpen) as neither:
        memory.fire(case, "begin_repair", TECHNICIAN)
    assert set(neither.value.open) == {"issue_parts", "assign_job"}
    memory.fire(case, part, actor, payload)
    before = memory.get(case)
    with pytest.raises(PartsOpen) as one:
        memory.fire(case, "begin_repair", TECHNICIAN)
    assert one.value.open == (other,) and f"`{other}`" in str(one.value)
    assert memory.get(case) == before, "a refused event changes nothing"
    done_by = {"issue_parts": (KEEPER, {"issued": ["前刹车片"]}), "assign_job": (DISPATCHER, {"technician": "赵师傅"})}
    memory.fire(case, other, *done_by[other])
    memory.fire(case, "begin_repair", TECHNICIAN)
    assert memory.get(case).state == "in_workshop"
    assert [e.trigger for e in memory.get(case).history[-3:]] == [part, other, "begin_repair"]


def test_each_department_does_only_its_own_part(memory):
    case = dispatched(memory)
    with pytest.raises(PermissionDenied, match="parts_keeper"):
        memory.fire(case, "issue_parts", DISPATCHER, {"issued": ["前刹车片"]})
    with pytest.raises(PermissionDenied, match="workshop_dispatcher"):
        memory.fire(case, "assign_job", KEEPER, {"technician": "赵师傅"})


def test_a_repair_that_needs_no_parts_waits_only_for_the_workshop(memory):
    case = dispatched(memory, {**BRAKES, "repair_items": [{"item": "四轮定位", "warranty": False}], "parts": []})
    memory.fire(case, "assign_job", DISPATCHER, {"technician": "赵师傅"})
    memory.fire(case, "begin_repair", TECHNICIAN)
    assert memory.get(case).state == "in_workshop"


def test_the_expert_technicians_answer_is_needed_only_when_the_advisor_asks_for_it(memory):
    case = memory.start("vehicle_service_4s", GUIDE).id
    memory.fire(case, "parked", GUIDE, {"plate": "浙A12345", "zone": "repair", "return_repair": True})
    reception = {"customer": "张先生", "new_customer": False, "symptom": "怠速抖动", "covers_fitted": True}
    memory.fire(case, "received", ADVISOR, {**reception, "needs_expert": True})
    with pytest.raises(PartsOpen, match="expert_opinion"):
        memory.fire(case, "diagnosed", ADVISOR, {"diagnosis": "点火线圈"})
    memory.fire(case, "expert_opinion", EXPERT, {"finding": "第三缸点火线圈失效"})
    memory.fire(case, "diagnosed", ADVISOR, {"diagnosis": "点火线圈"})
    assert memory.get(case).state == "walkaround"


# --- the workshop as a sub-procedure --------------------------------------------------------------------


def test_the_workshop_starts_with_the_cars_data_and_its_pass_continues_the_parent(workflows):
    case, child = in_workshop(workflows)
    assert workflows.get(child).state == "repair_work"
    assert workflows.get(child).data == {
        "plate": "浙A12345",
        "repair_items": [{"item": "更换前刹车片", "warranty": False}],
        "old_parts": "return_to_customer",
    }
    assert workflows.parent(child).instance == case
    workflows.fire(
        child, "work_done", TECHNICIAN, {"work_summary": "更换前刹车片", "old_parts_handled": "return_to_customer"}
    )
    assert workflows.get(case).state == "in_workshop", "the parent waits for the child's end"
    workflows.fire(child, "inspection_passed", INSPECTOR)
    parent = workflows.get(case)
    assert parent.state == "back_to_advisor" and parent.data["workshop_note"] == "更换前刹车片"
    continued = parent.history[-1]
    assert continued.trigger == "workshop_passed" and continued.child_ended.instance == child
    assert workflows.verify_store().ok


def test_a_failed_inspection_sends_the_car_back_to_the_work_and_the_parent_keeps_waiting(memory):
    case, child = in_workshop(memory)
    memory.fire(
        child, "work_done", TECHNICIAN, {"work_summary": "更换前刹车片", "old_parts_handled": "return_to_customer"}
    )
    memory.fire(child, "inspection_failed", INSPECTOR, {"defects": "制动异响仍在"})
    assert memory.get(child).state == "repair_work" and memory.get(case).state == "in_workshop"


def test_old_parts_are_dealt_with_as_the_repair_order_says(memory):
    _, child = in_workshop(memory)
    with pytest.raises(GuardFailed, match="old_parts"):
        memory.fire(child, "work_done", TECHNICIAN, {"work_summary": "更换前刹车片", "old_parts_handled": "store"})
    assert memory.get(child).state == "repair_work"


def test_the_technician_who_did_the_work_may_not_pass_its_inspection(memory):
    case, child = in_workshop(memory)
    both = Actor("zhao", ["technician", "qc_inspector"])
    memory.fire(child, "work_done", both, {"work_summary": "更换前刹车片", "old_parts_handled": "return_to_customer"})
    before = memory.get(child)
    with pytest.raises(MissingSignature, match="did not act on `repair_work`"):
        memory.fire(child, "inspection_passed", both)
    assert memory.get(child) == before and memory.get(case).state == "in_workshop"


def test_added_items_go_back_to_be_agreed_amend_the_order_and_start_the_workshop_again(memory):
    case, child = in_workshop(memory)
    memory.fire(child, "items_change", TECHNICIAN, {"change": "前刹车盘磨损，建议更换"})
    told = memory.get(child).history[-1].notifications
    assert [n.roles for n in told] == [("service_advisor",)] and "前刹车盘磨损" in told[0].zh
    parent = memory.get(case)
    assert parent.state == "negotiation" and parent.history[-1].trigger == "items_changed"
    more = {**BRAKES, "parts": ["前刹车片", "前刹车盘"], "estimate": 1500}
    memory.fire(case, "sign:agree", CUSTOMER)
    memory.fire(case, "agree", ADVISOR, more)
    assert [v.version for v in memory.records(case)["task_order"]] == [1, 2]
    memory.fire(case, "issue_orders", ADVISOR)
    with pytest.raises(PartsOpen):  # a new stay in the step: both parts again
        memory.fire(case, "begin_repair", TECHNICIAN)
    memory.fire(case, "assign_job", DISPATCHER, {"technician": "赵师傅"})
    memory.fire(case, "issue_parts", KEEPER, {"issued": ["前刹车盘"]})
    memory.fire(case, "begin_repair", TECHNICIAN)
    assert [c.instance for c in memory.children(case)][0] == child and len(memory.children(case)) == 2


# --- signatures, the estimate, notifications ---------------------------------------------------------------


def test_only_the_advisor_who_received_the_car_takes_it_back(memory):
    case, child = in_workshop(memory)
    memory.fire(
        child, "work_done", TECHNICIAN, {"work_summary": "更换前刹车片", "old_parts_handled": "return_to_customer"}
    )
    memory.fire(child, "inspection_passed", INSPECTOR)
    with pytest.raises(MissingSignature, match=r"by the one who acted on `reception` \(`li`\)"):
        memory.fire(case, "taken_back", OTHER_ADVISOR)
    memory.fire(case, "taken_back", ADVISOR)
    assert memory.get(case).state == "wash"


def test_the_repair_order_needs_the_customers_signature(memory):
    case = memory.start("vehicle_service_4s", GUIDE).id
    memory.fire(case, "parked", GUIDE, {"plate": "浙A12345", "zone": "quick_repair", "return_repair": False})
    reception = {"customer": "张先生", "new_customer": False, "symptom": "刹车异响", "covers_fitted": True}
    memory.fire(case, "received", ADVISOR, {**reception, "needs_expert": False})
    memory.fire(case, "diagnosed", ADVISOR, {"diagnosis": "前刹车片需更换"})
    memory.fire(case, "sign:walkaround_checked", CUSTOMER)
    memory.fire(case, "walkaround_checked", ADVISOR, WALKAROUND)
    with pytest.raises(MissingSignature, match="customer"):
        memory.fire(case, "agree", ADVISOR, BRAKES)
    assert memory.get(case).state == "negotiation" and "task_order" not in memory.records(case)


def test_a_customer_who_will_not_have_it_repaired_signs_the_safety_notice(memory):
    case = memory.start("vehicle_service_4s", GUIDE).id
    memory.fire(case, "parked", GUIDE, {"plate": "浙A12345", "zone": "repair", "return_repair": False})
    reception = {"customer": "张先生", "new_customer": False, "symptom": "刹车异响", "covers_fitted": True}
    memory.fire(case, "received", ADVISOR, {**reception, "needs_expert": False})
    notice = {"safety_notice": "前刹车片已磨损到限，继续行驶有制动失效风险"}
    with pytest.raises(MissingSignature):
        memory.fire(case, "customer_declines", ADVISOR, notice)
    memory.fire(case, "sign:customer_declines", CUSTOMER)
    memory.fire(case, "customer_declines", ADVISOR, notice)
    assert memory.get(case).state == "not_repaired"


def test_the_bill_may_not_exceed_the_estimate_by_more_than_ten_percent(memory):
    case, child = in_workshop(memory)
    memory.fire(
        child, "work_done", TECHNICIAN, {"work_summary": "更换前刹车片", "old_parts_handled": "return_to_customer"}
    )
    memory.fire(child, "inspection_passed", INSPECTOR)
    for trigger in ("taken_back", "washed", "parked_finished"):
        memory.fire(case, trigger, ADVISOR)
    memory.fire(case, "sign:customer_confirms", CUSTOMER)
    memory.fire(case, "customer_confirms", ADVISOR)
    with pytest.raises(GuardFailed, match=r"data.estimate \* 11"):
        memory.fire(case, "paid", CASHIER, {"amount": 881, "invoice_no": "INV-0001"})
    memory.fire(case, "paid", CASHIER, {"amount": 880, "invoice_no": "INV-0001"})
    memory.fire(case, "handed_over", ADVISOR)
    memory.fire(case, "filed", ADVISOR)
    memory.fire(case, "called", CALLER, {"satisfied": True})
    done = memory.get(case)
    assert done.state == "done"
    assert set(memory.records(case)) == {
        "walkaround_check",
        "task_order",
        "work_order",
        "parts_requisition",
        "invoice",
        "repair_history",
    }


def test_the_guide_tells_the_advisors_and_the_service_manager_of_the_car_and_the_customer_is_told_it_is_ready(memory):
    case = memory.start("vehicle_service_4s", GUIDE).id
    memory.fire(case, "parked", GUIDE, {"plate": "浙A12345", "zone": "repair", "return_repair": True})
    (told,) = memory.get(case).history[-1].notifications
    assert told.roles == ("service_advisor", "service_manager") and "浙A12345" in told.zh and "true" in told.zh

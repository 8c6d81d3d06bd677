"""Every branch of every shipped process, walked on purpose.

Each process has a table of scripted paths: who fires which trigger with which form, and where the
instance must land; ``wait`` lets time pass and names the deadlines that must fire. Each process's
test plays all its paths through the runtime (real roles, schema-valid payloads, sign-offs by the
right people, deadlines by ``advance``), replays each history, and then checks that together the
paths walked every edge of the definition:

- every transition, as ``(state, trigger, dest)``, from every state it leaves (a shared
  ``transitions:`` entry with ``source: "*"`` counts once per state, since each state is a
  different place to fire it from);
- every transition a deadline fires, fired by the clock at least once;
- every branch of every decision, the default included.

Add a branch to a YAML file without a path that walks it, and this test names the edges no path
reaches. Add a process without a table, and ``test_every_shipped_process_has_a_path_table`` fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import PROCESSES, SHIPPED, mutate

from engine import (
    Actor,
    EventRefused,
    Instance,
    InvalidPayload,
    Process,
    Runtime,
    instance_to_json,
    load_process,
    load_process_text,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # a Monday
STEP = dt.timedelta(minutes=10)
"""How long each person's step takes: short enough that no time limit passes unless a path waits."""


@dataclass(frozen=True)
class Fire:
    actor: Actor
    trigger: str
    payload: dict[str, Any]
    lands: str


@dataclass(frozen=True)
class Wait:
    delta: dt.timedelta
    fires: tuple[str, ...]
    lands: str


@dataclass(frozen=True)
class Holds:
    data: dict[str, Any]


Step = Fire | Wait | Holds


def fire(actor: Actor, trigger: str, *, lands: str, **payload: Any) -> Fire:
    """``actor`` fires ``trigger`` with ``payload`` as its form; the instance must then rest in ``lands``."""
    return Fire(actor, trigger, payload, lands)


def wait(*, days: float = 0, hours: float = 0, fires: Sequence[str], lands: str) -> Wait:
    """Time passes; exactly the deadlines ``fires`` fire, in that order, and the instance rests in ``lands``."""
    return Wait(dt.timedelta(days=days, hours=hours), tuple(fires), lands)


def holds(**data: Any) -> Holds:
    """The instance's data holds these values now."""
    return Holds(data)


@dataclass(frozen=True)
class Table:
    starter: Actor
    paths: dict[str, list[Step]]


# --- 客户咨询与投诉处理流程 (complaint) ------------------------------------------------------------------

CUSTOMER = Actor("zhang", ["customer"])
AGENT = Actor("li", ["service_agent"])
TECH = Actor("sun", ["tech_support"])
SPECIALIST = Actor("wu", ["after_sales"])
LEADER = Actor("zhao", ["supervisor"])
FINANCE = Actor("zhou", ["finance"])
STOCK = Actor("qian", ["stock_keeper"])

CONTACT = fire(
    CUSTOMER,
    "contact",
    channel="phone",
    customer="张女士",
    contact="13912345678",
    problem="新眼镜头晕",
    lands="register",
)
SIMPLE = fire(
    AGENT, "classify", category="consultation", complexity="simple", first_reply="已登记", lands="answer_directly"
)
COMPLEX = fire(
    AGENT, "classify", category="complaint", complexity="complex", first_reply="转技术支持", lands="technical_support"
)
TO_SPECIALIST = fire(TECH, "needs_remedy", cause="镜片度数偏差", lands="resolution")
SOLVED = fire(TECH, "solved", cause="鼻托松动", solution="调整鼻托", lands="follow_up")
SATISFIED = [
    fire(AGENT, "record_follow_up", method="phone", satisfied=True, lands="close_review"),
    fire(SPECIALIST, "close", effectiveness="问题解决", lands="closed"),
]

COMPLAINT = Table(
    starter=CUSTOMER,
    paths={
        "a simple question, answered after the 24-hour escalation": [
            CONTACT,
            wait(hours=25, fires=["escalate"], lands="register"),
            SIMPLE,
            fire(AGENT, "answered", answer="镜片护理方法", lands="follow_up"),
            *SATISFIED,
        ],
        "passed to support, progress reported after 72 hours, dissatisfied, reopened": [
            CONTACT,
            SIMPLE,  # the first reply is given when the case is classified: the 24-hour clock stops
            fire(LEADER, "escalate", lands="answer_directly"),
            fire(AGENT, "transfer_to_support", note="需要验光师复查", lands="technical_support"),
            wait(hours=73, fires=["report_progress"], lands="progress_report"),
            fire(AGENT, "progress_reported", progress="等待复查结果", lands="technical_support"),
            SOLVED,
            wait(days=8, fires=["escalate"], lands="follow_up"),
            fire(AGENT, "record_follow_up", method="phone", satisfied=False, lands="register"),
            holds(satisfied=False),
            COMPLEX,
            SOLVED,
            *SATISFIED,
        ],
        "on-site service, past its 48 hours": [
            CONTACT,
            COMPLEX,
            fire(TECH, "go_on_site", address="杭州市西湖区文三路 1 号", lands="onsite_service"),
            wait(hours=49, fires=["escalate"], lands="onsite_service"),
            fire(TECH, "service_done", work_done="现场校配", lands="follow_up"),
            *SATISFIED,
        ],
        "on site, then negotiated without compensation (no leader needed), after 72 hours": [
            CONTACT,
            COMPLEX,
            fire(TECH, "go_on_site", address="杭州市西湖区文三路 1 号", lands="onsite_service"),
            fire(TECH, "needs_remedy", cause="客户要求补偿", lands="resolution"),
            wait(hours=73, fires=["escalate"], lands="resolution"),
            fire(
                SPECIALIST, "negotiate", agreement="免费清洗保养", compensation_amount=0, lands="confirm_with_customer"
            ),
            fire(SPECIALIST, "accepted", lands="follow_up"),
        ],
        "care products issued but not accepted; a discount rejected, then approved and settled": [
            CONTACT,
            SIMPLE,
            fire(AGENT, "needs_remedy", note="客户要求补偿", lands="resolution"),
            fire(SPECIALIST, "give_care_products", items="护理液", quantity=2, value=120, lands="leader_approval"),
            fire(LEADER, "approve", granted_amount=120, terms="同意赠送护理液两瓶", lands="issue_care_products"),
            fire(STOCK, "issued", items="护理液", quantity=2, value=120, lands="confirm_with_customer"),
            fire(SPECIALIST, "not_accepted", reason="客户希望折扣", lands="resolution"),
            fire(SPECIALIST, "offer_discount", discount="八折", amount=300, lands="leader_approval"),
            fire(LEADER, "reject", reason="折扣过大", lands="resolution"),
            fire(SPECIALIST, "offer_discount", discount="九折", amount=150, lands="leader_approval"),
            fire(LEADER, "approve", granted_amount=150, terms="同意九折", lands="notify_finance"),
            fire(FINANCE, "settled", amount=150, lands="confirm_with_customer"),
            fire(SPECIALIST, "accepted", lands="follow_up"),
            holds(resolution="discount", compensation_amount=150),
        ],
        "the leader grants less than was asked, and finance pays what was granted": [
            CONTACT,
            COMPLEX,
            TO_SPECIALIST,
            fire(SPECIALIST, "offer_discount", discount="八折", amount=300, lands="leader_approval"),
            fire(LEADER, "approve", granted_amount=180, terms="最多优惠 180 元", lands="notify_finance"),
            holds(resolution="discount", compensation_amount=180),
            fire(FINANCE, "settled", amount=180, lands="confirm_with_customer"),
        ],
        "negotiated compensation needs the leader, and finance pays it": [
            CONTACT,
            COMPLEX,
            TO_SPECIALIST,
            fire(SPECIALIST, "negotiate", agreement="补偿 200 元", compensation_amount=200, lands="leader_approval"),
            fire(LEADER, "approve", granted_amount=200, terms="同意补偿 200 元", lands="notify_finance"),
            fire(FINANCE, "settled", amount=200, lands="confirm_with_customer"),
        ],
        "a refund: the goods come back, then finance refunds": [
            CONTACT,
            COMPLEX,
            TO_SPECIALIST,
            fire(
                SPECIALIST, "refund", product="渐进多焦点镜片", amount=1280, reason="无法适应", lands="leader_approval"
            ),
            fire(LEADER, "approve", granted_amount=1280, terms="同意退镜全额退款", lands="receive_returned_goods"),
            fire(STOCK, "received", product="渐进多焦点镜片", lands="finance_refund"),
            fire(FINANCE, "refunded", amount=1280, lands="confirm_with_customer"),
        ],
        "replacement lenses: the old ones come back, the customer pays the deposit": [
            CONTACT,
            COMPLEX,
            TO_SPECIALIST,
            fire(SPECIALIST, "exchange_lenses", product="渐进多焦点镜片", reason="加工偏差", lands="leader_approval"),
            fire(LEADER, "approve", granted_amount=0, terms="同意调片", lands="receive_returned_goods"),
            fire(STOCK, "received", product="渐进多焦点镜片", lands="pay_deposit"),
            fire(
                FINANCE, "deposit_paid", deposit=200, new_lenses="渐进多焦点镜片 +2.00", lands="confirm_with_customer"
            ),
        ],
    },
)

# --- 售后退换货 (exchange) -----------------------------------------------------------------------------

SHOPPER = Actor("chen", ["customer"])
CS_AGENT = Actor("li", ["cs_agent"])
INSPECTOR = Actor("he", ["returns_inspector"])
LOGISTICS = Actor("zhou", ["logistics_staff"])
CASHIER = Actor("qian", ["finance_clerk"])

APPLICATION = {
    "customer_name": "陈小姐",
    "contact": "13600001111",
    "product": "18K金锁骨链",
    "order_no": "SO-0458",
    "proof_of_purchase": "电子发票 04458821",
    "purchase_date": "2026-11-21",
    "amount_paid": 2680,
    "reason": "链长偏短",
}
APPROVAL = {"reason_reasonable": True, "facts_verified": True}
RETURN = {"return_address": "深圳市罗湖区水贝 售后中心", "packing_instructions": "原包装寄回"}
SHIPPED_BACK = fire(SHOPPER, "ship", carrier="顺丰", tracking_no="SF100", lands="inspect")
INTACT = {"complete": True, "undamaged": True, "accessories_complete": True}

EXCHANGE = Table(
    starter=SHOPPER,
    paths={
        "a refund collected by logistics, with both reminders": [
            fire(SHOPPER, "submit", **APPLICATION, request_type="refund", lands="review"),
            wait(hours=25, fires=["overdue"], lands="review"),
            # A refund is not held to the three-day exchange term.
            fire(CS_AGENT, "approve", **APPROVAL, lands="instruct_return"),
            fire(CS_AGENT, "send_instructions", **RETURN, return_method="pickup", lands="collect_return"),
            fire(LOGISTICS, "collect", carrier="顺丰", tracking_no="SF200", lands="inspect"),
            # Nor does a refund need the piece unworn with its papers.
            fire(INSPECTOR, "pass", **INTACT, unworn=False, warranty_card=False, certificate=False, lands="refund"),
            fire(CASHIER, "pay_refund", refund_amount=2680, payment_reference="RF-01", lands="follow_up"),
            wait(days=8, fires=["overdue"], lands="follow_up"),
            fire(CS_AGENT, "record_feedback", outcome_confirmed=True, satisfaction=None, lands="refunded"),
            holds(refund_amount=2680, return_tracking_no="SF200"),
        ],
        "an exchange within three days, after asking the customer for more": [
            fire(SHOPPER, "submit", **APPLICATION, request_type="exchange", lands="review"),
            fire(CS_AGENT, "request_info", question="是否佩戴过?", lands="await_information"),
            fire(SHOPPER, "provide_information", information="未佩戴", lands="review"),
            fire(CS_AGENT, "approve", **APPROVAL, lands="instruct_return"),
            fire(CS_AGENT, "send_instructions", **RETURN, return_method="customer_ships", lands="await_return"),
            SHIPPED_BACK,
            fire(
                INSPECTOR, "pass", **INTACT, unworn=True, warranty_card=True, certificate=True, lands="ship_replacement"
            ),
            fire(LOGISTICS, "dispatch", carrier="顺丰", tracking_no="SF300", lands="follow_up"),
            fire(CS_AGENT, "record_feedback", outcome_confirmed=True, satisfaction=5, lands="exchanged"),
            holds(replacement_tracking_no="SF300", satisfaction=5),
        ],
        "rejected at review": [
            fire(SHOPPER, "submit", **APPLICATION, request_type="exchange", lands="review"),
            fire(CS_AGENT, "reject", rejection_reason="已超过三天换款期", lands="rejected"),
        ],
        "failed inspection: the product goes back to the customer": [
            fire(SHOPPER, "submit", **APPLICATION, request_type="refund", lands="review"),
            fire(CS_AGENT, "approve", **APPROVAL, lands="instruct_return"),
            fire(CS_AGENT, "send_instructions", **RETURN, return_method="customer_ships", lands="await_return"),
            SHIPPED_BACK,
            fire(INSPECTOR, "fail", findings="链扣变形", lands="return_to_customer"),
            fire(LOGISTICS, "send_back", carrier="顺丰", tracking_no="SF400", lands="returned_to_customer"),
        ],
    },
)

# --- SMT 售后服务处理流程 QP-TPZ-002 (qc_signoff) --------------------------------------------------------

SALES = Actor("lin", ["sales"])
PACKER = Actor("huang", ["packer"])
QC_LEAD = Actor("zheng", ["qc_lead"])
TESTER = Actor("xu", ["qc_tester"])
SIGNER = Actor("feng", ["inspector"])
QC_MANAGER = Actor("gao", ["qc_manager"])
PRODUCTION = Actor("ma", ["production_lead"])
REPAIRER = Actor("he", ["repair_engineer"])
TECHNICAL = Actor("qian", ["technical"])
SERVICE_CLERK = Actor("tang", ["service_clerk"])

RETURNED = fire(
    SALES, "receive_return", customer="华拓电子", customer_request="一周内修复退回", lands="fill_service_form"
)
HANDED_OVER = fire(
    SALES, "hand_to_packer", product="PCBA-M300", quantity=5, complaint_content="上电不启动", lands="packer_check"
)
RECEIVED = [RETURNED, HANDED_OVER, fire(PACKER, "count_confirmed", counted_qty=5, lands="first_screening")]


def screened(test_result: str, visual_result: str, *, lands: str) -> Fire:
    return fire(TESTER, "record_screening", test_result=test_result, visual_result=visual_result, lands=lands)


REWORKED = fire(PRODUCTION, "rework_done", work_done="重新焊接 U3", quantity=5, lands="reinspect")
REPAIRED_BY_ENGINEER = fire(REPAIRER, "repair_done", cause="晶振不良", work_done="更换晶振", lands="reinspect")
NO_REPAIR = fire(QC_MANAGER, "release_without_repair", conclusion="客户使用不当", lands="reinspect")
RELEASED = [
    # The tester never reworked or repaired it, so may sign the release.
    fire(TESTER, "release", result_note="功能测试合格", lands="return_to_customer"),
    fire(SERVICE_CLERK, "returned", returned_on="2026-12-01", lands="close_tracking"),
    fire(SALES, "close", outcome="客户确认正常", lands="done"),
]

QC_SIGNOFF = Table(
    starter=SALES,
    paths={
        "a) test and visual pass: the QC manager finds no repair needed": [
            *RECEIVED,
            screened("pass", "ok", lands="manager_review"),
            # The joint decision: the manager calls in the engineer and technical, who each give an opinion.
            fire(QC_MANAGER, "call_in", consult=["repair_engineer", "technical"], lands="manager_review"),
            fire(REPAIRER, "engineer_opinion", opinion="复测正常,疑为客户使用环境", lands="manager_review"),
            fire(TECHNICAL, "technical_opinion", opinion="设计余量足够", lands="manager_review"),
            fire(
                QC_MANAGER,
                "release_without_repair",
                conclusion="与维修工程师、技术讨论,判定无需维修",
                lands="reinspect",
            ),
            *RELEASED,
            holds(handled_by="none"),
        ],
        "b) visible fault after a recount: rework, failed QC twice, over 7 days twice": [
            RETURNED,
            HANDED_OVER,
            fire(PACKER, "count_mismatch", counted_qty=4, note="少一片", lands="fill_service_form"),
            HANDED_OVER,
            fire(PACKER, "count_confirmed", counted_qty=5, lands="first_screening"),
            screened("fail", "defect_found", lands="log_exception"),
            fire(
                QC_LEAD,
                "submit_for_signature",
                defect="U3 连锡",
                quantity=5,
                responsible_inspector="冯",
                lands="inspector_signs",
            ),
            fire(SIGNER, "sign", lands="rework"),
            wait(days=4, fires=["escalate"], lands="rework"),
            REWORKED,
            fire(TESTER, "reject", defect="仍不启动", lands="rework"),
            # One rework clock across the loop: 3 days were escalated; at 7 days from the start it is overdue.
            wait(days=8, fires=["overdue"], lands="manager_review"),
            fire(QC_MANAGER, "assign_repair", conclusion="交维修工程师分析", lands="engineer_repair"),
            REPAIRED_BY_ENGINEER,
            fire(TESTER, "reject", defect="老化测试失败", lands="engineer_repair"),
            wait(days=8, fires=[], lands="engineer_repair"),  # the clock has breached both points already
            fire(QC_MANAGER, "overdue", lands="manager_review"),
            fire(QC_MANAGER, "assign_rework", conclusion="更换主板,交生产返修", lands="rework"),
            REWORKED,
            *RELEASED,
        ],
        "c) invisible fault: the repair engineer, past 3 days": [
            *RECEIVED,
            screened("fail", "ok", lands="engineer_repair"),
            wait(days=4, fires=["escalate"], lands="engineer_repair"),
            REPAIRED_BY_ENGINEER,
            *RELEASED,
            holds(handled_by="repair"),
        ],
        "test passed but a defect seen (not in the procedure): the QC manager; QC still fails it": [
            *RECEIVED,
            screened("pass", "defect_found", lands="manager_review"),
            NO_REPAIR,
            fire(TESTER, "reject", defect="外观划伤", lands="manager_review"),
        ],
    },
)

# --- 十二项服务流程 (sales_service) ---------------------------------------------------------------------

ASSOCIATE = Actor("xiaomei", ["sales_associate"])
GUEST = Actor("liu", ["customer"])

WALK_IN = [
    fire(ASSOCIATE, "greeted", lands="introduce_range"),
    fire(ASSOCIATE, "introduced", lands="open_topic"),
    fire(ASSOCIATE, "topic_opened", lands="invite_seat"),
    fire(ASSOCIATE, "seated", lands="understand_needs"),
    fire(ASSOCIATE, "needs_understood", needs="结婚纪念,预算五千", lands="introduce_self"),
    fire(ASSOCIATE, "introduced_self", lands="present_try_on"),
]
"""Steps 1–7, from the greeting to presenting and trying on."""
LEAVES = [
    fire(GUEST, "customer_leaves", lands="see_off"),
    fire(ASSOCIATE, "seen_off", lands="done"),
    holds(purchased=False),
]
OBJECTS = fire(GUEST, "objection_raised", objection="price", note="超出预算", lands="handle_objection")
INTERESTED = fire(ASSOCIATE, "customer_interested", lands="suggest_purchase")
PAID = fire(GUEST, "paid", item="18K金钻戒", amount=4680, lands="add_on_sale")
CLOSED = [
    fire(ASSOCIATE, "closing_done", warranty_slip_no="BZ-1", certificate_no="NGTC-1", lands="see_off"),
    fire(ASSOCIATE, "seen_off", lands="done"),
]

SALES_SERVICE = Table(
    starter=ASSOCIATE,
    paths={
        "a sale after an objection, with an add-on": [
            *WALK_IN,
            OBJECTS,
            fire(ASSOCIATE, "resolved_show_again", lands="present_try_on"),
            INTERESTED,
            PAID,
            fire(GUEST, "add_on_paid", item="小钻耳钉", amount=980, lands="closing"),
            *CLOSED,
            holds(purchased=True, add_on_purchased=True),
        ],
        "an objection at the till, answered; no add-on": [
            *WALK_IN,
            INTERESTED,
            fire(GUEST, "objection_raised", objection="quality", lands="handle_objection"),
            fire(ASSOCIATE, "resolved_ready_to_buy", lands="suggest_purchase"),
            PAID,
            fire(ASSOCIATE, "no_add_on", lands="closing"),
            *CLOSED,
            holds(purchased=True, add_on_purchased=False),
        ],
        "leaves after an objection": [*WALK_IN, OBJECTS, *LEAVES],
        "leaves at the till": [*WALK_IN, INTERESTED, *LEAVES],
        # The customer may leave at any of steps 1–7: after each prefix of the walk-in.
        **{f"leaves at step {i + 1}": [*WALK_IN[:i], *LEAVES] for i in range(len(WALK_IN) + 1)},
    },
)

# --- 返厂维修管理流程 (return_repair) --------------------------------------------------------------------

OWNER = Actor("wang", ["customer"])
DESK = Actor("li", ["cs_agent"])
SALES_MANAGER = Actor("zhao", ["sales_manager"])
RECEIVER = Actor("chen", ["receiver"])
ENGINEER = Actor("liu", ["engineer"])
QC_ENGINEER = Actor("sun", ["engineer"])
SUPERVISOR = Actor("zhou", ["supervisor"])

ORDER = {"customer_name": "王先生", "contact": "13800000000", "model": "XK-200", "fault_description": "开机无显示"}
SUBMITTED = fire(OWNER, "submit", **ORDER, channel="电话", proof_of_purchase="INV-0815", lands="review_application")
ISSUED = [
    fire(
        DESK,
        "issue_order",
        **ORDER,
        order_no="FW-01",
        ship_to_address="上海维修中心",
        packing_notes="原包装",
        lands="ship_in",
    ),
    fire(OWNER, "shipped", tracking_no="SF500", lands="receive_and_register"),
]


def registered(fault_matches: bool, *, lands: str) -> Fire:
    return fire(
        RECEIVER,
        "register",
        received_date="2026-11-25",
        exterior_condition="外观完好",
        model_received="XK-200",
        model_matches=True,
        fault_matches=fault_matches,
        lands=lands,
    )


DIAGNOSED = fire(ENGINEER, "diagnosed", findings="电容鼓包", fault_cause="电源板故障", lands="plan_repair")
PLANNED = fire(
    ENGINEER,
    "submit_plan",
    repair_content="更换电源板",
    parts=[{"part_no": "PB-01", "name": "电源板", "quantity": 1}],
    estimated_hours=2,
    cost_estimate=300,
    lands="approve_plan",
)
PLAN_SENT = fire(DESK, "plan_sent", channel="电话", lands="customer_confirm")
REPAIRED = fire(
    ENGINEER,
    "repaired",
    parts_replaced=[{"name": "电源板", "quantity": 1}],
    repair_hours=2,
    technical_notes="通电正常",
    lands="quality_check",
)
# The tester never repaired it, so may sign the QC pass.
PASSED = fire(QC_ENGINEER, "pass", tests=[{"item": "老化测试", "passed": True}], lands="notify_result")
SHIPPED_TO_CUSTOMER = [
    fire(
        RECEIVER,
        "shipped",
        carrier="顺丰",
        tracking_no="SF600",
        shipped_date="2026-12-02",
        expected_arrival="2026-12-04",
        lands="inform_shipment",
    ),
    fire(DESK, "informed", channel="电话", lands="follow_up"),
]
FOLLOWED_UP = fire(DESK, "record_feedback", visited_at="2026-12-07", satisfaction="满意", lands="completed")
IN_WARRANTY_TO_REPAIR = [
    SUBMITTED,
    fire(DESK, "reviewed", in_warranty=True, lands="accept_application"),
    *ISSUED,
    registered(True, lands="fault_detection"),
    DIAGNOSED,
    PLANNED,
    fire(SUPERVISOR, "approve", opinion="同意", lands="inform_customer"),
    PLAN_SENT,
    fire(OWNER, "sign", accepts_charge=False, lands="repair"),
]

RETURN_REPAIR = Table(
    starter=OWNER,
    paths={
        "in warranty: over 7 days in repair, rejected on site once, then collected": [
            SUBMITTED,
            fire(DESK, "reviewed", in_warranty=True, lands="accept_application"),
            *ISSUED,
            registered(True, lands="fault_detection"),
            fire(ENGINEER, "contact_customer", symptoms_confirmed="开机无显示,指示灯亮", lands="fault_detection"),
            DIAGNOSED,
            PLANNED,
            fire(SUPERVISOR, "approve", opinion="同意", lands="inform_customer"),
            PLAN_SENT,
            fire(OWNER, "sign", accepts_charge=False, lands="repair"),
            wait(days=8, fires=["escalate", "overdue"], lands="repair_overdue"),
            fire(SUPERVISOR, "resume", cause="等待配件", measures="配件已到,加急维修", lands="repair"),
            REPAIRED,
            PASSED,
            fire(OWNER, "choose_on_site", lands="onsite_acceptance"),
            fire(OWNER, "reject", functional_test="开机 5 分钟黑屏", problem="仍有故障", lands="repair"),
            REPAIRED,
            PASSED,
            fire(DESK, "choose_on_site", lands="onsite_acceptance"),
            fire(OWNER, "accept_and_collect", functional_test="正常", lands="follow_up"),
            wait(days=8, fires=["remind"], lands="follow_up"),
            FOLLOWED_UP,
            holds(rework_count=1, acceptance_mode="on_site"),
        ],
        "out of warranty: approved, order corrected, plan sent back, quote accepted, QC fails once, shipped": [
            SUBMITTED,
            fire(DESK, "reviewed", in_warranty=False, lands="out_of_warranty_review"),
            fire(SALES_MANAGER, "approve", opinion="同意收费维修", lands="accept_application"),
            *ISSUED,
            registered(False, lands="resolve_mismatch"),
            fire(
                DESK,
                "amend_order",
                model="XK-200",
                fault_description="无法开机",
                customer_confirmation="电话确认",
                lands="fault_detection",
            ),
            DIAGNOSED,
            PLANNED,
            fire(SUPERVISOR, "send_back", reason="补充工时明细", lands="plan_repair"),
            PLANNED,
            fire(SUPERVISOR, "approve", lands="prepare_quote"),
            fire(SALES_MANAGER, "send_quote", quote=480, lands="inform_customer"),
            PLAN_SENT,
            fire(OWNER, "sign", accepts_charge=True, lands="repair"),
            wait(days=4, fires=["escalate"], lands="repair"),
            REPAIRED,
            fire(
                QC_ENGINEER,
                "fail",
                tests=[{"item": "老化测试", "passed": False}],
                failed_items="老化测试",
                lands="repair",
            ),
            REPAIRED,
            PASSED,
            fire(OWNER, "choose_shipping", lands="pack_and_ship"),
            *SHIPPED_TO_CUSTOMER,
            FOLLOWED_UP,
            holds(quote=480, rework_count=1, acceptance_mode="shipping"),
        ],
        "accepted on site, then shipped": [
            *IN_WARRANTY_TO_REPAIR,
            REPAIRED,
            PASSED,
            fire(OWNER, "choose_on_site", lands="onsite_acceptance"),
            fire(OWNER, "accept_and_ship", functional_test="正常", lands="pack_and_ship"),
            *SHIPPED_TO_CUSTOMER,
        ],
        "rejected at review": [SUBMITTED, fire(DESK, "reject", reason="无购买凭证", lands="rejected")],
        "out of warranty, refused by the sales manager": [
            SUBMITTED,
            fire(DESK, "reviewed", in_warranty=False, lands="out_of_warranty_review"),
            fire(SALES_MANAGER, "refuse", reason="停产机型", lands="rejected"),
        ],
        "the wrong product arrives and goes back unrepaired": [
            SUBMITTED,
            fire(DESK, "reviewed", in_warranty=True, lands="accept_application"),
            *ISSUED,
            registered(False, lands="resolve_mismatch"),
            fire(DESK, "return_product", reason="型号不符", lands="return_unrepaired"),
            fire(
                RECEIVER,
                "shipped",
                carrier="顺丰",
                tracking_no="SF700",
                shipped_date="2026-11-26",
                lands="returned_unrepaired",
            ),
        ],
        "the customer declines the plan": [
            *IN_WARRANTY_TO_REPAIR[:-1],
            fire(OWNER, "decline", reason="不修了", lands="return_unrepaired"),
            fire(
                DESK,
                "shipped",
                carrier="顺丰",
                tracking_no="SF800",
                shipped_date="2026-11-27",
                lands="returned_unrepaired",
            ),
        ],
    },
)

TABLES = {
    "complaint": COMPLAINT,
    "exchange": EXCHANGE,
    "qc_signoff": QC_SIGNOFF,
    "return_repair": RETURN_REPAIR,
    "sales_service": SALES_SERVICE,
}


# --- playing the paths and counting the edges ------------------------------------------------------------


@dataclass
class Walked:
    transitions: set[tuple[str, str, str]] = field(default_factory=set)
    """``(state, trigger, dest)``."""
    by_clock: set[tuple[str, str]] = field(default_factory=set)
    """``(state, trigger)`` fired by a deadline."""
    branches: set[tuple[str, int | None]] = field(default_factory=set)
    """``(decision, branch index)``; ``None`` is the default."""

    def add(self, instance: Instance) -> None:
        # Read from the entries rather than `Entry.steps()`, which drops the trigger: several triggers
        # often lead from one state to the same place (the five remedies of `resolution`).
        for entry in instance.history[1:]:
            if entry.clock_only:
                continue  # a clock's point recorded on its own: no transition (tests/test_clocks.py)
            assert entry.source is not None and entry.trigger is not None
            self.transitions.add((entry.source, entry.trigger, entry.dest))
            if entry.by_deadline:
                self.by_clock.add((entry.source, entry.trigger))
            self.branches.update((taken.decision, taken.branch) for taken in entry.branches)


def every_edge(process: Process) -> Walked:
    edges = Walked()
    for state in process.states.values():
        edges.transitions.update((state.id, t.trigger, t.dest) for t in state.transitions)
        edges.by_clock.update((state.id, d.fire) for d in state.deadlines)
        edges.branches.update((state.id, i) for i in range(len(state.branches)))
        if state.default is not None:
            edges.branches.add((state.id, None))
    return edges


def play(runtime: Runtime, starter: Actor, name: str, path: Sequence[Step]) -> Instance:
    instance = runtime.start(starter, at=START, instance_id=name)
    now = START
    for number, step in enumerate(path, start=1):
        where = f"path {name!r}, step {number}"
        if isinstance(step, Holds):
            shown = {k: instance.data.get(k) for k in step.data}
            assert shown == step.data, f"{where}: the data holds {shown}"
            continue
        if isinstance(step, Wait):
            now += step.delta
            advanced = runtime.advance(instance, now)
            assert advanced.refused == (), f"{where}: deadlines refused: {advanced.refused}"
            assert tuple(e.trigger for e in advanced.fired) == step.fires, f"{where}: fired {advanced.fired}"
        else:
            now += STEP
            # No deadline falls due unless the path waits for it.
            assert runtime.advance(instance, now).fired == (), f"{where}: a deadline fell due without a wait"
            try:
                runtime.fire(instance, step.trigger, step.actor, step.payload, at=now)
            except EventRefused as refusal:
                pytest.fail(f"{where}: `{step.trigger}` by `{step.actor.id}` was refused: {refusal}")
        assert instance.state == step.lands, (
            f"{where}: `{getattr(step, 'trigger', 'wait')}` landed in `{instance.state}`"
        )
    return instance


def describe(missing: Walked, process: Process) -> str:
    lines = [f"`{t}` from `{s}` to `{d}`" for s, t, d in sorted(missing.transitions)]
    lines += [f"`{t}` from `{s}`, fired by its deadline" for s, t in sorted(missing.by_clock)]
    for decision, index in sorted(missing.branches, key=lambda b: (b[0], -1 if b[1] is None else b[1])):
        state = process.states[decision]
        branch = state.default if index is None else state.branches[index]
        assert branch is not None
        which = "default" if index is None else f"branch {index} (when {branch.condition})"
        lines.append(f"decision `{decision}`, {which} to `{branch.dest}`")
    return f"no path in TABLES[{process.id!r}] walks:\n  " + "\n  ".join(lines)


@pytest.fixture(scope="module", params=sorted(TABLES))
def case(request: pytest.FixtureRequest) -> tuple[Runtime, Table]:
    return Runtime(load_process(PROCESSES / f"{request.param}.yaml")), TABLES[request.param]


def test_every_shipped_process_has_a_path_table():
    assert sorted(TABLES) == [p.stem for p in SHIPPED]


def unwalked(runtime: Runtime, table: Table) -> Walked:
    """Play every path of ``table`` (each history must replay) and return the edges none of them walked."""
    walked = Walked()
    for name, path in table.paths.items():
        instance = play(runtime, table.starter, name, path)
        runtime.verify(instance)
        walked.add(instance)
    edges = every_edge(runtime.process)
    return Walked(
        edges.transitions - walked.transitions, edges.by_clock - walked.by_clock, edges.branches - walked.branches
    )


def test_the_paths_walk_every_transition_deadline_and_branch(case):
    runtime, table = case
    missing = unwalked(runtime, table)
    assert missing == Walked(), describe(missing, runtime.process)


def test_a_branch_added_without_a_path_is_named():
    text = mutate(
        (PROCESSES / "exchange.yaml").read_text(encoding="utf-8"),
        (
            "    branches:\n      - when: data.request_type == 'refund'\n        zh: 退款\n        en: Refund\n",
            "    branches:\n      - when: data.amount_paid > 50000\n        zh: 大额退款\n        en: Large refund\n"
            "        dest: refund\n"
            "      - when: data.request_type == 'refund'\n        zh: 退款\n        en: Refund\n",
        ),
    )
    runtime = Runtime(load_process_text(text, "exchange.yaml"))
    missing = unwalked(runtime, EXCHANGE)
    assert missing == Walked(branches={("settle", 0)})
    assert describe(missing, runtime.process) == (
        "no path in TABLES['exchange'] walks:\n"
        "  decision `settle`, branch 0 (when data.amount_paid > 50000) to `refund`"
    )


def test_the_leaders_approval_must_say_the_amount_and_the_terms_it_grants():
    runtime = Runtime(load_process(PROCESSES / "complaint.yaml"))
    prefix = [
        CONTACT,
        COMPLEX,
        TO_SPECIALIST,
        fire(SPECIALIST, "offer_discount", discount="八折", amount=300, lands="leader_approval"),
    ]
    instance = play(runtime, CUSTOMER, "grant", prefix)
    before = instance_to_json(instance)
    with pytest.raises(InvalidPayload) as refused:
        runtime.fire(instance, "approve", LEADER, {"comment": "同意"}, at=instance.history[-1].at + STEP)
    assert refused.value.problems == (
        "payload.granted_amount: is required; fill it in",
        "payload.terms: is required; fill it in",
    )
    assert instance_to_json(instance) == before

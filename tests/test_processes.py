"""The shipped procedures: each validates cleanly and holds every element ../shared/PROCEDURES.md requires."""

import datetime

import pytest
from conftest import PROCESSES, SHIPPED

from engine import StateKind, load_process, validate_file
from engine.checks import state_graph

REQUIRED = {
    "return_repair": {
        "steps": [
            "客户申请返厂维修",
            "维修申请受理",
            "产品寄回",
            "产品接收与登记",
            "故障检测与分析",
            "维修方案制定",
            "方案审批",
            "维修实施",
            "质量检测",
            "客户验收",
            "售后回访",
        ],
        "roles": ["客户", "客服人员", "维修中心接收人员", "维修工程师", "维修主管", "业务经理"],
        "records": ["维修申请", "返厂维修单", "接收确认单", "维修方案", "维修记录", "客户反馈"],
        "limits": [datetime.timedelta(days=3), datetime.timedelta(days=7)],
    },
    "complaint": {
        "steps": ["记录客户信息", "分类", "技术支持", "回访", "问题闭环"],
        "roles": ["客户", "客服中心", "技术支持团队", "售后服务部", "领导", "财务"],
        "records": ["客户投诉/意见登记表", "客户投诉报告单", "回访记录"],
        "limits": [datetime.timedelta(hours=24), datetime.timedelta(hours=72), datetime.timedelta(weeks=1)],
    },
    "exchange": {
        "steps": ["申请", "审核", "退换货处理", "收货与检查", "退款", "换货", "反馈与评价"],
        "roles": ["顾客", "客服人员", "物流", "财务"],
        "records": ["退换货申请表"],
        "limits": [],
    },
    "qc_signoff": {
        "steps": [],
        "roles": ["业务部", "包装员", "品质组长", "品质主管", "检验", "班组长", "维修工程师", "客服部"],
        "records": ["售后服务表", "售后跟踪记录表", "品质检验异常反馈表"],
        "limits": [datetime.timedelta(days=3), datetime.timedelta(days=7)],
    },
    "sales_service": {
        "steps": [
            "与顾客打招呼",
            "简介产品系列",
            "展开话题",
            "邀请落座及奉茶",
            "了解顾客需要",
            "先自我介绍及尊称顾客",
            "产品介绍及试戴",
            "处理异议",
            "建议购买及成交",
            "附加推销",
            "专业的完结程序及售后服务",
            "肯定顾客的购买选择及送客",
        ],
        "roles": ["导购", "顾客"],
        "records": [],
        "limits": [],
    },
}


def test_the_five_required_procedures_are_shipped():
    assert {p.stem for p in SHIPPED} >= set(REQUIRED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_process_validates_without_warnings(path):
    report = validate_file(path)
    assert report.problems == (), "\n".join(map(str, report.problems))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_step_has_a_lane_a_source_and_both_languages(path):
    process = load_process(path)
    for state in process.states.values():
        assert state.label.zh and state.label.en
        if state.kind is not StateKind.FINAL:
            assert state.role in process.roles, state.id
            if state.addition is not None:  # a step no source names, declared as such with its reason
                assert state.source is None and state.addition.zh and state.addition.en, state.id
            else:
                assert state.source is not None and state.source.section.strip(), state.id
    for transition in process.transitions:
        assert transition.label.zh and transition.label.en


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_procedure_holds_its_documented_steps_roles_records_and_limits(name):
    process = load_process(PROCESSES / f"{name}.yaml")
    required = REQUIRED[name]
    step_labels = " ".join(s.label.zh for s in process.states.values())
    role_labels = " ".join(
        [r.label.zh for r in process.roles.values()] + [d.label.zh for d in process.departments.values()]
    )
    record_labels = " ".join(r.label.zh for r in process.records.values())
    assert [s for s in required["steps"] if s not in step_labels] == []
    assert [r for r in required["roles"] if r not in role_labels] == []
    assert [r for r in required["records"] if r not in record_labels] == []
    limits = {s.time_limit for s in process.states.values() if s.time_limit}
    limits |= {d.after for s in process.states.values() for d in s.deadlines if d.after}
    limits |= {d for c in process.clocks.values() for d, _ in c.thresholds.values() if d}  # see test_clocks.py
    elapsed = {d.as_timedelta() for d in limits if not d.working}
    working_days = {datetime.timedelta(days=d.amount) for d in limits if d.working and d.unit == "day"}
    assert [lim for lim in required["limits"] if lim not in elapsed | working_days] == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_record_is_produced_by_some_step(path):
    process = load_process(path)
    produced = {r for s in process.states.values() for r in s.produces}
    assert set(process.records) <= produced


def test_return_repair_decides_warranty_and_needs_the_customers_signature():
    process = load_process(PROCESSES / "return_repair.yaml")
    decisions = [s for s in process.states.values() if s.kind is StateKind.DECISION]
    assert any("保修" in s.label.zh for s in decisions)
    signers = {o.role for t in process.transitions for o in t.signoffs}
    assert "customer" in signers or any("客户" in process.roles[r].label.zh for r in signers)


def test_complaint_compensation_needs_the_leaders_signature():
    process = load_process(PROCESSES / "complaint.yaml")
    leader = next(r.id for r in process.roles.values() if "领导" in r.label.zh)
    assert any(o.role == leader for t in process.transitions for o in t.signoffs)
    labels = " ".join(t.label.zh for t in process.transitions)
    assert all(option in labels for option in ["协商", "护理品", "优惠", "换货", "退"])


def test_qc_release_may_not_be_signed_by_whoever_repaired_it():
    process = load_process(PROCESSES / "qc_signoff.yaml")
    rules = [o for t in process.transitions for o in t.signoffs if o.not_actor_of]
    assert rules, "the QC release must name whose actor may not sign"
    excluded = {state for rule in rules for state in rule.not_actor_of}
    assert any("维修" in process.states[s].label.zh or "返工" in process.states[s].label.zh for s in excluded)


def test_sales_service_loops_on_objections_and_lets_a_customer_leave_without_buying():
    process = load_process(PROCESSES / "sales_service.yaml")
    graph = state_graph(process)
    by_label = {s.label.zh: s.id for s in process.states.values()}
    objection = next(i for zh, i in by_label.items() if "处理异议" in zh)
    try_on = next(i for zh, i in by_label.items() if "产品介绍及试戴" in zh)
    purchase = next(i for zh, i in by_label.items() if "建议购买" in zh)
    add_on = next(i for zh, i in by_label.items() if "附加推销" in zh)
    closing = next(i for zh, i in by_label.items() if "专业的完结程序" in zh)
    see_off = next(i for zh, i in by_label.items() if "送客" in zh)
    assert try_on in graph.successors(objection)
    assert see_off in graph.subgraph(set(graph.nodes) - {purchase}).reach([process.start.id])
    skippable = closing in graph.subgraph(set(graph.nodes) - {add_on}).reach([purchase])
    declinable = len([t for t in process.states[add_on].transitions if t.dest == closing]) >= 2
    assert skippable or declinable, "the add-on sale must be optional"

"""Work shared by several people in one step: parts, each with its roles, its form and whether it is
required (always, when a condition over the data holds, or not at all), one per item of a list; the
step is left only once its required parts are done; parts are history, replayed and stored."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PROCESSES, position

from engine import (
    Actor,
    DefinitionError,
    GuardFailed,
    InvalidPayload,
    PartAlreadyDone,
    PartsOpen,
    PermissionDenied,
    Runtime,
    Severity,
    instance_from_json,
    instance_to_json,
    load_process,
    load_process_text,
    validate_text,
)
from engine.render.diagram import extract
from engine.render.dot import to_dot
from engine.render.mermaid import to_mermaid
from engine.service import Workflows
from engine.stores.integrity import canonical
from engine.work import work_text, work_to_json

pytest_plugins = ["store_support"]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
MANAGER = Actor("gao", ["manager"])
ENGINEER = Actor("he", ["engineer"])
SALES = Actor("lin", ["sales"])
CLERK = Actor("li", ["clerk"])
UNIT_LEAD = Actor("ma", ["unit_lead"])


def at(hours: float) -> dt.datetime:
    return MONDAY + dt.timedelta(hours=hours)


DEMO = """\
procflow: 1
id: parts_demo
version: 1
title: {zh: 协同处理, en: Shared work}
owner: manager
sources:
  procedure: {file: 000_b72b7307c1dce858.txt, title: {zh: 售后服务处理流程, en: After-sales handling}}
roles:
  manager: {zh: 品质主管, en: QC manager}
  engineer: {zh: 维修工程师, en: Repair engineer}
  sales: {zh: 业务, en: Sales}
  clerk: {zh: 客服, en: Clerk}
  unit_lead: {zh: 责任单位, en: Responsible unit}
records:
  fix_report:
    zh: 整改报告
    en: Rectification report
    fields:
      type: object
      properties:
        action: {type: string}
      required: [action]
data:
  type: object
  properties:
    amount: {type: number}
    units:
      type: array
      items:
        type: object
        properties:
          id: {type: string}
          name: {type: string}
states:
  open_case:
    type: start
    zh: 立案
    en: Open the case
    role: manager
    source: "1"
    on:
      - trigger: opened
        zh: 立案
        en: Opened
        dest: decide
        payload:
          type: object
          properties:
            amount: {type: number}
            units: {type: array}
          required: [amount, units]
        set: {amount: payload.amount, units: payload.units}
  decide:
    type: task
    zh: 品质主管协同判定
    en: The QC manager decides with others
    role: manager
    source: 4 a)
    parts:
      - id: engineer_opinion
        zh: 维修工程师意见
        en: Engineer's opinion
        roles: [engineer]
        payload:
          type: object
          properties:
            opinion: {type: string, minLength: 1}
          required: [opinion]
      - id: sales_opinion
        zh: 业务意见
        en: Sales' opinion
        roles: [sales]
        required_when: data.amount > 100
      - id: clerk_note
        zh: 客服备注
        en: Clerk's note
        roles: [clerk]
        required: false
      - id: rectify
        zh: 责任单位整改
        en: Each responsible unit rectifies
        roles: [unit_lead]
        for_each: data.units
        key: id
        payload:
          type: object
          properties:
            action: {type: string, minLength: 1}
          required: [action]
        produces: [fix_report]
    on:
      - trigger: remind
        zh: 提醒
        en: Remind
        dest: decide
      - trigger: decided
        zh: 判定
        en: Decide
        dest: done
        payload:
          type: object
          properties:
            conclusion: {type: string}
  done:
    type: final
    zh: 结束
    en: Done
    source: "5"
"""

UNITS = [{"id": "smt", "name": "SMT 车间"}, {"id": "dip", "name": "插件车间"}]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(load_process_text(DEMO, "demo.yaml"), clock=lambda: at(100))


def opened(runtime: Runtime, amount: float = 50, units: list[dict[str, str]] | None = None):  # type: ignore[no-untyped-def]
    instance = runtime.start(MANAGER, at=at(0))
    runtime.fire(instance, "opened", MANAGER, {"amount": amount, "units": UNITS if units is None else units}, at=at(1))
    return instance


def all_parts_done(runtime: Runtime, instance, start: float = 2) -> None:  # type: ignore[no-untyped-def]
    runtime.fire(instance, "engineer_opinion", ENGINEER, {"opinion": "复测正常"}, at=at(start))
    for i, unit in enumerate(instance.data["units"]):
        runtime.fire(instance, "rectify", UNIT_LEAD, {"item": unit["id"], "action": "加强首检"}, at=at(start + 1 + i))


def test_the_demo_and_the_shipped_qc_procedure_load():
    assert [p.id for p in load_process_text(DEMO, "demo.yaml").states["decide"].parts] == [
        "engineer_opinion",
        "sales_opinion",
        "clerk_note",
        "rectify",
    ]
    qc = load_process(PROCESSES / "qc_signoff.yaml").states["manager_review"]
    assert {r for p in qc.parts for r in p.roles} == {"repair_engineer", "production_lead", "technical", "sales"}


def test_the_stored_text_of_a_step_with_parts_is_its_canonical_json(runtime):
    """Open parts, one per item with the items still open in its form, through to the step's end."""
    instance = opened(runtime)
    texts = [work_text(runtime.case_work(instance))]
    runtime.fire(instance, "engineer_opinion", ENGINEER, {"opinion": "复测正常"}, at=at(2))
    runtime.fire(instance, "rectify", UNIT_LEAD, {"item": "smt", "action": "加强首检"}, at=at(3))
    case = runtime.case_work(instance)
    assert [(p.part, p.choice.items) for p in case.work.parts] == [
        ("sales_opinion", ()),
        ("clerk_note", ()),
        ("rectify", ("dip",)),
    ]
    texts.append(work_text(case))
    runtime.fire(instance, "rectify", UNIT_LEAD, {"item": "dip", "action": "加强首检"}, at=at(4))
    runtime.fire(instance, "decided", MANAGER, {"conclusion": "无需维修"}, at=at(5))
    texts.append(work_text(runtime.case_work(instance)))
    replayed = [runtime.replay(instance.history[:n], instance_id=instance.id) for n in (2, 4, 6)]
    assert texts == [canonical(work_to_json(runtime.case_work(i))) for i in replayed]


# --- leaving the step -----------------------------------------------------------------------------


def test_a_step_is_not_left_while_a_required_part_is_open_and_the_refusal_names_it_and_who_does_it(runtime):
    instance = opened(runtime)
    before = instance_to_json(instance)
    with pytest.raises(PartsOpen) as refused:
        runtime.fire(instance, "decided", MANAGER, {"conclusion": "无需维修"}, at=at(2))
    assert refused.value.code == "parts-open"
    assert refused.value.open == ("engineer_opinion", "rectify[smt]", "rectify[dip]")
    message = str(refused.value)
    assert "`engineer_opinion` (维修工程师意见, Engineer's opinion), by `engineer`" in message
    assert "`rectify` (责任单位整改, Each responsible unit rectifies) for `smt`, `dip`, by `unit_lead`" in message
    assert "clerk_note" not in message and "sales_opinion" not in message  # optional, and not required here
    assert instance_to_json(instance) == before


def test_once_every_required_part_is_done_the_step_is_left(runtime):
    instance = opened(runtime)
    all_parts_done(runtime, instance)
    runtime.fire(instance, "decided", MANAGER, {"conclusion": "无需维修"}, at=at(9))
    assert instance.state == "done"


def test_a_transition_back_into_the_step_is_not_held_by_open_parts(runtime):
    instance = opened(runtime)
    runtime.fire(instance, "remind", MANAGER, {}, at=at(2))
    assert instance.state == "decide"


def test_a_conditional_part_is_required_only_when_its_condition_holds(runtime):
    instance = opened(runtime, amount=500)
    all_parts_done(runtime, instance)
    with pytest.raises(PartsOpen) as refused:
        runtime.fire(instance, "decided", MANAGER, {}, at=at(9))
    assert refused.value.open == ("sales_opinion",)
    runtime.fire(instance, "sales_opinion", SALES, {}, at=at(10))
    runtime.fire(instance, "decided", MANAGER, {}, at=at(11))
    assert instance.state == "done"


def test_an_optional_part_may_still_be_done(runtime):
    instance = opened(runtime)
    entry = runtime.fire(instance, "clerk_note", CLERK, {}, at=at(2))
    assert (entry.part, entry.item, entry.source, entry.dest) == ("clerk_note", None, "decide", "decide")


# --- one part per item of a list --------------------------------------------------------------------


def test_a_part_per_item_is_done_once_for_each_item_and_writes_its_record(runtime):
    instance = opened(runtime)
    entry = runtime.fire(instance, "rectify", UNIT_LEAD, {"item": "dip", "action": "更换治具"}, at=at(2))
    assert (entry.part, entry.item) == ("rectify", "dip")
    assert entry.payload == {"action": "更换治具", "item": "dip"}
    assert [(v.fields, v.actor) for v in runtime.records(instance)["fix_report"]] == [({"action": "更换治具"}, "ma")]
    assert ("rectify", "smt") in runtime.open_parts(instance, at(3))
    assert ("rectify", "dip") not in runtime.open_parts(instance, at(3))
    with pytest.raises(PartAlreadyDone, match="already done for `dip` by `ma`"):
        runtime.fire(instance, "rectify", UNIT_LEAD, {"item": "dip", "action": "再次"}, at=at(3))


@pytest.mark.parametrize("item", [None, "paint", 3, ["smt"]], ids=["missing", "unknown", "number", "list"])
def test_a_part_per_item_needs_an_item_of_the_list_and_changes_nothing_otherwise(runtime, item):
    instance = opened(runtime)
    before = instance_to_json(instance)
    payload = {"action": "x"} | ({} if item is None else {"item": item})
    with pytest.raises(InvalidPayload, match="`smt`, `dip`"):
        runtime.fire(instance, "rectify", UNIT_LEAD, payload, at=at(2))
    assert instance_to_json(instance) == before


def test_items_without_their_key_field_are_known_by_their_place_in_the_list(runtime):
    instance = opened(runtime, units=[{"name": "A"}, {"name": "B"}])
    runtime.fire(instance, "rectify", UNIT_LEAD, {"item": "1", "action": "x"}, at=at(2))
    assert runtime.open_parts(instance, at(3)) == (
        ("engineer_opinion", None),
        ("sales_opinion", None),  # not required here, but it may be done
        ("clerk_note", None),
        ("rectify", "0"),
    )


def test_an_empty_list_asks_for_no_part(runtime):
    instance = opened(runtime, units=[])
    runtime.fire(instance, "engineer_opinion", ENGINEER, {"opinion": "ok"}, at=at(2))
    runtime.fire(instance, "decided", MANAGER, {}, at=at(3))
    assert instance.state == "done"


# --- who does a part, with what --------------------------------------------------------------------


def test_a_part_is_done_only_by_its_roles_and_with_its_form(runtime):
    instance = opened(runtime)
    before = instance_to_json(instance)
    with pytest.raises(PermissionDenied, match="may not do part `engineer_opinion`.*`engineer`"):
        runtime.fire(instance, "engineer_opinion", SALES, {"opinion": "x"}, at=at(2))
    with pytest.raises(InvalidPayload, match="opinion"):
        runtime.fire(instance, "engineer_opinion", ENGINEER, {}, at=at(2))
    assert instance_to_json(instance) == before


def test_available_lists_the_open_parts_for_the_actor(runtime):
    instance = opened(runtime)
    parts = {c.trigger: c for c in runtime.available(instance, UNIT_LEAD)}
    assert list(parts) == ["rectify"]
    assert parts["rectify"].items == ("smt", "dip")
    assert parts["rectify"].payload_schema is not None
    assert parts["rectify"].payload_schema["properties"]["item"] == {"enum": ["smt", "dip"]}
    manager = {c.trigger: c for c in runtime.available(instance, MANAGER)}
    assert manager["decided"].ready is False  # parts are open
    all_parts_done(runtime, instance)
    assert {c.trigger: c for c in runtime.available(instance, MANAGER)}["decided"].ready is not False
    assert runtime.available(instance, UNIT_LEAD) == ()


def test_a_condition_that_cannot_be_evaluated_refuses_leaving_in_words():
    text = DEMO.replace("required_when: data.amount > 100", "required_when: data.amount > 'x'")
    runtime = Runtime(load_process_text(text, "demo.yaml"))
    instance = opened(runtime)
    all_parts_done(runtime, instance)
    with pytest.raises(GuardFailed, match="whether part `sales_opinion` is required"):
        runtime.fire(instance, "decided", MANAGER, {}, at=at(9))


# --- history, replay, JSON and stores ---------------------------------------------------------------


def test_parts_are_history_entries_replayed_exactly(runtime):
    instance = opened(runtime, amount=500)
    all_parts_done(runtime, instance)
    runtime.fire(instance, "sales_opinion", SALES, {}, at=at(9))
    runtime.fire(instance, "decided", MANAGER, {}, at=at(10))
    replayed = runtime.replay(instance.history, instance_id=instance.id)
    assert replayed == instance
    done = [(e.part, e.item, e.actor, e.roles, e.at) for e in instance.history if e.part]
    assert done[0] == ("engineer_opinion", None, "he", ("engineer",), at(2))
    assert done[1][:3] == ("rectify", "smt", "ma")
    runtime.verify(instance)


def test_parts_go_through_the_instance_json_and_back(runtime):
    instance = opened(runtime)
    all_parts_done(runtime, instance)
    document = instance_to_json(instance)
    assert document["history"][2]["part"] == {"id": "engineer_opinion", "item": None}
    assert document["history"][3]["part"] == {"id": "rectify", "item": "smt"}
    assert "part" not in document["history"][1]  # other entries are written as before
    assert instance_from_json(document) == instance


def test_a_replayed_history_whose_part_was_changed_is_a_mismatch(runtime):
    from engine import ReplayMismatch

    instance = opened(runtime)
    all_parts_done(runtime, instance)
    document = instance_to_json(instance)
    document["history"][3]["part"]["item"] = "dip"
    with pytest.raises(ReplayMismatch):
        runtime.verify(instance_from_json(document))


def test_every_store_keeps_the_parts(store_url):
    with Workflows(store_url, clock=lambda: at(100)) as workflows:
        workflows.register(load_process_text(DEMO, "demo.yaml"))
        workflows.start("parts_demo", MANAGER, at=at(0), instance_id="P-1")
        workflows.fire("P-1", "opened", MANAGER, {"amount": 50, "units": UNITS}, at=at(1))
        workflows.fire("P-1", "engineer_opinion", ENGINEER, {"opinion": "ok"}, at=at(2))
        workflows.fire("P-1", "rectify", UNIT_LEAD, {"item": "smt", "action": "x"}, at=at(3))
        with pytest.raises(PartsOpen):
            workflows.fire("P-1", "decided", MANAGER, {}, at=at(4))
        workflows.fire("P-1", "rectify", UNIT_LEAD, {"item": "dip", "action": "y"}, at=at(5))
        stored = workflows.get("P-1")
        assert [(e.part, e.item) for e in stored.history if e.part] == [
            ("engineer_opinion", None),
            ("rectify", "smt"),
            ("rectify", "dip"),
        ]
        workflows.fire("P-1", "decided", MANAGER, {}, at=at(6))
        workflows.verify("P-1")
        assert workflows.get("P-1").state == "done"


# --- the joint decision of QP-TPZ-002 4 a) ------------------------------------------------------------


QC_SALES = Actor("lin", ["sales"])


def test_the_qc_joint_decision_needs_every_party_the_manager_called_in():
    runtime = Runtime(load_process(PROCESSES / "qc_signoff.yaml"))
    packer, tester = Actor("zhao", ["packer"]), Actor("xu", ["qc_tester"])
    qc_manager = Actor("gao", ["qc_manager"])
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    t = iter(start + dt.timedelta(minutes=10 * i) for i in range(1, 100))
    instance = runtime.start(QC_SALES, at=start)
    runtime.fire(instance, "receive_return", QC_SALES, {"customer": "华拓", "customer_request": "修复"}, at=next(t))
    form = {"product": "PCBA", "quantity": 5, "complaint_content": "上电不启动"}
    runtime.fire(instance, "hand_to_packer", QC_SALES, form, at=next(t))
    runtime.fire(instance, "count_confirmed", packer, {"counted_qty": 5}, at=next(t))
    runtime.fire(instance, "record_screening", tester, {"test_result": "pass", "visual_result": "ok"}, at=next(t))
    assert instance.state == "manager_review"
    runtime.fire(instance, "call_in", qc_manager, {"consult": ["repair_engineer", "production", "sales"]}, at=next(t))
    runtime.fire(
        instance, "production_opinion", Actor("ma", ["production_lead"]), {"opinion": "工艺无异常"}, at=next(t)
    )
    with pytest.raises(PartsOpen) as refused:
        runtime.fire(instance, "release_without_repair", qc_manager, {"conclusion": "无需维修"}, at=next(t))
    assert refused.value.open == ("engineer_opinion", "sales_opinion")
    assert "`repair_engineer`" in str(refused.value) and "`sales`" in str(refused.value)
    runtime.fire(instance, "engineer_opinion", Actor("he", ["repair_engineer"]), {"opinion": "复测正常"}, at=next(t))
    runtime.fire(instance, "sales_opinion", QC_SALES, {"opinion": "客户同意"}, at=next(t))
    runtime.fire(instance, "release_without_repair", qc_manager, {"conclusion": "无需维修"}, at=next(t))
    assert instance.state == "reinspect"
    runtime.verify(instance)


# --- bad definitions, located ------------------------------------------------------------------------


def problems_of(text: str):  # type: ignore[no-untyped-def]
    return validate_text(text, "demo.yaml").problems


BAD = [
    pytest.param(
        ("roles: [engineer]\n        payload", "roles: [enginer]\n        payload"),
        "unknown-reference",
        "roles: [enginer]",
        ("did you mean `engineer`?",),
        id="unknown-role",
    ),
    pytest.param(
        ("for_each: data.units", "for_each: data.unit"),
        "unknown-field",
        "for_each: data.unit",
        ("`data.unit`", "did you mean `units`?"),
        id="for-each-unknown-field",
    ),
    pytest.param(
        ("for_each: data.units", "for_each: data.amount"),
        "for-each-not-list",
        "for_each: data.amount",
        ("not a list",),
        id="for-each-not-a-list",
    ),
    pytest.param(("key: id", "key: ids"), "unknown-field", "key: ids", ("did you mean `id`?",), id="unknown-key"),
    pytest.param(
        ("required_when: data.amount > 100", "required_when: data.amont > 100"),
        "unknown-field",
        "required_when: data.amont",
        ("did you mean `amount`?",),
        id="condition-unknown-field",
    ),
    pytest.param(
        ("required_when: data.amount > 100", "required_when: 1 > 2"),
        "part-never-required",
        "required_when: 1 > 2",
        ("never required",),
        id="never-required",
    ),
    pytest.param(
        ("        required: false\n", "        required: false\n        required_when: data.amount > 7\n"),
        "part-never-required",
        "required_when: data.amount > 7",
        ("keep one",),
        id="optional-and-conditional",
    ),
    pytest.param(
        ("id: clerk_note", "id: remind"), "part-id-clash", "id: remind", ("another id",), id="id-is-a-trigger"
    ),
    pytest.param(
        ("produces: [fix_report]", "produces: [fix_reprt]"),
        "unknown-reference",
        "produces: [fix_reprt]",
        ("did you mean `fix_report`?",),
        id="unknown-record",
    ),
    pytest.param(
        ("        required: false\n", "        required: false\n        key: name\n"),
        "key-without-for-each",
        "        key: name\n",
        ("for_each",),
        id="key-without-for-each",
    ),
]


@pytest.mark.parametrize(("edit", "code", "needle", "words"), BAD)
def test_each_bad_part_is_an_error_located_where_it_is_written(edit, code, needle, words):
    old, new = edit
    assert old in DEMO
    text = DEMO.replace(old, new, 1)
    found = [p for p in problems_of(text) if p.code == code]
    assert found, [(p.code, p.message) for p in problems_of(text)]
    for word in words:
        assert word in found[0].message
    assert found[0].location.line == position(text, needle)[0]
    if found[0].severity is Severity.ERROR:
        with pytest.raises(DefinitionError):
            load_process_text(text, "demo.yaml")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("        roles: [clerk]\n", "", ("roles",)),
        ("for_each: data.units", "for_each: units", ("`for_each`", "data.units")),
        ("required: false", "required: maybe", ("required",)),
        ("id: clerk_note", "id: Clerk-Note", ("identifier",)),
    ],
    ids=["part-without-roles", "for-each-not-a-data-path", "required-not-a-boolean", "id-not-an-identifier"],
)
def test_a_misshapen_part_is_refused_by_the_schema_in_words(old, new, words):
    text = DEMO.replace(old, new, 1)
    problems = problems_of(text)
    assert any(p.severity is Severity.ERROR for p in problems)
    assert any(all(w in p.message for w in words) for p in problems), [p.message for p in problems]


# --- drawn -----------------------------------------------------------------------------------------------


def test_the_chart_shows_a_steps_parts_with_their_roles():
    process = load_process_text(DEMO, "demo.yaml")
    node = next(n for n in extract(process, "en").nodes if n.id == "decide")
    assert [(p.id, p.roles, p.condition) for p in node.parts] == [
        ("engineer_opinion", ("Repair engineer",), None),
        ("sales_opinion", ("Sales",), "when data.amount > 100"),
        ("clerk_note", ("Clerk",), "optional"),
        ("rectify", ("Responsible unit",), "each of data.units"),
    ]
    dot = to_dot(extract(process, "zh"), "zh")
    assert "▸ 维修工程师意见 — 维修工程师" in dot and "▸ 责任单位整改 — 责任单位 (每项" in dot
    assert "▸ 客服备注 — 客服 (可选)" in to_mermaid(extract(process, "zh"))


def test_procflow_show_prints_the_steps_parts_open_and_done(tmp_path):
    import io

    from engine.cli import run

    store = f"sqlite:///{tmp_path / 'store.db'}"
    definition = tmp_path / "demo.yaml"
    definition.write_text(DEMO, encoding="utf-8")
    with Workflows(store, clock=lambda: at(100)) as workflows:
        workflows.register(load_process_text(DEMO, str(definition)))
        workflows.start("parts_demo", MANAGER, at=at(0), instance_id="P-9")
        workflows.fire("P-9", "opened", MANAGER, {"amount": 500, "units": UNITS[:1]}, at=at(1))
        workflows.fire("P-9", "engineer_opinion", ENGINEER, {"opinion": "ok"}, at=at(2))
    out, err = io.StringIO(), io.StringIO()
    assert run(["show", "P-9", "--store", store], out, err) == 0, err.getvalue()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("part:")]
    assert len(lines) == 4
    assert "engineer_opinion" in lines[0] and "done by he [engineer]" in lines[0]
    assert "sales_opinion" in lines[1] and "OPEN, required" in lines[1]
    assert "clerk_note" in lines[2] and "open, not required" in lines[2]
    assert "rectify[smt]" in lines[3] and "by: unit_lead" in lines[3] and "OPEN, required" in lines[3]


def test_the_book_lists_the_parts_and_the_signatures_rules():
    from engine.render.book_sections import parts_section, signoff_cell

    process = load_process_text(DEMO, "demo.yaml")
    section = parts_section(process, "en")
    assert 'id="parts"' in section
    assert "<code>engineer_opinion</code>" in section and "<code>opinion</code>" in section
    assert "only when</span> <code>data.amount &gt; 100</code>" in section
    assert "one per item of</span> <code>data.units</code> (id)" in section
    assert "optional" in section
    from test_signatures import DEMO as SIGNED

    signed = load_process_text(SIGNED, "signed.yaml")
    rules = {t.trigger: t.signoffs for t in signed.transitions}
    assert "only when</span> <code>data.amount &gt; 1000</code>" in signoff_cell(signed, rules["approve"][2], "en")
    assert "the actor of</span> <code>work</code> (" in signoff_cell(signed, rules["confirm_round"][0], "en")
    assert "this round" in signoff_cell(signed, rules["confirm_round"][0], "en")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("      - id: clerk_note\n", "      - id: clerk_note\n        zhx: 备注\n", ("part #3", "did you mean `zh`?")),
        ("    type: final\n", "    type: final\n    parts: [{id: a, zh: a, en: a, roles: [clerk]}]\n", ("final",)),
    ],
    ids=["unknown-key-in-a-part", "parts-on-a-final-state"],
)
def test_a_misplaced_part_key_is_located_in_words(old, new, words):
    text = DEMO.replace(old, new, 1)
    problems = [p for p in problems_of(text) if p.severity is Severity.ERROR]
    assert problems
    assert all(w in problems[0].message for w in words), problems[0].message
    assert problems[0].location.line == position(text, new.strip().splitlines()[-1].strip())[0]


def test_a_record_an_always_required_part_writes_counts_as_made_once_the_step_is_left():
    text = DEMO.replace(
        "        produces: [fix_report]\n",
        "",
    ).replace(
        "          required: [opinion]\n      - id: sales_opinion",
        "          required: [opinion]\n        produces: [{record: fix_report, fields: {action: payload.opinion}}]\n"
        "      - id: sales_opinion",
    )
    text = text.replace("  done:\n    type: final\n", "  done:\n    type: final\n    requires: [fix_report]\n")
    assert not [p for p in problems_of(text) if "fix_report" in p.message], problems_of(text)
    conditional = text.replace(
        "    payload:\n          type: object\n          properties:\n            opinion",
        "    required: false\n        payload:\n          type: object\n          properties:\n            opinion",
        1,
    )
    assert conditional != text
    assert [p for p in problems_of(conditional) if p.severity is Severity.WARNING and "fix_report" in p.message]

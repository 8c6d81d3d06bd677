"""Records are documents: a transition writes a record from its form, checked against the record's
fields; the instance keeps every version with its author, time and event; a later event amends it;
steps and transitions may require records, checked on every path at load and refused at run time."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json

import pytest
from conftest import PROCESSES, position

from engine import (
    Actor,
    DefinitionError,
    InvalidPayload,
    MissingRecord,
    ReplayMismatch,
    Runtime,
    Severity,
    instance_from_json,
    instance_to_json,
    load_process,
    load_process_text,
    validate_text,
)
from engine.errors import InstanceFormatError
from engine.instances import Entry
from engine.render.diagram import extract
from engine.scenarios import load_scenario, play

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
CUSTOMER = Actor("wang", ["customer"])
CLERK = Actor("li", ["clerk"])
OTHER_CLERK = Actor("zhang", ["clerk", "supervisor"])

DEMO = """\
procflow: 1
id: records_demo
version: 1
title: {zh: 记录, en: Records}
owner: clerk
sources:
  procedure: {file: 004_0781a068a735b19d.txt, title: {zh: 返厂维修管理流程, en: Return repair}}
roles:
  customer: {zh: 客户, en: Customer, external: true}
  clerk: {zh: 客服人员, en: Clerk}
  supervisor: {zh: 主管, en: Supervisor}
records:
  application:
    zh: 维修申请
    en: Repair application
    fields:
      type: object
      properties:
        model: {type: string}
        fault: {type: string}
        channel: {enum: [电话, 邮件]}
      required: [model, fault]
  order:
    zh: 返厂维修单
    en: Repair order
    fields:
      type: object
      properties:
        order_no: {type: string}
        model: {type: string}
      required: [order_no, model]
data:
  type: object
  properties:
    model: {type: string}
states:
  apply:
    type: start
    zh: 申请
    en: Apply
    role: customer
    source: 三.1
    on:
      - trigger: submit
        zh: 提交
        en: Submit
        dest: accept
        payload:
          type: object
          properties:
            model: {type: string}
            fault: {type: string}
            channel: {enum: [电话, 邮件]}
            note: {type: string}
          required: [model, fault]
        produces: [application]
        set: {model: payload.model}
  accept:
    type: task
    zh: 受理
    en: Accept
    role: clerk
    source: 三.2
    on:
      - trigger: correct
        zh: 更正申请
        en: Correct the application
        dest: accept
        payload:
          type: object
          properties: {fault: {type: string}}
          required: [fault]
        amends: [{record: application, fields: [fault]}]
      - trigger: issue
        zh: 开单
        en: Issue the order
        dest: done
        payload:
          type: object
          properties: {order_no: {type: string}}
          required: [order_no]
        produces:
          - record: order
            fields: {order_no: payload.order_no, model: data.model}
      - trigger: escalate
        zh: 上报
        en: Escalate
        dest: review
  review:
    type: task
    zh: 主管复核
    en: Supervisor review
    role: supervisor
    source: 三.2
    on:
      - trigger: archive
        zh: 归档结束
        en: Archive and close
        dest: closed
        requires: [order]
  done:
    type: final
    zh: 完成
    en: Done
    requires: all
  closed:
    type: final
    zh: 结束
    en: Closed
"""

APPLICATION = {"model": "XK-200", "fault": "开机无显示", "channel": "电话", "note": "not on the form"}


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    report = validate_text(DEMO, "demo.yaml")
    assert report.errors == (), report.errors
    assert report.process is not None
    return Runtime(report.process, clock=lambda: MONDAY)


def at(hours: float) -> dt.datetime:
    return MONDAY + dt.timedelta(hours=hours)


def started(runtime: Runtime):
    instance = runtime.start(CUSTOMER, at=at(0), instance_id="R-1")
    runtime.fire(instance, "submit", CUSTOMER, APPLICATION, at=at(1))
    return instance


# --- producing, amending, versions ---------------------------------------------------------------------


def test_a_transition_writes_the_record_from_the_forms_fields_that_the_record_declares(runtime):
    instance = started(runtime)
    [version] = instance.records["application"]
    # `note` is on the form but not a field of the record, so it is not copied.
    assert dict(version.fields) == {"model": "XK-200", "fault": "开机无显示", "channel": "电话"}
    assert (version.version, version.actor, version.roles, version.at, version.event, version.trigger) == (
        1,
        "wang",
        ("customer",),
        at(1),
        1,
        "submit",
    )
    assert instance.history[version.event].trigger == "submit"


def test_an_amendment_is_a_new_version_and_the_old_one_is_kept(runtime):
    instance = started(runtime)
    runtime.fire(instance, "correct", OTHER_CLERK, {"fault": "屏幕闪烁"}, at=at(2))
    runtime.fire(instance, "correct", CLERK, {"fault": "屏幕闪烁, 偶尔黑屏"}, at=at(3))
    versions = instance.records["application"]
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.fields["fault"] for v in versions] == ["开机无显示", "屏幕闪烁", "屏幕闪烁, 偶尔黑屏"]
    # An amendment keeps the fields it does not change.
    assert all(v.fields["model"] == "XK-200" for v in versions)
    assert [(v.actor, v.roles, v.event, v.amended) for v in versions[1:]] == [
        ("zhang", ("clerk", "supervisor"), 2, True),
        ("li", ("clerk",), 3, True),
    ]


def test_a_record_field_may_come_from_the_data(runtime):
    instance = started(runtime)
    runtime.fire(instance, "issue", CLERK, {"order_no": "FW-01"}, at=at(2))
    assert dict(instance.records["order"][0].fields) == {"order_no": "FW-01", "model": "XK-200"}
    assert instance.state == "done"


def test_the_api_shows_the_records_in_the_order_they_were_first_made(runtime):
    instance = started(runtime)
    runtime.fire(instance, "issue", CLERK, {"order_no": "FW-01"}, at=at(2))
    assert list(runtime.records(instance)) == ["application", "order"]


def test_a_payload_that_would_make_an_invalid_record_is_refused_and_nothing_changes(runtime):
    instance = runtime.start(CUSTOMER, at=at(0), instance_id="R-2")
    before = copy.deepcopy(instance_to_json(instance))
    # Fits the form (channel is any of its enum), yet the record's check runs on what is copied.
    with pytest.raises(InvalidPayload, match="payload"):
        runtime.fire(instance, "submit", CUSTOMER, {"model": "X", "fault": 3}, at=at(1))
    assert instance_to_json(instance) == before


# --- replay, JSON --------------------------------------------------------------------------------------


def test_replay_rebuilds_every_version_exactly(runtime):
    instance = started(runtime)
    runtime.fire(instance, "correct", CLERK, {"fault": "屏幕闪烁"}, at=at(2))
    runtime.fire(instance, "issue", CLERK, {"order_no": "FW-01"}, at=at(3))
    replayed = runtime.replay(instance.history, instance_id=instance.id)
    assert replayed.records == instance.records
    runtime.verify(instance)


def test_verify_notices_a_record_changed_in_the_history(runtime):
    instance = started(runtime)
    entry = instance.history[1]
    forged = dict(entry.records[0].fields, fault="forged")
    fields = {name: getattr(entry, name) for name in Entry.__slots__}
    fields["records"] = (type(entry.records[0])("application", 1, forged),)
    instance.history[1] = Entry(**fields)
    with pytest.raises(ReplayMismatch, match="records"):
        runtime.verify(instance)


def test_records_go_through_the_instance_json_and_back(runtime):
    instance = started(runtime)
    runtime.fire(instance, "correct", CLERK, {"fault": "屏幕闪烁"}, at=at(2))
    document = json.loads(json.dumps(instance_to_json(instance), ensure_ascii=False))
    assert [v["version"] for v in document["records"]["application"]] == [1, 2]
    assert document["records"]["application"][1]["actor"] == "li"
    again = instance_from_json(document)
    assert again == instance
    assert again.records == instance.records


def test_an_instance_json_whose_records_disagree_with_its_history_is_refused(runtime):
    document = json.loads(json.dumps(instance_to_json(started(runtime)), ensure_ascii=False))
    document["records"]["application"][0]["fields"]["fault"] = "edited"
    with pytest.raises(InstanceFormatError, match="records"):
        instance_from_json(document)


def test_an_entry_without_records_is_written_as_before():
    # Entries stored before records existed keep their text, and so the digest stores keep beside them.
    entry = Entry(at=MONDAY, actor="a", roles=(), trigger=None, source=None, dest="apply", payload={})
    assert "records" not in json.dumps(instance_to_json_entry(entry))


def instance_to_json_entry(entry: Entry):
    from engine.instances import entry_to_json

    return entry_to_json(entry)


# --- required records ----------------------------------------------------------------------------------


def test_a_transition_that_requires_a_record_not_yet_made_is_refused_naming_it_and_nothing_changes(runtime):
    instance = started(runtime)
    runtime.fire(instance, "escalate", CLERK, {}, at=at(2))
    before = copy.deepcopy(instance_to_json(instance))
    with pytest.raises(MissingRecord) as refused:
        runtime.fire(instance, "archive", OTHER_CLERK, {}, at=at(3))
    assert refused.value.code == "missing-record"
    assert refused.value.missing == ("order",)
    assert "`order` (返厂维修单, Repair order)" in str(refused.value)
    assert instance_to_json(instance) == before


def test_a_choice_that_needs_a_missing_record_is_offered_as_not_ready(runtime):
    instance = started(runtime)
    runtime.fire(instance, "escalate", CLERK, {}, at=at(2))
    [archive] = runtime.available(instance, Actor("zhou", ["supervisor"]))
    assert (archive.trigger, archive.ready) == ("archive", False)


def test_a_step_that_requires_all_records_is_entered_when_the_event_itself_makes_the_last(runtime):
    instance = started(runtime)
    runtime.fire(instance, "issue", CLERK, {"order_no": "FW-01"}, at=at(2))
    assert instance.state == "done"
    assert set(instance.records) == {"application", "order"}


def test_the_static_check_names_the_path_on_which_a_required_record_is_not_made():
    report = validate_text(DEMO, "demo.yaml")
    [warning] = [p for p in report.problems if p.code == "record-not-made"]
    assert warning.severity is Severity.WARNING
    assert "`apply` → `accept` → `review`" in warning.message and "`order`" in warning.message
    assert (warning.location.line, warning.location.column) == position(DEMO, "requires: [order]", "order")


def test_a_step_entered_without_its_required_records_is_refused_at_run_time():
    text = DEMO.replace(
        "        produces:\n          - record: order\n", "        produces:\n          - record: application\n"
    )
    text = text.replace(
        "fields: {order_no: payload.order_no, model: data.model}",
        "fields: {model: data.model, fault: payload.order_no}",
    )
    report = validate_text(text, "demo.yaml")
    assert report.process is not None, report.errors
    assert any(p.code == "record-not-made" and "step `done`" in p.message for p in report.problems)
    runtime = Runtime(report.process, clock=lambda: MONDAY)
    instance = started(runtime)
    before = copy.deepcopy(instance_to_json(instance))
    with pytest.raises(MissingRecord, match="step `done`") as refused:
        runtime.fire(instance, "issue", CLERK, {"order_no": "FW-01"}, at=at(2))
    assert refused.value.missing == ("order",)
    assert instance_to_json(instance) == before


def test_amending_a_record_that_is_not_made_yet_is_refused():
    text = DEMO.replace("        produces: [application]\n", "")
    report = validate_text(text, "demo.yaml")
    assert report.process is not None, report.errors
    assert any(p.code == "record-not-made" and "amends it" in p.message for p in report.problems)
    runtime = Runtime(report.process, clock=lambda: MONDAY)
    instance = runtime.start(CUSTOMER, at=at(0))
    runtime.fire(instance, "submit", CUSTOMER, APPLICATION, at=at(1))
    with pytest.raises(MissingRecord, match="application"):
        runtime.fire(instance, "correct", CLERK, {"fault": "x"}, at=at(2))
    assert instance.records == {}


# --- bad YAML for each new key -------------------------------------------------------------------------


def problems_of(text: str):
    return validate_text(text, "demo.yaml").problems


BAD = [
    pytest.param(
        ("produces: [application]", "produces: [aplication]"),
        "unknown-reference",
        "aplication",
        ("did you mean `application`?",),
        id="produces-unknown-record",
    ),
    pytest.param(
        ("amends: [{record: application, fields: [fault]}]", "amends: [{record: application, fields: [fualt]}]"),
        "record-field-unknown",
        "fualt",
        ("no field `fualt`", "did you mean `fault`?"),
        id="amends-unknown-field",
    ),
    pytest.param(
        ("model: data.model}", "model: data.modle}"),
        "record-field-unknown",
        "data.modle",
        ("data schema declares no field `modle`", "did you mean `model`?"),
        id="fields-unknown-data-field",
    ),
    pytest.param(
        ("fields: {order_no: payload.order_no, model: data.model}", "fields: {order_no: payload.order_no}"),
        "record-field-missing",
        "- record: order",
        ("requires `model`",),
        id="produces-without-a-required-field",
    ),
    pytest.param(
        ("properties: {order_no: {type: string}}", "properties: {order_no: {type: integer}}"),
        "record-field-type",
        "- record: order",
        ("`payload.order_no` is `integer`", "`string`"),
        id="produces-with-a-field-of-another-type",
    ),
    pytest.param(
        (
            "            channel: {enum: [电话, 邮件]}\n            note",
            "            channel: {enum: [电话, 传真]}\n            note",
        ),
        "record-field-type",
        "produces: [application]",
        ("`payload.channel`", "enum"),
        id="produces-with-a-wider-enum",
    ),
    pytest.param(
        ("requires: [order]", "requires: [ordr]"),
        "unknown-reference",
        "ordr",
        ("did you mean `order`?",),
        id="transition-requires-unknown-record",
    ),
    pytest.param(
        ("    requires: all\n", "    requires: [applicaton]\n"),
        "unknown-reference",
        "applicaton",
        ("did you mean `application`?",),
        id="state-requires-unknown-record",
    ),
]


@pytest.mark.parametrize(("edit", "code", "needle", "words"), BAD)
def test_each_bad_record_binding_is_an_error_located_where_it_is_written(edit, code, needle, words):
    old, new = edit
    assert old in DEMO
    text = DEMO.replace(old, new, 1)
    found = [p for p in problems_of(text) if p.code == code]
    assert found, problems_of(text)
    problem = found[0]
    assert problem.severity is Severity.ERROR
    for word in words:
        assert word in problem.message
    assert problem.location.line == position(text, needle)[0]
    with pytest.raises(DefinitionError):
        load_process_text(text, "demo.yaml")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("requires: all", "requires: everything", ("requires",)),
        ("amends: [{record: application, fields: [fault]}]", "amends: [{fields: [fault]}]", ("record",)),
        ("model: data.model}", "model: model}", ("data.<field>",)),
        ("produces: [application]", "produces: application", ("produces",)),
    ],
    ids=["requires-not-all", "binding-without-record", "field-source-not-a-path", "produces-not-a-list"],
)
def test_a_misshapen_record_key_is_refused_by_the_schema_in_words(old, new, words):
    text = DEMO.replace(old, new, 1)
    problems = problems_of(text)
    assert any(p.severity is Severity.ERROR for p in problems)
    assert any(all(w in p.message for w in words) for p in problems), [p.message for p in problems]


def test_a_step_that_lists_a_record_no_transition_writes_is_warned_once_records_are_bound():
    text = DEMO.replace(
        "    role: supervisor\n    source: 三.2\n", "    role: supervisor\n    source: 三.2\n    produces: [order]\n"
    )
    [warning] = [p for p in problems_of(text) if p.code == "unbound-record"]
    assert "step `review`" in warning.message and "no `order` is kept" in warning.message


# --- the shipped procedures ----------------------------------------------------------------------------


def test_return_repair_archives_every_record_only_when_the_case_completes():
    process = load_process(PROCESSES / "return_repair.yaml")
    assert process.states["completed"].requires == tuple(process.records)
    assert not any(r.archived for r in process.records.values())  # the flag is replaced by the check


@pytest.mark.parametrize(
    ("name", "records"),
    [
        (
            "return_repair",
            {
                "repair_application",
                "repair_order",
                "receipt_confirmation",
                "repair_plan",
                "repair_record",
                "customer_feedback",
            },
        ),
        ("complaint", {"complaint_register", "complaint_report", "follow_up_record"}),
        ("qc_signoff", {"service_form", "tracking_record", "exception_report"}),
        ("exchange", {"return_application", "return_slip", "return_record", "satisfaction_survey"}),
    ],
)
def test_the_shipped_forms_write_their_records(name, records):
    process = load_process(PROCESSES / f"{name}.yaml")
    written = {b.record for t in process.transitions for b in t.produces if not b.amend}
    assert records <= written


@pytest.mark.parametrize("name", ["return_repair", "complaint", "qc_signoff", "exchange"])
def test_a_shipped_scenario_ends_holding_every_record_its_final_step_requires(name):
    process = load_process(PROCESSES / f"{name}.yaml")
    runtime = Runtime(process)
    played = play(runtime, load_scenario(PROCESSES / "scenarios" / f"{name}.yaml"))
    assert played.ok, played.failures
    instance = played.instance
    final = process.states[instance.state]
    assert final.is_final and final.requires
    assert set(final.requires) <= set(instance.records)
    for versions in instance.records.values():
        assert [v.version for v in versions] == list(range(1, len(versions) + 1))
        for version in versions:
            entry = instance.history[version.event]
            assert (entry.actor, entry.at, entry.trigger) == (version.actor, version.at, version.trigger)
    assert runtime.replay(instance.history, instance_id=instance.id).records == instance.records


def test_the_return_repair_plan_carries_the_quote_as_a_second_version():
    process = load_process(PROCESSES / "return_repair.yaml")
    played = play(Runtime(process), load_scenario(PROCESSES / "scenarios" / "return_repair.yaml"))
    plan = played.instance.records["repair_plan"]
    # The supervisor sends the first plan back, so it is written twice before the quote amends it.
    assert [(v.trigger, v.amended) for v in plan] == [
        ("submit_plan", False),
        ("submit_plan", False),
        ("send_quote", True),
    ]
    assert "quote" not in plan[1].fields and plan[2].fields["quote"] == played.instance.data["quote"]
    assert {k: v for k, v in plan[2].fields.items() if k != "quote"} == dict(plan[1].fields)


# --- the chart -----------------------------------------------------------------------------------------


def test_the_chart_marks_a_record_written_on_one_exit_only_and_a_record_a_transition_needs():
    diagram = extract(load_process_text(DEMO, "demo.yaml"), "en")
    notes = {(e.source, label.text): label.note or "" for e in diagram.edges for label in e.labels}
    assert "amends Repair application" in notes[("accept", "Correct the application")]
    assert "writes Repair order" in notes[("accept", "Issue the order")]
    assert "Repair" not in notes[("accept", "Escalate")]
    assert "needs Repair order" in notes[("review", "Archive and close")]
    # `submit` is the only way out of `apply`: its record is shown on the step, not on the arrow.
    assert "Repair" not in notes[("apply", "Submit")]
    assert {n.id: n.records for n in diagram.nodes}["apply"] == ("Repair application",)


def test_a_record_field_the_form_does_not_vouch_for_is_still_checked():
    # return_repair's `issue_order` form does not declare `in_warranty`, which its record declares a boolean:
    # the record is checked on that field (the others the fitting form vouches for), and refused whole.
    process = load_process(PROCESSES / "return_repair.yaml")
    runtime = Runtime(process)
    issue_order = next(t for t in process.transitions if t.trigger == "issue_order")
    binding = issue_order.produces[0]
    payload = {
        "order_no": "FW-1",
        "customer_name": "王先生",
        "contact": "138",
        "model": "XK-200",
        "fault_description": "no display",
        "ship_to_address": "上海",
        "packing_notes": "foam",
    }
    for extra, fits in (({}, True), ({"in_warranty": False}, True), ({"in_warranty": "yes"}, False)):
        written: list = []
        refused = runtime._firing.records.write(issue_order, {}, {"payload": {**payload, **extra}, "data": {}}, written)
        assert (refused is None) is fits
        if not fits:
            assert refused is not None and refused[0] is InvalidPayload and "in_warranty" in refused[1]
    assert binding.path not in runtime.compiled.records_as_payload


@pytest.mark.parametrize("name", ["return_repair.yaml", "complaint.yaml", "exchange.yaml", "qc_signoff.yaml"])
def test_a_record_checked_only_where_its_form_does_not_vouch_for_it_is_refused_as_the_whole_check_refuses(name):
    # Records write a record from a fitting payload checking only the fields the form does not declare as the
    # record does; for payloads of many shapes (a fitting one with one or two fields changed, or left out),
    # what it refuses and the words it refuses with are those of the record's whole check.
    import itertools

    from engine.fragments import definition_registry, fragment_validator
    from engine.model import thaw_json

    process = load_process(PROCESSES / name)
    runtime = Runtime(process)
    records = runtime._firing.records
    document = thaw_json(process.document)
    registry = definition_registry(document)
    absent = object()
    plain = [
        absent,
        True,
        1,
        -1,
        2.5,
        "text",
        "2026-10-01",
        [{"name": "x", "quantity": 1}],
        [{"item": "t", "passed": True}],
    ]
    compared = refusals = 0
    for transition in process.transitions:
        for binding in transition.produces:
            if binding.path in records.as_payload or binding.path not in records.unvouched:
                continue
            check = runtime.compiled.record_checks[binding.record]
            form_path = transition.path + ("payload",)
            form = fragment_validator(registry, form_path)
            declared = node(document, process.records[binding.record].path + ("fields", "properties"))
            given = node(document, form_path).get("properties", {})
            base = {}
            for field in given:  # the first plain value each of the form's fields takes
                fits = fragment_validator(registry, form_path + ("properties", field)).is_valid
                base[field] = next((v for v in plain[1:] if fits(v)), "text")
            names = sorted({*given, *declared})
            for first, second in itertools.combinations_with_replacement(names, 2):
                for one, other in itertools.product(plain, repeat=2):
                    payload = {**base, first: one, second: other}
                    payload = {n: v for n, v in payload.items() if v is not absent}
                    if not form.is_valid(payload):
                        continue
                    written: list = []
                    alone = dataclasses.replace(transition, produces=(binding,), requires=())
                    refused = records.write(alone, {}, {"payload": payload, "data": {}}, written)
                    problems = check.problems({n: payload[n] for n in declared if n in payload})
                    assert (refused is None) == (problems == ()), payload
                    assert refused is None or refused[2] == problems
                    compared += 1
                    refusals += refused is not None
    if name == "return_repair.yaml":
        assert compared > 1000 and refusals > 100


def node(document, path):
    for part in path:
        document = document[part]
    return document

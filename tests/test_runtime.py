"""The runtime's documented behaviour, example by example: starting, firing, refusing, deciding,
signing, timing and replaying instances."""

from __future__ import annotations

import copy
import datetime as dt
import json

import jsonschema
import pytest
import transitions
from conftest import FIXTURE, PROCESSES, mutate

from engine import (
    Actor,
    GuardFailed,
    InstanceFormatError,
    InvalidData,
    InvalidPayload,
    InvalidTime,
    PermissionDenied,
    ReplayMismatch,
    Runtime,
    UnknownTrigger,
    instance_from_json,
    instance_to_json,
    load_process,
    load_process_text,
)
from engine.instances import Entry
from engine.model import thaw_json

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)

CUSTOMER = Actor("wang", ["customer"])
CLERK = Actor("li", ["clerk"])
SUPERVISOR = Actor("zhou", ["supervisor"])


@pytest.fixture(scope="module")
def minimal() -> Runtime:
    return Runtime(load_process(FIXTURE), clock=lambda: MONDAY)


@pytest.fixture(scope="module")
def repair() -> Runtime:
    return Runtime(load_process(PROCESSES / "return_repair.yaml"), clock=lambda: MONDAY)


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    return MONDAY + dt.timedelta(days=days, hours=hours)


def quoted(runtime: Runtime, *, when: dt.datetime = MONDAY):
    """An instance of the fixture waiting in `quote` (out of warranty), entered at ``when``."""
    instance = runtime.start(CUSTOMER, at=when)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X1"}, at=when)
    assert instance.state == "quote"
    return instance


def snapshot(instance) -> str:
    return json.dumps(instance_to_json(instance), sort_keys=True, ensure_ascii=False)


# --- starting ------------------------------------------------------------------------------------------


def test_start_records_who_started_it_and_opens_the_start_states_clock(minimal):
    instance = minimal.start(CUSTOMER, {"model": "X1"}, at=MONDAY, instance_id="I-1")
    assert (instance.id, instance.state, instance.data, instance.entered_at) == (
        "I-1",
        "apply",
        {"model": "X1"},
        MONDAY,
    )
    assert (instance.process_id, instance.process_version) == ("minimal_repair", 1)
    assert instance.content_hash == minimal.process.content_hash
    [entry] = instance.history
    assert (entry.actor, entry.roles, entry.trigger, entry.source, entry.dest) == (
        "wang",
        ("customer",),
        None,
        None,
        "apply",
    )
    assert instance.version == 1


def test_an_instance_started_without_an_id_gets_a_random_version_4_uuid_in_hex(minimal, monkeypatch):
    import uuid

    import engine.runtime

    given = bytes(range(16))
    monkeypatch.setattr(engine.runtime.os, "urandom", lambda n: given[:n])
    instance = minimal.start(CUSTOMER)
    assert instance.id == uuid.UUID(bytes=given, version=4).hex == "000102030405460788090a0b0c0d0e0f"
    monkeypatch.undo()
    ids = {minimal.start(CUSTOMER).id for _ in range(50)}
    assert len(ids) == 50
    assert all(uuid.UUID(hex=i).version == 4 and uuid.UUID(hex=i).variant == uuid.RFC_4122 for i in ids)


def test_start_is_refused_to_someone_who_cannot_act_on_the_first_step(minimal):
    with pytest.raises(PermissionDenied, match="`zhou` .* may not start `minimal_repair`.*`customer`"):
        minimal.start(SUPERVISOR)


def test_start_refuses_initial_data_that_breaks_the_data_schema(minimal):
    with pytest.raises(InvalidData) as refused:
        minimal.start(CUSTOMER, {"quote": -1})
    assert refused.value.problems == ("data.quote: must be at least 0, got `-1`",)


# --- firing and refusing ---------------------------------------------------------------------------------


def test_a_start_without_data_is_refused_each_time_when_the_data_schema_requires_a_field():
    text = mutate(
        FIXTURE.read_text(encoding="utf-8"),
        ("    model: {type: string}\nstates:", "    model: {type: string}\n  required: [model]\nstates:"),
    )
    runtime = Runtime(load_process_text(text, "m.yaml"), clock=lambda: MONDAY)
    for data in (None, {}, None):
        with pytest.raises(InvalidData) as refused:
            runtime.start(CUSTOMER, data)
        assert refused.value.problems == ("data.model: is required; fill it in",)
    assert runtime.start(CUSTOMER, {"model": "X1"}).data == {"model": "X1"}


def test_firing_moves_sets_data_and_records_the_decision_branch(minimal):
    instance = minimal.start(CUSTOMER, at=MONDAY)
    entry = minimal.fire(instance, "submit", CUSTOMER, {"in_warranty": True, "model": "X1"}, at=at(hours=1))
    assert instance.state == "accept"
    assert instance.data == {"in_warranty": True, "model": "X1"}
    assert (entry.source, entry.dest, entry.state) == ("apply", "check_warranty", "accept")
    assert [(b.decision, b.branch, b.dest) for b in entry.branches] == [("check_warranty", 0, "accept")]
    assert list(entry.steps()) == [("apply", "check_warranty"), ("check_warranty", "accept")]


def test_the_default_branch_is_recorded_as_none(minimal):
    instance = quoted(minimal)
    assert [(b.branch, b.dest) for b in instance.history[-1].branches] == [(None, "quote")]


def test_an_unknown_trigger_is_refused_listing_the_ones_that_leave_the_state(minimal):
    instance = quoted(minimal)
    with pytest.raises(UnknownTrigger) as refused:
        minimal.fire(instance, "accept", CLERK)
    assert refused.value.allowed == ("send_quote", "escalate", "withdraw", "hold")
    assert "`accept` does not leave state `quote`" in str(refused.value)
    assert "`send_quote`, `escalate`, `withdraw`, `hold`" in str(refused.value)
    assert (refused.value.instance_id, refused.value.state, refused.value.trigger) == (instance.id, "quote", "accept")


def test_a_final_state_admits_no_trigger(minimal):
    instance = minimal.start(CUSTOMER)
    minimal.fire(instance, "withdraw", CUSTOMER)
    with pytest.raises(UnknownTrigger, match="has finished .state `withdrawn`.; it takes no more events"):
        minimal.fire(instance, "withdraw", CUSTOMER)


def test_a_wrong_role_is_refused_with_the_roles_needed(minimal):
    instance = quoted(minimal)
    with pytest.raises(PermissionDenied, match=r"`li` \(roles: `clerk`\) may not fire `send_quote`.*`supervisor`"):
        minimal.fire(instance, "send_quote", CLERK, {"quote": 100})


def test_a_payload_that_breaks_the_form_is_refused_field_by_field(minimal):
    instance = quoted(minimal)
    with pytest.raises(InvalidPayload) as refused:
        minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": "cheap"})
    assert refused.value.problems == ("payload.quote: must be a number, got text `cheap`",)
    with pytest.raises(InvalidPayload, match="payload.quote: is required; fill it in"):
        minimal.fire(instance, "send_quote", SUPERVISOR, {})


@pytest.mark.parametrize(
    "payload, words",
    [
        ("not a mapping", "must be an object"),
        ({"quote": float("nan")}, "nan is not a JSON number"),
        ({"quote": {1: 2}}, "the key 1 is not text"),
        ({"when": dt.date(2026, 1, 1)}, "date values"),
    ],
)
def test_a_payload_that_is_not_json_is_refused(minimal, payload, words):
    instance = quoted(minimal)
    with pytest.raises(InvalidPayload, match=words):
        minimal.fire(instance, "send_quote", SUPERVISOR, payload)


def test_a_false_guard_is_refused_naming_the_condition(minimal):
    instance = quoted(minimal)
    with pytest.raises(GuardFailed, match=r"the condition of `send_quote` does not hold: `payload.quote <= 500`"):
        minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": 900})


def test_data_that_would_break_the_data_schema_is_refused(minimal):
    instance = quoted(minimal)
    with pytest.raises(InvalidData) as refused:
        minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": -5})
    assert refused.value.problems == ("data.quote: must be at least 0, got `-5`",)


def test_every_refusal_changes_nothing(minimal):
    instance = quoted(minimal)
    before = snapshot(instance)
    refusals = [
        lambda: minimal.fire(instance, "accept", CLERK),
        lambda: minimal.fire(instance, "send_quote", CLERK, {"quote": 100}),
        lambda: minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": "x"}),
        lambda: minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": 900}),
        lambda: minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": -5}),
        lambda: minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": 1}, at=at(days=-1)),
    ]
    for refuse in refusals:
        with pytest.raises(Exception) as refused:
            refuse()
        assert refused.type.__module__ == "engine.errors"
        assert snapshot(instance) == before


def test_a_callers_later_changes_to_the_payload_do_not_reach_the_record(minimal):
    instance = minimal.start(CUSTOMER)
    payload = {"in_warranty": True, "model": "X1"}
    minimal.fire(instance, "submit", CUSTOMER, payload)
    payload["model"] = "changed"
    assert instance.history[-1].payload["model"] == "X1"
    assert instance.data["model"] == "X1"


# --- sign-offs -----------------------------------------------------------------------------------------


def test_a_signoff_records_who_signed_as_which_role_and_when(minimal):
    instance = quoted(minimal)
    entry = minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": 300}, at=at(hours=2))
    assert [(s.actor, s.role, s.at) for s in entry.signatures] == [("zhou", "supervisor", at(hours=2))]


def test_the_actor_of_an_earlier_step_may_not_sign(minimal):
    # In the fixture the supervisor's signature on the quote may not come from whoever applied.
    both = Actor("wang", ["customer", "supervisor"])
    instance = minimal.start(both)
    minimal.fire(instance, "submit", both, {"in_warranty": False, "model": "X1"})
    with pytest.raises(
        PermissionDenied, match="`wang` may not sign `send_quote` as `supervisor`: they acted on `apply`"
    ):
        minimal.fire(instance, "send_quote", both, {"quote": 100})
    minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": 100})


def test_the_repairing_engineer_may_not_sign_the_qc_release(repair):
    instance = _drive_to_quality_check(repair)
    tests = {"tests": [{"item": "功能测试", "passed": True}]}
    with pytest.raises(PermissionDenied, match="`liu` may not sign `pass` as `engineer`: they acted on `repair`"):
        repair.fire(instance, "pass", Actor("liu", ["engineer"]), tests, at=at(days=2))
    entry = repair.fire(instance, "pass", Actor("sun", ["engineer"]), tests, at=at(days=2))
    assert [(s.actor, s.role) for s in entry.signatures] == [("sun", "engineer")]


# --- what may be fired now -------------------------------------------------------------------------------


def test_available_lists_what_this_actor_may_fire_with_its_form(minimal):
    instance = quoted(minimal)
    choices = {c.trigger: c for c in minimal.available(instance, SUPERVISOR)}
    assert list(choices) == ["send_quote", "escalate", "hold"]
    send = choices["send_quote"]
    assert (send.label.zh, send.label.en, send.dest) == ("发送报价", "Send quote", "accept")
    assert send.payload_schema == {"type": "object", "properties": {"quote": {"type": "number"}}, "required": ["quote"]}
    assert send.ready is None  # the condition reads the payload
    assert [s.role for s in send.signoffs] == ["supervisor"]
    assert [c.trigger for c in minimal.available(instance, CUSTOMER)] == ["withdraw"]
    assert minimal.available(instance, Actor("x", ["auditor"])) == ()


def test_available_leaves_out_a_signature_the_actor_is_barred_from(minimal):
    both = Actor("wang", ["customer", "supervisor"])
    instance = minimal.start(both)
    minimal.fire(instance, "submit", both, {"in_warranty": False, "model": "X1"})
    assert "send_quote" not in [c.trigger for c in minimal.available(instance, both)]


def test_available_writes_out_references_so_the_form_schema_stands_alone(fixture_text):
    # A form built from `available` has no definition to follow `$ref: "#/records/..."` into.
    exchange = Runtime(load_process(PROCESSES / "exchange.yaml"), clock=lambda: MONDAY)
    customer = Actor("chen", ["customer"])
    [submit] = exchange.available(exchange.start(customer), customer)
    assert submit.payload_schema == thaw_json(exchange.process.document)["records"]["return_application"]["fields"]
    form = jsonschema.Draft202012Validator(submit.payload_schema)
    application = {
        "customer_name": "陈小姐",
        "contact": "136",
        "product": "项链",
        "order_no": "SO-1",
        "proof_of_purchase": "发票",
        "purchase_date": "2026-11-21",
        "amount_paid": 2680,
        "reason": "偏短",
        "request_type": "exchange",
    }
    assert form.is_valid(application) and not form.is_valid({**application, "amount_paid": 0})

    # A reference with keywords beside it keeps them, and the target joins them under `allOf`.
    text = mutate(
        fixture_text,
        (
            "model: {type: string}\n          required: [in_warranty, model]",
            "model: {$ref: '#/records/repair_order/fields/properties/model', title: 型号}\n"
            "          required: [in_warranty, model]",
        ),
    )
    runtime = Runtime(load_process_text(text, "m.yaml"), clock=lambda: MONDAY)
    submit, _withdraw = runtime.available(runtime.start(CUSTOMER), CUSTOMER)
    assert submit.payload_schema["properties"]["model"] == {"title": "型号", "allOf": [{"type": "string"}]}


# --- time ------------------------------------------------------------------------------------------------


def test_working_day_limits_count_on_the_business_calendar(minimal):
    friday_afternoon = dt.datetime(2026, 9, 25, 17, 0, tzinfo=SHANGHAI)  # 2026-10-01 is a holiday
    instance = quoted(minimal, when=friday_afternoon)
    # 3 working days of 8 hours from Friday 17:00: 1h Fri, 8h Mon, 8h Tue, 7h Wed → Wed 17:00.
    due = dt.datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    assert [(d.fire, d.due) for d in instance.deadlines] == [(None, due), ("escalate", due)]


def test_overdue_lists_the_limits_passed(minimal):
    instance = quoted(minimal)
    assert minimal.overdue(instance, at(days=1)) == ()
    assert [d.fire for d in minimal.overdue(instance, at(days=5))] == [None, "escalate"]


def test_advance_fires_a_due_deadline_at_its_own_time_once_per_stay(minimal):
    instance = quoted(minimal)
    due = instance.deadlines[1].due
    assert minimal.advance(instance, due - dt.timedelta(seconds=1)).fired == ()
    [entry] = minimal.advance(instance, at(days=20)).fired
    assert (entry.trigger, entry.at, entry.actor, entry.by_deadline) == ("escalate", due, "procflow:clock", True)
    assert instance.state == "quote"
    # Back into the same state: the clock keeps running and the time limit stays passed.
    assert instance.entered_at == MONDAY
    assert [(d.fire, d.due) for d in instance.deadlines] == [(None, due)]
    assert minimal.advance(instance, at(days=40)).fired == ()


def test_leaving_a_state_closes_its_deadlines_and_opens_the_next_ones(minimal):
    instance = quoted(minimal)
    minimal.fire(instance, "send_quote", SUPERVISOR, {"quote": 100}, at=at(hours=3))
    assert instance.state == "accept"
    assert [(d.state, d.due, d.fire) for d in instance.deadlines] == [("accept", at(hours=27), None)]


def test_a_deadline_whose_transition_is_refused_stays_open_and_is_reported(minimal):
    text = mutate(
        FIXTURE.read_text(encoding="utf-8"),
        (
            "        dest: quote\n        roles: [supervisor]\n",
            "        dest: quote\n        roles: [supervisor]\n        conditions: data.quote > 0\n",
        ),
    )
    runtime = Runtime(load_process_text(text, "m.yaml"))
    instance = quoted(runtime)
    result = runtime.advance(instance, at(days=20))
    assert result.fired == ()
    [(deadline, refusal)] = result.refused
    assert deadline.fire == "escalate" and isinstance(refusal, GuardFailed)
    assert len(instance.history) == 2


def test_the_repair_escalates_after_three_days_and_goes_overdue_after_seven(repair):
    instance = _drive_to_repair(repair)
    assert [e.trigger for e in repair.advance(instance, instance.entered_at + dt.timedelta(days=3)).fired] == [
        "escalate"
    ]
    assert instance.state == "repair"
    assert [e.trigger for e in repair.advance(instance, instance.entered_at + dt.timedelta(days=8)).fired] == [
        "overdue"
    ]
    assert instance.state == "repair_overdue"


@pytest.mark.parametrize(
    "moment, words",
    [(dt.datetime(2026, 11, 23, 9, 0), "must carry their UTC offset"), (MONDAY - dt.timedelta(hours=1), "is before")],
)
def test_times_without_an_offset_or_out_of_order_are_refused(minimal, moment, words):
    instance = minimal.start(CUSTOMER, at=MONDAY)
    with pytest.raises(InvalidTime, match=words):
        minimal.fire(instance, "withdraw", CUSTOMER, at=moment)


# --- one machine per definition ------------------------------------------------------------------------


def test_one_transitions_machine_serves_every_instance(monkeypatch):
    built = []
    original = transitions.Machine.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting)
    runtime = Runtime(load_process(FIXTURE))
    for _ in range(5):
        instance = quoted(runtime)
        runtime.fire(instance, "send_quote", SUPERVISOR, {"quote": 10})
    assert len(built) == 1


def test_with_transitions_log_on_the_machine_takes_transitions_own_way_to_the_same_place(minimal, caplog):
    # The lean event leaves out transitions' log lines; whoever turns them on gets transitions' own trigger.
    quiet = quoted(minimal)
    with caplog.at_level("DEBUG", logger="transitions.core"):
        logged = quoted(minimal)
        minimal.fire(logged, "send_quote", SUPERVISOR, {"quote": 10}, at=MONDAY)
    minimal.fire(quiet, "send_quote", SUPERVISOR, {"quote": 10}, at=MONDAY)
    assert any("Initiating transition" in record.getMessage() for record in caplog.records)
    assert (logged.state, logged.data, logged.history[1:]) == (quiet.state, quiet.data, quiet.history[1:])


def test_a_runtime_refuses_an_instance_of_another_definition(minimal, repair):
    instance = minimal.start(CUSTOMER)
    with pytest.raises(InstanceFormatError, match="runs on `minimal_repair` version 1"):
        repair.fire(instance, "submit", CUSTOMER)


# --- history and replay ------------------------------------------------------------------------------------


def test_replay_reproduces_state_data_and_deadlines(repair):
    instance = _drive_to_quality_check(repair)
    replayed = repair.replay(instance.history, instance_id=instance.id)
    assert replayed == instance
    repair.verify(instance)


def test_the_json_record_round_trips_and_still_verifies(repair):
    instance = _drive_to_quality_check(repair)
    document = json.loads(json.dumps(instance_to_json(instance), ensure_ascii=False))
    loaded = instance_from_json(document)
    assert loaded == instance
    repair.verify(loaded)


@pytest.mark.parametrize(
    "tamper, words",
    [
        (lambda h: h[2].payload.update({"in_warranty": False}), "entry 2: branches recorded"),
        (
            lambda h: h.__setitem__(3, _replace(h[3], actor="mallory", roles=("customer",))),
            "entry 3: replaying it is refused",
        ),
        (lambda h: h.__setitem__(1, _replace(h[1], dest="rejected")), "entry 1: dest recorded 'rejected'"),
        (lambda h: h.pop(0), "begins with the entry that started the instance"),
    ],
)
def test_a_tampered_history_fails_replay_naming_the_entry(repair, tamper, words):
    instance = _drive_to_quality_check(repair)
    history = [copy.deepcopy(e) for e in instance.history]
    tamper(history)
    with pytest.raises(ReplayMismatch, match=words):
        repair.replay(history, instance_id=instance.id)


def test_verify_notices_a_stored_state_that_the_history_does_not_give(repair):
    instance = _drive_to_quality_check(repair)
    instance.data["quote"] = 0
    with pytest.raises(ReplayMismatch, match="its data is recorded as"):
        repair.verify(instance)


# --- helpers -----------------------------------------------------------------------------------------------


def _replace(entry: Entry, **changes) -> Entry:
    import dataclasses

    return dataclasses.replace(entry, **changes)


def _drive_to_repair(runtime: Runtime):
    """return_repair, in warranty, from application to the repair step."""
    cs, customer = Actor("li", ["cs_agent"]), Actor("wang", ["customer"])
    engineer, supervisor = Actor("liu", ["engineer"]), Actor("zhou", ["supervisor"])
    instance = runtime.start(customer, at=MONDAY)
    steps = [
        (
            "submit",
            customer,
            {
                "channel": "电话",
                "customer_name": "王",
                "contact": "1",
                "model": "X",
                "fault_description": "坏",
                "proof_of_purchase": "P",
            },
        ),
        ("reviewed", cs, {"in_warranty": True}),
        (
            "issue_order",
            cs,
            {
                "order_no": "R1",
                "customer_name": "王",
                "contact": "1",
                "model": "X",
                "fault_description": "坏",
                "ship_to_address": "A",
                "packing_notes": "N",
            },
        ),
        ("shipped", customer, {"tracking_no": "SF1"}),
        (
            "register",
            Actor("chen", ["receiver"]),
            {
                "received_date": "2026-11-24",
                "exterior_condition": "ok",
                "model_received": "X",
                "model_matches": True,
                "fault_matches": True,
            },
        ),
        ("diagnosed", engineer, {"findings": "f", "fault_cause": "c"}),
        ("submit_plan", engineer, {"repair_content": "r", "parts": [], "estimated_hours": 1, "cost_estimate": 10}),
        ("approve", supervisor, {}),
        ("plan_sent", cs, {"channel": "电话"}),
        ("sign", customer, {"accepts_charge": False}),
    ]
    for hour, (trigger, actor, payload) in enumerate(steps, start=1):
        runtime.fire(instance, trigger, actor, payload, at=at(hours=hour))
    assert instance.state == "repair"
    return instance


def _drive_to_quality_check(runtime: Runtime):
    instance = _drive_to_repair(runtime)
    repaired = {"parts_replaced": [], "repair_hours": 1, "technical_notes": "n"}
    runtime.fire(instance, "repaired", Actor("liu", ["engineer"]), repaired, at=at(days=1))
    assert instance.state == "quality_check"
    return instance

"""Signatures on a transition: several people's (the advisor's and the customer's), signatures needed
only sometimes (``when``), "the same person as" the actor of a step (``same_actor_as``) besides
``not_actor_of``, each over the whole history or the current round of a loop (``scope``); a missing
signature is refused as one (``missing-signature``), naming who must sign, and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import position

from engine import (
    Actor,
    DefinitionError,
    MissingSignature,
    PermissionDenied,
    Runtime,
    Severity,
    UnknownTrigger,
    instance_from_json,
    instance_to_json,
    load_process_text,
    validate_text,
)
from engine.service import Workflows

pytest_plugins = ["store_support"]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
RECEPTION = Actor("li", ["clerk"])
OTHER_CLERK = Actor("zhang", ["clerk"])
ADVISOR_A = Actor("wu", ["advisor"])
ADVISOR_B = Actor("zhou", ["advisor"])
CUSTOMER = Actor("wang", ["customer"])
MANAGER = Actor("gao", ["manager"])


def at(hours: float) -> dt.datetime:
    return MONDAY + dt.timedelta(hours=hours)


DEMO = """\
procflow: 1
id: signatures_demo
version: 1
title: {zh: 签字, en: Signatures}
owner: advisor
sources:
  procedure: {file: 001_0fc7a3e77576975f.txt, title: {zh: 4S 店服务流程, en: 4S service}}
roles:
  clerk: {zh: 接待, en: Reception}
  advisor: {zh: 服务顾问, en: Service advisor}
  customer: {zh: 客户, en: Customer, external: true}
  manager: {zh: 经理, en: Manager}
data:
  type: object
  properties:
    amount: {type: number}
states:
  reception:
    type: start
    zh: 接车
    en: Reception
    role: clerk
    source: "1"
    on:
      - trigger: received
        zh: 接车
        en: Received
        dest: work
        payload:
          type: object
          properties:
            amount: {type: number}
          required: [amount]
        set: {amount: payload.amount}
  work:
    type: task
    zh: 维修
    en: Work
    role: advisor
    source: "2"
    on:
      - trigger: worked
        zh: 完工
        en: Worked
        dest: check
  check:
    type: task
    zh: 交车确认
    en: Hand-over
    role: advisor
    source: "3"
    on:
      - trigger: approve
        zh: 双方签字确认
        en: Both sign
        dest: done
        signoffs:
          - {role: advisor, zh: 服务顾问签字, en: Advisor's signature}
          - {role: customer, zh: 客户签字, en: Customer's signature}
          - {role: manager, when: data.amount > 1000}
      - trigger: redo
        zh: 返工
        en: Redo
        dest: work
      - trigger: confirm_same
        zh: 接待本人确认
        en: Confirmed by the receptionist
        dest: done
        roles: [clerk]
        signoffs:
          - {role: clerk, same_actor_as: reception}
      - trigger: release_round
        zh: 本轮未维修者放行
        en: Released by someone who did not work this round
        dest: done
        signoffs:
          - {role: advisor, not_actor_of: [work], scope: round}
      - trigger: release_history
        zh: 从未维修者放行
        en: Released by someone who never worked on it
        dest: done
        signoffs:
          - {role: advisor, not_actor_of: [work]}
      - trigger: confirm_round
        zh: 本轮维修者确认
        en: Confirmed by who worked this round
        dest: done
        signoffs:
          - {role: advisor, same_actor_as: work, scope: round}
      - trigger: confirm_history
        zh: 维修过的人确认
        en: Confirmed by anyone who worked on it
        dest: done
        signoffs:
          - {role: advisor, same_actor_as: [work]}
  done:
    type: final
    zh: 结束
    en: Done
    source: "4"
"""


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(load_process_text(DEMO, "demo.yaml"), clock=lambda: at(100))


def at_check(runtime: Runtime, amount: float = 500, worker: Actor = ADVISOR_A):  # type: ignore[no-untyped-def]
    instance = runtime.start(RECEPTION, at=at(0))
    runtime.fire(instance, "received", RECEPTION, {"amount": amount}, at=at(1))
    runtime.fire(instance, "worked", worker, {}, at=at(2))
    return instance


# --- several signatures ---------------------------------------------------------------------------


def test_a_transition_needing_two_peoples_signatures_is_refused_until_the_other_has_signed(runtime):
    instance = at_check(runtime)
    before = instance_to_json(instance)
    with pytest.raises(MissingSignature) as refused:
        runtime.fire(instance, "approve", ADVISOR_B, {}, at=at(3))
    assert refused.value.code == "missing-signature"
    assert isinstance(refused.value, PermissionDenied)  # a missing signature is still a matter of who
    assert refused.value.missing == ("customer",)
    message = str(refused.value)
    assert "it must be signed as `customer` (客户, Customer)" in message
    assert "`sign:approve`" in message
    assert instance_to_json(instance) == before


def test_the_customer_signs_first_then_the_advisor_fires_and_both_signatures_are_kept(runtime):
    instance = at_check(runtime)
    signed = runtime.fire(instance, "sign:approve", CUSTOMER, {}, at=at(3))
    assert (signed.source, signed.dest, [(s.role, s.actor) for s in signed.signatures]) == (
        "check",
        "check",
        [("customer", "wang")],
    )
    entry = runtime.fire(instance, "approve", ADVISOR_B, {}, at=at(4))
    assert [(s.role, s.actor, s.at) for s in entry.signatures] == [("advisor", "zhou", at(4))]
    assert instance.state == "done"
    assert runtime.replay(instance.history, instance_id=instance.id) == instance
    assert instance_from_json(instance_to_json(instance)) == instance


def test_a_signature_given_ahead_counts_only_in_that_stay(runtime):
    instance = at_check(runtime)
    runtime.fire(instance, "sign:approve", CUSTOMER, {}, at=at(3))
    runtime.fire(instance, "redo", ADVISOR_B, {}, at=at(4))
    runtime.fire(instance, "worked", ADVISOR_A, {}, at=at(5))
    with pytest.raises(MissingSignature, match="`customer`"):
        runtime.fire(instance, "approve", ADVISOR_B, {}, at=at(6))


def test_someone_with_no_signature_to_give_is_refused_and_nothing_changes(runtime):
    instance = at_check(runtime)
    before = instance_to_json(instance)
    with pytest.raises(MissingSignature, match="`li` has no signature of `approve` to give"):
        runtime.fire(instance, "sign:approve", RECEPTION, {}, at=at(3))
    with pytest.raises(UnknownTrigger, match="`redo` does not leave state `check` with a signature"):
        runtime.fire(instance, "sign:redo", CUSTOMER, {}, at=at(3))
    assert instance_to_json(instance) == before


def test_available_offers_the_customer_the_signature_and_not_the_advisor_the_transition_yet(runtime):
    instance = at_check(runtime)
    customer = {c.trigger: c for c in runtime.available(instance, CUSTOMER)}
    assert list(customer) == ["sign:approve"]
    assert [s.role for s in customer["sign:approve"].signoffs] == ["customer"]
    assert "approve" not in [c.trigger for c in runtime.available(instance, ADVISOR_B)]
    runtime.fire(instance, "sign:approve", CUSTOMER, {}, at=at(3))
    assert "approve" in [c.trigger for c in runtime.available(instance, ADVISOR_B)]


# --- conditional signatures -------------------------------------------------------------------------


def test_a_conditional_signature_is_needed_only_when_its_condition_holds(runtime):
    small = at_check(runtime, amount=500)
    runtime.fire(small, "sign:approve", CUSTOMER, {}, at=at(3))
    runtime.fire(small, "approve", ADVISOR_B, {}, at=at(4))
    assert small.state == "done"

    large = at_check(runtime, amount=5000)
    runtime.fire(large, "sign:approve", CUSTOMER, {}, at=at(3))
    with pytest.raises(MissingSignature) as refused:
        runtime.fire(large, "approve", ADVISOR_B, {}, at=at(4))
    assert refused.value.missing == ("manager",)
    assert "it must be signed as `manager` (经理, Manager)" in str(refused.value)
    runtime.fire(large, "sign:approve", MANAGER, {}, at=at(5))
    runtime.fire(large, "approve", ADVISOR_B, {}, at=at(6))
    assert large.state == "done"


# --- the same actor as, the actor of: whole history or this round -------------------------------------


def test_same_actor_as_wants_whoever_did_that_step(runtime):
    instance = at_check(runtime)
    with pytest.raises(MissingSignature, match=r"by the one who acted on `reception` \(`li`\)"):
        runtime.fire(instance, "confirm_same", OTHER_CLERK, {}, at=at(3))
    runtime.fire(instance, "confirm_same", RECEPTION, {}, at=at(3))
    assert instance.state == "done"


def looped(runtime: Runtime):  # type: ignore[no-untyped-def]
    """A worked round 1, was sent back, and B worked round 2."""
    instance = at_check(runtime, worker=ADVISOR_A)
    runtime.fire(instance, "redo", ADVISOR_B, {}, at=at(3))
    runtime.fire(instance, "worked", ADVISOR_B, {}, at=at(4))
    return instance


def test_not_actor_of_over_the_round_lets_an_earlier_rounds_worker_sign(runtime):
    instance = looped(runtime)
    with pytest.raises(MissingSignature, match="`zhou` may not sign `release_round` as `advisor`: they acted on"):
        runtime.fire(instance, "release_round", ADVISOR_B, {}, at=at(5))
    runtime.fire(instance, "release_round", ADVISOR_A, {}, at=at(5))
    assert instance.state == "done"


def test_not_actor_of_over_the_history_bars_every_rounds_worker(runtime):
    instance = looped(runtime)
    before = instance_to_json(instance)
    for advisor in (ADVISOR_A, ADVISOR_B):
        with pytest.raises(MissingSignature, match="they acted on `work`"):
            runtime.fire(instance, "release_history", advisor, {}, at=at(5))
    assert instance_to_json(instance) == before


def test_same_actor_as_over_the_round_wants_this_rounds_worker(runtime):
    instance = looped(runtime)
    with pytest.raises(MissingSignature, match=r"the one who acted on `work` in this round \(`zhou`\)"):
        runtime.fire(instance, "confirm_round", ADVISOR_A, {}, at=at(5))
    runtime.fire(instance, "confirm_round", ADVISOR_B, {}, at=at(5))
    assert instance.state == "done"


def test_same_actor_as_over_the_history_takes_any_rounds_worker(runtime):
    instance = looped(runtime)
    runtime.fire(instance, "confirm_history", ADVISOR_A, {}, at=at(5))
    assert instance.state == "done"
    runtime.verify(instance)


# --- stores ----------------------------------------------------------------------------------------------


def test_every_store_keeps_signatures_given_ahead(store_url):
    with Workflows(store_url, clock=lambda: at(100)) as workflows:
        workflows.register(load_process_text(DEMO, "demo.yaml"))
        workflows.start("signatures_demo", RECEPTION, at=at(0), instance_id="S-1")
        workflows.fire("S-1", "received", RECEPTION, {"amount": 5000}, at=at(1))
        workflows.fire("S-1", "worked", ADVISOR_A, {}, at=at(2))
        workflows.fire("S-1", "sign:approve", CUSTOMER, {}, at=at(3))
        with pytest.raises(MissingSignature):
            workflows.fire("S-1", "approve", ADVISOR_B, {}, at=at(4))
        workflows.fire("S-1", "sign:approve", MANAGER, {}, at=at(5))
        workflows.fire("S-1", "approve", ADVISOR_B, {}, at=at(6))
        stored = workflows.get("S-1")
        assert [(s.role, s.actor) for e in stored.history for s in e.signatures] == [
            ("customer", "wang"),
            ("manager", "gao"),
            ("advisor", "zhou"),
        ]
        workflows.verify("S-1")


# --- bad definitions, located ----------------------------------------------------------------------------


BAD = [
    pytest.param(
        ("when: data.amount > 1000", "when: data.amont > 1000"),
        "unknown-field",
        "when: data.amont",
        ("did you mean `amount`?",),
        id="when-unknown-field",
    ),
    pytest.param(
        ("same_actor_as: reception", "same_actor_as: recepton"),
        "unknown-reference",
        "same_actor_as: recepton",
        ("did you mean `reception`?",),
        id="same-actor-unknown-state",
    ),
    pytest.param(
        ("same_actor_as: [work]", "same_actor_as: [wrk]"),
        "unknown-reference",
        "same_actor_as: [wrk]",
        ("did you mean `work`?",),
        id="same-actor-list-unknown-state",
    ),
    pytest.param(
        ("{role: advisor, not_actor_of: [work]}", "{role: advisor, not_actor_of: [work], same_actor_as: work}"),
        "signer-impossible",
        "same_actor_as: work}",
        ("`work`",),
        id="same-and-not-actor",
    ),
    pytest.param(
        ("{role: clerk, same_actor_as: reception}", "{role: clerck, same_actor_as: reception}"),
        "unknown-reference",
        "role: clerck",
        ("did you mean `clerk`?",),
        id="unknown-role",
    ),
]


@pytest.mark.parametrize(("edit", "code", "needle", "words"), BAD)
def test_each_bad_signature_is_an_error_located_where_it_is_written(edit, code, needle, words):
    old, new = edit
    assert old in DEMO
    text = DEMO.replace(old, new, 1)
    found = [p for p in validate_text(text, "demo.yaml").problems if p.code == code]
    assert found, [(p.code, p.message) for p in validate_text(text, "demo.yaml").problems]
    assert found[0].severity is Severity.ERROR
    for word in words:
        assert word in found[0].message
    assert found[0].location.line == position(text, needle)[0]
    with pytest.raises(DefinitionError):
        load_process_text(text, "demo.yaml")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("scope: round}", "scope: loop}", ("scope",)),
        ("when: data.amount > 1000", "when: 1000", ("when",)),
        ("same_actor_as: reception", "same_actor_as: Reception", ("same_actor_as",)),
    ],
    ids=["scope-unknown", "when-not-text", "same-actor-not-an-identifier"],
)
def test_a_misshapen_signature_is_refused_by_the_schema_in_words(old, new, words):
    text = DEMO.replace(old, new, 1)
    problems = validate_text(text, "demo.yaml").problems
    assert any(p.severity is Severity.ERROR for p in problems)
    assert any(all(w in p.message for w in words) for p in problems), [p.message for p in problems]


def test_the_chart_says_when_a_signature_is_needed_and_by_whom():
    from engine.render.diagram import extract

    diagram = extract(load_process_text(DEMO, "demo.yaml"), "en")
    notes = {label.text: label.note or "" for edge in diagram.edges for label in edge.labels}
    assert "signed: Manager (only when data.amount > 1000)" in notes["Both sign"]
    assert "signed: Reception (by the actor of reception)" in notes["Confirmed by the receptionist"]

"""The static checks (``engine.checks``), each reached by one small edit of the valid fixture.

Every case starts from ``tests/fixtures/minimal.yaml``, applies one textual edit, validates the
result and asserts the problem's code, severity, exact place (line and column, computed from the
edited text so the cases survive changes to the fixture) and the words of its message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Sequence
from types import MappingProxyType

import pytest
from conftest import mutate, position

from engine import Actor, InvalidData, Runtime, load_process_text
from engine.checks import check_dead_ends, state_graph
from engine.errors import Problem, Severity
from engine.processes import ValidationReport, validate_text
from engine.schema import bundled_registry

FILE = "m.yaml"
JARGON = ("is not valid under any of the given schemas", "Additional properties", "Failed validating")

ERROR, WARNING = Severity.ERROR, Severity.WARNING

# The fixture's shared `withdraw` transition (`source: "*"`) gives every non-final state a way to the
# final state `withdrawn`; a trap needs that way closed for the states in the cycle.
WITHDRAW_FROM_ALL = '    source: "*"\n'
ADD_AUDITOR = ("  supervisor: {zh: 维修主管", "  auditor: {zh: 审计员, en: Auditor}\n  supervisor: {zh: 维修主管")


# --- helpers -------------------------------------------------------------------------------------------


def validate(text: str) -> ValidationReport:
    report = validate_text(text, FILE)
    for problem in report.problems:
        assert problem.location.file == FILE
        assert not any(phrase in problem.message for phrase in JARGON), problem.message
    return report


def problem_at(report: ValidationReport, code: str, line: int, column: int) -> Problem:
    """The one problem with ``code`` at ``line:column``; fails listing every problem otherwise."""
    found = [p for p in report.problems if p.code == code and (p.location.line, p.location.column) == (line, column)]
    listing = "\n".join(f"  {p.code} {p}" for p in report.problems)
    assert len(found) == 1, f"expected one `{code}` at {line}:{column}; got:\n{listing}"
    return found[0]


def assert_words(message: str, words: Sequence[str]) -> None:
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# --- one case per kind of problem ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    edits: tuple[tuple[str, str], ...]
    code: str
    severity: Severity
    needle: str
    at: str | None
    words: tuple[str, ...]


def case(id: str, edits, code: str, severity: Severity, needle: str, at: str | None, *words: str, marks=()):
    if isinstance(edits[0], str):
        edits = (edits,)
    return pytest.param(Case(tuple(edits), code, severity, needle, at, words), id=id, marks=marks)


NO_FINAL_STATES = (
    "  done:\n    type: final\n    zh: 结束\n    en: Done\n\n  withdrawn:\n    type: final\n",
    "  done:\n    type: wait\n    zh: 结束\n    en: Done\n"
    "    on: [{trigger: again, zh: 再来, en: Again, dest: apply, roles: [customer]}]\n\n"
    "  withdrawn:\n    type: wait\n"
    "    on: [{trigger: again, zh: 再来, en: Again, dest: apply, roles: [customer]}]\n",
)

CASES = [
    # -- the graph
    case(
        "no-start",
        ("    type: start\n", "    type: task\n"),
        "no-start",
        ERROR,
        "\nstates:\n",
        "states:",
        "no start state",
        "`type: start`",
    ),
    case(
        "two-starts",
        ("  accept:\n    type: task\n", "  accept:\n    type: start\n"),
        "two-starts",
        ERROR,
        "  accept:\n    type: start\n",
        "start\n",
        "`accept` is a second start state",
        "the first is `apply`",
    ),
    case(
        "unreachable",
        ("        dest: check_warranty\n", "        dest: quote\n"),
        "unreachable",
        ERROR,
        "\n  check_warranty:\n",
        "check_warranty",
        "`check_warranty` cannot be reached",
        "start state `apply`",
    ),
    case(
        "trap-cycle",
        (
            (WITHDRAW_FROM_ALL, "    source: [apply, check_warranty, quote]\n"),
            ("        dest: done\n", "        dest: on_hold\n"),
        ),
        "trap",
        ERROR,
        "\n  accept:\n",
        "accept",
        "from state `accept` no final state can be reached",
        "only leads to `on_hold`",
    ),
    case(
        "trap-cycle-other-state",
        (
            (WITHDRAW_FROM_ALL, "    source: [apply, check_warranty, quote]\n"),
            ("        dest: done\n", "        dest: on_hold\n"),
        ),
        "trap",
        ERROR,
        "\n  on_hold:\n",
        "on_hold",
        "from state `on_hold` no final state can be reached",
        "`accept`",
    ),
    case("no-final", NO_FINAL_STATES, "no-final", ERROR, "\nstates:\n", "states:", "no final state", "`type: final`"),
    # -- references
    case(
        "unknown-dest",
        ("        dest: done\n", "        dest: dnoe\n"),
        "unknown-reference",
        ERROR,
        "dest: dnoe",
        "dnoe",
        "`dnoe` is not a declared state",
        "did you mean `done`?",
    ),
    case(
        "unknown-branch-dest",
        ("        dest: accept\n    default:", "        dest: acept\n    default:"),
        "unknown-reference",
        ERROR,
        "dest: acept",
        "acept",
        "`acept` is not a declared state",
        "did you mean `accept`?",
    ),
    case(
        "unknown-default-dest",
        ("dest: quote}", "dest: qoute}"),
        "unknown-reference",
        ERROR,
        "dest: qoute}",
        "qoute",
        "`qoute` is not a declared state",
        "did you mean `quote`?",
    ),
    case(
        "unknown-shared-source",
        ("source: [quote, accept]", "source: [quote, acept]"),
        "unknown-reference",
        ERROR,
        "source: [quote, acept]",
        "acept",
        "`acept` is not a declared state",
        "did you mean `accept`?",
    ),
    case(
        "unknown-role-on-state",
        ("    role: clerk\n    time_limit: 24h", "    role: clerck\n    time_limit: 24h"),
        "unknown-reference",
        ERROR,
        "role: clerck",
        "clerck",
        "`clerck` is not a declared role",
        "did you mean `clerk`?",
    ),
    case(
        "unknown-role-in-transition-roles",
        ("roles: [clerk]\n\n", "roles: [clark]\n\n"),
        "unknown-reference",
        ERROR,
        "roles: [clark]",
        "clark",
        "`clark` is not a declared role",
        "did you mean `clerk`?",
    ),
    case(
        "unknown-role-in-shared-transition",
        ("roles: [clerk, supervisor]", "roles: [clerk, supervsor]"),
        "unknown-reference",
        ERROR,
        "roles: [clerk, supervsor]",
        "supervsor",
        "`supervsor` is not a declared role",
        "did you mean `supervisor`?",
    ),
    case(
        "unknown-role-in-signoff",
        ("          - role: supervisor\n", "          - role: supervisr\n"),
        "unknown-reference",
        ERROR,
        "- role: supervisr",
        "supervisr",
        "`supervisr` is not a declared role",
        "did you mean `supervisor`?",
    ),
    case(
        "unknown-department-on-role",
        ("department: service}\n  supervisor", "department: servic}\n  supervisor"),
        "unknown-reference",
        ERROR,
        "department: servic}",
        "servic",
        "`servic` is not a declared department",
        "did you mean `service`?",
    ),
    case(
        "unknown-owner",
        ("owner: service\n", "owner: servise\n"),
        "unknown-reference",
        ERROR,
        "owner: servise",
        "servise",
        "`servise` is not a declared department or role",
        "did you mean `service`?",
    ),
    case(
        "unknown-owner-no-close-match",
        ("owner: service\n", "owner: marketing\n"),
        "unknown-reference",
        ERROR,
        "owner: marketing",
        "marketing",
        "`marketing` is not a declared department or role",
        "declared: service, customer, clerk, supervisor",
    ),
    case(
        "unknown-record-in-produces",
        ("produces: [repair_order]", "produces: [repair_ordr]"),
        "unknown-reference",
        ERROR,
        "produces: [repair_ordr]",
        "repair_ordr",
        "`repair_ordr` is not a declared record",
        "did you mean `repair_order`?",
    ),
    case(
        "unknown-source-document",
        ("{document: procedure,", "{document: procedur,"),
        "unknown-reference",
        ERROR,
        "{document: procedur,",
        "procedur",
        "`procedur` is not a declared source document",
        "did you mean `procedure`?",
    ),
    case(
        "unknown-state-in-not-actor-of",
        ("not_actor_of: [apply]", "not_actor_of: [aply]"),
        "unknown-reference",
        ERROR,
        "not_actor_of: [aply]",
        "aply",
        "`aply` is not a declared state",
        "did you mean `apply`?",
    ),
    # -- deadlines and the calendar
    case(
        "deadline-fires-unknown-trigger",
        ("      - fire: escalate\n", "      - fire: escalat\n"),
        "unknown-reference",
        ERROR,
        "fire: escalat\n",
        "escalat",
        "`escalat` is not a declared trigger of state `quote`",
        "did you mean `escalate`?",
    ),
    case(
        "deadline-without-time",
        ("    time_limit: 3 working days\n", ""),
        "deadline-without-time",
        ERROR,
        "      - fire: escalate\n",
        "fire",
        "state `quote`",
        "no `after`",
        "no `time_limit`",
    ),
    case(
        "unknown-timezone",
        ("Asia/Shanghai", "Asia/Shanghia"),
        "unknown-timezone",
        ERROR,
        "timezone: Asia/Shanghia",
        "Asia/Shanghia",
        "`Asia/Shanghia` is not a known time zone",
        "`Asia/Shanghai`",
    ),
    case(
        "deadline-trigger-needs-signature",
        (
            "        dest: quote\n        roles: [supervisor]\n",
            "        dest: quote\n        roles: [supervisor]\n        signoffs: [{role: supervisor}]\n",
        ),
        "deadline-needs-person",
        ERROR,
        "      - fire: escalate\n",
        "escalate",
        "the engine fires `escalate` itself",
        "needs a signature (`supervisor`)",
    ),
    case(
        "deadline-trigger-needs-payload",
        (
            "        dest: quote\n        roles: [supervisor]\n",
            "        dest: quote\n        roles: [supervisor]\n        payload: {type: object, required: [reason]}\n",
        ),
        "deadline-needs-person",
        ERROR,
        "      - fire: escalate\n",
        "escalate",
        "its payload requires `reason`",
    ),
    case(
        "decision-cycle",
        (
            "    default: {zh: 超出保修期, en: Out of warranty, dest: quote}\n",
            "    default: {zh: 超出保修期, en: Out of warranty, dest: recheck}\n"
            "  recheck:\n    type: decision\n    zh: 复核\n    en: Recheck\n    role: clerk\n    source: 三.1\n"
            "    branches: [{when: data.in_warranty, zh: 是, en: Yes, dest: quote}]\n"
            "    default: {zh: 否, en: No, dest: check_warranty}\n",
        ),
        "decision-cycle",
        ERROR,
        "  check_warranty:\n",
        "check_warranty",
        "`check_warranty` → `recheck` → `check_warranty`",
        "put a step on the way",
    ),
    case(
        "working-hours-overlap",
        ('"13:00-18:00"', '"11:00-18:00"'),
        "bad-hours",
        ERROR,
        '"11:00-18:00"',
        None,
        "must not overlap",
    ),
    case(
        "working-hours-out-of-order",
        ('["09:00-12:00", "13:00-18:00"]', '["13:00-18:00", "09:00-12:00"]'),
        "bad-hours",
        ERROR,
        '"09:00-12:00"]',
        None,
        "in order",
    ),
    case(
        "working-hours-end-before-start",
        ('"13:00-18:00"', '"18:00-13:00"'),
        "bad-hours",
        ERROR,
        '"18:00-13:00"',
        None,
        "must end after it starts",
    ),
    case(
        "holiday-and-extra-working-day",
        ('  holidays: ["2026-10-01"]\n', '  holidays: ["2026-10-01"]\n  extra_working_days: ["2026-10-01"]\n'),
        "holiday-and-workday",
        ERROR,
        'extra_working_days: ["2026-10-01"]',
        "[",
        "2026-10-01",
        "both as a holiday and as an extra working day",
    ),
    # -- expressions
    case(
        "expression-syntax-error",
        ("conditions: payload.quote <= 500", "conditions: payload.quote <= 500)"),
        "expression",
        ERROR,
        "conditions: payload.quote <= 500)",
        ")",
        "not a valid expression",
        "')'",
    ),
    case(
        "expression-syntax-error-mid-expression",
        ("conditions: payload.quote <= 500", "conditions: payload.quote <= and 500"),
        "expression",
        ERROR,
        "payload.quote <= and 500",
        "and",
        "not a valid expression",
    ),
    case(
        "expression-syntax-error-in-condition-list",
        (
            "conditions: payload.quote <= 500",
            "conditions:\n          - payload.quote <= 500\n          - payload.quote >> 1",
        ),
        "expression",
        ERROR,
        "- payload.quote >> 1",
        "payload",
        "bitwise operators",
        "are not allowed",
    ),
    case(
        "expression-function-call",
        ("conditions: payload.quote <= 500", "conditions: lenn(payload.quote) <= 500"),
        "expression",
        ERROR,
        "conditions: lenn(",
        "lenn(",
        "unknown function `lenn`",
        "did you mean `len`?",
    ),
    case(
        "expression-dunder-attribute",
        ("conditions: payload.quote <= 500", "conditions: payload.__class__ <= 500"),
        "expression",
        ERROR,
        "payload.__class__",
        "__class__",
        "starting with `_` are not allowed",
    ),
    case(
        "expression-power",
        ("conditions: payload.quote <= 500", "conditions: payload.quote ** 2 <= 500"),
        "expression",
        ERROR,
        "conditions: payload.quote ** 2",
        "payload",
        "powers (`**`) are not allowed",
    ),
    case(
        "zero-iso-time-limit",
        ("time_limit: 24h", "time_limit: PT0S"),
        "zero-time-limit",
        ERROR,
        "time_limit: PT0S",
        "PT0S",
        "`PT0S` is no time at all",
        "at least `1m`",
    ),
    case(
        "zero-iso-deadline",
        ("      - after: 3d\n", "      - after: P0D\n"),
        "zero-time-limit",
        ERROR,
        "after: P0D",
        "P0D",
        "`P0D` is no time at all",
    ),
    case(
        "optional-payload-field-copied-into-required-data",
        ("          required: [in_warranty, model]", "          required: [in_warranty]"),
        "optional-copied",
        WARNING,
        "          model: payload.model",
        "model",
        "transition `submit` sets `model` from `payload.model`, which the payload may leave out",
        "`data.model` does not allow null",
        "add `model` to the payload's `required`",
    ),
    case(
        "expression-division-by-zero",
        ("conditions: payload.quote <= 500", "conditions: payload.quote // 0 <= 500"),
        "expression",
        ERROR,
        "conditions: payload.quote // 0",
        "payload",
        "division by zero",
        "can never be evaluated",
    ),
    case(
        "expression-text-compared-with-number",
        ("conditions: payload.quote <= 500", "conditions: payload.quote <= 500 and 'a' < 1"),
        "expression",
        ERROR,
        "and 'a' < 1",
        "'a'",
        "not text and a number",
    ),
    case(
        "expression-constant-past-the-limit",
        ("conditions: payload.quote <= 500", "conditions: payload.quote <= 99999999999999999999"),
        "expression",
        ERROR,
        "<= 99999999999999999999",
        "9",
        "larger than numbers may be",
    ),
    case(
        "expression-full-width-name",
        ("conditions: payload.quote <= 500", "conditions: ｐａｙｌｏａｄ.quote <= 500"),
        "expression",
        ERROR,
        "conditions: ｐａｙｌｏａｄ",
        "ｐ",
        "look-alike letters",
        "`payload`",
    ),
    case(
        "expression-right-to-left-override",
        ("conditions: payload.quote <= 500", 'conditions: "payload.quote <= 500 or \u202e1 > 0"'),
        "expression",
        ERROR,
        "\u202e1 > 0",
        None,
        "U+202E",
        "what is shown is not what runs",
    ),
    case(
        "expression-unknown-root-in-branch",
        ("      - when: data.in_warranty\n", "      - when: payload.in_warranty\n"),
        "expression",
        ERROR,
        "when: payload.in_warranty",
        "payload",
        "unknown name `payload`",
        "`data`",
    ),
    case(
        "unknown-data-field-in-branch",
        ("      - when: data.in_warranty\n", "      - when: data.in_warranty and data.modle == 'x'\n"),
        "unknown-field",
        ERROR,
        "data.modle",
        None,
        "`data.modle` is not declared under `data.properties`",
        "did you mean `model`?",
    ),
    case(
        "unknown-payload-field-in-conditions",
        ("conditions: payload.quote <= 500", "conditions: payload.quote <= 500 and payload.qoute > 0"),
        "unknown-field",
        ERROR,
        "payload.qoute",
        None,
        "`payload.qoute` is not declared under this transition's `payload.properties`",
        "did you mean `quote`?",
    ),
    case(
        "payload-field-without-payload",
        ("        dest: done\n", "        dest: done\n        conditions: payload.x\n"),
        "unknown-field",
        ERROR,
        "conditions: payload.x",
        "payload.x",
        "`payload.x`",
        "takes no payload",
        "declare `payload:`",
    ),
    case(
        "set-undeclared-data-field",
        ("set: {quote: payload.quote}", "set: {qoute: payload.quote}"),
        "unknown-field",
        ERROR,
        "set: {qoute:",
        "qoute",
        "transition `send_quote` sets `qoute`",
        "not a field under `data.properties`",
        "did you mean `quote`?",
    ),
    # -- transitions
    case(
        "ambiguous-trigger",
        (
            "        dest: done\n",
            "        dest: done\n      - {trigger: accept, zh: 再受理, en: Accept again, dest: on_hold}\n",
        ),
        "ambiguous",
        ERROR,
        "- {trigger: accept, zh: 再受理",
        "accept,",
        "state `accept` has two transitions on `accept`",
        "no condition tells apart",
    ),
    case(
        "ambiguous-trigger-same-conditions",
        (
            "        dest: done\n",
            "        dest: done\n        conditions: data.quote > 1\n"
            "      - {trigger: accept, zh: 再受理, en: Accept again, dest: on_hold, conditions: data.quote > 1}\n",
        ),
        "ambiguous",
        ERROR,
        "- {trigger: accept, zh: 再受理",
        "accept,",
        "state `accept` has two transitions on `accept`",
    ),
    case(
        "shared-transition-leaves-final",
        ("source: [quote, accept]", "source: [quote, accept, done]"),
        "leaves-final",
        ERROR,
        "source: [quote, accept, done]",
        "done]",
        "transition `hold` leaves the final state `done`",
        "nothing may leave a final state",
    ),
    case(
        "nobody-may-fire",
        ("    role: customer\n    time_limit: 1w", "    time_limit: 1w"),
        "nobody-may-fire",
        ERROR,
        "      - trigger: customer_replied\n",
        "trigger",
        "transition `customer_replied`",
        "nobody may fire it",
        "`roles: [...]`",
    ),
    case(
        "signoff-not-actor-of-decision",
        ("not_actor_of: [apply]", "not_actor_of: [check_warranty]"),
        "no-actor",
        ERROR,
        "not_actor_of: [check_warranty]",
        "check_warranty",
        "`check_warranty` is a decision",
    ),
    case(
        "signoff-not-actor-of-later-state",
        ("not_actor_of: [apply]", "not_actor_of: [accept]"),
        "signoff-order",
        WARNING,
        "not_actor_of: [accept]",
        "accept",
        "`accept` never comes before `send_quote`",
        "can never apply",
    ),
    # -- $ref in JSON Schema fragments
    case(
        "ref-http-url",
        ("properties: {quote: {type: number}}", "properties: {quote: {$ref: 'http://example.com/s.json'}}"),
        "unresolvable-ref",
        ERROR,
        "$ref: 'http://example.com/s.json'",
        "'http",
        "`http://example.com/s.json` cannot be resolved",
        "only inside this file",
    ),
    case(
        "ref-file-url",
        ("properties: {quote: {type: number}}", "properties: {quote: {$ref: 'file:///etc/hostname'}}"),
        "unresolvable-ref",
        ERROR,
        "$ref: 'file:///etc/hostname'",
        "'file",
        "`file:///etc/hostname` cannot be resolved",
        "only inside this file",
    ),
    case(
        "ref-pointer-to-nothing",
        ("properties: {quote: {type: number}}", "properties: {quote: {$ref: '#/records/repair_ordr/fields'}}"),
        "unresolvable-ref",
        ERROR,
        "$ref: '#/records/repair_ordr/fields'",
        "'#",
        "`#/records/repair_ordr/fields` points to nothing in this file",
    ),
    # -- warnings
    case(
        "unused-role",
        ADD_AUDITOR,
        "unused-role",
        WARNING,
        "  auditor: {zh",
        "auditor",
        "role `auditor` is declared but no step, transition, sign-off, notification or `administrators` uses it",
    ),
    case(
        "record-never-produced",
        ("records:\n", "records:\n  invoice: {zh: 发票, en: Invoice}\n"),
        "unproduced-record",
        WARNING,
        "  invoice: {zh",
        "invoice",
        "record `invoice` is declared but no state lists it under `produces`",
    ),
    case(
        "state-without-source",
        ("    source: 七.2\n", ""),
        "no-source",
        WARNING,
        "\n  on_hold:\n",
        "on_hold",
        "state `on_hold` does not cite its `source`",
    ),
]


@pytest.mark.parametrize("c", CASES)
def test_check(fixture_text: str, c: Case) -> None:
    text = mutate(fixture_text, *c.edits)
    report = validate(text)
    line, column = position(text, c.needle, c.at)
    problem = problem_at(report, c.code, line, column)
    assert problem.severity is c.severity
    assert_words(problem.message, c.words)
    if c.severity is ERROR:
        assert not report.ok and report.process is None
        assert problem in report.errors and problem not in report.warnings
    else:
        assert problem in report.warnings and problem not in report.errors


def test_the_fixture_has_no_problems(fixture_text: str) -> None:
    report = validate(fixture_text)
    assert report.problems == () and report.ok and report.process is not None


def test_conditions_that_differ_tell_two_transitions_on_one_trigger_apart(fixture_text: str) -> None:
    text = mutate(
        fixture_text,
        (
            "        dest: done\n",
            "        dest: done\n        conditions: data.quote > 1\n"
            "      - {trigger: accept, zh: 再受理, en: Accept again, dest: on_hold, conditions: data.quote <= 1}\n",
        ),
    )
    report = validate(text)
    assert report.problems == () and report.ok


# --- regressions: each was a bug once ---------------------------------------------------------------


def test_trap_message_for_a_state_that_only_loops_to_itself(fixture_text: str) -> None:
    text = mutate(
        fixture_text,
        (WITHDRAW_FROM_ALL, "    source: [apply, check_warranty, quote, accept]\n"),
        ("        dest: accept\n      - trigger: remind", "        dest: on_hold\n      - trigger: remind"),
    )
    report = validate(text)
    problem = problem_at(report, "trap", *position(text, "\n  on_hold:\n", "on_hold"))
    assert "no final state can be reached" in problem.message
    assert not problem.message.rstrip().endswith("leads to"), problem.message


def test_method_call_message_names_what_was_called(fixture_text: str) -> None:
    text = mutate(fixture_text, ("conditions: payload.quote <= 500", "conditions: payload.quote.bit_length() <= 500"))
    report = validate(text)
    problem = problem_at(report, "expression", *position(text, "conditions: payload.quote.bit", "payload"))
    assert "function calls" in problem.message
    assert "`.bit_length(...)`" in problem.message, problem.message


@pytest.mark.parametrize("quote", ['"', "'"], ids=["double-quoted", "single-quoted"])
def test_expression_column_in_a_quoted_condition(fixture_text: str, quote: str) -> None:
    edit = ("conditions: payload.quote <= 500", f"conditions: {quote}payload.quote <= 500){quote}")
    text = mutate(fixture_text, edit)
    report = validate(text)
    problem_at(report, "expression", *position(text, f"500){quote}", ")"))


def test_unknown_field_column_when_a_declared_field_starts_with_the_same_letters(fixture_text: str) -> None:
    edit = ("      - when: data.in_warranty\n", "      - when: data.model == 'x' and data.mode == 'y'\n")
    text = mutate(fixture_text, edit)
    report = validate(text)
    problem = problem_at(report, "unknown-field", *position(text, "data.mode ==", None))
    assert "`data.mode`" in problem.message


def test_payload_without_payload_points_at_the_payload_reference(fixture_text: str) -> None:
    edit = ("        dest: done\n", "        dest: done\n        conditions: data.quote > 1 and payload.x\n")
    text = mutate(fixture_text, edit)
    report = validate(text)
    problem_at(report, "unknown-field", *position(text, "payload.x\n", None))


# --- dead ends: the schema refuses them before the check can see them ----------------------------------


ON_HOLD_TRANSITIONS = """    on:
      - trigger: customer_replied
        zh: 客户回复
        en: Customer replied
        dest: accept
      - trigger: remind
        zh: 提醒客户
        en: Remind the customer
        dest: on_hold
        roles: [clerk]
"""
DECISION_BRANCHES = """    branches:
      - when: data.in_warranty
        zh: 保修期内
        en: In warranty
        dest: accept
"""


@pytest.mark.parametrize(
    ("edit", "state", "key"),
    [
        pytest.param((ON_HOLD_TRANSITIONS, ""), "on_hold", "on", id="wait-state-without-transitions"),
        pytest.param((DECISION_BRANCHES, ""), "check_warranty", "branches", id="decision-without-branches"),
    ],
)
def test_a_state_without_exits_is_refused_by_the_schema_first(
    fixture_text: str, edit: tuple[str, str], state: str, key: str
) -> None:
    text = mutate(fixture_text, edit)
    report = validate(text)
    problem = problem_at(report, "missing-key", *position(text, f"\n  {state}:\n", state))
    assert f"missing `{key}`" in problem.message
    assert "dead-end" not in {p.code for p in report.problems}


def test_dead_end_check_on_a_model(fixture_text: str) -> None:
    """Every non-final state the schema lets through has an exit, so the check is exercised on a model."""
    process = validate(fixture_text).process
    assert process is not None
    stuck = dataclasses.replace(process.states["on_hold"], transitions=(), deadlines=())
    broken = dataclasses.replace(process, states=MappingProxyType({**process.states, "on_hold": stuck}))
    problems = list(check_dead_ends(broken, state_graph(broken)))
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.code, problem.severity) == ("dead-end", ERROR)
    assert (problem.location.line, problem.location.column) == position(fixture_text, "\n  on_hold:\n", "on_hold")
    assert_words(problem.message, ["state `on_hold` has no way out", "`type: final`"])


# --- $ref never reaches the network or the disk -----------------------------------------------------------

# An audit hook sees every `open` and socket use, however deep in a library. Audit hooks cannot be
# removed, so it is installed once and records only while `_AUDIT` is a list.
_AUDIT: list[tuple[str, object]] | None = None
_AUDIT_INSTALLED = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _AUDIT is not None and (event == "open" or event.startswith(("socket.", "urllib."))):
        _AUDIT.append((event, args[0] if args else None))


@pytest.mark.parametrize(
    "ref",
    ["http://127.0.0.1:9/s.json", "https://example.com/s.json", "FILE", "secret.json", "#/nothing/here"],
    ids=["http-url", "https-url", "file-url-to-a-real-schema", "relative-file", "pointer-to-nothing"],
)
def test_ref_resolution_touches_neither_network_nor_disk(fixture_text: str, tmp_path, ref: str) -> None:
    global _AUDIT, _AUDIT_INSTALLED
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "number"}', encoding="utf-8")
    if ref == "FILE":
        ref = secret.as_uri()  # a real, valid schema: fetched, it would resolve and give no error
    text = mutate(fixture_text, ("properties: {quote: {type: number}}", f"properties: {{quote: {{$ref: '{ref}'}}}}"))
    validate(fixture_text)  # warm the caches (bundled schema, time zones) outside the recording,
    bundled_registry()  # and the bundled schemas' registry, which only a `$ref` out of the file needs
    if not _AUDIT_INSTALLED:
        sys.addaudithook(_audit)
        _AUDIT_INSTALLED = True
    _AUDIT = []
    try:
        report = validate_text(text, FILE)
    finally:
        events, _AUDIT = _AUDIT, None
    assert events == []
    problem = problem_at(report, "unresolvable-ref", *position(text, f"$ref: '{ref}'", "'"))
    assert f"`{ref}`" in problem.message and problem.severity is ERROR


def test_a_schema_referring_to_itself_is_reported_not_followed_forever(fixture_text: str) -> None:
    text = mutate(fixture_text, ("data:\n  type: object\n", "data:\n  $ref: '#/data'\n  type: object\n"))
    report = validate(text)
    problem = problem_at(report, "endless-ref", *position(text, "$ref: '#/data'", "'"))
    assert "`#/data` leads back to itself" in problem.message


def test_ref_inside_the_file_resolves(fixture_text: str) -> None:
    edit = ("properties: {quote: {type: number}}", "properties: {quote: {$ref: '#/data/properties/quote'}}")
    text = mutate(fixture_text, edit)
    assert validate(text).problems == ()


# --- reporting ------------------------------------------------------------------------------------------


def test_every_problem_in_a_file_is_reported_at_once(fixture_text: str) -> None:
    text = mutate(
        fixture_text, ("owner: service\n", "owner: servise\n"), ("Asia/Shanghai", "Asia/Shanghia"), ADD_AUDITOR
    )
    report = validate(text)
    owner = problem_at(report, "unknown-reference", *position(text, "owner: servise", "servise"))
    zone = problem_at(report, "unknown-timezone", *position(text, "timezone: Asia/Shanghia", "Asia"))
    unused = problem_at(report, "unused-role", *position(text, "  auditor: {zh", "auditor"))
    assert report.errors == (owner, zone)
    assert report.warnings == (unused,)
    assert list(report.problems) == sorted(report.problems, key=lambda p: p.location)


@pytest.mark.parametrize(
    "told",
    [
        # on entering a state
        (
            "    source: 三.1\n    on:\n",
            "    source: 三.1\n    notify:\n"
            "      - {roles: [auditor], text: {zh: 新申请, en: A new application}}\n    on:\n",
        ),
        # when a transition fires
        (
            "        dest: check_warranty\n",
            "        dest: check_warranty\n"
            "        notify: [{roles: [auditor], text: {zh: 新申请, en: A new application}}]\n",
        ),
    ],
)
def test_a_role_that_is_only_told_of_something_is_used(fixture_text: str, told: tuple[str, str]) -> None:
    text = mutate(fixture_text, ADD_AUDITOR, told)
    report = validate(text)
    assert report.ok and report.problems == (), report.problems


def test_warnings_alone_leave_the_file_ok(fixture_text: str) -> None:
    text = mutate(fixture_text, ADD_AUDITOR)
    report = validate(text)
    assert report.ok and report.process is not None
    assert report.errors == ()
    assert [p.code for p in report.warnings] == ["unused-role"] and report.warnings == report.problems
    assert all(p.severity is WARNING for p in report.warnings)


def test_an_error_beside_warnings_makes_the_file_not_ok(fixture_text: str) -> None:
    text = mutate(
        fixture_text,
        ("records:\n", "records:\n  invoice: {zh: 发票, en: Invoice}\n"),
        ("owner: service\n", "owner: servise\n"),
    )
    report = validate(text)
    assert not report.ok and report.process is None
    assert [p.code for p in report.errors] == ["unknown-reference"]
    assert [p.code for p in report.warnings] == ["unproduced-record"]


def test_optional_copy_is_not_a_warning_when_the_field_is_required_or_may_be_null(fixture_text: str) -> None:
    assert not [p for p in validate(fixture_text).problems if p.code == "optional-copied"]
    nullable = mutate(
        fixture_text,
        ("          required: [in_warranty, model]", "          required: [in_warranty]"),
        ("    model: {type: string}\nstates:", '    model: {type: ["string", "null"]}\nstates:'),
    )
    assert not [p for p in validate(nullable).problems if p.code == "optional-copied"]


def test_the_optional_copy_warning_names_a_real_refusal(fixture_text: str) -> None:
    text = mutate(fixture_text, ("          required: [in_warranty, model]", "          required: [in_warranty]"))
    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    runtime = Runtime(load_process_text(text, FILE), clock=lambda: monday)
    customer = Actor("wang", ["customer"])
    instance = runtime.start(customer, at=monday)
    with pytest.raises(InvalidData):
        runtime.fire(instance, "submit", customer, {"in_warranty": True}, at=monday)


@pytest.mark.parametrize(
    ("constant", "words"),
    [
        ("1e999", "too large to be a number"),
        ("-1.0e+400", "too large to be a number"),
        ("!!float " + "9" * 400, "too large to be a number"),
        ("1e300", "past the largest number an instance keeps"),
        ("9223372036854775809", "past the largest number an instance keeps"),
    ],
)
def test_a_set_constant_no_instance_could_keep_is_refused_at_its_place(
    fixture_text: str, constant: str, words: str
) -> None:
    text = mutate(fixture_text, ("set: {quote: payload.quote}", f"set: {{quote: {constant}}}"))
    report = validate_text(text, "big.yaml")
    (problem,) = report.errors
    assert (problem.location.line, problem.location.column) == position(text, constant)
    assert words in problem.message and "write a smaller number" in problem.message


def test_a_set_constant_at_the_largest_kept_number_loads(fixture_text: str) -> None:
    text = mutate(fixture_text, ("set: {quote: payload.quote}", f"set: {{quote: {2**63}}}"))
    assert validate_text(text, "edge.yaml").ok

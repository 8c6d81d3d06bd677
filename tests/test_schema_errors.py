"""Schema errors (``engine.schema``) in a process owner's words, each reached by one edit of the fixture.

Every case starts from ``tests/fixtures/minimal.yaml``, applies one textual edit and asserts the
problem's code, its exact place (computed from the edited text) and the words of its message, and
that no message falls back to the raw JSON Schema wording.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import pytest
from conftest import mutate, position
from jsonschema import Draft202012Validator

from engine.errors import Problem, Severity
from engine.processes import ValidationReport, validate_text
from engine.schema import process_schema, schema_path

FILE = "m.yaml"
JARGON = (
    "is not valid under any of the given schemas",
    "Additional properties",
    "Failed validating",
    "is a required property",
    "was unexpected",
)


# --- helpers (mutate and position live in conftest.py) ---------------------------------------------------


def validate(text: str) -> ValidationReport:
    report = validate_text(text, FILE)
    for problem in report.problems:
        assert problem.location.file == FILE
        for phrase in JARGON:
            assert phrase not in problem.message, problem.message
    return report


def problem_at(report: ValidationReport, code: str, line: int, column: int) -> Problem:
    found = [p for p in report.problems if p.code == code and (p.location.line, p.location.column) == (line, column)]
    listing = "\n".join(f"  {p.code} {p}" for p in report.problems)
    assert len(found) == 1, f"expected one `{code}` at {line}:{column}; got:\n{listing}"
    return found[0]


def assert_words(message: str, words: Sequence[str]) -> None:
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# --- one case per kind of schema error -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    edit: tuple[str, str]
    code: str
    needle: str
    at: str | None
    words: tuple[str, ...]
    absent: tuple[str, ...]


def case(
    id: str,
    edit: tuple[str, str],
    code: str,
    needle: str,
    at: str | None,
    *words: str,
    absent: tuple[str, ...] = (),
    marks=(),
):
    return pytest.param(Case(edit, code, needle, at, words, absent), id=id, marks=marks)


TRANSITION_ACCEPT = "      - trigger: accept\n"

CASES = [
    # -- misspelt keys
    case(
        "unknown-key-in-state",
        ("    source: 七.2\n", "    stauts: 七.2\n"),
        "unknown-key",
        "    stauts: 七.2\n",
        "stauts",
        "state `on_hold`: unknown key `stauts`",
        "allowed here:",
        "source",
        "time_limit",
    ),
    case(
        "unknown-key-in-state-close",
        ("    role: customer\n    time_limit: 1w", "    roel: customer\n    time_limit: 1w"),
        "unknown-key",
        "    roel: customer",
        "roel",
        "state `on_hold`: unknown key `roel`",
        "did you mean `role`?",
    ),
    case(
        "unknown-key-in-transition",
        ("        dest: done\n", "        destt: done\n"),
        "unknown-key",
        "        destt: done\n",
        "destt",
        "state `accept`, transition `accept`: unknown key `destt`",
        "did you mean `dest`?",
    ),
    case(
        "unknown-key-top-level",
        ("owner: service\n", "ownr: service\n"),
        "unknown-key",
        "\nownr: service",
        "ownr",
        "unknown key `ownr`",
        "did you mean `owner`?",
    ),
    # -- missing keys
    case(
        "state-without-zh",
        ("    zh: 报价\n", ""),
        "missing-key",
        "\n  quote:\n",
        "quote",
        "state `quote`: missing `zh`",
        "Chinese label",
    ),
    case(
        "task-without-role",
        ("    role: supervisor\n    time_limit", "    time_limit"),
        "missing-key",
        "\n  quote:\n",
        "quote",
        "state `quote`: missing `role`",
        "role responsible",
    ),
    case(
        "transition-without-dest",
        ("        dest: done\n", ""),
        "missing-key",
        TRANSITION_ACCEPT,
        "trigger",
        "transition `accept`: missing `dest`",
        "The state this transition leads to",
    ),
    # -- wrong types and values
    case(
        "version-as-text",
        ("version: 1\n", 'version: "1.0"\n'),
        "wrong-type",
        'version: "1.0"',
        '"1.0"',
        "`version`: must be a whole number",
        "got text `1.0`",
    ),
    case(
        "version-zero",
        ("version: 1\n", "version: 0\n"),
        "out-of-range",
        "version: 0",
        "0",
        "`version`: must be at least 1",
    ),
    case(
        "conditions-as-number",
        ("conditions: payload.quote <= 500", "conditions: 5"),
        "wrong-type",
        "conditions: 5",
        "5",
        "`conditions`: expected text or a list",
        "got the number `5`",
    ),
    case(
        "state-type-typo",
        ("  quote:\n    type: task\n", "  quote:\n    type: tsk\n"),
        "not-a-choice",
        "type: tsk",
        "tsk",
        "state `quote`, `type`: must be one of start, task, decision, wait, final",
        "got text `tsk`",
        "did you mean `task`?",
    ),
    case(
        "bad-time-limit",
        ("time_limit: 3 working days", "time_limit: 3 dayz"),
        "bad-format",
        "time_limit: 3 dayz",
        "3 dayz",
        "state `quote`, `time_limit`: text `3 dayz` is not valid here",
        "`24h`",
        "`3 working days`",
        "`P1DT12H`",
    ),
    case(
        "bad-deadline-after",
        ("      - after: 3d\n", "      - after: 3 dayz\n"),
        "bad-format",
        "after: 3 dayz",
        "3 dayz",
        "state `on_hold`, deadline #1, `after`",
        "`3 working days`",
    ),
    case(
        "bad-identifier-as-role-key",
        ("  supervisor: {zh: 维修主管", "  Bad-Role: {zh: 坏角色, en: Bad}\n  supervisor: {zh: 维修主管"),
        "bad-name",
        "  Bad-Role: {zh",
        "Bad-Role",
        "`Bad-Role` is not a valid name",
        "lower-case letters",
    ),
    case(
        "bad-date-in-holidays",
        ('holidays: ["2026-10-01"]', 'holidays: ["2026-13-01"]'),
        "bad-format",
        '["2026-13-01"]',
        '"',
        "`holidays`, item #1",
        "`2026-13-01` is not a valid date",
        "YYYY-MM-DD",
    ),
    case(
        "procflow-2",
        ("procflow: 1\n", "procflow: 2\n"),
        "wrong-value",
        "procflow: 2",
        "2",
        "`procflow`: must be 1",
        "got the number `2`",
    ),
    case(
        "data-property-type-typo",
        ("    model: {type: string}\nstates", "    model: {type: strin}\nstates"),
        "not-a-choice",
        "{type: strin}",
        "strin",
        "`data`, `properties`, `model`, `type`",
        "got text `strin`",
        "did you mean `string`?",
    ),
    case(
        "record-field-type-typo",
        ("        model: {type: string}\n", "        model: {type: strin}\n"),
        "not-a-choice",
        "{type: strin}",
        "strin",
        "record `repair_order`",
        "did you mean `string`?",
    ),
    # -- keys a kind of state may not have
    case(
        "on-in-final-state",
        ("    en: Done\n", "    en: Done\n    on: [{trigger: again, zh: 再来, en: Again, dest: apply}]\n"),
        "not-allowed",
        "    on: [{trigger: again",
        "on:",
        "state `done`: `on` is not allowed in a `final` state",
        "does not leave",
    ),
    case(
        "branches-in-task",
        (
            "    produces: [repair_order]\n",
            "    produces: [repair_order]\n    branches: [{when: data.in_warranty, zh: 是, en: Yes, dest: done}]\n",
        ),
        "not-allowed",
        "    branches: [{when",
        "branches",
        "state `accept`: `branches` is not allowed in a `task` state",
        "only a `decision` has branches",
    ),
    case(
        "time-limit-in-decision",
        (
            "    role: clerk\n    source: 三.1\n    branches",
            "    role: clerk\n    time_limit: 1d\n    source: 三.1\n    branches",
        ),
        "not-allowed",
        "    time_limit: 1d\n",
        "time_limit",
        "state `check_warranty`: `time_limit` is not allowed in a `decision` state",
        "takes time",
    ),
    # -- what YAML read differently from what was meant
    case(
        "comma-cuts-a-flow-value",
        (
            "  clerk: {zh: 客服人员, en: Service clerk, department: service}",
            "  clerk: {zh: 客服人员, en: Service clerk, service station, department: service}",
        ),
        "comma-in-value",
        "service station,",
        "service",
        "role `clerk`: `service station` was read as a key because the comma before it ended the value of `en`",
        'put the text in quotes: en: "Service clerk, service station"',
        absent=("did you mean", "unknown key"),
    ),
    case(
        "two-commas-cut-a-flow-value",
        ("title: {zh: 简易维修, en: Simple repair}", "title: {zh: 简易维修, en: Repair, service, station}"),
        "comma-in-value",
        "station}",
        "station",
        "`station` was read as a key because the comma before it ended the value of `en`",
        'en: "Repair, service, station"',
    ),
    case(
        "number-where-text-is-expected",
        ("    source: 三.1\n    on:\n      - trigger: submit", "    source: 1\n    on:\n      - trigger: submit"),
        "wrong-type",
        "    source: 1\n",
        "1",
        "state `apply`, `source`: expected text or a mapping",
        "got the number `1`",
        'put it in quotes: "1"',
    ),
    case(
        "true-where-text-is-expected",
        ("    en: Accept the application", "    en: true"),
        "wrong-type",
        "    en: true",
        "true",
        "must be text, got `true`",
        'put it in quotes: "true"',
        absent=("True",),
    ),
    case(
        "zero-time-limit",
        ("time_limit: 24h", "time_limit: 0m"),
        "zero-time-limit",
        "time_limit: 0m",
        "0m",
        "`0m` is no time at all",
        "at least `1m`",
        absent=("is not valid here",),
    ),
    case(
        "zero-deadline",
        ("      - after: 3d\n", "      - after: PT0M\n"),
        "zero-time-limit",
        "after: PT0M",
        "PT0M",
        "`PT0M` is no time at all",
    ),
    case(
        "field-name-without-en",
        ("data:\n", "fields:\n  model: {zh: 型号}\ndata:\n"),
        "missing-key",
        "\n  model: {zh: 型号}",
        "model",
        "field name `model`: missing `en`",
        "English label",
    ),
    case(
        "field-name-bad-key",
        ("data:\n", "fields:\n  Model: {zh: 型号, en: Model}\ndata:\n"),
        "bad-name",
        "\n  Model: {zh",
        "Model",
        "`Model` is not a valid name",
        "lower-case letters",
    ),
    case(
        "null-where-a-choice-is-expected",
        ("    type: task\n    zh: 报价", "    type: ~\n    zh: 报价"),
        "not-a-choice",
        "type: ~",
        "~",
        "must be one of start, task, decision, wait, final; got `null`",
        absent=("None",),
    ),
]


@pytest.mark.parametrize("c", CASES)
def test_schema_error(fixture_text: str, c: Case) -> None:
    text = mutate(fixture_text, c.edit)
    report = validate(text)
    problem = problem_at(report, c.code, *position(text, c.needle, c.at))
    assert problem.severity is Severity.ERROR
    assert_words(problem.message, c.words)
    for word in c.absent:
        assert word not in problem.message, problem.message
    assert not report.ok and report.process is None


def test_a_misspelt_key_is_not_also_reported_missing(fixture_text: str) -> None:
    report = validate(mutate(fixture_text, ("        dest: done\n", "        destt: done\n")))
    assert [p.code for p in report.problems] == ["unknown-key"]


def test_schema_and_semantic_problems_come_together(fixture_text: str) -> None:
    text = mutate(fixture_text, ("    role: clerk\n    time_limit: 24h", "    role: clerck\n    time_limt: 24h"))
    report = validate(text)
    problem_at(report, "unknown-key", *position(text, "    time_limt: 24h", "time_limt"))
    problem_at(report, "unknown-reference", *position(text, "role: clerck", "clerck"))


def test_several_schema_errors_are_reported_at_once(fixture_text: str) -> None:
    text = mutate(
        fixture_text, ("version: 1\n", 'version: "1.0"\n'), ("  quote:\n    type: task\n", "  quote:\n    type: tsk\n")
    )
    report = validate(text)
    problem_at(report, "wrong-type", *position(text, 'version: "1.0"', '"'))
    problem_at(report, "not-a-choice", *position(text, "type: tsk", "tsk"))


# --- files that are not a definition at all --------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n", "null\n"], ids=["empty", "blank-lines", "comment-only", "null"]
)
def test_empty_file(text: str) -> None:
    report = validate(text)
    assert [p.code for p in report.problems] == ["empty"]
    problem = report.problems[0]
    assert (problem.location.line, problem.location.column) == (1, 1)
    assert "the file is empty" in problem.message and "`procflow: 1`" in problem.message
    assert not report.ok and report.process is None


def test_top_level_list_instead_of_a_mapping(fixture_text: str) -> None:
    text = "- " + fixture_text.replace("\n", "\n  ")  # the whole definition as one list item
    report = validate(text)
    assert [p.code for p in report.problems] == ["wrong-type"]
    problem = report.problems[0]
    assert (problem.location.line, problem.location.column) == (1, 1)
    assert_words(problem.message, ["must be a mapping", "got a list"])
    assert report.process is None


# --- the schema itself -----------------------------------------------------------------------------------


def test_the_schema_is_draft_2020_12_with_an_id() -> None:
    with schema_path().open(encoding="utf-8") as handle:
        schema = json.load(handle)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://") and schema["$id"].endswith(".json")
    Draft202012Validator.check_schema(schema)
    assert dict(process_schema()) == schema


# --- regressions: each was a bug once ------------------------------------------------------------------

SOURCE_FILE_LINE = "    file: 004_0781a068a735b19d.txt\n"
SOURCE_TITLE_LINE = "    title: {zh: 返厂维修管理流程, en: Return-to-factory repair procedure}\n"


@pytest.mark.parametrize(
    ("edit", "needle", "at", "key"),
    [
        pytest.param((SOURCE_FILE_LINE, ""), "\n  procedure:\n", "procedure", "file", id="source-without-file"),
        pytest.param((SOURCE_TITLE_LINE, ""), "\n  procedure:\n", "procedure", "title", id="source-without-title"),
        pytest.param(
            ("      - when: data.in_warranty\n        zh: 保修期内", "      - zh: 保修期内"),
            "      - zh: 保修期内",
            "zh",
            "when",
            id="branch-without-when",
        ),
    ],
)
def test_missing_key_beside_a_similar_valid_key(fixture_text: str, edit, needle: str, at: str, key: str) -> None:
    text = mutate(fixture_text, edit)
    report = validate(text)
    problem = problem_at(report, "missing-key", *position(text, needle, at))
    assert f"missing `{key}`" in problem.message


@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        pytest.param(("    zh: 报价\n", ""), "state", id="state-without-zh"),
        pytest.param(("  quote:\n    type: task\n", "  quote:\n"), "state", id="state-without-type"),
        pytest.param(
            ("  customer: {zh: 客户, en: Customer, external: true}", "  customer: {zh: 客户, external: true}"),
            "role",
            id="role-without-en",
        ),
    ],
)
def test_an_entry_missing_a_key_is_still_declared(fixture_text: str, edit, kind: str) -> None:
    report = validate(mutate(fixture_text, edit))
    assert [p.code for p in report.problems] == ["missing-key"], [str(p) for p in report.problems]


def test_a_malformed_time_limit_is_reported_once(fixture_text: str) -> None:
    report = validate(mutate(fixture_text, ("time_limit: 3 working days", "time_limit: 3 dayz")))
    assert [p.code for p in report.problems] == ["bad-format"], [str(p) for p in report.problems]


def test_a_malformed_date_gets_one_helpful_message(fixture_text: str) -> None:
    text = mutate(fixture_text, ('holidays: ["2026-10-01"]', 'holidays: ["2026/10/01"]'))
    report = validate(text)
    assert len(report.problems) == 1
    assert "YYYY-MM-DD" in report.problems[0].message

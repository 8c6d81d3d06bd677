"""Notifications as declarations: ``notify: [{roles, text}]`` on a state (on entering it) or on a
transition (when it fires). The runtime records each as a notification due on the history entry of
the event that made it due, rendered in both languages; replay reproduces them, the instance JSON
keeps them, and every bad declaration is refused at load, located, in words."""

from __future__ import annotations

import datetime as dt
import html
import io
import json

import pytest
from conftest import FIXTURE, mutate, position

from engine import Actor, ReplayMismatch, Runtime, instance_from_json, instance_to_json, load_process_text
from engine.cli import run
from engine.errors import Severity
from engine.processes import validate_text
from engine.render.book_pages import diagram_files, procedure_page
from engine.service import Workflows

pytest_plugins = ["store_support"]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
CUSTOMER = Actor("wang", ["customer"])
SUPERVISOR = Actor("zhou", ["supervisor"])
CLERK = Actor("li", ["clerk"])

TEXT = FIXTURE.read_text(encoding="utf-8")

# The quote step tells the clerk on entry; sending the quote tells the customer the amount.
ON_ENTER = (
    "    time_limit: 3 working days\n",
    "    time_limit: 3 working days\n"
    "    notify:\n"
    "      - roles: [clerk]\n"
    '        text: {zh: "型号 {data.model} 需报价", en: "Model {data.model} needs a quote"}\n',
)
ON_TRANSITION = (
    "        set: {quote: payload.quote}\n",
    "        set: {quote: payload.quote}\n"
    "        notify:\n"
    "          - roles: [customer, clerk]\n"
    '            text: {zh: "报价 {payload.quote} 元（{{含税}}）", en: "Quote: {data.quote} yuan ({{tax incl.}})"}\n',
)


def runtime(*edits: tuple[str, str]) -> Runtime:
    return Runtime(load_process_text(mutate(TEXT, *edits), "n.yaml"), clock=lambda: MONDAY)


def quoted(rt: Runtime):
    instance = rt.start(CUSTOMER, at=MONDAY)
    rt.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X1"}, at=MONDAY)
    return instance


def only_error(text: str, code: str):
    report = validate_text(text, "n.yaml")
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    assert [p.code for p in errors] == [code], [str(p) for p in report.problems]
    return errors[0]


# --- recorded at run time ----------------------------------------------------------------------------


def test_entering_a_state_records_its_notification_rendered_in_both_languages():
    rt = runtime(ON_ENTER)
    instance = quoted(rt)
    entry = instance.history[-1]
    assert [(n.cause, n.roles, n.zh, n.en, n.at) for n in entry.notifications] == [
        ("enter:quote", ("clerk",), "型号 X1 需报价", "Model X1 needs a quote", MONDAY)
    ]
    assert instance.history[0].notifications == ()


def test_a_transition_records_its_notification_before_those_of_the_state_it_enters():
    rt = runtime(ON_ENTER, ON_TRANSITION)
    instance = quoted(rt)
    later = MONDAY + dt.timedelta(hours=2)
    entry = rt.fire(instance, "send_quote", SUPERVISOR, {"quote": 300}, at=later)
    assert [(n.cause, n.roles, n.zh, n.en, n.at) for n in entry.notifications] == [
        (
            "transition:send_quote",
            ("customer", "clerk"),
            "报价 300 元（{含税}）",
            "Quote: 300 yuan ({tax incl.})",
            later,
        )
    ]


def test_a_transition_back_into_the_same_state_does_not_enter_it_again():
    rt = runtime(ON_ENTER)
    instance = quoted(rt)
    entry = rt.fire(instance, "escalate", SUPERVISOR, at=MONDAY)
    assert entry.dest == "quote" and entry.notifications == ()


def test_a_field_the_data_does_not_hold_renders_as_a_dash():
    rt = runtime((ON_ENTER[0], ON_ENTER[1].replace("Model {data.model}", "Quote {data.quote}")))
    entry = quoted(rt).history[-1]
    assert entry.notifications[0].en == "Quote — needs a quote"


def test_notifications_survive_the_instance_json_and_replay_reproduces_them():
    rt = runtime(ON_ENTER, ON_TRANSITION)
    instance = quoted(rt)
    rt.fire(instance, "send_quote", SUPERVISOR, {"quote": 300}, at=MONDAY)
    document = json.loads(json.dumps(instance_to_json(instance), ensure_ascii=False))
    assert document["history"][2]["notifications"][0]["en"] == "Quote: 300 yuan ({tax incl.})"
    assert "notifications" not in document["history"][0]  # entries with none are written as before
    restored = instance_from_json(document)
    assert restored.history == instance.history
    rt.verify(restored)
    replayed = rt.replay(restored.history, instance_id=instance.id)
    assert [e.notifications for e in replayed.history] == [e.notifications for e in instance.history]


def test_replay_refuses_a_history_whose_recorded_notification_was_altered():
    rt = runtime(ON_ENTER)
    instance = quoted(rt)
    document = instance_to_json(instance)
    document["history"][1]["notifications"][0]["en"] = "Model X2 needs a quote"
    with pytest.raises(ReplayMismatch, match="notifications"):
        rt.verify(instance_from_json(document))


# --- refused at load ---------------------------------------------------------------------------------


def test_a_placeholder_naming_an_unknown_data_field_is_refused_with_did_you_mean():
    text = mutate(TEXT, (ON_ENTER[0], ON_ENTER[1].replace('en: "Model {data.model}', 'en: "Model {data.modle}')))
    problem = only_error(text, "unknown-field")
    line, column = position(text, '"Model {data.modle} needs a quote"', "data.modle")
    assert (problem.location.line, problem.location.column) == (line, column)
    assert "`modle` is not declared under `data.properties`" in problem.message
    assert "did you mean `model`?" in problem.message


def test_a_payload_placeholder_on_a_transition_is_checked_against_its_payload():
    text = mutate(TEXT, (ON_TRANSITION[0], ON_TRANSITION[1].replace("{payload.quote}", "{payload.qoute}")))
    problem = only_error(text, "unknown-field")
    assert "transition `send_quote`" in problem.message and "did you mean `quote`?" in problem.message


def test_a_state_notification_may_not_read_the_payload():
    text = mutate(TEXT, (ON_ENTER[0], ON_ENTER[1].replace("{data.model} 需", "{payload.model} 需")))
    problem = only_error(text, "unknown-field")
    assert "reads only `data`" in problem.message


def test_an_unknown_role_is_refused_with_did_you_mean():
    text = mutate(TEXT, (ON_ENTER[0], ON_ENTER[1].replace("roles: [clerk]", "roles: [clerc]")))
    problem = only_error(text, "unknown-reference")
    assert (problem.location.line, problem.location.column) == position(text, "roles: [clerc]", "clerc")
    assert "did you mean `clerk`?" in problem.message


@pytest.mark.parametrize(
    "bad, words",
    [
        ("{model}", "must name a field of the data or the payload"),
        ("{data}", "must name a field of the data or the payload"),
        ("{data.}", "is not a field name"),
        ("a } b", "a lone `}`"),
        ("a { b", "a lone `{`"),
    ],
)
def test_a_malformed_placeholder_is_refused_where_it_is_written(bad, words):
    text = mutate(TEXT, (ON_ENTER[0], ON_ENTER[1].replace("Model {data.model} needs a quote", f"x {bad}")))
    problem = only_error(text, "notification-text")
    line, _ = position(text, f'"x {bad}"')
    assert problem.location.line == line
    assert words in problem.message


@pytest.mark.parametrize(
    "edit, words",
    [
        (("      - roles: [clerk]\n", "      - roles: []\n"), "roles"),
        (('        text: {zh: "型号 {data.model} 需报价", ', '        text: {zh: "", '), "zh"),
        (("      - roles: [clerk]\n", "      - roles: [clerk]\n        to: everyone\n"), "to"),
    ],
)
def test_a_badly_shaped_declaration_is_refused_by_the_schema_in_words(edit, words):
    text = mutate(TEXT, ON_ENTER, edit)
    report = validate_text(text, "n.yaml")
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    assert errors, "the schema accepted a bad notification"
    assert all(p.location.line > 1 for p in errors)
    assert any(words in p.message for p in errors), [p.message for p in errors]


# --- shown ---------------------------------------------------------------------------------------------


def test_the_book_says_which_step_notifies_whom_and_escapes_the_text():
    attack = "<script>alert('x')</script>"
    rt = runtime((ON_ENTER[0], ON_ENTER[1].replace("needs a quote", attack)))
    page = procedure_page(rt.process, "<svg></svg>", diagram_files(rt.process), "both")
    assert "Notifications" in page
    assert html.escape("Model {data.model} " + attack) in page
    assert attack not in page
    assert "客服人员" in page  # the role told, by its label


# --- the command line ---------------------------------------------------------------------------------


def procflow(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_show_and_history_print_the_notifications_due_with_control_characters_escaped(tmp_path, sqlite_url):
    definition = tmp_path / "notify.yaml"
    definition.write_text(mutate(TEXT, ON_ENTER), encoding="utf-8")
    code, out, err = procflow("start", str(definition), "--as", "wang:customer", "--store", sqlite_url)
    assert code == 0, err
    instance_id = out.splitlines()[0]
    payload = json.dumps({"in_warranty": False, "model": "X1\x1b[2J\nrm"})
    code, out, err = procflow(
        "fire", instance_id, "submit", "--payload", payload, "--as", "wang:customer", "--store", sqlite_url
    )
    assert code == 0, err
    line = "notify clerk: 型号 X1\\x1b[2J\\nrm 需报价 / Model X1\\x1b[2J\\nrm needs a quote  (enter:quote)"
    assert line in out
    code, out, _ = procflow("show", instance_id, "--store", sqlite_url)
    assert f"due:      {line}" in out and "\x1b" not in out
    code, out, _ = procflow("history", instance_id, "--store", sqlite_url)
    assert line in out
    code, out, _ = procflow("history", instance_id, "--json", "--store", sqlite_url)
    stored = instance_from_json(json.loads(out))
    assert stored.history[1].notifications[0].en == "Model X1\x1b[2J\nrm needs a quote"
    with Workflows(sqlite_url) as workflows:
        workflows.runtime(stored.process_id, stored.content_hash).verify(workflows.get(instance_id))


def test_every_store_keeps_the_notifications_and_replays_them(tmp_path, store_url):
    definition = tmp_path / "notify.yaml"
    definition.write_text(mutate(TEXT, ON_ENTER, ON_TRANSITION), encoding="utf-8")
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        ref = workflows.register(definition)
        instance = workflows.start(ref, CUSTOMER, at=MONDAY)
        workflows.fire(instance.id, "submit", CUSTOMER, {"in_warranty": False, "model": "X1"}, at=MONDAY)
        workflows.fire(instance.id, "send_quote", SUPERVISOR, {"quote": 300}, at=MONDAY)
        stored = workflows.get(instance.id)
        assert [n.en for e in stored.history for n in e.notifications] == [
            "Model X1 needs a quote",
            "Quote: 300 yuan ({tax incl.})",
        ]
        workflows.verify(instance.id)

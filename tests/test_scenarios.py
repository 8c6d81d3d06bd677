"""`procflow run`: each shipped process's scenario walks its main path, and a scenario's mistakes and
refusals are reported where they are."""

from __future__ import annotations

import io
import json

import pytest
from conftest import FIXTURE, PROCESSES, SHIPPED, position

from engine import Runtime, instance_from_json, load_process
from engine.cli import run
from engine.scenarios import load_scenario, play

SCENARIOS = PROCESSES / "scenarios"

FIXTURE_SCENARIO = """\
scenario: 1
start: {as: "wang:customer", at: "2026-11-23T09:00:00+08:00"}
events:
  - {as: "wang:customer", fire: submit, payload: {in_warranty: false, model: X1}}
  - {as: "zhou:supervisor", fire: send_quote, at: "2026-11-23T10:00:00+08:00", payload: {quote: 120}}
  - {as: "li:clerk", fire: accept, at: "2026-11-23T11:00:00+08:00"}
expect: {state: done, data: {quote: 120}}
"""


def play_cli(tmp_path, scenario: str, *extra: str, process=FIXTURE) -> tuple[int, str, str]:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["run", str(process), "--events", str(path), *extra], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("process", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_process_has_a_scenario_that_reaches_its_end(process):
    scenario_file = SCENARIOS / process.name
    assert scenario_file.is_file(), f"ship a scenario for {process.name} in processes/scenarios/"
    runtime = Runtime(load_process(process))
    scenario = load_scenario(scenario_file)
    playthrough = play(runtime, scenario)
    assert playthrough.ok, playthrough.failures
    assert scenario.expect_state is not None
    assert runtime.process.states[playthrough.instance.state].is_final
    runtime.verify(playthrough.instance)


def test_run_prints_the_trail_and_writes_a_history_that_verifies(tmp_path):
    history = tmp_path / "history.json"
    code, out, err = play_cli(tmp_path, FIXTURE_SCENARIO, "--history", str(history))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "minimal_repair version 1 · instance scenario"
    assert "submit" in lines[2] and "apply → check_warranty" in lines[2]
    assert "decision `check_warranty`: 超出保修期 / Out of warranty → quote" in lines[3]
    assert "signed by zhou as supervisor at 2026-11-23T10:00:00+08:00" in out
    assert lines[-1] == "now in `done` 结束 / Done"
    instance = instance_from_json(json.loads(history.read_text(encoding="utf-8")))
    Runtime(load_process(FIXTURE)).verify(instance)


def test_an_unexpected_refusal_stops_the_run_and_exits_1(tmp_path):
    scenario = FIXTURE_SCENARIO.replace('"zhou:supervisor", fire: send_quote', '"li:clerk", fire: send_quote')
    code, out, err = play_cli(tmp_path, scenario)
    assert code == 1
    assert "REFUSED: send_quote by li [clerk]: `li` (roles: `clerk`) may not fire `send_quote`" in out
    assert err.startswith(f"{tmp_path / 'scenario.yaml'}:5:5: `send_quote` was refused")
    assert "accept" not in out.split("REFUSED")[1]  # nothing after the refusal was played


def test_an_expected_refusal_is_shown_and_the_run_goes_on(tmp_path):
    scenario = FIXTURE_SCENARIO.replace(
        '  - {as: "zhou:supervisor"',
        '  - {as: "li:clerk", fire: send_quote, payload: {quote: 1}, refused: permission}\n  - {as: "zhou:supervisor"',
    )
    code, out, _ = play_cli(tmp_path, scenario)
    assert code == 0
    assert "refused, as the scenario expects: send_quote by li [clerk]" in out


def test_an_expected_refusal_that_does_not_come_fails_the_run(tmp_path):
    scenario = FIXTURE_SCENARIO.replace("payload: {quote: 120}}", "payload: {quote: 120}, refused: guard-false}")
    code, _, err = play_cli(tmp_path, scenario)
    assert code == 1
    assert "`send_quote` was expected to be refused (guard-false), but it was applied" in err


def test_an_unmet_expectation_fails_the_run(tmp_path):
    code, _, err = play_cli(tmp_path, FIXTURE_SCENARIO.replace("data: {quote: 120}", "data: {quote: 99}"))
    assert code == 1
    assert ":7:1: expected data `quote` = 99, but it is 120" in err


def test_deadlines_fire_as_time_passes_in_a_scenario(tmp_path):
    scenario = """\
scenario: 1
start: {as: "wang:customer", at: "2026-11-23T09:00:00+08:00"}
events:
  - {as: "wang:customer", fire: submit, payload: {in_warranty: false, model: X1}}
  - advance: "2026-12-01T09:00:00+08:00"
  - {as: "zhou:supervisor", fire: send_quote, at: "2026-12-01T10:00:00+08:00", payload: {quote: 120}}
"""
    code, out, err = play_cli(tmp_path, scenario)
    assert (code, err) == (0, "")
    # Three working days from Monday 09:00 end on Wednesday at 18:00.
    assert "2026-11-25T18:00:00+08:00  escalate           (deadline)" in out


@pytest.mark.parametrize(
    "edit, needle, at, words",
    [
        (("scenario: 1", "scenario: 2"), "scenario: 2", "2", "`scenario`"),
        (('as: "wang:customer", at', 'as: "wang", at'), '"wang"', None, "`name:role`"),
        (("fire: submit", "fire: submit, whenever: now"), "whenever", None, "unknown key `whenever`"),
        (('as: "wang:customer", at', 'as: "wang\\x01:customer", at'), '"wang\\x01', None, "control character U+0001"),
        (('as: "wang:customer", fire', 'as: "' + "w" * 201 + ':customer", fire'), '"www', None, "201 characters"),
        (
            ('at: "2026-11-23T10:00:00+08:00"', 'at: "2026-11-23T10:00:00"'),
            '"2026-11-23T10:00:00"',
            None,
            "UTC offset",
        ),
        (
            ('at: "2026-11-23T10:00:00+08:00"', 'at: "2026-02-30T10:00:00+08:00"'),
            '"2026-02-30T10:00:00+08:00"',
            None,
            "not a real date and time",
        ),
    ],
)
def test_a_broken_scenario_is_refused_at_its_place(tmp_path, edit, needle, at, words):
    text = FIXTURE_SCENARIO.replace(*edit)
    code, out, err = play_cli(tmp_path, text)
    line, column = position(text, needle, at)
    assert code == 1 and out == ""
    assert err.startswith(f"{tmp_path / 'scenario.yaml'}:{line}:{column}: error: "), err
    assert words in err
    assert len(err.splitlines()) == 1, err


def test_an_event_dated_before_the_last_one_is_refused(tmp_path):
    scenario = FIXTURE_SCENARIO.replace('"2026-11-23T11:00', '"2026-11-23T08:00')
    code, _, err = play_cli(tmp_path, scenario)
    assert code == 1
    assert ":6:5: this event is dated before the one it follows" in err


def test_missing_files_are_a_usage_error(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert run(["run", str(FIXTURE), "--events", str(tmp_path / "nope.yaml")], out, err) == 2
    assert "no such file" in err.getvalue()

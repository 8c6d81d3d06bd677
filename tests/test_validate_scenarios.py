"""`procflow validate` knows a scenario file: it checks it as a scenario and plays it against its process."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import FIXTURE, PROCESSES, position

from engine.cli import EXIT_INVALID, EXIT_OK, run

SCENARIO = """\
scenario: 1
start: {as: "wang:customer", at: "2026-11-23T09:00:00+08:00"}
events:
  - {as: "wang:customer", fire: submit, payload: {in_warranty: false, model: X1}}
  - {as: "zhou:supervisor", fire: send_quote, at: "2026-11-23T10:00:00+08:00", payload: {quote: 120}}
  - {as: "li:clerk", fire: accept, at: "2026-11-23T11:00:00+08:00"}
expect: {state: done, data: {quote: 120}}
"""


def validate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["validate", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def procedures(tmp_path: Path, scenario: str, name: str = "repair") -> Path:
    """A folder as `procflow init` lays one out: the process, and its scenario under scenarios/."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / f"{name}.yaml").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "scenarios" / f"{name}.yaml"
    path.write_text(scenario, encoding="utf-8")
    return path


def test_the_shipped_processes_and_their_scenarios_pass() -> None:
    code, out, err = validate(str(PROCESSES))
    assert (code, err) == (EXIT_OK, "")
    scenarios = sorted((PROCESSES / "scenarios").glob("*.yaml"))
    assert scenarios
    for path in scenarios:
        assert f"{path}: ok\n" in out  # played, so no "not played" warning either


def test_a_scenario_beside_its_process_is_played(tmp_path: Path) -> None:
    path = procedures(tmp_path, SCENARIO)
    assert validate(str(tmp_path)) == (EXIT_OK, f"{tmp_path / 'repair.yaml'}: ok\n{path}: ok\n", "")


def test_a_broken_scenario_gets_a_located_scenario_error(tmp_path: Path) -> None:
    text = SCENARIO.replace('fire: accept, at: "2026-11-23T11:00:00+08:00"', 'fire: accept, at: "soon"')
    path = procedures(tmp_path, text)
    code, out, err = validate(str(path))
    assert code == EXIT_INVALID
    line, column = position(text, '"soon"')
    (message,) = err.splitlines()
    assert message.startswith(f"{path}:{line}:{column}: error: ")
    assert "2026-11-23T09:00:00+08:00" in message  # says how to write a time
    assert "procflow: 1" not in err and "missing" not in err  # not taken for a broken process


def test_a_scenario_its_process_refuses_is_an_error_at_the_event(tmp_path: Path) -> None:
    text = SCENARIO.replace("fire: accept", "fire: approve")
    path = procedures(tmp_path, text)
    code, _, err = validate(str(path))
    assert code == EXIT_INVALID
    line, column = position(text, '{as: "li:clerk"')
    assert err.startswith(f"{path}:{line}:{column}: error: `approve` was refused"), err


def test_an_unmet_expectation_is_an_error_at_expect(tmp_path: Path) -> None:
    text = SCENARIO.replace("state: done", "state: quote")
    path = procedures(tmp_path, text)
    code, _, err = validate(str(path))
    assert code == EXIT_INVALID
    line, _ = position(text, "expect:")
    assert err == f"{path}:{line}:1: error: expected to end in `quote`, but the instance is in `done`\n"


def test_a_scenario_may_name_its_process(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "repair.yaml").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "walk.yaml"
    path.write_text("process: flows/repair.yaml\n" + SCENARIO.replace("state: done", "state: quote"), encoding="utf-8")
    code, _, err = validate(str(path))
    assert code == EXIT_INVALID and "expected to end in `quote`" in err  # so it was played


def test_a_named_process_that_is_not_there_is_an_error_at_the_name(tmp_path: Path) -> None:
    text = "process: ../nowhere.yaml\n" + SCENARIO
    path = tmp_path / "walk.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = validate(str(path))
    assert code == EXIT_INVALID
    assert err.startswith(f"{path}:1:10: error: the process `{tmp_path / '../nowhere.yaml'}` does not exist")


def test_a_scenario_of_a_broken_process_says_so_once(tmp_path: Path) -> None:
    path = procedures(tmp_path, SCENARIO)
    process = tmp_path / "repair.yaml"
    process.write_text(process.read_text(encoding="utf-8").replace("dest: done", "dest: nowhere", 1), encoding="utf-8")
    code, _, err = validate(str(path))
    assert code == EXIT_INVALID
    (line,) = err.splitlines()
    assert f"cannot be played: its process `{process}` has" in line and f"procflow validate {process}" in line


def test_a_scenario_with_no_process_to_play_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "walk.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    code, out, err = validate(str(path))
    assert code == EXIT_OK and "1 warning(s)" in out
    assert "warning: not played against a process" in err and "`process:" in err
    assert validate("--strict", str(path))[0] == EXIT_INVALID


def test_json_reports_a_scenario_like_any_file(tmp_path: Path) -> None:
    path = procedures(tmp_path, SCENARIO.replace("fire: accept", "fire: approve"))
    code, out, _ = validate("--format", "json", str(path))
    report = json.loads(out)
    assert code == EXIT_INVALID and report["valid"] is False
    (problem,) = report["files"][0]["problems"]
    assert problem["code"] == "scenario-failed" and problem["line"] == 6


def test_a_refused_start_is_an_error_at_the_starter(tmp_path: Path) -> None:
    text = SCENARIO.replace('start: {as: "wang:customer"', 'start: {as: "wang:clerk"')
    path = procedures(tmp_path, text)
    code, _, err = validate(str(path))
    assert code == EXIT_INVALID
    line, column = position(text, '{as: "wang:clerk"', '"wang:clerk"')
    assert err.startswith(f"{path}:{line}:{column}: error: the scenario cannot start: "), err
    assert "`customer`" in err  # the role the starter lacks


def test_procflow_run_refuses_a_refused_start_at_its_place_too(tmp_path: Path) -> None:
    text = SCENARIO.replace('start: {as: "wang:customer"', 'start: {as: "wang:clerk"')
    path = procedures(tmp_path, text)
    out, err = io.StringIO(), io.StringIO()
    code = run(["run", str(tmp_path / "repair.yaml"), "--events", str(path)], out, err)
    line, column = position(text, '{as: "wang:clerk"', '"wang:clerk"')
    assert (code, out.getvalue()) == (EXIT_INVALID, "")
    assert err.getvalue().startswith(f"{path}:{line}:{column}: error: the scenario cannot start: ")

"""``procflow validate`` and ``procflow schema``: exit codes, where output goes, and the JSON format."""

import io
import json
import subprocess
import sys

import pytest
from conftest import FIXTURE, PROCESSES, ROOT

from engine.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, run


def call(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def broken_copy(tmp_path, fixture_text, old, new):
    assert old in fixture_text
    path = tmp_path / "broken.yaml"
    path.write_text(fixture_text.replace(old, new, 1), encoding="utf-8")
    return path


def test_valid_files_exit_zero_and_say_ok():
    code, out, err = call("validate", str(FIXTURE))
    assert code == EXIT_OK and out.strip().endswith(": ok") and err == ""


def test_a_folder_means_the_yaml_files_in_it_and_its_subfolders():
    code, out, _ = call("validate", str(PROCESSES))
    assert code == EXIT_OK
    assert {line.split(":")[0] for line in out.splitlines()} == {str(p) for p in PROCESSES.rglob("*.yaml")}
    assert any("/scenarios/" in line for line in out.splitlines())


def test_invalid_file_exits_one_with_located_errors_on_stderr(tmp_path, fixture_text):
    path = broken_copy(
        tmp_path, fixture_text, "    role: clerk\n    time_limit: 24h", "    role: clerck\n    time_limit: 24h"
    )
    code, out, err = call("validate", str(FIXTURE), str(path))
    assert code == EXIT_INVALID
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "clerck" in text)
    assert f"{path}:{line}:11: error: `clerck` is not a declared role — did you mean `clerk`?" in err
    assert f"{FIXTURE}: ok" in out and f"{path}: 1 error(s)" in out


def test_json_format_lists_every_problem(tmp_path, fixture_text):
    path = broken_copy(tmp_path, fixture_text, "type: task", "type: tsk")
    code, out, err = call("validate", "--format", "json", str(path))
    assert code == EXIT_INVALID and err == ""
    report = json.loads(out)
    assert report["valid"] is False
    (problem,) = report["files"][0]["problems"]
    assert (
        problem["severity"] == "error"
        and problem["code"] == "not-a-choice"
        and "did you mean `task`" in problem["message"]
    )
    assert problem["line"] > 1 and problem["column"] > 1


def test_json_format_for_a_valid_file_names_the_process():
    code, out, _ = call("validate", "--format", "json", str(FIXTURE))
    file_report = json.loads(out)["files"][0]
    assert code == EXIT_OK and file_report["process"]["id"] == "minimal_repair"
    assert len(file_report["process"]["content_hash"]) == 64


def test_strict_counts_warnings_as_errors(tmp_path, fixture_text):
    path = broken_copy(tmp_path, fixture_text, "roles:\n", "roles:\n  idle: {zh: 闲置, en: Idle}\n")
    assert call("validate", str(path))[0] == EXIT_OK
    code, _, err = call("validate", "--strict", str(path))
    assert code == EXIT_INVALID and "warning: role `idle` is declared but" in err


def test_usage_errors_exit_two():
    assert call()[0] == EXIT_USAGE
    assert call("validate")[0] == EXIT_USAGE
    assert call("frobnicate")[0] == EXIT_USAGE
    assert call("validate", "--format", "xml", str(FIXTURE))[0] == EXIT_USAGE
    code, _, err = call("validate", "no/such/file.yaml")
    assert code == EXIT_USAGE and "no such file or folder: no/such/file.yaml" in err


def test_an_empty_folder_is_a_usage_error(tmp_path):
    code, _, err = call("validate", str(tmp_path))
    assert code == EXIT_USAGE and "no .yaml" in err


def test_schema_prints_the_bundled_schema():
    code, out, _ = call("schema")
    assert code == EXIT_OK
    assert json.loads(out) == json.loads((ROOT / "schemas" / "process.schema.json").read_text(encoding="utf-8"))


def test_python_dash_m_engine_runs_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "engine", "validate", str(FIXTURE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith(": ok")


def test_a_closed_pipe_ends_the_command_quietly(monkeypatch):
    # `procflow schema | head`: the reader goes away before the output is written.
    import os

    from engine.cli import main

    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as closed_pipe:
        monkeypatch.setattr("sys.stdout", closed_pipe)
        assert main(["schema"]) == 0


def test_help_is_as_wide_as_shutil_says_the_terminal_is(monkeypatch):
    import shutil

    from engine.cli.parser import _terminal_columns

    for columns in ("57", "0", "wide", None):
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        monkeypatch.setenv("LINES", "30")
        assert _terminal_columns() == shutil.get_terminal_size().columns


@pytest.mark.parametrize(
    "argv",
    [["validate", "a.yaml"], ["validate", "a.yaml", "folder", ""], ["validate", "validate", "@list", "中文.yaml"]],
    ids=["one", "several", "odd-names"],
)
def test_validate_without_options_is_read_as_argparse_reads_it(argv):
    from engine.cli import _plain_validate, build_parser

    assert vars(_plain_validate(argv)) == vars(build_parser("validate").parse_args(argv))


@pytest.mark.parametrize(
    "argv", [["validate"], ["validate", "a", "--strict"], ["validate", "-"], ["validate", "--", "a"], ["run", "a"]]
)
def test_any_other_command_line_is_left_to_argparse(argv):
    from engine.cli import _plain_validate

    assert _plain_validate(argv) is None

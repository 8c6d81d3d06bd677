"""`procflow init DIR`: a folder of procedures that validates, runs, and helps an editor on its own."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, missing_tool, python_tool
from lsp_client import SERVER, YamlLanguageServer

from engine.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, run
from engine.scaffold import CHECKOUT

FILES = {
    "schemas/process.schema.json",
    "schemas/scenario.schema.json",
    "return_request.yaml",
    "scenarios/return_request.yaml",
    ".pre-commit-config.yaml",
}
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


def procflow(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, from inside the new folder (so nothing of this repository is near)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_a_new_folder_validates_and_its_sample_scenario_runs(tmp_path: Path) -> None:
    folder = tmp_path / "procedures"
    code, out, err = call("init", str(folder))
    assert (code, err) == (EXIT_OK, "")
    assert files_in(folder) == FILES
    assert all(f"wrote {folder / name}" in out for name in FILES)

    checked = procflow(folder, "validate", "--strict", ".")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "return_request.yaml: ok\nscenarios/return_request.yaml: ok\n"

    played = procflow(folder, "run", "return_request.yaml", "--events", "scenarios/return_request.yaml")
    assert (played.returncode, played.stderr) == (0, "")
    assert played.stdout.splitlines()[-1] == "now in `refunded` 已退款 / Refunded"


def test_each_sample_file_points_its_editor_at_the_schema_copied_beside_it(tmp_path: Path) -> None:
    call("init", str(tmp_path))
    for sample, schema in [
        ("return_request.yaml", "process.schema.json"),
        ("scenarios/return_request.yaml", "scenario.schema.json"),
    ]:
        first_line = (tmp_path / sample).read_text(encoding="utf-8").splitlines()[0]
        match = MODELINE.match(first_line)
        assert match, first_line
        target = (tmp_path / sample).parent / match.group(1)
        assert target.resolve() == (tmp_path / "schemas" / schema).resolve()
        assert target.read_bytes() == (ROOT / "schemas" / schema).read_bytes()


def test_the_sample_is_labelled_in_chinese_with_english_beside_it(tmp_path: Path) -> None:
    call("init", str(tmp_path))
    process = yaml.safe_load((tmp_path / "return_request.yaml").read_text(encoding="utf-8"))
    labelled = [process["title"], *process["roles"].values(), *process["states"].values()]
    for item in labelled:
        assert CJK.search(item["zh"]) and item["en"].isascii(), item
    assert len(process["states"]) <= 8  # small enough to read at once


def test_a_folder_with_other_files_gets_the_new_ones_beside_them(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    assert call("init", str(tmp_path))[0] == EXIT_OK
    assert files_in(tmp_path) == FILES | {"notes.txt"}
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("existing", sorted(FILES))
def test_init_never_overwrites_and_then_writes_nothing(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("mine", encoding="utf-8")
    code, out, err = call("init", str(tmp_path))
    assert (code, out) == (EXIT_INVALID, "")
    assert err.startswith(f"procflow init: {tmp_path} already has {existing};") and "nothing written" in err
    assert files_in(tmp_path) == {existing}
    assert (tmp_path / existing).read_text(encoding="utf-8") == "mine"


def test_a_folder_that_cannot_take_the_files_is_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "schemas").write_text("a file where the schemas folder goes", encoding="utf-8")
    code, _, err = call("init", str(tmp_path))
    assert code == EXIT_INVALID
    assert err.startswith("procflow init: cannot write") and "nothing written" in err
    assert files_in(tmp_path) == {"schemas"}


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "procedures").write_text("", encoding="utf-8")
    code, _, err = call("init", str(tmp_path / "procedures"))
    assert code == EXIT_INVALID and "is a file, not a folder" in err


# --- the pre-commit configuration ------------------------------------------------------------------


def pre_commit_config(folder: Path) -> dict[str, object]:
    text = (folder / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    pre_commit = python_tool("pre-commit")
    if pre_commit is None:
        missing_tool("pre-commit", "pip install -e '.[dev]'")
    assert pre_commit is not None
    checked = subprocess.run(
        [pre_commit, "validate-config", str(folder / ".pre-commit-config.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    loaded: dict[str, object] = yaml.safe_load(text)
    return loaded


def test_run_from_a_checkout_the_hook_comes_from_this_repository(tmp_path: Path) -> None:
    head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("this procflow is not a git checkout")  # e.g. a test run from an unpacked sdist
    call("init", str(tmp_path))
    (repo,) = pre_commit_config(tmp_path)["repos"]  # type: ignore[misc]
    assert repo == {"repo": str(CHECKOUT), "rev": head.stdout.strip(), "hooks": [{"id": "procflow-validate"}]}
    hooks = yaml.safe_load((CHECKOUT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert "procflow-validate" in [hook["id"] for hook in hooks]


def test_the_hook_repository_can_be_named(tmp_path: Path) -> None:
    call("init", str(tmp_path), "--hook-repo", "https://example.org/procflow.git", "--hook-rev", "v0.2.0")
    (repo,) = pre_commit_config(tmp_path)["repos"]  # type: ignore[misc]
    assert repo == {"repo": "https://example.org/procflow.git", "rev": "v0.2.0", "hooks": [{"id": "procflow-validate"}]}


def test_installed_without_a_checkout_the_hook_runs_the_installed_procflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.scaffold.this_checkout", lambda: None)
    call("init", str(tmp_path))
    (repo,) = pre_commit_config(tmp_path)["repos"]  # type: ignore[misc]
    (hook,) = repo["hooks"]
    assert repo["repo"] == "local"
    assert (hook["id"], hook["entry"], hook["language"]) == ("procflow-validate", "procflow validate", "system")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (shipped,) = hooks
    assert (hook["files"], hook["exclude"]) == (shipped["files"], shipped["exclude"])  # the same files checked


def test_a_revision_without_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = call("init", str(tmp_path), "--hook-rev", "v1")
    assert code == EXIT_USAGE and "--hook-repo and --hook-rev go together" in err
    assert not any(tmp_path.iterdir())


# --- in an editor ----------------------------------------------------------------------------------


def test_an_editor_finds_the_copied_schema_through_the_modeline(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not SERVER.is_file():
        missing_tool("yaml-language-server", "make editor-tools: npm ci in tests/editor")
    assert node is not None
    call("init", str(tmp_path))
    sample = tmp_path / "return_request.yaml"
    text = sample.read_text(encoding="utf-8")
    with YamlLanguageServer(node, {}, tmp_path) as server:  # no settings: only the modeline leads to a schema
        assert server.open(sample, text) == []
        broken = server.open(tmp_path / "broken.yaml", text.replace("    time_limit: 2d", "    time_limit: 2 dayz"))
    (diagnostic,) = broken
    assert diagnostic["range"]["start"]["line"] == text.splitlines().index("    time_limit: 2d")
    assert "`3 working days`" in diagnostic["message"]
    assert json.loads((tmp_path / "schemas" / "process.schema.json").read_text(encoding="utf-8"))["$id"]

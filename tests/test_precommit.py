"""The pre-commit hook this repository ships (.pre-commit-hooks.yaml), run by the real pre-commit.

`pre-commit try-repo` installs the hook the way another repository's `pre-commit install` would: it
clones this checkout (uncommitted changes to tracked files included) and pip-installs procflow into
a fresh virtualenv, from the package index pip is configured with.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURE, ROOT, missing_tool, position, python_tool

HOOK = "procflow-validate"
INSTALL_TIMEOUT = 600  # seconds: each run builds the hook's virtualenv
SCENARIO = """\
scenario: 1
start: {as: "wang:customer", at: "2026-11-23T09:00:00+08:00"}
events:
  - {as: "wang:customer", fire: submit, payload: {in_warranty: true, model: X1}}
  - {as: "li:clerk", fire: accept, at: "2026-11-23T11:00:00+08:00"}
expect: {state: done}
"""


def test_the_hook_runs_procflow_validate_on_yaml_files() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert (hook["id"], hook["language"], hook["entry"]) == (HOOK, "python", "procflow validate")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert hook["entry"].split()[0] in scripts  # the command the python env installs
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])
    for path in ("return_request.yaml", "processes/scenarios/x.yml"):
        assert files.search(path) and not exclude.search(path)
    for path in (".pre-commit-config.yaml", ".github/workflows/ci.yaml", "notes.txt"):
        assert not files.search(path) or exclude.search(path)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A git repository of procedures, and the environment to run pre-commit in it."""
    pre_commit, git = python_tool("pre-commit"), shutil.which("git")
    if pre_commit is None or git is None:
        missing_tool("pre-commit and git", "pip install -e '.[dev]'; apt-get install git")
    if not (ROOT / ".git").exists():
        pytest.skip("this procflow is not a git checkout, so there is no repository to take the hook from")
    base = tmp_path_factory.mktemp("precommit")
    repo = base / "procedures"
    (repo / "scenarios").mkdir(parents=True)
    (repo / ".github").mkdir()
    (repo / "repair.yaml").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    (repo / ".github" / "ci.yaml").write_text("on: push\n", encoding="utf-8")  # hidden: not a procedure
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(base / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    env.pop("PYTHONPATH", None)  # the hook must run the procflow it installed, not this checkout's
    subprocess.run([git, "init", "-q"], cwd=repo, env=env, check=True)
    yield repo, env


def try_hook(repository: tuple[Path, dict[str, str]], *files: str) -> subprocess.CompletedProcess[str]:
    repo, env = repository
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    pre_commit = python_tool("pre-commit")
    assert pre_commit is not None
    selection = ["--files", *files] if files else ["--all-files"]
    return subprocess.run(
        [pre_commit, "try-repo", str(ROOT), HOOK, *selection],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )


def test_the_hook_passes_good_files_and_fails_a_broken_one_at_its_place(
    repository: tuple[Path, dict[str, str]],
) -> None:
    repo, _ = repository
    (repo / "scenarios" / "repair.yaml").write_text(SCENARIO, encoding="utf-8")  # played against ../repair.yaml

    good = try_hook(repository)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    broken = FIXTURE.read_text(encoding="utf-8").replace("        dest: done\n", "        dest: nowhere\n", 1)
    (repo / "broken.yaml").write_text(broken, encoding="utf-8")
    bad = try_hook(repository)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    line, column = position(broken, "dest: nowhere", "nowhere")
    assert f"broken.yaml:{line}:{column}: error: `nowhere` is not a declared state" in bad.stdout
    assert "Failed" in bad.stdout
    assert "\nrepair.yaml: ok\n" in bad.stdout and "\nscenarios/repair.yaml: ok\n" in bad.stdout
    assert ".github" not in bad.stdout  # hidden files are not procedures

"""``procflow init``: a new folder of procedures that works on its own, outside this repository.

The folder gets copies of the schemas (so each file's ``yaml-language-server`` modeline finds one
beside it, with no network), a sample procedure with its scenario (from ``engine/templates/``), and
a ``.pre-commit-config.yaml`` that runs procflow's ``procflow-validate`` hook on each commit.
Nothing is ever overwritten: if any of these files is already there, nothing is written at all.
"""

from __future__ import annotations

import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InitRefused
from engine.schema import SCENARIO_SCHEMA_FILE, SCHEMA_FILE, schema_path

TEMPLATES = Path(__file__).parent / "templates"
SAMPLE = "return_request.yaml"
HOOK_ID = "procflow-validate"
CHECKOUT = Path(__file__).resolve().parent.parent
"""Where procflow runs from in a checkout (or an editable install): the repository holding the hook."""


@dataclass(frozen=True)
class HookSource:
    """The repository and revision a `.pre-commit-config.yaml` takes procflow's hook from."""

    repo: str
    rev: str


def this_checkout() -> HookSource | None:
    """This repository and its current commit, when procflow runs from a git checkout of it."""
    if not (CHECKOUT / ".pre-commit-hooks.yaml").is_file():
        return None
    try:
        found = subprocess.run(
            ["git", "-C", str(CHECKOUT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = found.stdout.strip()
    return HookSource(str(CHECKOUT), commit) if found.returncode == 0 and commit else None


def init_folder(folder: str | Path, hook: HookSource | None) -> list[Path]:
    """Lay out ``folder`` and return the files written. ``hook`` None: the hook runs the installed procflow."""
    root = Path(folder)
    files = _contents(hook)
    if root.exists() and not root.is_dir():
        raise InitRefused(f"{root} is a file, not a folder")
    there = [name for name in files if (root / name).exists() or (root / name).is_symlink()]
    if there:
        raise InitRefused(
            f"{root} already has {', '.join(there)}; nothing written (init never overwrites: "
            "move those away, or start the procedures in another folder)"
        )
    folders = [root, *sorted({(root / name).parent for name in files} - {root})]
    created: list[Path] = []
    written: list[Path] = []
    try:
        for made in folders:
            if not made.is_dir():
                made.mkdir(parents=True)
                created.append(made)
        for name, text in files.items():
            with (root / name).open("x", encoding="utf-8", newline="\n") as handle:  # "x": never over a file
                written.append(root / name)
                handle.write(text)
    except OSError as exc:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        for made in reversed(created):
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
        raise InitRefused(f"cannot write {exc.filename or root}: {exc.strerror or exc}; nothing written") from exc
    return written


def _contents(hook: HookSource | None) -> dict[str, str]:
    """Each file of a new folder, by its path inside it."""
    template = "pre-commit-config.yaml" if hook else "pre-commit-config-installed.yaml"
    pre_commit = string.Template(_template(template))
    return {
        f"schemas/{SCHEMA_FILE}": schema_path(SCHEMA_FILE).read_text(encoding="utf-8"),
        f"schemas/{SCENARIO_SCHEMA_FILE}": schema_path(SCENARIO_SCHEMA_FILE).read_text(encoding="utf-8"),
        SAMPLE: _template("process.yaml"),
        f"scenarios/{SAMPLE}": _template("scenario.yaml"),
        ".pre-commit-config.yaml": pre_commit.substitute(
            repo=hook.repo if hook else "", rev=hook.rev if hook else "", hook=HOOK_ID
        ),
    }


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")

"""What a user gets: the wheel carries the schema, and every shipped file points editors at it."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def test_the_wheel_carries_the_schema_and_the_command(tmp_path):
    pytest.importorskip("hatchling")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("procflow-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        bundled = json.loads(archive.read("engine/_schemas/process.schema.json"))
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert bundled == json.loads((ROOT / "schemas" / "process.schema.json").read_text(encoding="utf-8"))
    assert "procflow = engine.cli:main" in entry_points
    assert "engine/__main__.py" in names
    templates = {f"engine/templates/{p.name}" for p in (ROOT / "engine" / "templates").iterdir()}
    assert templates and templates <= names  # what `procflow init` writes


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_process_starts_with_a_modeline_to_the_schema(path: Path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    match = MODELINE.match(first_line)
    assert match, f"{path.name} must start with '# yaml-language-server: $schema=../schemas/process.schema.json'"
    assert (path.parent / match.group(1)).resolve() == (ROOT / "schemas" / "process.schema.json").resolve()


def test_the_schema_is_draft_2020_12_with_an_id():
    schema = json.loads((ROOT / "schemas" / "process.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")

"""What a user gets: the wheel carries the schema, and every shipped file points editors at it."""

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


TYPED_PROGRAM = """
from engine import Actor, Runtime, load_process

process = load_process("process.yaml")
runtime = Runtime(process)
clerk: Actor = Actor("li", roles=frozenset({"clerk"}))
states: list[str] = sorted(process.states)
"""

# With py.typed missing mypy calls the whole package Any and finds nothing wrong here.
MISTYPED_PROGRAM = """
from engine import load_process

process_id: int = load_process("process.yaml").id
"""


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> Path:
    """`python -m build` run in the checkout, as a packager would: one sdist and one wheel."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def test_the_wheel_carries_the_schema_the_types_and_the_command(distributions):
    (wheel,) = distributions.glob("procflow-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        bundled = json.loads(archive.read("engine/_schemas/process.schema.json"))
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert bundled == json.loads((ROOT / "schemas" / "process.schema.json").read_text(encoding="utf-8"))
    assert "procflow = engine.cli:main" in entry_points
    assert {"engine/__main__.py", "engine/py.typed"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    templates = {f"engine/templates/{p.name}" for p in (ROOT / "engine" / "templates").iterdir()}
    assert templates and templates <= names  # what `procflow init` writes
    studio = {"engine/web/static/studio.js", "engine/web/static/studio-page.js", "engine/web/templates/studio.html"}
    assert studio <= names  # the Studio page's assets: served from the package, no CDN
    assert not any("node_modules" in n for n in names)


def test_the_sdist_carries_the_license_the_examples_and_what_its_tests_need(distributions, tmp_path):
    (sdist,) = distributions.glob("procflow-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    assert (unpacked / "LICENSE").is_file() and (unpacked / "examples" / "out_of_warranty.py").is_file()
    assert (unpacked / "requirements.lock").is_file()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_example.py", "tests/test_api.py"],
        cwd=unpacked,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_program_using_the_installed_wheel_is_type_checked(distributions, tmp_path):
    (wheel,) = distributions.glob("procflow-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    with zipfile.ZipFile(wheel) as archive:  # what pip would unpack; no network, no resolver
        archive.extractall(site)
    (tmp_path / "good.py").write_text(TYPED_PROGRAM, encoding="utf-8")
    (tmp_path / "bad.py").write_text(MISTYPED_PROGRAM, encoding="utf-8")

    def mypy(program: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--no-incremental",
                "--python-executable",
                str(venv / "bin" / "python"),
                program,
            ],
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            capture_output=True,
            text=True,
            check=False,
        )

    good = mypy("good.py")
    assert good.returncode == 0, good.stdout
    bad = mypy("bad.py")
    assert bad.returncode == 1 and "bad.py:4: error:" in bad.stdout, bad.stdout


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

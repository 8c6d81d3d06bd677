"""Start-up: ``procflow validate`` imports what validating needs and nothing a command it does not run needs
(the runtime, the stores, the renderers, the HTTP service; networkx unless a definition has a decision cycle;
jsonschema unless a definition has a problem to word; RE2 unless a definition has a pattern).

Each case runs in a fresh interpreter and reads ``sys.modules`` after the command: what it imported, not
how long that took (benchmarks/README.md has the start-up figures).
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import FIXTURE, PROCESSES, ROOT

from engine.cli import COMMAND_MODULES, build_parser

# Modules only other commands need, or only an invalid definition; each costs start-up time when imported.
NOT_FOR_VALIDATE = (
    "dataclasses",  # with inspect: engine.frozen defines the classes validate makes without it
    "inspect",
    "_hashlib",  # OpenSSL: engine.definition hashes with the standard library's own SHA-256
    "copy",  # the full schema check's, as tokenize is a non-ASCII expression's
    "tokenize",
    "encodings.utf_8_sig",  # engine.loader takes a UTF-8 file's byte order mark off itself
    "shutil",  # argparse's for the terminal's width, which engine.cli.options asks for itself
    "argparse",  # with gettext and locale: `validate PATH...` is read without a parser
    "gettext",
    "locale",
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "re2",
    "networkx",
    "transitions",
    "graphviz",
    "jinja2",
    "starlette",
    "uvicorn",
    "psycopg",
    "sqlite3",
    "engine.compiler",
    "engine.history_facts",
    "engine.firing",  # the runtime's parts: the event path, and each concern it calls on
    "engine.attempt",
    "engine.signoffs",
    "engine.limits",
    "engine.choices",
    "engine.runtime",
    "engine.stores",
    "engine.service",
    "engine.simulate",
    "engine.render",
    "engine.http",
    "engine.web",
    "engine.studio",
)

_REPORT_MODULES = """
import json, sys
from engine.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported_by(*argv: str) -> tuple[int, str, str, set[str]]:
    """The exit status, standard output and error, and the modules loaded by ``procflow ARGV`` in a new
    interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_MODULES, *argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    *errors, last = done.stderr.splitlines()
    report = json.loads(last)
    return report["status"], done.stdout, "".join(f"{line}\n" for line in errors), set(report["modules"])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


@pytest.mark.parametrize("path", [PROCESSES / "exchange.yaml", FIXTURE])
def test_validate_imports_nothing_another_command_needs(path):
    status, out, err, modules = imported_by("validate", str(path))
    assert (status, out, err) == (0, f"{path}: ok\n", "")
    assert loaded(modules, NOT_FOR_VALIDATE) == []


_REPORT_PATTERNS = """
import json, sys
from engine.cli import main
status = main(sys.argv[1:])
from engine import errors, expressions, loader, schema_errors, timing
from engine.checks import support
unused = {"problems": errors._unprintable, "characters": loader._not_allowed_character,
          "bidi": expressions._bidi_controls, "iso": timing._iso, "zero": schema_errors._zero_duration,
          "literal": schema_errors._python_literal, "float": loader._float, "infinity": loader._not_finite,
          "octal": loader._octal, "hexadecimal": loader._hexadecimal, "long": timing._long,
          "working": timing._working, "limits": support._plain_data_path}
compiled = [name for name, made in unused.items() if made.cache_info().currsize]
print(json.dumps({"status": status, "compiled": compiled}), file=sys.stderr)
"""


def test_validate_compiles_no_pattern_only_a_problem_needs():
    """The patterns that find what a valid definition has none of are compiled when one is found (exchange.yaml
    has no ISO 8601 duration, nor one in words, no number other than a whole one, no limit taken from the
    data): each costs up to millions of instructions."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = str(PROCESSES / "exchange.yaml")
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_PATTERNS, "validate", path], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert json.loads(done.stderr.splitlines()[-1]) == {"status": 0, "compiled": []}


def test_validate_with_a_decision_cycle_still_lists_it(tmp_path, fixture_text):
    """networkx is what lists the cycles: imported for a definition that has one."""
    path = tmp_path / "cycle.yaml"
    old = "    default: {zh: 超出保修期, en: Out of warranty, dest: quote}\n"
    assert old in fixture_text
    recheck = (
        "    default: {zh: 超出保修期, en: Out of warranty, dest: recheck}\n"
        "  recheck:\n    type: decision\n    zh: 复核\n    en: Recheck\n    role: clerk\n    source: 三.1\n"
        "    branches: [{when: data.in_warranty, zh: 是, en: Yes, dest: quote}]\n"
        "    default: {zh: 否, en: No, dest: check_warranty}\n"
    )
    path.write_text(fixture_text.replace(old, recheck, 1), encoding="utf-8")
    status, out, err, modules = imported_by("validate", str(path))
    assert status == 1 and out == f"{path}: 1 error(s)\n"
    assert "decisions `check_warranty` → `recheck` → `check_warranty` lead to one another" in err
    assert "networkx" in modules


def test_importing_the_package_imports_none_of_it():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = "import sys, engine; print(sorted(m for m in sys.modules if m.startswith('engine')))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "['engine']"


def test_every_command_is_built_alone_as_in_the_whole_parser():
    whole = build_parser()
    (commands,) = [a for a in whole._actions if a.dest == "command"]
    assert list(commands.choices) == [name for names in COMMAND_MODULES.values() for name in names]
    for name, parser in commands.choices.items():
        (alone,) = [a for a in build_parser(name)._actions if a.dest == "command"]
        assert alone.choices[name].format_help() == parser.format_help()


def test_run_as_the_program_the_imports_are_frozen_and_the_collector_back_on():
    """``main()`` with no arguments (the program) sets its imports apart from the collector's scans;
    called with arguments (by another program, as tests do) it leaves the collector as it found it."""
    script = (
        "import gc, sys; from engine.cli import main\n"
        "main(['validate', sys.argv[1]]); called = gc.get_freeze_count()\n"
        "sys.argv[1:] = ['validate', sys.argv[1]]; main()\n"
        "print(called, gc.get_freeze_count() > 1000, gc.isenabled())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(PROCESSES / "exchange.yaml")], capture_output=True, text=True, env=env
    )
    assert done.stdout.splitlines()[-1] == "0 True True"

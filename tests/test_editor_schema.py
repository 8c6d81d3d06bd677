"""The bundled schemas in an editor: read whole with no network, located diagnostics, completion by state kind.

The editor side is the real yaml-language-server (the server VS Code's YAML extension and others
run), driven over LSP from ``lsp_client``; `make editor-tools` installs it under tests/editor.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.exceptions
import referencing.jsonschema
from conftest import ROOT, SHIPPED, missing_tool, mutate, position
from lsp_client import SERVER, YamlLanguageServer

from engine.processes import validate_text
from engine.schema import SCENARIO_SCHEMA_FILE, SCHEMA_FILE, bundled_schema

SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))
NODE = shutil.which("node")
STATE_KINDS = ("task_state", "wait_state", "decision_state", "final_state")


# --- the files themselves --------------------------------------------------------------------------


def references(value: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` in a schema document, with the JSON pointer of the object holding it."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "$ref" and isinstance(inner, str):
                yield where, inner
            else:
                yield from references(inner, f"{where}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from references(inner, f"{where}/{index}")


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_every_reference_stays_inside_its_schema_file(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    found = list(references(schema))
    outside = [(where, ref) for where, ref in found if not ref.startswith("#")]
    assert not outside, f"{path.name}: an editor with no network cannot follow {outside}"
    resource = referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT202012)
    resolver = referencing.Registry().with_resource(schema["$id"], resource).resolver(base_uri=schema["$id"])
    for where, ref in found:
        try:
            resolver.lookup(ref)
        except referencing.exceptions.Unresolvable as exc:
            pytest.fail(f"{path.name} {where}: `{ref}` points to nothing: {exc}")


def test_the_walk_finds_references() -> None:
    refs = [ref for _, ref in references(bundled_schema(SCHEMA_FILE))]
    assert "#/$defs/json_schema" in refs and "#/$defs/task_state" in refs


@pytest.mark.parametrize("name", [SCHEMA_FILE, SCENARIO_SCHEMA_FILE])
def test_the_editor_message_keywords_are_valid_json_schema(name: str) -> None:
    schema = bundled_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "patternErrorMessage" in json.dumps(schema)


def test_a_key_means_the_same_in_every_kind_of_state() -> None:
    defs = bundled_schema(SCHEMA_FILE)["$defs"]
    meanings: dict[str, Any] = {}
    for kind in STATE_KINDS:
        for key, meaning in defs[kind]["properties"].items():
            if key != "type":
                assert meanings.setdefault(key, meaning) == meaning, f"`{key}` differs in {kind}"
    assert {"on", "branches", "default", "time_limit", "deadlines", "role"} <= set(meanings)


def test_the_engine_still_checks_embedded_schemas_against_the_real_metaschema(fixture_text: str) -> None:
    # `multipleOf: 0` passes the loose description editors get, but not the draft 2020-12 metaschema.
    field = "    model: {type: string}\nstates"
    text = mutate(fixture_text, (field, field.replace("string}", "number, multipleOf: 0}")))
    report = validate_text(text, "m.yaml")
    assert not report.ok
    assert [(p.location.line, "`multipleOf`" in p.message) for p in report.problems] == [
        (position(text, "multipleOf: 0")[0], True)
    ]


# --- the real language server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[YamlLanguageServer, Path]]:
    if NODE is None or not SERVER.is_file():
        missing_tool("yaml-language-server", "make editor-tools: npm ci in tests/editor")
    assert NODE is not None
    workspace = tmp_path_factory.mktemp("editor")
    schemas = {
        (ROOT / "schemas" / SCHEMA_FILE).as_uri(): ["*.process.yaml"],
        (ROOT / "schemas" / SCENARIO_SCHEMA_FILE).as_uri(): ["*.scenario.yaml"],
    }
    with YamlLanguageServer(NODE, schemas, workspace) as running:
        yield running, workspace


_opened = iter(range(1_000_000))


def diagnose(server: tuple[YamlLanguageServer, Path], text: str, kind: str = "process") -> list[dict[str, Any]]:
    """The diagnostics the server publishes for ``text`` opened as a new document (no modeline)."""
    running, workspace = server
    text = "\n".join(line for line in text.split("\n") if not line.startswith("# yaml-language-server:"))
    return running.open(workspace / f"doc{next(_opened)}.{kind}.yaml", text)


def lines_of(diagnostics: list[dict[str, Any]]) -> list[int]:
    """1-based lines, as the engine counts them."""
    return [d["range"]["start"]["line"] + 1 for d in diagnostics]


def test_a_valid_process_has_no_diagnostics(server: tuple[YamlLanguageServer, Path], fixture_text: str) -> None:
    assert diagnose(server, fixture_text) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_process_reads_its_schema_through_its_modeline(
    server: tuple[YamlLanguageServer, Path], path: Path
) -> None:
    # Opened where it lies, so its `$schema=../schemas/...` modeline is what finds the schema.
    running, _ = server
    assert running.open(path, path.read_text(encoding="utf-8")) == []
    broken = path.read_text(encoding="utf-8").replace("\nid: ", "\nidd: ", 1)
    assert any("idd" in d["message"] for d in running.open(path.with_name("broken-" + path.name), broken))


@pytest.mark.parametrize(
    ("edit", "needle", "words"),
    [
        pytest.param(
            ("    role: customer\n    time_limit: 1w", "    roel: customer\n    time_limit: 1w"),
            "    roel: customer",
            ("roel",),
            id="misspelt-key",
        ),
        pytest.param(("version: 1\n", "version: one\n"), "version: one", ("integer",), id="wrong-type"),
        pytest.param(
            ("time_limit: 3 working days", "time_limit: 3 dayz"),
            "time_limit: 3 dayz",
            ("`24h`", "`3 working days`", "`P1DT12H`"),
            id="bad-duration",
        ),
        pytest.param(
            ("  supervisor: {zh: 维修主管", "  Bad-Role: {zh: 坏角色, en: Bad}\n  supervisor: {zh: 维修主管"),
            "  Bad-Role: {zh",
            ("lower-case letters",),
            id="bad-identifier",
        ),
        pytest.param(
            ("    produces: [repair_order]\n", "    produces: [repair_order]\n    branches: []\n"),
            "    branches: []",
            ("branches",),
            id="another-kinds-key",
        ),
    ],
)
def test_a_broken_process_gets_a_diagnostic_at_its_line(
    server: tuple[YamlLanguageServer, Path], fixture_text: str, edit: tuple[str, str], needle: str, words: tuple[str]
) -> None:
    text = mutate(fixture_text, edit)
    line = position(text, needle)[0] - 1  # the modeline is dropped before opening
    diagnostics = diagnose(server, text)
    at_line = [d for d in diagnostics if d["range"]["start"]["line"] + 1 == line]
    assert at_line, f"nothing at line {line}: {[(lines_of([d]), d['message']) for d in diagnostics]}"
    message = " ".join(d["message"] for d in at_line)
    for word in words:
        assert word in message
    assert "does not match the pattern" not in message  # the pattern's readable message, not the regex
    assert all(d["severity"] == 1 for d in at_line)


def test_a_broken_scenario_gets_a_readable_diagnostic(server: tuple[YamlLanguageServer, Path]) -> None:
    text = (
        "scenario: 1\nstart:\n  as: zhang:customer\n  at: 2026-11-23T09:10:00+08:00\n"
        "events:\n  - as: li\n    fire: submit\n"
    )
    (diagnostic,) = diagnose(server, text, "scenario")
    assert lines_of([diagnostic]) == [6]
    assert "`name:role`" in diagnostic["message"]


NEW_STATE = "  {name}:\n    type: {kind}\n    zh: 新步骤\n    en: A new step\n    \n"


@pytest.mark.parametrize(
    ("kind", "offered", "not_offered"),
    [
        ("task", {"role", "on", "time_limit", "deadlines", "produces", "source"}, {"branches", "default"}),
        ("start", {"role", "on", "time_limit"}, {"branches", "default"}),
        ("wait", {"role", "on", "time_limit", "deadlines"}, {"branches", "default"}),
        ("decision", {"branches", "default", "role", "source"}, {"on", "time_limit", "deadlines"}),
        ("final", {"description", "source"}, {"on", "branches", "default", "time_limit", "deadlines"}),
    ],
)
def test_completion_in_a_state_offers_the_keys_of_its_kind_only(
    server: tuple[YamlLanguageServer, Path], fixture_text: str, kind: str, offered: set[str], not_offered: set[str]
) -> None:
    running, workspace = server
    text = mutate(fixture_text, ("  done:\n", NEW_STATE.format(name="new_step", kind=kind) + "  done:\n"))
    text = text.split("\n", 1)[1]  # no modeline: the settings map the schema
    document = workspace / f"completion-{kind}.process.yaml"
    running.open(document, text)
    line = position(text, "    en: A new step\n")[0]  # 1-based, so the 0-based number of the blank line after it
    labels = set(running.completion(document, line, 4))
    assert offered <= labels, f"missing {offered - labels} from {sorted(labels)}"
    assert not labels & not_offered, f"a `{kind}` state was offered {sorted(labels & not_offered)}"


def test_hovering_a_key_shows_its_description(server: tuple[YamlLanguageServer, Path], fixture_text: str) -> None:
    running, workspace = server
    text = fixture_text.split("\n", 1)[1]
    document = workspace / "hover.process.yaml"
    running.open(document, text)
    line, column = position(text, "    time_limit: 3 working days")
    shown = running.hover(document, line - 1, column + 5)
    assert "How long this step may take" in shown

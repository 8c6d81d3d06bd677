"""The library API a developer embeds: what is exported, and how loading behaves."""

import ast
import dataclasses
import importlib
import pkgutil
import re

import pytest
from conftest import FIXTURE, ROOT

import engine
import engine.errors
from engine import DefinitionError, Severity, load_process, load_process_text, validate_file

# The API besides the exceptions, pinned: a name leaves or joins it only on purpose.
PINNED = {
    "Actor",
    "Advanced",
    "Assignment",
    "Offer",
    "WorkItem",
    "Worklist",
    "BranchTaken",
    "Choice",
    "Clock",
    "ClockMark",
    "ClockReport",
    "Entry",
    "Instance",
    "OpenDeadline",
    "Runtime",
    "Signature",
    "RecordVersion",
    "RecordWritten",
    "instance_from_json",
    "instance_to_json",
    "Branch",
    "Calendar",
    "Deadline",
    "Duration",
    "Problem",
    "Process",
    "Record",
    "RecordBinding",
    "Part",
    "PartStatus",
    "Role",
    "Severity",
    "SignOff",
    "SourceLocation",
    "State",
    "StateKind",
    "Text",
    "Transition",
    "ValidationReport",
    "InstanceSummary",
    "Damaged",
    "Verified",
    "ProcessRef",
    "Workflows",
    "open_store",
    "load_process",
    "load_process_text",
    "validate_file",
    "validate_text",
    "Change",
    "FieldChange",
    "diff_processes",
    "load_definition",
    "Impact",
    "Touched",
    "MigrationPlan",
    "MigrationReport",
    "CaseMigration",
    "load_plan",
}


def errors_a_user_can_meet() -> dict[str, type]:
    """Every ProcflowError subclass any library module defines, public or not."""
    found: dict[str, type] = {}
    for module_info in pkgutil.walk_packages(engine.__path__, "engine."):
        if module_info.name.endswith("__main__") or module_info.name.startswith(("engine.cli", "engine.http")):
            continue  # the command and the HTTP service: their errors end as a line on stderr or problem details
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, engine.ProcflowError)
                and value.__module__ == module.__name__
            ):
                found[name] = value
    return found


def test_every_error_a_user_can_meet_is_exported_under_its_own_name():
    errors = errors_a_user_can_meet()
    assert {"ProcflowError", "RenderError", "LayoutTimeout", "DuplicateKey", "BookError"} <= set(errors)
    assert {"ExpressionSyntaxError", "ExpressionEvaluationError"} <= set(errors)
    missing = sorted(set(errors) - set(engine.__all__))
    assert not missing, f"add these to engine.__all__: {missing}"
    assert all(getattr(engine, name) is cls for name, cls in errors.items())


def test_exported_members_are_the_pinned_api_and_the_errors():
    assert set(engine.__all__) == PINNED | set(errors_a_user_can_meet())
    assert len(engine.__all__) == len(set(engine.__all__))
    assert all(hasattr(engine, name) for name in engine.__all__)


def test_load_process_gives_a_typed_model():
    process = load_process(FIXTURE)
    assert process.id == "minimal_repair" and process.version == 1
    assert process.start.id == "apply"
    quote = process.states["quote"]
    assert quote.role == "supervisor" and quote.time_limit.working and quote.time_limit.amount == 3
    assert [t.trigger for t in quote.transitions] == ["send_quote", "escalate", "withdraw", "hold"]
    send_quote = quote.transitions[0]
    assert send_quote.roles == ("supervisor",)  # defaults to the state's role
    assert send_quote.signoffs[0].not_actor_of == ("apply",)
    withdraw = next(t for t in process.shared_transitions if t.trigger == "withdraw")
    assert "done" not in withdraw.sources and "apply" in withdraw.sources  # '*' means every non-final state


def test_the_model_is_immutable():
    process = load_process(FIXTURE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        process.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        process.states["x"] = process.states["apply"]  # type: ignore[index]
    with pytest.raises(TypeError):
        process.data_schema["properties"]["new"] = {}  # type: ignore[index]


def test_content_hash_ignores_layout_and_comments_but_not_content(fixture_text):
    original = load_process_text(fixture_text, "a.yaml").content_hash
    reformatted = load_process_text(
        "# a comment\n"
        + fixture_text.replace(
            "title: {zh: 简易维修, en: Simple repair}", "title:\n  zh: 简易维修\n  en: Simple repair"
        ),
        "b.yaml",
    ).content_hash
    changed = load_process_text(fixture_text.replace("time_limit: 24h", "time_limit: 48h"), "c.yaml").content_hash
    assert original == reformatted != changed


def test_the_content_hash_is_worked_out_when_first_read_as_the_hash_of_the_data(fixture_text, monkeypatch):
    import engine.definition
    from engine.loader import load_text

    hashed = []
    hash_of = engine.definition.content_hash
    monkeypatch.setattr(engine.definition, "content_hash", lambda data: hashed.append(1) or hash_of(data))
    process = load_process_text(fixture_text, "a.yaml")
    assert hashed == []  # loading, checking and compiling never read it
    expected = hash_of(load_text(fixture_text, "a.yaml").data)  # the loaded (unfrozen) data's
    assert process.content_hash == expected and process.content_hash == expected and hashed == [1]
    assert vars(process)["content_hash"] == expected  # kept once worked out
    again = load_process_text(fixture_text, "b.yaml")
    assert again == process and repr(again) == repr(process)
    assert dataclasses.replace(again, content_hash="x").content_hash == "x"
    assert dataclasses.replace(again, id="other").content_hash == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        process.content_hash = "other"  # type: ignore[misc]


def test_a_loaded_document_is_frozen_as_freeze_json_freezes_it(fixture_text):
    from types import MappingProxyType

    from engine.definition import frozen_document
    from engine.loader import load_text
    from engine.model import freeze_json

    def same(ours, theirs):
        assert type(ours) is type(theirs)
        if type(ours) is MappingProxyType:
            assert list(ours) == list(theirs)
            for key in ours:
                same(ours[key], theirs[key])
        elif type(ours) is tuple:
            assert len(ours) == len(theirs)
            for mine, its in zip(ours, theirs, strict=True):
                same(mine, its)
        else:
            assert ours == theirs

    nested = "a: [[1, [2, {b: [3]}]], {c: {d: [null, true, 1.5, x]}}, []]\ne: {}\n"
    for text in (fixture_text, nested):
        data = load_text(text, "f.yaml").data
        same(frozen_document(data), freeze_json(data))


def test_load_process_raises_with_every_error_located(fixture_text):
    broken = fixture_text.replace("role: clerk\n    time_limit: 24h", "role: clerck\n    time_limit: 24h").replace(
        "dest: done", "dest: dnoe"
    )
    with pytest.raises(DefinitionError) as caught:
        load_process_text(broken, "broken.yaml")
    messages = [p.message for p in caught.value.errors]
    assert any("`clerck`" in m for m in messages) and any("`dnoe`" in m for m in messages)
    assert all(p.location.file == "broken.yaml" and p.location.line > 1 for p in caught.value.errors)


def test_validate_file_reports_warnings_without_failing(tmp_path, fixture_text):
    path = tmp_path / "w.yaml"
    path.write_text(fixture_text.replace("roles:\n", "roles:\n  idle: {zh: 闲置, en: Idle}\n"), encoding="utf-8")
    report = validate_file(path)
    assert report.ok and report.process is not None
    assert [p.severity for p in report.problems] == [Severity.WARNING]


def test_schema_and_semantic_problems_are_reported_in_one_pass(fixture_text):
    broken = fixture_text.replace("    time_limit: 24h", "    time_limt: 24h").replace(
        "role: clerk\n    time_limt", "role: clerck\n    time_limt"
    )
    report = engine.validate_text(broken, "b.yaml")
    codes = sorted(p.code for p in report.errors)
    assert codes == ["unknown-key", "unknown-reference"]
    assert report.process is None


def test_semantic_checks_wait_when_the_shape_is_unusable(fixture_text):
    broken = fixture_text.replace("        dest: done\n", "        destt: done\n").replace(
        "role: clerk\n    time_limit: 24h", "role: clerck\n    time_limit: 24h"
    )
    messages = [p.message for p in engine.validate_text(broken, "b.yaml").errors]
    assert len(messages) == 1 and "unknown key `destt` — did you mean `dest`?" in messages[0]


def test_the_error_tree_drawn_in_errors_py_is_the_tree_of_the_classes():
    """Each bullet of ``engine.errors``' docstring sits under its base class, and every class is drawn once."""
    drawn: dict[str, str] = {}
    parents: list[tuple[int, str]] = []
    for line in (engine.errors.__doc__ or "").splitlines():
        found = re.match(r"^( *)\* (\w+)", line)
        if found is None:
            continue
        depth, name = len(found.group(1)), found.group(2)
        parents = [(d, n) for d, n in parents if d < depth]
        assert name not in drawn, f"`{name}` is drawn twice"
        drawn[name] = parents[-1][1] if parents else ""
        parents.append((depth, name))
    classes = {name: cls for name, cls in vars(engine.errors).items() if isinstance(cls, type)}
    errors = {name for name, cls in classes.items() if issubclass(cls, engine.ProcflowError)}
    assert set(drawn) == errors
    for name, parent in drawn.items():
        if parent:
            assert classes[name].__bases__ == (classes[parent],), f"`{name}` is drawn under `{parent}`"


@pytest.mark.parametrize(
    ("facade", "known"),
    [
        ("engine.runtime", {"Runtime", "Actor", "Choice", "ChildStart", "SIGN"}),
        ("engine.service", {"Workflows", "Event", "Batch", "WorkItem", "Worklist"}),
        ("engine.render.bpmn", {"to_bpmn", "BPMN_NS", "PROCFLOW_NS", "EXPRESSION_LANGUAGE"}),
    ],
)
def test_a_split_module_still_offers_what_its_users_import(facade, known):
    """``engine.runtime``, ``engine.service`` and ``engine.render.bpmn`` are assembled from modules that do
    their work: every name the code, the tests and the benchmarks import from them is still there, and in
    its ``__all__``."""
    imported = {
        alias.name
        for folder in ("engine", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == facade
        for alias in node.names
    }
    module = importlib.import_module(facade)
    assert known <= imported
    assert imported <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)

"""The shape of the code: data flows one way, and the schema and the definition reader share one vocabulary."""

import ast
import importlib
import json

import pytest
from conftest import ROOT

from engine import errors
from engine.schema import EMBEDDED_SCHEMA

ENGINE = ROOT / "engine"
# A module may import only modules listed before it (the order of ../shared/STYLE.md's table).
LAYERS = [
    "files",
    "collector",
    "frozen_inits",
    "frozen",
    "source",
    "errors",
    "pointers",
    "patterns",
    "pyyaml",
    "loader",
    "quick_checks",
    "schema_errors",
    "schema",
    "value_errors",
    "fragments",
    "expressions",
    "messages",
    "model",
    "timing",
    "inputs",
    "instances",
    "work",
    "outbox",
    "delivery",
    "clocks",
    "history_facts",
    "definition",
    "digraph",
    "checks",
    "processes",
    "revisions",
    "compiler",
    "actors",
    "stays",
    "records",
    "limits",
    "signoffs",
    "deadlines",
    "attempt",
    "notifying",
    "parts",
    "subprocesses",
    "choices",
    "claims",
    "corrections",
    "firing",
    "replay",
    "runtime",
    "changes",
    "changelog",
    "migration",
    "impact",
    "stores",
    "migrating",
    "service_definitions",
    "service_writes",
    "service_verify",
    "service_events",
    "service_outbox",
    "service_worker",
    "service_worklist",
    "service_queries",
    "service_migrations",
    "service",
    "scenarios",
    "sampling",
    "simulate",
    "render",
    "scaffold",
    "studio",
    "http",
    "web",
    "cli",
]
PACKAGES = {"expressions", "checks", "stores", "render", "http", "web", "cli"}
# Renderers draw the model and recorded histories; they never run anything.
RENDER_MAY_NOT_IMPORT = {"compiler", "runtime", "stores", "service", "scenarios", "simulate", "cli"}
STANDARD_LIBRARY_ONLY = {
    "files",
    "collector",
    "frozen_inits",
    "frozen",
    "model",
    "source",
    "errors",
    "pointers",
    "timing",
    "digraph",
}


def module_files(layer: str) -> list:
    """The files of a layer: one module, or every module of a package."""
    return sorted((ENGINE / layer).glob("*.py")) if layer in PACKAGES else [ENGINE / f"{layer}.py"]


def engine_imports(layer: str) -> set[str]:
    found = set()
    for path in module_files(layer):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "engine":  # from engine import clocks
                found.update(f"engine.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_a_module_imported_from_the_package_counts_as_its_import():
    assert "engine.clocks" in engine_imports("firing")


def test_every_module_is_in_a_layer():
    modules = {p.stem for p in ENGINE.glob("*.py")} - {"__init__", "__main__"}
    packages = {p.parent.name for p in ENGINE.glob("*/__init__.py")}
    assert modules | packages == set(LAYERS)
    assert packages == PACKAGES


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_only_from_layers_above(layer):
    allowed = set(LAYERS[: LAYERS.index(layer)]) | {layer}
    for name in engine_imports(layer):
        if name.startswith("engine."):
            assert name.split(".")[1] in allowed, f"{layer} imports {name}, which is not above it"


# Inside render/, the same rule: the diagram model first, then what draws it; the package's
# __init__ gathers the drawings; the book is built on top of it.
RENDER_LAYERS = [
    "diagram",
    "overlay",
    "layout_check",
    "dot",
    "graphviz_run",
    "pdf_pages",
    "paper",
    "mermaid",
    "bpmn_layout",
    "bpmn_xml",
    "bpmn_nodes",
    "bpmn_rooms",
    "bpmn_geometry",
    "bpmn_di",
    "bpmn_lanes",
    "bpmn_flow_nodes",
    "bpmn_flows",
    "bpmn",
    "changes",
    "__init__",
    "book_style",
    "book_html",
    "book_chart",
    "book_controls",
    "conditions",
    "book_revisions",
    "book_words",
    "book_sections",
    "book_pages",
    "book",
]


def render_imports(module: str) -> set[str]:
    """The render modules ``module`` imports (``__init__`` for a name taken from the package itself)."""
    found = set()
    for node in ast.walk(ast.parse((ENGINE / "render" / f"{module}.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "engine.render":
            found.update(a.name if a.name in RENDER_LAYERS else "__init__" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine.render."):
            found.add(node.module.split(".")[2])
    return found


def test_every_render_module_is_in_a_render_layer():
    assert {p.stem for p in (ENGINE / "render").glob("*.py")} == set(RENDER_LAYERS)


@pytest.mark.parametrize("module", RENDER_LAYERS)
def test_render_modules_import_only_from_render_modules_above(module):
    allowed = set(RENDER_LAYERS[: RENDER_LAYERS.index(module)])
    assert render_imports(module) <= allowed, f"render/{module} imports {render_imports(module) - allowed}"


def test_renderers_never_import_the_runtime():
    imported = {name.split(".")[1] for name in engine_imports("render") if name.startswith("engine.")}
    assert not imported & RENDER_MAY_NOT_IMPORT


@pytest.mark.parametrize("module", sorted(STANDARD_LIBRARY_ONLY))
def test_model_layers_use_the_standard_library_only(module):
    third_party = {"yaml", "jsonschema", "referencing", "networkx", "transitions", "graphviz"}
    assert not {name.split(".")[0] for name in engine_imports(module)} & third_party


def schema_vocabulary() -> set[str]:
    """Every key the language defines (not the keywords of the JSON Schema fragments inside it)."""
    schema = json.loads((ROOT / "schemas" / "process.schema.json").read_text(encoding="utf-8"))
    keys = set(schema["properties"])
    for name, definition in schema["$defs"].items():
        if name == EMBEDDED_SCHEMA:  # the keywords of an embedded JSON Schema, described for editors
            continue
        keys |= set(definition.get("properties", {}))
        for variant in definition.get("anyOf", []):
            keys |= set(variant.get("properties", {}))
    return keys


def keys_read_by(module: str) -> set[str]:
    """String keys the module looks up: ``raw["x"]``, ``raw.get("x")``, ``"x" in raw``, and the keys of
    the paths it takes frozen parts of the document at, ``frozen(path + ("x",))``."""
    tree = ast.parse((ENGINE / f"{module}.py").read_text(encoding="utf-8"))
    keys = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "frozen":
            keys |= {
                c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and isinstance(node.ops[0], ast.In)
        ):
            keys.add(node.left.value)
    return keys


def test_the_definition_reader_reads_exactly_the_schemas_keys():
    # `procflow` is the language version: the schema pins it, so the model has nothing to keep.
    assert keys_read_by("definition") == schema_vocabulary() - {"procflow"}


def test_every_procflow_error_is_declared_in_the_error_tree() -> None:
    # errors.py's docstring draws the tree: an error class declared anywhere else would be missing from it.
    for path in sorted(ENGINE.rglob("*.py")):
        if path.name != "__main__.py":  # the command itself: importing it runs it
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"))
    tree = (ENGINE / "errors.py").read_text(encoding="utf-8").split('"""', 2)[1]
    pending, found = [errors.ProcflowError], []
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    assert [c.__name__ for c in found if c.__module__ != "engine.errors"] == []
    assert [c.__name__ for c in found[1:] if f"* {c.__name__} —" not in tree] == []


def test_the_parts_workflows_is_assembled_from_never_define_one_name_twice():
    # ``Workflows`` inherits one part per module (engine/service_*.py): a name two parts defined would be
    # taken silently from whichever comes first in the method resolution order, and the other part's
    # callers would run code they were not written against.
    from engine.service import Workflows

    defined: dict[str, list[str]] = {}
    for part in Workflows.__mro__:
        if part.__module__.startswith("engine.service"):
            for name in vars(part):
                if not (name.startswith("__") and name.endswith("__")):
                    defined.setdefault(name, []).append(part.__name__)
    assert {name: parts for name, parts in defined.items() if len(parts) > 1} == {}

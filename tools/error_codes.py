"""Every error code procflow can give, found by reading engine/'s source, and docs/errors.md written
from them with what each means and how to fix it (tools/error_codes.yaml).

Three families of codes: a ``Problem.code`` in a definition, scenario or plan (``procflow validate``,
``DefinitionError.problems``); an ``EventRefused.code`` (a refused event, a scenario's
``refused:``); and the ``code`` of an HTTP problem (RFC 9457) the service sends back. The codes are
string literals at the places that raise them, so they are collected by reading the syntax tree:
``code=`` keywords, the argument in the ``code`` position of a helper that takes one (and its
default), a ``(path, code, message)`` triple or ``(code, message)`` pair, and each ``EventRefused`` subclass's ``code``.

    python tools/error_codes.py            # rewrite docs/errors.md
    python tools/error_codes.py --check    # exit 1 when docs/errors.md is out of date
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
CATALOGUE = Path(__file__).resolve().with_suffix(".yaml")
PAGE = ROOT / "docs" / "errors.md"
FAMILIES = ("definition", "refusal", "http")
CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
WARNING_HELPERS = frozenset({"_warning", "_warning_at", "warning", "warning_on_item"})


@dataclass
class Emitted:
    """Where one code is given, and with which severities (definition problems only)."""

    modules: set[str] = field(default_factory=set)
    severities: set[str] = field(default_factory=set)


@functools.cache
def emitted() -> dict[str, dict[str, Emitted]]:
    """``{family: {code: Emitted}}`` for every code a module of engine/ gives as a literal (read once)."""
    found: dict[str, dict[str, Emitted]] = {family: defaultdict(Emitted) for family in FAMILIES}
    trees = {}
    for path in sorted(ENGINE.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        trees[module] = ast.parse(path.read_text("utf-8"), module)
    helpers = {_dotted(module): _code_positions(tree, _family(module)) for module, tree in trees.items()}
    for module, tree in trees.items():
        family = _family(module)
        for code, severity, kind in _codes_in(tree, family, _imported_helpers(tree, helpers)):
            entry = found[kind][code]
            entry.modules.add(module)
            if severity:
                entry.severities.add(severity)
    return {family: dict(codes) for family, codes in found.items()}


def _family(module: str) -> str:
    return "http" if module.startswith("engine/http/") else "definition"


def _dotted(module: str) -> str:
    """``engine/checks/support.py`` → ``engine.checks.support`` (a package's ``__init__`` is the package)."""
    return module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _imported_helpers(tree: ast.Module, helpers: dict[str, dict[str, int]]) -> dict[str, int]:
    """The code positions of the helpers a module imports by name from another module of engine/."""
    positions: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in helpers:
            known = helpers[node.module]
            positions.update((a.name, known[a.name]) for a in node.names if a.name in known and a.asname is None)
    return positions


def _codes_in(tree: ast.Module, family: str, imported: dict[str, int]) -> Iterator[tuple[str, str, str]]:
    """``(code, severity, family)`` for each literal code in one module; ``imported`` are the positions of
    ``code`` in the helpers it imports."""
    positions = imported | _code_positions(tree, family)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and _refusal_class(node):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and _targets(statement) == ["code"]:
                    yield from _literal(statement.value, "", "refusal")
        if isinstance(node, ast.Call):
            name = _called(node)
            severity = "warning" if name in WARNING_HELPERS or _mentions_warning(node) else ""
            severity = severity or ("error" if family == "definition" else "")
            for keyword in node.keywords:
                if keyword.arg == "code":
                    yield from _literal(keyword.value, severity, family)
            index = positions.get(name)
            kind = family
            if index is None and name == "problem":  # a located document's or plan's ``.problem(path, message, code)``
                index, kind, severity = 2, "definition", severity or "error"
            if index is not None and index < len(node.args):
                yield from _literal(node.args[index], severity, kind)
        if isinstance(node, ast.FunctionDef):  # a helper's default code, given whenever a caller names none
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            defaults = dict(zip(names[len(names) - len(node.args.defaults) :], node.args.defaults, strict=True))
            if "code" in defaults:
                yield from _literal(defaults["code"], "", family)
        if isinstance(node, (ast.Yield, ast.Return)) and isinstance(node.value, ast.Tuple):
            items = node.value.elts
            if family == "definition" and len(items) == 3:  # (path, code, message), as fragments.py yields
                yield from _literal(items[1], "error", family)
            if family == "definition" and len(items) == 2 and not list(_literal(items[1], "", family)):
                yield from _literal(items[0], "error", family)  # (code, message), as schema.py's simple_message


def _code_positions(tree: ast.Module, family: str) -> dict[str, int]:
    """The position of ``code`` among the call arguments of each helper that takes one (``self`` dropped)."""
    positions = {"Problem": 1 if family == "http" else 3}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if names[:1] == ["self"]:
                names = names[1:]
            if "code" in names:
                positions[node.name] = names.index("code")
    return positions


def _refusal_class(node: ast.ClassDef) -> bool:
    return any(isinstance(base, ast.Name) and base.id != "Exception" for base in node.bases)


def _targets(statement: ast.Assign) -> list[str]:
    return [t.id for t in statement.targets if isinstance(t, ast.Name)]


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _mentions_warning(node: ast.Call) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "WARNING" for n in ast.walk(node))


def _literal(node: ast.expr, severity: str, family: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
        yield node.value, severity, family


def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    """``{family: {code: {means, fix}}}`` as written in tools/error_codes.yaml."""
    loaded: Any = yaml.safe_load(CATALOGUE.read_text("utf-8"))
    return {family: dict(loaded.get(family) or {}) for family in FAMILIES}


TITLES = {
    "definition": (
        "Problems in a definition, scenario or plan",
        "What `procflow validate`, `procflow book`, `load_process` (in `DefinitionError.problems`) and the"
        " studio report, each at its `file:line:column`, as `Problem.code`; with `--format json` each"
        " problem carries its `code`. Warnings fail validation only under `--strict`. A schema finding of"
        " a kind not listed here carries the JSON Schema keyword it breaks as its code (`multipleOf`,"
        " `not`, `dependentRequired`).",
    ),
    "refusal": (
        "Refused events",
        "`EventRefused.code`: an event, a claim or a move refused, the instance left exactly as it was."
        " A scenario's `refused: CODE` expects one; the HTTP service sends each as a problem with the"
        " same `code` (403 for `permission` and `missing-signature`, 409 for `claimed`, otherwise 422).",
    ),
    "http": (
        "HTTP problems",
        "The `code` member of an RFC 9457 `application/problem+json` answer from `procflow serve`, besides"
        " the refusal codes above; `type` is the code under `https://procflow.dev/problems/`.",
    ),
}


def generate() -> str:
    found, written = emitted(), catalogue()
    lines = [
        "# Error codes",
        "",
        "Every code procflow gives, what it means and what to do about it. Generated by",
        "`tools/error_codes.py` from the codes in `engine/`'s source and the words in",
        "`tools/error_codes.yaml`; `tests/test_docs.py` fails when a code the engine gives is missing",
        "here, when a code here is no longer given, or when this page is out of date.",
        "",
    ]
    for family in FAMILIES:
        title, intro = TITLES[family]
        lines += [
            f"## {title}",
            "",
            *_wrap(intro),
            "",
            "| code | means | fix | given by |",
            "| --- | --- | --- | --- |",
        ]
        for code in sorted(written[family]):
            entry = written[family][code]
            where = found[family].get(code, Emitted())
            kind = "warning: " if where.severities == {"warning"} else ""
            modules = ", ".join(f"`{m.removeprefix('engine/')}`" for m in sorted(where.modules))
            lines.append(f"| `{code}` | {kind}{_cell(entry['means'])} | {_cell(entry['fix'])} | {modules} |")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _wrap(text: str, width: int = 100) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def differences() -> list[str]:
    """Codes the engine gives that the catalogue lacks, and the catalogue's codes nobody gives."""
    found, written = emitted(), catalogue()
    out: list[str] = []
    for family in FAMILIES:
        given: Mapping[str, Emitted] = found[family]
        for code in sorted(set(given) - set(written[family])):
            out.append(f"{family} code `{code}` ({', '.join(sorted(given[code].modules))}) is not in {CATALOGUE.name}")
        for code in sorted(set(written[family]) - set(given)):
            out.append(f"{family} code `{code}` in {CATALOGUE.name} is not given by engine/ any more")
    return out


def main(argv: list[str]) -> int:
    problems = differences()
    for problem in problems:
        print(problem, file=sys.stderr)
    text = generate()
    if argv == ["--check"]:
        if PAGE.read_text("utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python tools/error_codes.py", file=sys.stderr)
            return 1
        return 1 if problems else 0
    PAGE.write_text(text, "utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} ({len(text.encode())} bytes)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

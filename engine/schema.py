"""The bundled JSON Schema of the definition language, loaded once, and a document checked against it.

The schema file in ``schemas/`` is the single source of truth: editors complete from it through each
file's ``yaml-language-server`` modeline, and the loader validates with the very same file. Its
``description`` texts double as the hints in our messages, so there is one place to word them.
"""

from __future__ import annotations

import binascii
import json
import marshal
import re
import sys
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import Problem
from engine.files import write_replacing
from engine.loader import LocatedDocument
from engine.patterns import Search, formats
from engine.pointers import lookup
from engine.quick_checks import QuickCheck, QuickCompiler, Unsupported
from engine.schema_errors import ErrorTranslator, is_forbidden_key, is_unknown_key, offending_paths
from engine.source import DocumentPath

if TYPE_CHECKING:  # jsonschema is imported only to word the problems of a definition the quick check refuses
    import jsonschema
    import referencing

SCHEMA_FILE = "process.schema.json"
SCENARIO_SCHEMA_FILE = "scenario.schema.json"
MIGRATION_SCHEMA_FILE = "migration.schema.json"


def schema_path(name: str = SCHEMA_FILE) -> Path:
    """A schema file: inside the installed package, or ``schemas/`` beside ``engine/`` in a checkout."""
    installed = Path(__file__).parent / "_schemas" / name
    if installed.is_file():
        return installed
    return Path(__file__).resolve().parent.parent / "schemas" / name


def process_schema() -> Mapping[str, Any]:
    return bundled_schema(SCHEMA_FILE)


@cache
def bundled_schema(name: str) -> Mapping[str, Any]:
    """The schema file parsed, from the cache of it beside the bytecode when that holds these very bytes.

    Parsing the process schema's JSON cost 5M instructions of every ``procflow validate``; reading the
    same data back with ``marshal`` costs a fifth of that. The cache is keyed by the file's length and
    CRC-32, so an edited schema is parsed again (and cached again), and it is written, as Python writes
    its bytecode, unless ``sys.dont_write_bytecode``; any cache that cannot be read or written is passed by."""
    raw = schema_path(name).read_bytes()
    key = (_CACHE_FORMAT, len(raw), binascii.crc32(raw))
    cache_file = _cache_file(name)
    try:
        if cache_file is None:
            raise FileNotFoundError(name)
        with open(cache_file, "rb") as handle:
            cached = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        cached = None
    if type(cached) is tuple and len(cached) == 2 and cached[0] == key and type(cached[1]) is dict:
        found: Mapping[str, Any] = cached[1]
        return found
    loaded = json.loads(raw.decode("utf-8"))
    if cache_file is not None and not sys.dont_write_bytecode:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_replacing(cache_file, marshal.dumps((key, loaded)))
        except OSError:  # a read-only installation: parsed each time, as before
            pass
    parsed: Mapping[str, Any] = loaded
    return parsed


_CACHE_FORMAT = 1
"""Changed when what the cache holds changes, so that caches written before are passed by."""


def _cache_file(name: str) -> Path | None:
    """Where the parsed ``name`` is kept: beside this module's bytecode, as Python places that (under
    ``sys.pycache_prefix`` when one is set); ``None`` where Python keeps no bytecode cache."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    here = Path(__file__).parent
    if sys.pycache_prefix is not None:
        return Path(sys.pycache_prefix, *here.absolute().parts[1:], f"{name}.{tag}.marshal")
    return here / "__pycache__" / f"{name}.{tag}.marshal"


# The schema files refer to nothing outside themselves, so that an editor with no network still reads
# them whole. The JSON Schemas a definition embeds (data, record fields, payloads) are described there
# by a local, loose `$defs/json_schema` that helps editors with the common keywords; the engine reads
# that one definition as the real draft 2020-12 metaschema, which ``SPECIFICATIONS`` holds offline.
EMBEDDED_SCHEMA = "json_schema"


def _as_the_engine_reads(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    if EMBEDDED_SCHEMA not in schema.get("$defs", {}):
        return schema
    import copy  # only for the full check: not on a valid definition's way

    strict = copy.deepcopy(dict(schema))
    strict["$defs"][EMBEDDED_SCHEMA] = {"$ref": schema["$schema"]}
    return strict


@lru_cache(maxsize=1)
def bundled_registry() -> referencing.Registry[Any]:
    """The JSON Schema specifications and our own schemas; nothing is ever fetched from a file or URL."""
    import referencing.jsonschema
    from jsonschema_specifications import REGISTRY as SPECIFICATIONS

    resources = []
    for name in (SCHEMA_FILE, SCENARIO_SCHEMA_FILE, MIGRATION_SCHEMA_FILE):
        schema = _as_the_engine_reads(bundled_schema(name))
        resource = referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT202012)
        resources.append((schema["$id"], resource))
    registry: referencing.Registry[Any] = SPECIFICATIONS.with_resources(resources).crawl()
    return registry


@cache
def _validator(name: str = SCHEMA_FILE) -> jsonschema.protocols.Validator:
    # Entering through a one-line root keeps the (pre-crawled) registry intact: given the whole schema
    # as its root, the validator adds it as an uncrawled resource that every `$dynamicRef` re-crawls.
    import jsonschema

    return jsonschema.Draft202012Validator(
        {"$ref": bundled_schema(name)["$id"]},
        registry=bundled_registry(),
        format_checker=_definition_formats(),
    )


@cache
def _definition_formats() -> jsonschema.FormatChecker:
    # The metaschema asks that a definition's patterns be of format `regex`; that one is left out here
    # (Python's `re.compile` recurses on deeply nested groups) for ``fragments.fragment_problems``, which
    # tries each pattern with RE2, the engine that runs them, and says what it cannot run.
    import jsonschema

    checker = jsonschema.FormatChecker(())
    checker.checkers = {name: check for name, check in formats().checkers.items() if name != "regex"}
    return checker


# Checking each JSON Schema a definition embeds (data, record fields, payloads) against the draft
# 2020-12 metaschema made up three quarters of loading a definition (seven vocabularies joined by
# `$dynamicRef`, walked for every node), and jsonschema's walk of our own schema most of the rest.
# So a definition is first checked by closures compiled once (``engine.quick_checks``) from a variant
# of our schema in which the embedded schemas must fit PLAIN_SCHEMA, a strict subset of the
# metaschema (whatever it accepts, the metaschema accepts too). A definition they pass is valid
# against the real schema; any other, valid or not, is checked the full way, which gives the errors.
_TYPE_NAMES = ["string", "integer", "number", "boolean", "object", "array", "null"]
_COUNT = {"type": "integer", "minimum": 0}
_PLAIN = {"$ref": "#/$defs/plain_schema"}
PLAIN_SCHEMA: Mapping[str, Any] = {
    "type": ["object", "boolean"],
    "additionalProperties": False,
    "properties": {
        "type": {
            "anyOf": [
                {"enum": _TYPE_NAMES},
                {"type": "array", "items": {"enum": _TYPE_NAMES}, "minItems": 1, "uniqueItems": True},
            ]
        },
        "properties": {"type": "object", "additionalProperties": _PLAIN},
        "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "additionalProperties": _PLAIN,
        "items": _PLAIN,
        "enum": {"type": "array"},
        "const": True,
        **{bound: {"type": "number"} for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")},
        **{count: _COUNT for count in ("minItems", "maxItems", "minLength", "maxLength")},
        **{count: _COUNT for count in ("minProperties", "maxProperties")},
        "uniqueItems": {"type": "boolean"},
        "format": {"type": "string"},
        "$ref": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "$comment": {"type": "string"},
        "examples": {"type": "array"},
        "default": True,
        "deprecated": {"type": "boolean"},
        "readOnly": {"type": "boolean"},
        "writeOnly": {"type": "boolean"},
    },
}


@cache
def _quick_definition_check(when_used: bool = True) -> QuickCheck | None:
    """The definition schema's quick check; its properties' checks compiled ``when_used`` (a subschema
    the quick compiler does not know then raises ``Unsupported`` at its first value, which
    ``schema_problems`` takes as a refusal: checked the full way)."""
    schema = bundled_schema(SCHEMA_FILE)  # read, never changed: the variant shares all but two `$defs`
    plain = {"plain_schema": PLAIN_SCHEMA, "object_schema": {"allOf": [_PLAIN, {"type": "object"}]}}
    variant = {**schema, "$defs": {**schema["$defs"], **plain}}
    root = {key: value for key, value in variant.items() if key not in ("$schema", "$id", "$defs")}
    try:  # our own patterns, with the engine jsonschema runs them with: Python's `re`
        compiler = QuickCompiler(variant, search=_python_search, formats=_definition_formats, when_used=when_used)
        return compiler.compile(root)
    except Unsupported:  # the schema grew a keyword the quick compiler does not know: always the full way
        return None


def schema_problems(
    document: LocatedDocument,
    schema_file: str = SCHEMA_FILE,
    empty: str = "the file is empty; a definition starts with `procflow: 1`",
) -> list[Problem]:
    """Every way the document breaks the schema, each at its place and in plain words."""
    if document.data is None:
        return [Problem(document.locate(()), empty, code="empty")]
    quick = _quick_definition_check() if schema_file == SCHEMA_FILE else None
    if quick is not None and _passes_quickly(quick, document.data):
        return []
    errors = list(_validator(schema_file).iter_errors(document.data))
    unknown = {path for error in errors if is_unknown_key(error) for path in offending_paths(error, document.data)}
    translator = ErrorTranslator(document, unknown, process_schema())
    problems: dict[tuple[object, str], Problem] = {}
    for error in errors:
        for problem in translator.translate(error):
            problems.setdefault((problem.location, problem.message), problem)
    return list(problems.values())


def _passes_quickly(quick: QuickCheck, data: Any) -> bool:
    try:
        return quick(data)
    except Unsupported:  # met a subschema the quick compiler does not know: the full way decides
        return False


def without_invalid_nodes(data: Any) -> Any:
    """A copy of ``data`` without the keys that do not belong, if that is all that is wrong; else None.

    This lets the semantic checks run past a misspelt or misplaced key, so one pass reports every
    problem. Any other schema error (a missing key, a wrong value) makes the checks wait: removing
    it would change what they see and make them report things that are not so.
    """
    offending: set[DocumentPath] = set()
    for error in _validator().iter_errors(data):
        if not (is_unknown_key(error) or is_forbidden_key(error)):
            return None  # a value that is there but wrong would change what the checks see
        offending.update(offending_paths(error, data))
    import copy

    pruned = copy.deepcopy(data)
    for path in offending:
        parent = lookup(pruned, path[:-1])
        if not path or not isinstance(parent, dict) or not isinstance(path[-1], str):
            return None
        parent.pop(path[-1], None)
    return pruned if _validator().is_valid(pruned) else None


def _python_search(pattern: str) -> Search:
    search = re.compile(pattern).search
    return lambda text: search(text) is not None

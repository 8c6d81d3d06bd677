"""JSON Schema fragments written inside a definition (record fields, instance data, payloads).

A fragment's ``$ref`` resolves only inside its own definition file (``#/records/<id>/fields``) and
the bundled schemas; nothing is fetched from a file or a URL, because the registry has no way to
retrieve anything it was not given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema

from engine.schema import ANNOTATIONS, QuickCheck, QuickCompiler, Unsupported, bundled_registry
from engine.source import DocumentPath

DEFINITION_URI = "urn:procflow:definition"


def definition_registry(document: Mapping[str, Any]) -> referencing.Registry[Any]:
    """The bundled schemas plus this definition, under ``DEFINITION_URI``."""
    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    registry: referencing.Registry[Any] = bundled_registry().with_resource(DEFINITION_URI, resource)
    return registry


def fragment_validator(registry: referencing.Registry[Any], path: DocumentPath) -> jsonschema.protocols.Validator:
    """A validator for the fragment at ``path``, whose ``#/...`` references mean this definition."""
    return jsonschema.Draft202012Validator(
        {"$ref": DEFINITION_URI + json_pointer(path)},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def unresolvable_references(
    registry: referencing.Registry[Any], fragment: Any, path: DocumentPath
) -> Iterator[tuple[DocumentPath, str]]:
    """Each ``$ref`` under ``fragment`` that does not resolve, with its path and the reason in words."""
    resolver = registry.resolver(base_uri=DEFINITION_URI)
    for ref_path, ref in _references(fragment, path):
        try:
            resolver.lookup(ref)
        except referencing.exceptions.PointerToNowhere:
            yield ref_path, f"`$ref` `{ref}` points to nothing in this file"
        except referencing.exceptions.Unresolvable:
            yield (
                ref_path,
                (
                    f"`$ref` `{ref}` cannot be resolved: a reference may point only inside this file, "
                    "e.g. `#/records/<record>/fields`, or at the JSON Schema specifications"
                ),
            )


def json_pointer(path: DocumentPath) -> str:
    """``("records", "x", "fields")`` → ``#/records/x/fields``, escaped for use in a URI."""
    segments = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "#/" + "/".join(quote(s, safe="") for s in segments)


def _references(value: Any, path: DocumentPath) -> Iterator[tuple[DocumentPath, str]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "$ref" and isinstance(inner, str):
                yield path + (key,), inner
            else:
                yield from _references(inner, path + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _references(inner, path + (index,))


def fragment_paths(document: Mapping[str, Any]) -> Iterator[DocumentPath]:
    """Where a definition holds JSON Schema fragments: data, record fields and transition payloads."""
    if "data" in document:
        yield ("data",)
    for record_id, record in document.get("records", {}).items():
        if "fields" in record:
            yield ("records", record_id, "fields")
    for state_id, state in document.get("states", {}).items():
        for index, transition in enumerate(state.get("on", [])):
            if "payload" in transition:
                yield ("states", state_id, "on", index, "payload")
    for index, transition in enumerate(document.get("transitions", [])):
        if "payload" in transition:
            yield ("transitions", index, "payload")


def fragment_problems(document: Mapping[str, Any]) -> Iterator[tuple[DocumentPath, str]]:
    """Each unresolvable ``$ref`` in the definition's fragments, with its path and the reason."""
    registry = definition_registry(document)
    for path in fragment_paths(document):
        fragment: Any = document
        for part in path:
            fragment = fragment[part]
        yield from unresolvable_references(registry, fragment, path)


# --- quick validity tests ------------------------------------------------------------------------
# jsonschema walks a schema on every call (a new validator per keyword and level), which made payload
# and data checks over 80% of firing an event; ``engine.schema.QuickCompiler`` compiles a fragment
# once into closures instead, and jsonschema decides whenever they cannot say "valid" for sure.


def quick_check(document: Mapping[str, Any], path: DocumentPath) -> QuickCheck | None:
    """A fast test that a value fits the fragment at ``path``, or ``None`` when the fragment uses a
    keyword the quick compiler does not know. True means valid; False means "ask jsonschema"."""
    try:
        return QuickCompiler(document).compile(_at(document, path))
    except Unsupported:
        return None


def quick_field_checks(document: Mapping[str, Any], path: DocumentPath) -> dict[str, QuickCheck] | None:
    """A quick check per property, when the fragment at ``path`` is an object whose properties are
    independent (only ``type: object``, ``properties`` and ``required``): then data that fitted
    still fits after some fields are set, if each new value fits its property."""
    schema = _at(document, path)
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return None
    if not set(schema) - ANNOTATIONS <= {"type", "properties", "required"}:
        return None
    compiler = QuickCompiler(document)
    try:
        return {name: compiler.compile(sub) for name, sub in schema.get("properties", {}).items()}
    except Unsupported:
        return None


def _at(document: Any, path: DocumentPath) -> Any:
    for part in path:
        document = document[part]
    return document

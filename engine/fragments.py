"""JSON Schema fragments written inside a definition (record fields, instance data, payloads).

A fragment's ``$ref`` resolves only inside its own definition file (``#/records/<id>/fields``) and
the bundled schemas; nothing is fetched from a file or a URL, because the registry has no way to
retrieve anything it was not given.

Checking a value against a fragment always finishes, and in bounded time: patterns run with RE2
(``engine.patterns``), ``multipleOf`` is exact decimal arithmetic (``0.01`` means hundredths, and no
number is too large for it), and what could loop or is not supported is refused when the definition
loads (``fragment_problems``): a ``$ref`` that leads back to itself without going into a part of the
value, ``$dynamicRef`` and its kin, a pattern RE2 cannot run, an ``enum`` that allows nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from engine.errors import UnresolvableReference
from engine.patterns import formats, pattern_problem, pattern_search
from engine.pointers import MAPPINGS, is_local, locate, node_at, reference, resolve
from engine.quick_checks import ANNOTATIONS, QuickCheck, QuickCompiler, Unsupported
from engine.schema import bundled_registry
from engine.source import DocumentPath, PathPart

if TYPE_CHECKING:  # imported where a value is checked, not to load a definition (tests/test_startup.py)
    from fractions import Fraction

    import jsonschema
    import referencing
    from jsonschema.exceptions import ValidationError
    from referencing._core import Resolver

DEFINITION_URI = "urn:procflow:definition"


def definition_registry(document: Mapping[str, Any]) -> referencing.Registry[Any]:
    """The bundled schemas plus this definition, under ``DEFINITION_URI``."""
    import referencing.jsonschema

    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    registry: referencing.Registry[Any] = bundled_registry().with_resource(DEFINITION_URI, resource)
    return registry


def fragment_validator(registry: referencing.Registry[Any], path: DocumentPath) -> jsonschema.protocols.Validator:
    """A validator for the fragment at ``path``, whose ``#/...`` references mean this definition."""
    validator: jsonschema.protocols.Validator = fragment_validator_class()(
        {"$ref": DEFINITION_URI + reference(path)}, registry=registry, format_checker=formats()
    )
    return validator


# --- the validator -------------------------------------------------------------------------------
# Draft 2020-12 as jsonschema implements it, but for the keywords that would run Python's backtracking
# `re` on a value (`pattern`, `patternProperties`, and `additionalProperties`, which skips the names
# patterns match) and `multipleOf`, which divides in floating point (so 19.99 was no multiple of 0.01,
# and a large integer overflowed).


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not pattern_search(pattern)(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        search = pattern_search(pattern)
        for name, value in instance.items():
            if search(name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    searches = [pattern_search(p) for p in schema.get("patternProperties", {})]
    extras = [n for n in instance if n not in known and not any(search(n) for search in searches)]
    if validator.is_type(extra, "object"):
        for name in extras:
            yield from validator.descend(instance[name], extra, path=name)
    elif not extra and extras:
        from jsonschema.exceptions import ValidationError

        shown = ", ".join(repr(n) for n in sorted(extras))
        yield ValidationError(
            f"Additional properties are not allowed ({shown} {'was' if len(extras) == 1 else 'were'} unexpected)"
        )


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "number") and _exact(instance) % _exact(step) != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


def _exact(number: int | float) -> Fraction:
    """The number as written: a float by its shortest decimal form, so ``0.01`` is 1/100 exactly."""
    from fractions import Fraction

    return Fraction(repr(number)) if isinstance(number, float) else Fraction(number)


@cache
def fragment_validator_class() -> Any:
    """Draft 2020-12 with RE2 patterns and exact ``multipleOf``: the validator of every fragment."""
    import jsonschema.validators

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
            "multipleOf": _multiple_of,
        },
    )


def unresolvable_references(document: Any, fragment: Any, path: DocumentPath) -> Iterator[tuple[DocumentPath, str]]:
    """Each ``$ref`` under ``fragment`` that does not resolve, with its path and the reason in words.
    A reference into this file is followed by ``engine.pointers``, any other only to the bundled schemas
    (through a registry built only then: most definitions refer only inside themselves)."""
    resolver: Resolver[Any] | None = None
    for ref_path, ref in _references(fragment, path):
        if is_local(ref):
            try:
                locate(document, ref)
            except UnresolvableReference:
                yield ref_path, f"`$ref` `{ref}` points to nothing in this file"
            continue
        import referencing.exceptions

        if resolver is None:
            resolver = definition_registry(document).resolver(base_uri=DEFINITION_URI)
        try:
            resolver.lookup(ref)
        except referencing.exceptions.Unresolvable:
            yield (
                ref_path,
                (
                    f"`$ref` `{ref}` cannot be resolved: a reference may point only inside this file, "
                    "e.g. `#/records/<record>/fields`, or at the JSON Schema specifications"
                ),
            )


def _references(value: Any, path: DocumentPath) -> list[tuple[DocumentPath, str]]:
    """Each ``$ref`` under ``value`` that holds text, with its path, in document order."""
    found: list[tuple[DocumentPath, str]] = []
    at: list[PathPart] = list(path)  # the path of the node being walked, made a tuple only for a `$ref`

    def walk(node: Any) -> None:
        if type(node) is list:
            for index, inner in enumerate(node):
                if type(inner) not in _SCALARS:
                    at.append(index)
                    walk(inner)
                    at.pop()
        elif isinstance(node, MAPPINGS):
            for key, inner in node.items():
                if key == "$ref" and isinstance(inner, str):
                    found.append(((*at, key), inner))
                elif type(inner) not in _SCALARS:
                    at.append(key)
                    walk(inner)
                    at.pop()

    if type(value) not in _SCALARS:
        walk(value)
    return found


_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Most of a document: exact types, as the Mapping ABC's check is slow; no call is made for one of these."""


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


def fragment_problems(document: Mapping[str, Any]) -> Iterator[tuple[DocumentPath, str, str]]:
    """Each problem in the definition's fragments that would stop a value from being checked, as
    ``(path, code, message)``: unresolvable or endless ``$ref``s and what the validator does not run."""
    fragments = {path: node_at(document, path) for path in fragment_paths(document)}
    schemas = [
        (path, sub)
        for fragment_path, fragment in fragments.items()
        for path, sub in subschemas(fragment, fragment_path)
    ]
    unevaluated_with_patterns = any("patternProperties" in sub for _, sub in schemas)
    for path, fragment in fragments.items():
        for ref_path, message in unresolvable_references(document, fragment, path):
            yield ref_path, "unresolvable-ref", message
    for path, schema in schemas:
        yield from _keyword_problems(path, schema, unevaluated_with_patterns)
    for ref_path, ref in _endless_references(document, schemas):
        yield (
            ref_path,
            "endless-ref",
            (
                f"`$ref` `{ref}` leads back to itself without going into a part of the value, so checking a value "
                "against it would never finish; point it at another schema, or reach itself only under "
                "`properties`, `items` or `additionalProperties`"
            ),
        )


_UNSUPPORTED = {
    "$dynamicRef": "`$dynamicRef` is not supported in a definition; use `$ref` with a path in this file, "
    "e.g. `#/records/<record>/fields`",
    "$dynamicAnchor": "`$dynamicAnchor` is not supported in a definition; name the schema by its path and "
    "refer to it with `$ref`, e.g. `#/records/<record>/fields`",
    "$recursiveRef": "`$recursiveRef` is not part of JSON Schema 2020-12; use `$ref` with a path in this file",
    "$recursiveAnchor": "`$recursiveAnchor` is not part of JSON Schema 2020-12; refer to the schema with `$ref`",
    # A schema named by `$id` or `$anchor` could be referred to by that name from inside itself, past
    # the check for endless references, which follows paths: a path in this file names it as well.
    "$id": "`$id` is not supported inside a definition; refer to this schema by its path with `$ref`, "
    "e.g. `#/records/<record>/fields`",
    "$anchor": "`$anchor` is not supported inside a definition; refer to this schema by its path with `$ref`, "
    "e.g. `#/records/<record>/fields`",
}


def _keyword_problems(
    path: DocumentPath, schema: Mapping[str, Any], unevaluated_with_patterns: bool
) -> Iterator[tuple[DocumentPath, str, str]]:
    if not schema.keys().isdisjoint(_UNSUPPORTED):
        for keyword, message in _UNSUPPORTED.items():
            if keyword in schema:
                yield path + (keyword,), "unsupported-keyword", message
    if schema.get("enum") == []:
        yield (
            path + ("enum",),
            "empty-enum",
            (
                "`enum` lists no value, so nothing can ever fit; list the values allowed, "
                "or write `false` as the field's schema to forbid the field"
            ),
        )
    if isinstance(schema.get("pattern"), str):
        problem = pattern_problem(schema["pattern"])
        if problem is not None:
            yield path + ("pattern",), "unsupported-pattern", problem
    if isinstance(schema.get("patternProperties"), Mapping):
        for pattern in schema["patternProperties"]:
            problem = pattern_problem(pattern)
            if problem is not None:
                yield path + ("patternProperties", pattern), "unsupported-pattern", problem
    if "unevaluatedProperties" in schema and unevaluated_with_patterns:
        yield (
            path + ("unevaluatedProperties",),
            "unsupported-keyword",
            (
                "`unevaluatedProperties` cannot be used in a definition that uses `patternProperties` "
                "(the names would be matched without RE2's time bound); use `additionalProperties`"
            ),
        )


# Keywords whose values are schemas, by shape; and those among them that check a part of the value
# (a property, an item, a name) rather than the value itself.
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "not", "if", "then", "else", "items", "additionalItems", "contains", "additionalProperties",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip
_IN_PLACE = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"})


def subschemas(
    schema: Any, path: DocumentPath, in_place_only: bool = False
) -> list[tuple[DocumentPath, Mapping[str, Any]]]:
    """``schema`` and every schema inside it, with their paths, each before those inside it; with
    ``in_place_only``, only those that check the very same value (``allOf``, ``not``, ``then``…), not a
    property or an item of it."""
    found: list[tuple[DocumentPath, Mapping[str, Any]]] = []

    def walk(schema: Any, path: DocumentPath) -> None:
        if not isinstance(schema, MAPPINGS):
            return
        found.append((path, schema))
        for keyword, inner in schema.items():
            if in_place_only and keyword not in _IN_PLACE:
                continue
            if keyword in _SCHEMA_MAPS and isinstance(inner, MAPPINGS):
                for name, sub in inner.items():
                    walk(sub, path + (keyword, name))
            elif keyword in _SCHEMA_LISTS and isinstance(inner, list):
                for index, sub in enumerate(inner):
                    walk(sub, path + (keyword, index))
            elif keyword in _SCHEMA_ONE:
                walk(inner, path + (keyword,))

    walk(schema, path)
    return found


def _endless_references(
    document: Mapping[str, Any], schemas: list[tuple[DocumentPath, Mapping[str, Any]]]
) -> Iterator[tuple[DocumentPath, str]]:
    """Each ``$ref`` from which references alone, none going into a part of the value, lead back."""
    follows: dict[DocumentPath, set[DocumentPath]] = {}  # a `$ref` → the `$ref`s its target applies in place
    refs: dict[DocumentPath, str] = {}
    for path, schema in schemas:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(DEFINITION_URI + "#"):
            ref = ref[len(DEFINITION_URI) :]
        if not isinstance(ref, str) or not ref.startswith("#"):
            continue
        refs[path] = ref
        try:
            target_path = locate(document, ref)
        except UnresolvableReference:
            continue  # reported as unresolvable
        follows[path] = {
            inner_path
            for inner_path, inner in subschemas(node_at(document, target_path), target_path, in_place_only=True)
            if isinstance(inner.get("$ref"), str)
        }
    endless: set[DocumentPath] = set()
    for start in follows:
        seen: set[DocumentPath] = set()
        queue = list(follows[start])
        while queue:
            current = queue.pop()
            if current == start:
                endless.add(start)
                break
            if current not in seen:
                seen.add(current)
                queue.extend(follows.get(current, ()))
    for path in sorted(endless, key=lambda p: [str(part) for part in p]):
        yield path + ("$ref",), refs[path]


# --- quick validity tests ------------------------------------------------------------------------
# jsonschema walks a schema on every call (a new validator per keyword and level), which made payload
# and data checks over 80% of firing an event; ``engine.quick_checks.QuickCompiler`` compiles a fragment
# once into closures instead, and jsonschema decides whenever they cannot say "valid" for sure.


def quick_check(
    document: Mapping[str, Any], path: DocumentPath, compiler: QuickCompiler | None = None
) -> QuickCheck | None:
    """A fast test that a value fits the fragment at ``path``, or ``None`` when the fragment uses a
    keyword the quick compiler does not know. True means valid; False means "ask jsonschema".
    ``compiler``, one for all the fragments of ``document``, compiles what they share once."""
    try:
        return (compiler or QuickCompiler(document)).compile(node_at(document, path))
    except Unsupported:
        return None


def quick_field_checks(
    document: Mapping[str, Any], path: DocumentPath, compiler: QuickCompiler | None = None
) -> dict[str, QuickCheck] | None:
    """A quick check per property, when the fragment at ``path`` is an object whose properties are
    independent (only ``type: object``, ``properties`` and ``required``): then data that fitted
    still fits after some fields are set, if each new value fits its property."""
    schema = node_at(document, path)
    if not isinstance(schema, MAPPINGS) or schema.get("type") != "object":
        return None
    if not set(schema) - ANNOTATIONS <= {"type", "properties", "required"}:
        return None
    compiler = compiler or QuickCompiler(document)
    try:
        return {name: compiler.compile(sub) for name, sub in schema.get("properties", {}).items()}
    except Unsupported:
        return None


# --- date fields ---------------------------------------------------------------------------------

_DATE_FORMATS = ("date", "date-time")
_MAX_DATE_DEPTH = 8


def date_fields(document: Any, schema: Any, root: str) -> dict[tuple[str, ...], str]:
    """The fields of ``schema`` (the data's or a payload's) that hold dates, as expression paths
    (``("data", "requested_date")``) to their ``format`` (``date`` or ``date-time``).

    Properties are followed through ``$ref``s into the definition and ``allOf`` parts, a few levels
    deep; a field is a date when its schema says so with ``format``."""
    found: dict[tuple[str, ...], str] = {}
    _collect_dates(document, schema, (root,), found, 0, frozenset())
    return found


def _collect_dates(
    document: Any,
    schema: Any,
    path: tuple[str, ...],
    found: dict[tuple[str, ...], str],
    depth: int,
    seen: frozenset[str],
) -> None:
    if not isinstance(schema, MAPPINGS) or depth > _MAX_DATE_DEPTH:
        return
    # Asked with `in` first: most schemas hold none of these, and a frozen mapping's `get` costs twice as much.
    ref = schema["$ref"] if "$ref" in schema else None
    if isinstance(ref, str) and is_local(ref) and ref not in seen:
        try:
            target = resolve(document, ref)
        except UnresolvableReference:
            target = None  # reported when the definition loads
        _collect_dates(document, target, path, found, depth + 1, seen | {ref})
    form = schema["format"] if "format" in schema else None
    if len(path) > 1 and isinstance(form, str) and form in _DATE_FORMATS:
        found.setdefault(path, form)
    parts = schema["allOf"] if "allOf" in schema else None
    for part in parts if isinstance(parts, (list, tuple)) else ():
        _collect_dates(document, part, path, found, depth + 1, seen)
    properties = schema["properties"] if "properties" in schema else None
    if isinstance(properties, MAPPINGS):
        for name, sub in properties.items():
            _collect_dates(document, sub, (*path, str(name)), found, depth + 1, seen)

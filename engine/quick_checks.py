"""Quick validity tests: a JSON Schema compiled once into closures, standing in for jsonschema
where it can answer "valid" for sure.

jsonschema's validators walk the schema on every call, building a validator per keyword and level:
even built once and cached, Draft 2020-12 checks a definition 25 to 100 times slower than these
closures, and a payload 20 to 30 times slower (measured for issue 16). ``QuickCompiler`` turns a
schema that uses the common keywords into closures once. A closure answers True only where
jsonschema would also find the value valid; False means "ask jsonschema", which also gives the
errors. A schema with any other keyword raises ``Unsupported``: jsonschema decides.
"""

from __future__ import annotations

import _thread
import datetime
import operator
import re
from collections.abc import Callable, Mapping, Sized
from typing import TYPE_CHECKING, Any, TypeVar

from engine.errors import UnresolvableReference
from engine.frozen import frozen
from engine.patterns import PatternNotSupported, Search, formats, pattern_search

if TYPE_CHECKING:
    import jsonschema
from engine.pointers import MAPPINGS, is_local, resolve

QuickCheck = Callable[[Any], bool]
_Made = TypeVar("_Made")

_LISTS = (list, tuple)
"""What a list in a schema is: a plain document's, or a frozen one's (``engine.model.freeze_json``)."""

# Keywords that never decide validity: JSON Schema's annotations, and the messages editors show for a
# failed pattern (`patternErrorMessage`, `errorMessage`, read by yaml-language-server; jsonschema
# ignores keywords it does not know).
ANNOTATIONS = frozenset(
    {"title", "description", "examples", "default", "$comment", "deprecated", "readOnly", "writeOnly"}
    | {"patternErrorMessage", "errorMessage"}
)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_JSON_TYPES = _SCALARS | {dict, list}
_PYTHON_TYPES: dict[str, frozenset[type]] = {
    # Exact types only: a subclass (an IntEnum), or 1.0 as an integer, is left to jsonschema.
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
    "null": frozenset({type(None)}),
}
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusiveMinimum": operator.gt,
    "exclusiveMaximum": operator.lt,
}
_NUMBERS = (int, float)
_LENGTHS: dict[str, tuple[type[Sized], Callable[[int, int], bool]]] = {
    "minItems": (list, lambda n, b: n >= b),
    "maxItems": (list, lambda n, b: n <= b),
    "minLength": (str, lambda n, b: n >= b),
    "maxLength": (str, lambda n, b: n <= b),
    "minProperties": (dict, lambda n, b: n >= b),
    "maxProperties": (dict, lambda n, b: n <= b),
}


_OTHER_FIELDS = frozenset({"additionalProperties", "propertyNames", "minProperties", "maxProperties"})
"""The object keywords about the fields ``properties`` does not name, and about how many there are."""
_JOINED = {
    "object": frozenset({"type", "properties", "required"}) | _OTHER_FIELDS,
    "array": frozenset({"type", "items", "minItems", "maxItems", "uniqueItems"}),
    "string": frozenset({"type", "minLength", "maxLength", "pattern", "format"}),
}
"""The keywords ``QuickCompiler`` joins into one closure for a schema of each ``type``."""
_APPLICATORS = frozenset({"$ref", "anyOf", "allOf"})
"""Keywords whose every part is a schema compiled on its own, which tests the type of the value itself."""


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) the quick compiler does not know."""


@frozen(slots=True)
class ObjectShape:
    """An object schema's fields as its quick check tests them: a value fits when it is a ``dict`` holding
    the ``required`` names, each field named in ``types`` of exactly one of its types, and each named in
    ``inner`` passing that check (other fields are free)."""

    types: Mapping[str, frozenset[type]]
    """The fields whose schema is a ``type`` alone, tested inline."""
    inner: Mapping[str, QuickCheck]
    required: frozenset[str]
    named: Mapping[str, tuple[frozenset[type] | None, QuickCheck | None, bool]]
    """The same, by field, for a walk that tests each field it meets with one look-up: its types (or
    ``None``), its check (or ``None``), and whether it is required (counting them is cheaper than testing
    ``required`` against the keys)."""


class QuickCompiler:
    """Compiles schemas whose ``$ref``s point into ``document`` (``#/...``), recursion included; one compiler
    compiles what several schemas share (a ``$ref``'s target, an object's fields) once. The document may be
    plain or frozen (``engine.model.freeze_json``).

    ``search`` and ``formats`` must be the pattern engine and (the maker of) the format checker of the
    validator the checks stand in for: by default those of a definition's fragments (``engine.patterns``)."""

    def __init__(
        self,
        document: Any,
        *,
        search: Callable[[str], Search] = pattern_search,
        formats: Callable[[], jsonschema.FormatChecker] = formats,
        when_used: bool = False,
    ):
        self.document = document
        self._search = search
        self._formats = formats
        self._when_used = when_used
        self._compiling = _thread.allocate_lock()
        """Held while a check compiles ``when_used``: a thread meeting a reference another is compiling
        would find its placeholder, which calls itself until the compiled check replaces it."""
        self._refs: dict[str, QuickCheck] = {}
        self._shapes: dict[int, tuple[Mapping[str, Any], ObjectShape | None]] = {}

    def compile(self, schema: Any) -> QuickCheck:
        """The check of ``schema``; ``Unsupported`` when it uses a keyword (or a form of one) not known here,
        and then the compiler is left as it was, keeping nothing of the schema's parts."""
        return self._all_or_nothing(self._compile, schema)

    def _compile(self, schema: Any) -> QuickCheck:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, MAPPINGS):
            raise Unsupported
        typed = self._typed(schema)
        if typed is not None:
            fused, joined = typed
            rest = [key for key in schema if key not in joined and key not in ANNOTATIONS]
            # `allOf`, `if`…: each value passes `fused` first
            return _all_of((fused, *(self._keyword(schema, key) for key in rest))) if rest else fused
        keys = sorted((key for key in schema if key not in ANNOTATIONS), key=lambda key: key != "type")
        if len(keys) == 1 and keys[0] in _APPLICATORS:
            return self._keyword(schema, keys[0])  # its parts test the type of the value themselves
        if keys and keys[0] == "type" and len(keys) > 1 and all(key in _BOUNDS for key in keys[1:]):
            number = self._number(schema, keys[1:])
            if number is not None:
                return number
        if keys == ["enum"] or keys == ["const"]:
            return self._keyword(schema, keys[0])  # it admits plain scalars only, as `check` would first
        checks = tuple(self._keyword(schema, key) for key in keys)
        if "type" in schema:  # tested first, it admits plain JSON values only
            if len(checks) == 1:
                return checks[0]
            if len(checks) == 2:
                first, second = checks
                return lambda value: first(value) and second(value)

        def check(value: Any) -> bool:
            if type(value) not in _JSON_TYPES:  # subclasses too (an IntEnum): jsonschema decides
                return False
            for each in checks:
                if not each(value):
                    return False
            return True

        return check

    def shape(self, schema: Any) -> ObjectShape | None:
        """The fields of an object schema that ``compile`` makes one closure of (``type: object`` with
        ``properties`` and ``required`` only), for a walk that tests each field as it passes
        (``engine.inputs.json_object_fitting``); ``None`` for any other schema."""
        if not isinstance(schema, MAPPINGS) or schema.get("type") != "object":
            return None
        if not {key for key in schema if key not in ANNOTATIONS} <= {"type", "properties", "required"}:
            return None
        return self._all_or_nothing(self._shape, schema)

    def _all_or_nothing(self, make: Callable[[Any], _Made], schema: Any) -> _Made:
        """What ``make`` makes of ``schema``; on ``Unsupported``, the compiler as it was before."""
        refs, shapes = len(self._refs), len(self._shapes)  # both only grow, in order, until a failure
        try:
            return make(schema)
        except Unsupported:  # a part compiled meanwhile may call a reference that failed
            _drop_after(self._refs, refs)  # in place: the placeholders of the references compiled before read it
            _drop_after(self._shapes, shapes)
            raise

    def _shape(self, schema: Mapping[str, Any]) -> ObjectShape | None:
        """The fields of an object schema, made once per schema: ``compile`` and ``shape`` share them."""
        made = self._shapes.get(id(schema))
        if made is not None and made[0] is schema:  # kept with the schema, whose id is not reused meanwhile
            return made[1]
        shape = self._make_shape(schema)
        self._shapes[id(schema)] = (schema, shape)
        return shape

    def _make_shape(self, schema: Mapping[str, Any]) -> ObjectShape | None:
        spec = schema.get("properties", {})
        names = schema.get("required", [])
        if not (isinstance(spec, MAPPINGS) and isinstance(names, _LISTS) and all(isinstance(n, str) for n in names)):
            return None
        types: dict[str, frozenset[type]] = {}
        inner: dict[str, QuickCheck] = {}
        for name, sub in spec.items():
            written = sub.get("type") if isinstance(sub, MAPPINGS) and _type_alone(sub) else None
            if isinstance(written, str) and written in _PYTHON_TYPES:
                types[name] = _PYTHON_TYPES[written]
            else:
                inner[name] = self._property(sub, inner, name)
        required = frozenset(names)
        named = {name: (types.get(name), inner.get(name), name in required) for name in {*spec, *required}}
        return ObjectShape(types, inner, required, named)

    def _typed(self, schema: Mapping[str, Any]) -> tuple[QuickCheck, frozenset[str]] | None:
        """The ``type`` of ``schema`` and the keywords that apply to values of that type (``_JOINED``) as one
        closure that tests the type first, and those keywords; ``None`` when the schema names no such type
        or they take another form. A ``type`` list with ``object`` (``[object, boolean]``) joins the
        object's keywords, the other types passing on their type alone."""
        kind = schema.get("type")
        joined = _JOINED.get(kind) if isinstance(kind, str) else None
        fused: QuickCheck | None = None
        if kind == "object" and "patternProperties" not in schema:  # it changes what `additionalProperties` means
            fused = self._object(schema)
        elif kind == "array" and "prefixItems" not in schema:  # so does this, `items`'
            fused = self._array(schema)
        elif kind == "string":
            fused = self._string(schema)
        elif isinstance(kind, _LISTS) and "object" in kind and "patternProperties" not in schema:
            if not all(isinstance(name, str) and name in _PYTHON_TYPES for name in kind):
                return None
            others = frozenset().union(*(_PYTHON_TYPES[name] for name in kind if name != "object"))
            joined, fields = _JOINED["object"], self._object(schema)
            if fields is not None:
                fused = _object_or(fields, others)
        return (fused, joined) if fused is not None and joined is not None else None

    def _object(self, schema: Mapping[str, Any]) -> QuickCheck | None:
        """``type: object`` with any of ``properties``, ``required``, ``additionalProperties``,
        ``propertyNames`` and the bounds on the number of properties as one closure, the forms, records and
        most of the definition language: what ``_keyword`` compiles them to, joined into one pass over the
        fields, a property whose schema is a ``type`` alone tested inline (no call per field). ``None``
        for forms ``_keyword`` decides."""
        shape = self._shape(schema)
        least, most = schema.get("minProperties", 0), schema.get("maxProperties")
        if shape is None or type(least) is not int or not (most is None or type(most) is int):
            return None
        types, inner, required = shape.types, shape.inner, shape.required
        if _OTHER_FIELDS.isdisjoint(schema):
            if not (types or inner or required):
                return lambda value: type(value) is dict

            def fields(value: Any) -> bool:
                if type(value) is not dict:
                    return False
                for name, item in value.items():
                    allowed = types.get(name)
                    if allowed is not None:
                        if type(item) not in allowed:
                            return False
                        continue
                    each = inner.get(name)
                    if each is not None and not each(item):
                        return False
                return required <= value.keys()

            return fields
        written_extra = schema.get("additionalProperties", True)
        extra = None if written_extra is False else self._compile(written_extra)  # None: no other field
        written_names = schema.get("propertyNames", True)
        names = None if written_names is True else self._compile(written_names)
        most_fields = most if most is not None else -1

        def strict_fields(value: Any) -> bool:
            if type(value) is not dict:
                return False
            count = len(value)
            if count < least or count > most_fields >= 0:
                return False
            for name, item in value.items():
                if names is not None and not names(name):
                    return False
                allowed = types.get(name)
                if allowed is not None:
                    if type(item) not in allowed:
                        return False
                    continue
                each = inner.get(name)
                if each is None:
                    if extra is None or not extra(item):
                        return False
                elif not each(item):
                    return False
            return required <= value.keys()

        return strict_fields

    def _array(self, schema: Mapping[str, Any]) -> QuickCheck | None:
        """``type: array`` with any of ``items``, the bounds on its length and ``uniqueItems`` as one
        closure: what ``_keyword`` compiles them to, joined. ``None`` for forms ``_keyword`` decides."""
        least, most, unique = schema.get("minItems", 0), schema.get("maxItems", -1), schema.get("uniqueItems", False)
        if type(least) is not int or type(most) is not int or not isinstance(unique, bool):
            return None
        each = self._compile(schema["items"]) if "items" in schema else None

        def array(value: Any) -> bool:
            if type(value) is not list:
                return False
            count = len(value)
            if count < least or count > most >= 0:
                return False
            if each is not None:
                for item in value:  # a loop, not all(): no generator per list
                    if not each(item):
                        return False
            return not unique or _unique(value)

        return array

    def _string(self, schema: Mapping[str, Any]) -> QuickCheck | None:
        """``type: string`` with any of the bounds on its length, ``pattern`` and ``format`` as one closure:
        what ``_keyword`` compiles them to, joined. ``None`` for forms ``_keyword`` decides."""
        least, most = schema.get("minLength", 0), schema.get("maxLength", -1)
        pattern, form = schema.get("pattern"), schema.get("format")
        if type(least) is not int or type(most) is not int:
            return None
        if not (pattern is None or isinstance(pattern, str)) or not (form is None or isinstance(form, str)):
            return None
        try:
            search = self._search(pattern) if pattern is not None else None
        except PatternNotSupported:
            raise Unsupported from None
        conforms = _format_check(form, self._formats) if form is not None else None

        def string(value: Any) -> bool:
            if type(value) is not str:
                return False
            count = len(value)
            if count < least or count > most >= 0:
                return False
            return (search is None or search(value)) and (conforms is None or conforms(value))

        return string

    def _number(self, schema: Mapping[str, Any], bounds: list[str]) -> QuickCheck | None:
        """A ``type`` with bounds (``{type: number, minimum: 0}``) as one closure: what ``_keyword``
        compiles them to, joined. ``None`` for forms ``_keyword`` decides."""
        if not all(type(schema[key]) in _NUMBERS for key in bounds):
            return None
        written = schema["type"]
        names = [written] if isinstance(written, str) else written
        if not isinstance(names, _LISTS) or not names or not all(n in _PYTHON_TYPES for n in names):
            return None
        python_types = frozenset().union(*(_PYTHON_TYPES[n] for n in names))
        limits = tuple((_BOUNDS[key], schema[key]) for key in bounds)

        def number(value: Any) -> bool:
            kind = type(value)
            if kind not in python_types:
                return False
            if kind is int or kind is float:
                for compare, bound in limits:
                    if not compare(value, bound):
                        return False
            return True

        return number

    def _keyword(self, schema: Mapping[str, Any], key: str) -> QuickCheck:
        spec = schema[key]
        if key == "type":
            names = [spec] if isinstance(spec, str) else spec
            if not isinstance(names, _LISTS) or not names or not all(n in _PYTHON_TYPES for n in names):
                raise Unsupported
            python_types = frozenset().union(*(_PYTHON_TYPES[n] for n in names))
            return lambda v: type(v) in python_types
        if key == "properties" and isinstance(spec, MAPPINGS):
            inner: dict[str, QuickCheck] = {}
            for name, sub in spec.items():
                inner[name] = self._property(sub, inner, name)

            def properties(value: Any) -> bool:
                if type(value) is dict:
                    for name, item in value.items():
                        each = inner.get(name)
                        if each is not None and not each(item):
                            return False
                return True

            return properties
        if key == "required" and isinstance(spec, _LISTS) and all(isinstance(n, str) for n in spec):
            required = frozenset(spec)
            return lambda v: type(v) is not dict or required <= v.keys()
        if key == "additionalProperties" and "patternProperties" not in schema:
            known = frozenset(schema.get("properties", {}))
            extra = self._compile(spec)
            return lambda v: type(v) is not dict or all(extra(x) for k, x in v.items() if k not in known)
        if key == "propertyNames":
            names_check = self._compile(spec)
            return lambda v: type(v) is not dict or all(names_check(k) for k in v)
        if key == "items" and "prefixItems" not in schema:
            each = self._compile(spec)

            def items(value: Any) -> bool:
                if type(value) is list:
                    for item in value:  # a loop, not all(): no generator per list
                        if not each(item):
                            return False
                return True

            return items
        if key in ("enum", "const"):
            allowed = spec if key == "enum" else [spec]
            if not isinstance(allowed, _LISTS):
                raise Unsupported
            # Strict equality on scalars only: True is not 1 to jsonschema; 1 and 1.0 are, so it decides those.
            scalars = frozenset((type(a), a) for a in allowed if type(a) in _SCALARS)
            return lambda v: type(v) in _SCALARS and (type(v), v) in scalars
        if key in _BOUNDS and type(spec) in (int, float):
            compare = _BOUNDS[key]
            return lambda v: type(v) not in _NUMBERS or compare(v, spec)
        if key in _LENGTHS and type(spec) is int:
            kind, count = _LENGTHS[key]
            return lambda v: type(v) is not kind or count(len(v), spec)
        if key == "uniqueItems" and isinstance(spec, bool):
            return _unique if spec else lambda v: True
        if key == "pattern" and isinstance(spec, str):
            try:
                search = self._search(spec)
            except PatternNotSupported:
                raise Unsupported from None
            return lambda v: type(v) is not str or search(v)
        if key == "format" and isinstance(spec, str):
            return _format_check(spec, self._formats)
        if key in ("anyOf", "allOf") and isinstance(spec, _LISTS) and spec:
            parts = tuple(self._compile(sub) for sub in spec)
            return _any_of(parts) if key == "anyOf" else _all_of(parts)
        if key == "if":
            holds = _exact_condition(spec)
            then, otherwise = self._compile(schema.get("then", True)), self._compile(schema.get("else", True))

            def conditional(value: Any) -> bool:
                decided = holds(value)
                if decided is None:
                    return False
                return then(value) if decided else otherwise(value)

            return conditional
        if key in ("then", "else"):
            return lambda v: True  # applied with `if`, and meaningless without it
        if key == "$ref" and isinstance(spec, str) and is_local(spec):
            return self._reference(spec)
        raise Unsupported

    def _property(self, schema: Any, table: dict[str, QuickCheck], name: str) -> QuickCheck:
        """The check of a property's schema, kept as ``table[name]``; made ``when_used``, at the property's
        first value (a definition uses a few of the language's properties, and compiling the rest cost more
        than checking), when it takes its place in ``table`` so later values go to it directly."""
        if not self._when_used:
            return self._compile(schema)
        compiled: QuickCheck | None = None

        def compile_then_check(value: Any) -> bool:
            nonlocal compiled
            if compiled is None:
                with self._compiling:
                    if compiled is None:
                        compiled = self.compile(schema)
                        table[name] = compiled
            return compiled(value)

        return compile_then_check

    def _reference(self, ref: str) -> QuickCheck:
        if ref not in self._refs:
            try:
                target = resolve(self.document, ref)
            except UnresolvableReference:
                raise Unsupported from None
            refs = self._refs
            refs[ref] = lambda v: refs[ref](v)  # a recursive reference reaches the compiled check late
            refs[ref] = self._compile(target)
        return self._refs[ref]


# Formats decided here, not by jsonschema's checker, so that a valid definition is checked without
# importing jsonschema, which costs more than the rest of `procflow validate`: `date` exactly as
# jsonschema's draft 2020-12 checker decides it (jsonschema/_format.py; every checker given to
# QuickCompiler has it, tests/test_quick_checks.py compares them), and a `$ref` into the same file,
# `#/…` in plain characters, which is a `uri-reference` to whichever URI library jsonschema finds, if any.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_LOCAL_REFERENCE = re.compile(r"#[A-Za-z0-9_.~/$-]*", re.ASCII)


def is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return bool(_DATE.fullmatch(value) and datetime.date.fromisoformat(value))
    except ValueError:
        return False


def _is_local_reference(value: Any) -> bool:
    return type(value) is str and _LOCAL_REFERENCE.fullmatch(value) is not None


_SURELY_CONFORMING: Mapping[str, QuickCheck] = {"uri-reference": _is_local_reference}


def _format_check(name: str, formats: Callable[[], jsonschema.FormatChecker]) -> QuickCheck:
    if name == "date":
        return is_date
    surely = _SURELY_CONFORMING.get(name)
    looked_up: QuickCheck | None = None

    def format_check(value: Any) -> bool:
        nonlocal looked_up
        if surely is not None and surely(value):
            return True
        if looked_up is None:  # at the first value that needs it: building the checker imports jsonschema
            looked_up = _conforms(formats(), name)
        return looked_up(value)

    return format_check


def _conforms(checker: jsonschema.FormatChecker, name: str) -> QuickCheck:
    """FormatChecker.conforms without its exception on a miss: the format's function, looked up once."""
    if name not in checker.checkers:
        return lambda value: True
    conforms, raises = checker.checkers[name]

    def conforming(value: Any) -> bool:
        try:
            return bool(conforms(value))
        except raises:
            return False

    return conforming


def _drop_after(made: dict[Any, Any], count: int) -> None:
    """Remove the entries of ``made`` after its first ``count`` (a dict keeps the order they came in)."""
    for key in list(made)[count:]:
        del made[key]


def _type_alone(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` says nothing but its ``type`` (annotations aside)."""
    return "type" in schema and (len(schema) == 1 or set(schema) - ANNOTATIONS == {"type"})


def _object_or(fields: QuickCheck, others: frozenset[type]) -> QuickCheck:
    """An object passing ``fields``, or a value of one of the ``others`` types."""
    return lambda value: fields(value) if type(value) is dict else type(value) in others


def _any_of(parts: tuple[QuickCheck, ...]) -> QuickCheck:
    if len(parts) == 2:
        first, second = parts
        return lambda value: first(value) or second(value)

    def any_of(value: Any) -> bool:
        for part in parts:  # a loop, not any(): no generator per value
            if part(value):
                return True
        return False

    return any_of


def _all_of(parts: tuple[QuickCheck, ...]) -> QuickCheck:
    def all_of(value: Any) -> bool:
        for part in parts:
            if not part(value):
                return False
        return True

    return all_of


def _unique(value: Any) -> bool:
    """True when ``value`` is not a list, or a list of scalars that jsonschema too finds distinct."""
    if type(value) is not list:
        return True
    seen = set()
    for item in value:
        kind = type(item)
        if kind is bool or kind is str or item is None:
            key: tuple[Any, Any] = (kind, item)
        elif kind is int or kind is float:
            key = (float, float(item))  # 1 and 1.0 are the same to jsonschema
        else:
            return False
        if key in seen:
            return False
        seen.add(key)
    return True


def _exact_condition(schema: Any) -> Callable[[Any], bool | None]:
    """An `if` of the form the definition schema uses (`properties` of text `enum`/`const`, and
    `required`), decided exactly: True or False, or None when the value is not plain JSON."""
    if not isinstance(schema, MAPPINGS) or not set(schema) - ANNOTATIONS <= {"properties", "required"}:
        raise Unsupported
    required = schema.get("required", [])
    if not isinstance(required, _LISTS) or not all(isinstance(n, str) for n in required):
        raise Unsupported
    choices: dict[str, frozenset[str]] = {}
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, MAPPINGS) or not set(sub) - ANNOTATIONS <= {"enum", "const"} or len(sub) != 1:
            raise Unsupported
        allowed = sub["enum"] if "enum" in sub else [sub["const"]]
        if not isinstance(allowed, _LISTS) or not all(isinstance(a, str) for a in allowed):
            raise Unsupported
        choices[name] = frozenset(allowed)

    def holds(value: Any) -> bool | None:
        if type(value) is not dict:
            return True if type(value) in _JSON_TYPES else None
        if not all(name in value for name in required):
            return False
        for name, allowed in choices.items():
            if name in value:
                item = value[name]
                if type(item) not in _JSON_TYPES:
                    return None
                if type(item) is not str or item not in allowed:  # no other plain value equals a text
                    return False
        return True

    return holds

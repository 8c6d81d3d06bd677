"""The quick validity tests (``engine.quick_checks.QuickCompiler``) may only ever say "valid" where jsonschema
says so too: they are a shortcut, and every answer they cannot give for sure goes to jsonschema.
These tests throw mutated definitions, payloads and data at them and compare."""

import copy
import dataclasses
import itertools
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURE, SHIPPED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Runtime, load_process
from engine.errors import InvalidPayload
from engine.fragments import definition_registry, fragment_paths, fragment_validator, quick_check
from engine.inputs import json_object, json_object_fitting
from engine.loader import load_file
from engine.model import thaw_json
from engine.patterns import formats
from engine.quick_checks import QuickCompiler, Unsupported, is_date
from engine.schema import _definition_formats, _quick_definition_check, _validator, schema_problems

DOCUMENTS = {path.name: load_file(path) for path in [*SHIPPED, FIXTURE]}
RETURN_REPAIR = Runtime(load_process(next(path for path in SHIPPED if path.name == "return_repair.yaml")))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(-2, 2, allow_nan=False)
    | st.sampled_from(["", "a", "task", "decision", "2026-10-01", "24h", "x" * 70, "Bad Id", "3 working days"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["type", "on", "zh", "x"]), inner),
    max_leaves=6,
)


def paths_in(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths_in(inner, path + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths_in(inner, path + (index,))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """The document with one node replaced, one key dropped, or one key added."""
    copied = copy.deepcopy(document)
    path = draw(st.sampled_from(paths_in(copied)[1:]))
    parent = copied
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "drop", "add"]))
    if action == "replace" or not isinstance(parent, dict):
        parent[path[-1]] = draw(json_values)
    elif action == "drop":
        del parent[path[-1]]
    else:
        parent[draw(st.sampled_from(["type", "role", "extra", "on", "default"]))] = draw(json_values)
    return copied


def test_every_shipped_definition_takes_the_quick_path():
    quick = _quick_definition_check()
    assert quick is not None
    # Compiled whole, the schema has no part the quick compiler does not know: the check compiled as it
    # is used never meets one.
    assert _quick_definition_check(when_used=False) is not None
    for name, document in DOCUMENTS.items():
        assert quick(document.data), name


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_definition_the_quick_check_passes_is_valid(name):
    quick, validator = _quick_definition_check(), _validator()
    assert quick is not None
    verdicts: list[bool] = []

    # Derandomized: about one mutation in nine still passes the quick check, so a random draw of 60
    # could, rarely, compare nothing; these 80 fixed draws compare several for every definition.
    @settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(document=mutated(DOCUMENTS[name].data))
    def quick_valid_implies_valid(document):
        verdicts.append(quick(document))
        assert not verdicts[-1] or validator.is_valid(document)

    quick_valid_implies_valid()
    assert any(verdicts), "the quick check passed no mutated definition, so nothing was compared"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_schema_problems_are_the_same_either_way(name):
    document = DOCUMENTS[name]
    assert schema_problems(document) == []
    broken = copy.deepcopy(document.data)
    first_state = next(iter(broken["states"].values()))
    first_state["type"] = "taks"
    assert schema_problems(type(document)(broken, document.source_map))  # the quick path never hides an error


def enum_values(value: Any) -> list[Any]:
    """Every value an ``enum`` or ``const`` of the document names, so drawn values can fit."""
    found: list[Any] = []
    if isinstance(value, dict):
        found += list(value.get("enum", [])) + ([value["const"]] if "const" in value else [])
        for inner in value.values():
            found += enum_values(inner)
    elif isinstance(value, list):
        for inner in value:
            found += enum_values(inner)
    return [v for v in found if not isinstance(v, (dict, list))]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_value_a_quick_fragment_check_passes_is_valid(name):
    document = thaw_json(load_process(DOCUMENTS[name].file).document)
    registry = definition_registry(document)
    paths = list(fragment_paths(document))
    checks = {path: quick_check(document, path) for path in paths}
    unchecked = [path for path, check in checks.items() if check is None]
    assert not unchecked, f"these shipped fragments no longer take the quick path: {unchecked}"
    validators = {path: fragment_validator(registry, path) for path in paths}
    enums = enum_values(document)
    atoms = (st.sampled_from(enums) | json_values) if enums else json_values
    fields = sorted({key for path in paths for key in _properties(document, path)}) or ["x"]
    values = json_values | st.dictionaries(st.sampled_from(fields), atoms, max_size=6)
    verdicts: list[bool] = []

    @settings(max_examples=40 * len(paths), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(path=st.sampled_from(paths), value=values)
    def quick_valid_implies_valid(path, value):
        verdicts.append(checks[path](value))
        assert not verdicts[-1] or validators[path].is_valid(value)

    quick_valid_implies_valid()
    assert any(verdicts), "the quick checks passed no drawn value, so nothing was compared"


def _properties(document: Any, path: tuple) -> list[str]:
    schema = document
    for part in path:
        schema = schema[part]
    return list(schema.get("properties", {})) if isinstance(schema, dict) else []


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(["quote", "rework_count", "acceptance_mode", "model", "in_warranty", "x"]), value=json_values
)
def test_checking_only_the_fields_set_gives_what_checking_all_the_data_gives(field, value):
    check = RETURN_REPAIR.compiled.data_check
    assert check is not None
    data = {"model": "XK-200", "rework_count": 0, "in_warranty": False}
    assert check.problems(data) == ()
    changed = {**data, field: value}
    assert check.problems_after_set(changed, [field]) == check.problems(changed)


def test_a_value_jsonschema_decides_is_reported_the_same():
    # 1.0 is an integer to jsonschema; the quick check leaves it to jsonschema, which accepts it.
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}
    check = quick_check({"f": schema}, ("f",))
    assert check is not None
    assert not check({"n": 1.0}) and jsonschema.Draft202012Validator(schema).is_valid({"n": 1.0})
    assert check({"n": 1}) and not check({"n": -1}) and not check({"n": True})


# The forms the quick compiler joins into one closure per value, each with a keyword beside them it does not
# join. On plain values without floats (1.0 is an integer to jsonschema) they decide exactly as jsonschema.
_NAME = {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3}
JOINED_FORMS = {
    "strict object": {
        "type": "object",
        "additionalProperties": False,
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "on": {"type": "integer", "minimum": 0}, "x": {"$ref": "#/$defs/t"}},
    },
    "map of names": {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 2,
        "propertyNames": _NAME,
        "additionalProperties": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "uniqueItems": True},
    },
    "object or boolean": {"type": ["object", "boolean"], "additionalProperties": False, "properties": {"x": {}}},
    "object with allOf": {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": ["task", "decision"]}},
        "allOf": [
            {"if": {"properties": {"type": {"const": "task"}}, "required": ["type"]}, "then": {"required": ["on"]}}
        ],
    },
    "bounded list": {"type": "array", "minItems": 1, "maxItems": 2, "items": _NAME, "uniqueItems": True},
    "bounded text": {"type": "string", "minLength": 1, "maxLength": 10, "pattern": "^[0-9]", "format": "date"},
    "text or list": {"anyOf": [{"type": "string", "maxLength": 1}, {"type": "array", "items": {"$ref": "#/$defs/t"}}]},
    "text by reference": {"$ref": "#/$defs/t"},
}
FITTING = {
    "strict object": [{"a": "", "on": 2, "x": "task"}, {"a": "a"}],
    "map of names": [{"a": [1, 2]}, {"ab": [0], "x": [3]}],
    "object or boolean": [True, {"x": [None]}],
    "object with allOf": [{"type": "task", "on": None}, {"type": "decision"}],
    "bounded list": [["a"], ["ab", "x"]],
    "bounded text": ["2026-10-01"],
    "text or list": ["a", ["task", "a"]],
    "text by reference": ["task"],
}
_NO_FLOATS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["", "a", "ab", "abcd", "Bad", "task", "decision", "2026-10-01", "2026-13-01", "1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["type", "on", "a", "x", "ab"]), inner),
    max_leaves=6,
)


@pytest.mark.parametrize("form", sorted(JOINED_FORMS))
def test_a_joined_form_decides_as_jsonschema(form):
    document = {"$defs": {"t": {"type": "string", "enum": ["a", "task"]}}, "form": JOINED_FORMS[form]}
    check = QuickCompiler(document).compile(document["form"])
    validator = jsonschema.Draft202012Validator(
        {**document["form"], "$defs": document["$defs"]}, format_checker=formats()
    )
    assert all(check(value) and validator.is_valid(value) for value in FITTING[form])

    @settings(max_examples=300, deadline=None)
    @given(value=_NO_FLOATS | st.sampled_from(FITTING[form]))
    def same_verdict(value):
        assert check(value) == validator.is_valid(value), value

    same_verdict()


def test_a_compiler_keeps_nothing_of_a_schema_it_cannot_compile():
    # `a` is refused (`oneOf`) after `b`, which refers back to `a`, was compiled: kept, `b`'s check would call
    # the placeholder of `a` for ever. One compiler serves every fragment of a definition, so it must not.
    defs = {
        "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}, "oneOf": [{"required": ["b"]}]},
        "b": {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}},
    }
    compiler = QuickCompiler({"$defs": defs})
    for _ in range(2):
        with pytest.raises(Unsupported):
            compiler.compile({"$ref": "#/$defs/a"})
        with pytest.raises(Unsupported):
            compiler.compile({"$ref": "#/$defs/b"})
    assert compiler.compile({"type": "object", "properties": {"n": {"type": "integer"}}})({"n": 1})


dates = st.sampled_from(["2026-10-01", "2026-02-29", "2024-02-29", "2026-13-01", "2026-1-01", "20261001", "٢٠٢٦-١٠-٠١"])


@settings(max_examples=300, deadline=None)
@given(value=dates | st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z") | st.text(max_size=12) | json_values)
def test_the_quick_date_format_is_jsonschemas(value):
    """`date` is decided without jsonschema's checker (importing it would double `procflow validate`'s
    start-up), so it must be the very function of every checker the quick checks stand in for."""
    for checker in (formats(), _definition_formats()):
        assert is_date(value) == checker.conforms(value, "date")


def _no_checker() -> jsonschema.FormatChecker:
    raise AssertionError("the format checker was built")


@pytest.mark.parametrize("ref", ["#/records/claim/fields", "#/$defs/a_b-c.d~0", "#"])
def test_a_local_reference_is_a_uri_reference_without_building_the_checker(ref):
    check = QuickCompiler({}, formats=_no_checker).compile({"format": "uri-reference"})
    assert check(ref)
    assert all(checker.conforms(ref, "uri-reference") for checker in (formats(), _definition_formats()))


class _Text(str):
    """Text of a subclass: the copy keeps it as plain text."""


def _copy_or_refusal(copy: Any) -> Any:
    try:
        return copy()
    except InvalidPayload as refused:
        return ("refused", str(refused), refused.problems)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_payload_copied_as_checked_is_the_copy_and_the_quick_checks_verdict(name):
    # json_object_fitting copies a payload and tests it against its form's shape in one walk: the copy,
    # or the refusal, must be json_object's, and "fits" exactly what the form's quick check says of the copy.
    runtime = Runtime(load_process(DOCUMENTS[name].file))
    forms = [
        candidate.payload
        for candidates in runtime.compiled.transitions.values()
        for candidate in candidates
        if candidate.payload is not None and candidate.payload.shape is not None
    ]
    assert forms, "no payload form of this definition is copied as checked"
    document = thaw_json(load_process(DOCUMENTS[name].file).document)
    enums = enum_values(document)
    fields = sorted({field for form in forms for field in [*form.shape.types, *form.shape.inner]}) or ["x"]
    atoms = (
        json_values
        | st.sampled_from([*enums, "2026-10-01", "x\ud800", "\x00", 2**64, float("nan"), _Text("t"), (1, 2)])
        | st.lists(st.dictionaries(st.sampled_from(fields), json_values, max_size=3), max_size=2)
    )
    payloads = st.dictionaries(st.sampled_from(fields) | st.sampled_from(["x", "\udc80"]), atoms, max_size=6)

    @settings(max_examples=30 * len(forms), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(form=st.sampled_from(forms), payload=payloads)
    def the_same(form, payload):
        expected = _copy_or_refusal(lambda: json_object(payload, "payload", InvalidPayload))
        got = _copy_or_refusal(lambda: json_object_fitting(payload, "payload", InvalidPayload, form.shape))
        if isinstance(expected, tuple):
            assert got == expected
            return
        assert got == (expected, form._quick(expected))

    the_same()


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_record_left_unchecked_fits_whenever_its_payload_fits(name):
    # CompiledProcess.records_as_payload names the `produces` whose record is not checked once the payload
    # fits its form; each record made from a payload that jsonschema finds fitting must fit its own fields.
    process = load_process(DOCUMENTS[name].file)
    runtime = Runtime(process)
    registry = definition_registry(thaw_json(process.document))
    pairs = [
        (transition, binding)
        for transition in process.transitions
        for binding in transition.produces
        if binding.path in runtime.compiled.records_as_payload
    ]
    if not pairs:
        return
    document = thaw_json(process.document)
    plain = [True, 1, 0, 1.5, "text", "2026-10-01", None, [{"name": "x", "quantity": 1}], {}]
    made = 0
    for transition, binding in pairs:
        form = document_at(document, transition.path + ("payload",))
        options = {name: [*sub.get("enum", []), *plain] for name, sub in form["properties"].items()}
        names = sorted(options)
        for values in itertools.islice(itertools.product(*(options[n] for n in names)), 20_000):
            for present in (names, [n for n in names if n in form.get("required", [])]):
                payload = {n: v for n, v in zip(names, values, strict=True) if n in present}
                if not fragment_validator(registry, transition.path + ("payload",)).is_valid(payload):
                    continue
                written: list = []
                alone = dataclasses.replace(transition, produces=(binding,), requires=())  # this record only
                assert runtime._firing.records.write(alone, {}, {"payload": payload, "data": {}}, written) is None
                assert runtime.compiled.record_checks[binding.record].problems(written[-1].fields) == ()
                made += 1
    assert made, "no payload tried fitted its form, so no record was compared"


def document_at(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


def test_a_record_whose_field_the_form_does_not_declare_is_checked():
    process = load_process(next(path for path in SHIPPED if path.name == "return_repair.yaml"))
    unchecked = Runtime(process).compiled.records_as_payload
    made = {t.trigger: b.path for t in process.transitions for b in t.produces}
    assert made["submit"] in unchecked  # the form declares each field as the record does (descriptions aside)
    assert made["issue_order"] not in unchecked  # the record declares `in_warranty`, the form does not


def test_checks_compiled_when_used_may_be_shared_by_threads():
    """Threads meeting the same uncompiled parts at once each get the finished check, never a placeholder."""
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(5):
        quick = _quick_definition_check.__wrapped__()  # a new one: nothing compiled yet
        assert quick is not None
        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(quick, [document.data for document in DOCUMENTS.values()] * 4))

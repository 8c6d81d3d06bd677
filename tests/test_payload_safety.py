"""Checking a payload never crashes and always finishes: what a schema cannot check safely is refused
when the definition loads, in words and at its place, and a payload that does not fit is refused as
``InvalidPayload`` naming the field. Patterns run with RE2, so no payload makes one backtrack."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
from conftest import FIXTURE, ROOT, mutate, position

from engine import DefinitionError, Runtime, load_process_text
from engine.errors import InvalidPayload
from engine.fragments import definition_registry, fragment_validator, quick_check
from engine.model import thaw_json
from engine.runtime import Actor

FIXTURE_TEXT = FIXTURE.read_text(encoding="utf-8")
SUBMIT_FIELDS = "            model: {type: string}\n          required: [in_warranty, model]"
CUSTOMER = Actor("c-1", ["customer"])


def with_fields(**fields: object) -> str:
    """The fixture with more (optional) fields in the payload of `submit`, each written as JSON."""
    lines = "".join(f"            {name}: {json.dumps(schema)}\n" for name, schema in fields.items())
    return mutate(FIXTURE_TEXT, (SUBMIT_FIELDS, f"            model: {{type: string}}\n{lines}"
                                 "          required: [in_warranty, model]"))  # fmt: skip


def submit(text: str, **fields: object) -> None:
    runtime = Runtime(load_process_text(text))
    instance = runtime.start(CUSTOMER)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": True, "model": "XK-200", **fields})


def refusal(text: str, **fields: object) -> InvalidPayload:
    with pytest.raises(InvalidPayload) as caught:
        submit(text, **fields)
    return caught.value


def load_errors(text: str) -> list:
    with pytest.raises(DefinitionError) as caught:
        load_process_text(text)
    return list(caught.value.errors)


# --- multipleOf ----------------------------------------------------------------------------------


def test_a_number_too_large_for_multiple_of_is_refused_naming_the_field():
    text = with_fields(amount={"type": "number", "multipleOf": 0.01})
    for huge in (10**400, 1e308):  # 10**400 used to raise OverflowError from jsonschema
        problem = refusal(text, amount=huge)
        assert [line.split(" ")[0] for line in problem.problems] == ["payload.amount"]
        assert "too large" in problem.problems[0]
    submit(text, amount=2**62)  # the largest numbers kept still work out exactly
    problem = refusal(text, amount=1.005)
    assert any(line.startswith("payload.amount:") for line in problem.problems)


def test_multiple_of_a_decimal_refuses_a_large_number_that_is_no_multiple_naming_the_field():
    problem = refusal(with_fields(amount={"type": "number", "multipleOf": 0.3}), amount=2**62 + 1)
    assert [line.split(":")[0] for line in problem.problems] == ["payload.amount"]
    assert "multiple of 0.3" in problem.problems[0]


def test_multiple_of_a_decimal_means_the_decimal_as_written():
    # In floating point 19.99 / 0.01 is 1998.9999999999998: a price in cents was refused.
    text = with_fields(amount={"type": "number", "multipleOf": 0.01})
    submit(text, amount=19.99)
    submit(text, amount=0.3)


# --- the regex format ----------------------------------------------------------------------------


def test_a_deeply_nested_regex_in_a_payload_is_refused_naming_the_field():
    text = with_fields(rule={"type": "string", "format": "regex"})
    problem = refusal(text, rule="(" * 5000)  # Python's re.compile raised RecursionError
    assert [line.split(":")[0] for line in problem.problems] == ["payload.rule"]
    submit(text, rule="(" * 3000 + "a" + ")" * 3000)


def test_a_regex_in_a_payload_must_be_one_the_engine_can_run():
    text = with_fields(rule={"type": "string", "format": "regex"})
    problem = refusal(text, rule=r"(a)\1")
    assert problem.problems[0].startswith("payload.rule:")
    submit(text, rule="^[a-z]+$")


# --- references ----------------------------------------------------------------------------------


def test_a_ref_to_itself_is_refused_when_the_definition_loads():
    ref = "#/states/apply/on/0/payload/properties/loop"
    text = with_fields(loop={"$ref": ref})
    [error] = load_errors(text)
    assert (error.location.line, error.location.column) == position(text, f'"$ref": "{ref}"', f'"{ref}"')
    assert "leads back to itself" in error.message and "`properties`" in error.message


def test_refs_that_lead_back_through_all_of_are_refused():
    base = "#/states/apply/on/0/payload/properties/"
    text = with_fields(first={"allOf": [{"$ref": base + "second"}]}, second={"not": {"$ref": base + "first"}})
    errors = load_errors(text)
    assert len(errors) == 2 and all("leads back to itself" in e.message for e in errors)


def test_a_ref_back_to_itself_under_properties_is_a_tree_and_checks_nested_values():
    node = "#/states/apply/on/0/payload/properties/tree"
    text = with_fields(tree={"type": "object", "properties": {"child": {"$ref": node}, "n": {"type": "integer"}}})
    submit(text, tree={"child": {"child": {"n": 1}}})
    problem = refusal(text, tree={"child": {"child": {"n": "one"}}})
    assert problem.problems[0].startswith("payload.tree.child.child.n:")


@pytest.mark.parametrize("keyword", ["$dynamicRef", "$recursiveRef"])
def test_dynamic_references_are_refused_when_the_definition_loads(keyword):
    text = with_fields(other={keyword: "#meta"})
    [error] = load_errors(text)
    assert (error.location.line, error.location.column) == position(text, f'"{keyword}": "#meta"', '"#meta"')
    assert "use `$ref`" in error.message


# --- patterns ------------------------------------------------------------------------------------


def test_a_backtracking_pattern_finishes_at_once():
    # `^(a+)+$` takes Python's re about 2**40 steps on this text; RE2 answers in linear time.
    script = (
        "from test_payload_safety import refusal, with_fields\n"
        "problem = refusal(with_fields(code={'type': 'string', 'pattern': '^(a+)+$'}), code='a' * 40 + '!')\n"
        "print(problem.problems[0].split(':')[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "payload.code"


def test_backtracking_pattern_properties_finish_at_once():
    schema = {"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}}, "additionalProperties": False}
    script = (
        "from test_payload_safety import refusal, with_fields\n"
        f"problem = refusal(with_fields(codes={schema!r}), codes={{'a' * 40 + '!': 1}})\n"
        "print(problem.problems[0].split(':')[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "payload.codes." + "a" * 40 + "!"  # the key that fits no pattern


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        (r"^(\w)\1$", "backreferences"),
        ("^(?=.*[0-9]).+$", "lookahead"),
        ("(?<!x)y", "lookbehind"),
        ("a++", "possessive"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_its_place_saying_what_is_not_supported(pattern, said):
    text = with_fields(code={"type": "string", "pattern": pattern})
    [error] = load_errors(text)
    assert (error.location.line, error.location.column) == position(
        text, f'"pattern": {json.dumps(pattern)}', json.dumps(pattern)
    )
    assert said in error.message and "RE2" in error.message


def test_a_pattern_property_re2_cannot_run_is_refused():
    text = with_fields(codes={"type": "object", "patternProperties": {"^(?!x)": {"type": "integer"}}})
    [error] = load_errors(text)
    assert "negative lookahead" in error.message


def test_a_deeply_nested_pattern_in_a_definition_loads_or_is_refused_without_a_crash():
    deep = "(" * 3000 + "a" + ")" * 3000
    text = with_fields(code={"type": "string", "pattern": deep})
    submit(text, code="a")
    [error] = load_errors(with_fields(code={"type": "string", "pattern": "(" * 3000}))
    assert "missing )" in error.message


@pytest.mark.parametrize(("pattern", "text"), [("^x$", "x\n"), ("^\\d$", "٣"), ("^[a-z]+$", "abc")])
def test_the_quick_check_and_jsonschema_use_the_same_pattern_engine(pattern, text):
    # Python's re lets `$` match before a final newline and `\d` match any script's digits; RE2, like
    # the ECMA-262 regular expressions JSON Schema names, does neither.
    process = load_process_text(with_fields(code={"type": "string", "pattern": pattern}))
    check = Runtime(process).compiled.transitions["apply"][0].payload
    assert check is not None
    payload = {"in_warranty": True, "model": "m", "code": text}
    document = thaw_json(process.document)
    path = ("states", "apply", "on", 0, "payload")
    quick = quick_check(document, path)
    assert quick is not None
    full = fragment_validator(definition_registry(document), path).is_valid(payload)
    assert quick(payload) == full
    assert (check.problems(payload) == ()) == full


# --- enum ----------------------------------------------------------------------------------------


def test_an_empty_enum_is_refused_when_the_definition_loads():
    text = with_fields(choice={"enum": []})
    [error] = load_errors(text)
    assert (error.location.line, error.location.column) == position(text, '"enum": []', "[]")
    assert "nothing can ever fit" in error.message and "`false`" in error.message


@pytest.mark.parametrize("keyword", ["$id", "$anchor"])
def test_schemas_named_other_than_by_path_are_refused_when_the_definition_loads(keyword):
    # `{$id: urn:x, allOf: [{$ref: urn:x}]}` would loop past the check that follows paths.
    text = with_fields(named={keyword: "urn:named" if keyword == "$id" else "named", "type": "string"})
    [error] = load_errors(text)
    assert f"`{keyword}` is not supported" in error.message and "`$ref`" in error.message


def test_a_ref_to_itself_written_with_the_definition_uri_is_refused_too():
    text = with_fields(loop={"$ref": "urn:procflow:definition#/states/apply/on/0/payload/properties/loop"})
    [error] = load_errors(text)
    assert "leads back to itself" in error.message


def test_a_payload_nested_past_the_checker_stack_is_refused_not_crashed():
    # A tree schema and a value as deep as the payload limit allow: refused or accepted, never a crash.
    node = "#/states/apply/on/0/payload/properties/tree"
    text = with_fields(tree={"type": "object", "properties": {"c": {"$ref": node}}, "additionalProperties": False})
    value: dict = {}
    for _ in range(60):
        value = {"c": value}
    submit(text, tree=value)
    deep: dict = {"x": 1}
    for _ in range(60):
        deep = {"c": deep}
    assert refusal(text, tree=deep).problems


def test_a_check_that_runs_out_of_stack_refuses_the_value_instead_of_crashing():
    node = "#/states/apply/on/0/payload/properties/tree"
    text = with_fields(tree={"type": "object", "properties": {"c": {"$ref": node}}, "required": ["c"]})
    check = Runtime(load_process_text(text)).compiled.transitions["apply"][0].payload
    assert check is not None
    deep: dict = {}
    for _ in range(60):
        deep = {"c": deep}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)  # far less than checking 60 levels needs
    try:
        problems = check.problems({"in_warranty": True, "model": "m", "tree": deep})
    finally:
        sys.setrecursionlimit(limit)
    assert problems == ("payload: is nested too deeply to be checked; send flatter data",)


def test_unevaluated_properties_beside_pattern_properties_is_refused():
    # jsonschema matches names for `unevaluatedProperties` with Python's `re`, outside RE2's bound.
    text = with_fields(codes={"type": "object", "patternProperties": {"^c": True}, "unevaluatedProperties": False})
    [error] = load_errors(text)
    assert "`unevaluatedProperties`" in error.message and "`additionalProperties`" in error.message
    load_process_text(with_fields(codes={"type": "object", "unevaluatedProperties": False}))

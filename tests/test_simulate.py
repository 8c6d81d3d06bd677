"""Random walks: every state, transition and branch of every shipped process is reachable by a real,
permitted, schema-valid run, and the same seed gives the same walks."""

from __future__ import annotations

import io
import json
import random

import pytest
from conftest import FIXTURE, SHIPPED, mutate
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Runtime, load_process, load_process_text
from engine.cli import run
from engine.fragments import definition_registry, fragment_validator
from engine.sampling import Sampler
from engine.simulate import simulate


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_walks_cover_every_state_transition_and_branch(path):
    coverage = simulate(Runtime(load_process(path)), walks=80, seed=7)
    assert coverage.states_missed == ()
    assert coverage.transitions_missed == ()
    assert coverage.branches_missed == ()
    assert coverage.finished > coverage.walks // 2
    assert coverage.stuck == 0


def test_the_same_seed_gives_the_same_walks():
    runtime = Runtime(load_process(FIXTURE))
    first, second = simulate(runtime, 20, seed=3), simulate(runtime, 20, seed=3)
    assert (first.states, first.transitions, first.branches) == (second.states, second.transitions, second.branches)


def test_a_transition_no_one_can_fire_is_reported_as_never_taken(tmp_path, fixture_text):
    # A guard that can never hold: the walks must say they never took it.
    text = fixture_text.replace("conditions: payload.quote <= 500", "conditions: payload.quote < 0")
    path = tmp_path / "never.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["simulate", str(path), "-n", "30", "--seed", "1"], out, err) == 0
    assert "never taken: `send_quote` from `quote` to `accept`" in out.getvalue()
    assert "transitions taken: " in out.getvalue()


def test_simulate_prints_json_for_programs():
    out, err = io.StringIO(), io.StringIO()
    assert run(["simulate", str(FIXTURE), "-n", "10", "--format", "json"], out, err) == 0
    report = json.loads(out.getvalue())
    assert report["walks"] == 10 and report["process"] == "minimal_repair"
    assert {"source", "trigger", "dest", "count"} <= set(report["transitions"][0])


@pytest.mark.parametrize("argv", [["-n", "0"], ["-n", "many"], ["--seed", "x"]])
def test_simulate_refuses_bad_numbers(argv):
    out, err = io.StringIO(), io.StringIO()
    assert run(["simulate", str(FIXTURE), *argv], out, err) == 2
    assert "procflow simulate:" in err.getvalue()


# --- payloads sampled from everything their schemas allow, and where and why walks got stuck --------


def fixture_with(fixture_text: str, *edits: tuple[str, str]) -> str:
    return mutate(fixture_text, *edits)


ONLY_ACCEPT_LEAVES_ACCEPT = [
    ('    source: "*"', "    source: [apply]"),
    ("    source: [quote, accept]", "    source: [quote]"),
]


def accept_needs(schema: dict, conditions: str | None = None) -> tuple[str, str]:
    """The edit giving `accept` (then the only way out of state `accept`) this payload schema."""
    extra = f"        conditions: {json.dumps(conditions)}\n" if conditions else ""
    return (
        "        en: Accept\n        dest: done\n",
        f"        en: Accept\n        dest: done\n        payload: {json.dumps(schema)}\n{extra}",
    )


def run_simulate(tmp_path, text: str, *argv: str) -> tuple[int, str, str]:
    path = tmp_path / "walked.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["simulate", str(path), *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_all_of_payloads_are_filled(tmp_path, fixture_text):
    # Every walk used to stop here: the sampler made up text for an `allOf`, which fitted nothing.
    schema = {
        "allOf": [
            {"$ref": "#/records/repair_order/fields"},
            {"type": "object", "properties": {"boxes": {"type": "integer", "minimum": 1}}, "required": ["boxes"]},
        ]
    }
    text = fixture_with(fixture_text, *ONLY_ACCEPT_LEAVES_ACCEPT, accept_needs(schema))
    coverage = simulate(Runtime(load_process_text(text)), walks=30, seed=2)
    assert coverage.stuck == 0 and coverage.stuck_at == ()
    assert ("accept", "accept", "done") not in coverage.transitions_missed


def test_numbers_are_sampled_across_the_whole_range(tmp_path, fixture_text):
    # Numbers used to stop near the minimum + 1000, so this transition was reported unreachable.
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 10**9}},
        "required": ["n"],
    }
    text = fixture_with(fixture_text, accept_needs(schema, "payload.n > 5000000"))
    coverage = simulate(Runtime(load_process_text(text)), walks=30, seed=4)
    assert ("accept", "accept", "done") not in coverage.transitions_missed


@pytest.mark.parametrize(
    ("field", "label"),
    [({"type": "string", "minLength": 3.0}, "float-min-length"), ({"type": "number", "maximum": 5}, "no-minimum")],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_length_and_bound_forms_that_crashed_the_sampler_are_filled(fixture_text, field, label):
    schema = {"type": "object", "properties": {"f": field}, "required": ["f"]}
    text = fixture_with(fixture_text, *ONLY_ACCEPT_LEAVES_ACCEPT, accept_needs(schema))
    coverage = simulate(Runtime(load_process_text(text)), walks=20, seed=1)
    assert coverage.stuck == 0


def test_an_empty_enum_is_refused_before_any_walk(tmp_path, fixture_text):
    schema = {"type": "object", "properties": {"f": {"enum": []}}, "required": ["f"]}
    code, out, err = run_simulate(tmp_path, fixture_with(fixture_text, accept_needs(schema)), "-n", "5")
    assert code == 1 and out == ""
    assert "`enum` lists no value" in err


def test_a_stuck_walk_says_where_and_which_field_could_not_be_filled(tmp_path, fixture_text):
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}},
        "required": ["code"],
    }
    text = fixture_with(fixture_text, *ONLY_ACCEPT_LEAVES_ACCEPT, accept_needs(schema))
    code, out, _ = run_simulate(tmp_path, text, "-n", "10", "--seed", "1")
    assert code == 0
    assert "stuck in `accept` (" in out
    line = next(line for line in out.splitlines() if "stuck in `accept`" in line)
    assert "`accept`" in line.split("):", 1)[1] and "`payload.code`" in line and "examples" in line
    code, out, _ = run_simulate(tmp_path, text, "-n", "10", "--seed", "1", "--format", "json")
    [stuck] = json.loads(out)["stuck_at"]
    assert (stuck["state"], stuck["trigger"]) == ("accept", "accept") and "payload.code" in stuck["reason"]
    assert stuck["walks"] == json.loads(out)["stuck"]


def test_examples_let_the_walks_fill_a_pattern(fixture_text):
    field = {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$", "examples": ["ABC-1234"]}
    schema = {"type": "object", "properties": {"code": field}, "required": ["code"]}
    text = fixture_with(fixture_text, *ONLY_ACCEPT_LEAVES_ACCEPT, accept_needs(schema))
    assert simulate(Runtime(load_process_text(text)), walks=10, seed=1).stuck == 0


def test_a_stuck_walk_names_the_condition_that_never_held(tmp_path, fixture_text):
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]}
    text = fixture_with(fixture_text, *ONLY_ACCEPT_LEAVES_ACCEPT, accept_needs(schema, "payload.n < 0"))
    code, out, _ = run_simulate(tmp_path, text, "-n", "10", "--format", "json")
    report = json.loads(out)
    [stuck] = report["stuck_at"]
    assert stuck["walks"] == report["stuck"] >= 1
    assert stuck["state"] == "accept" and "`payload.n < 0`" in stuck["reason"]
    assert {"state": "accept", "trigger": "accept", "reason": stuck["reason"]} in report["never_taken_because"]


# --- the sampler on its own ----------------------------------------------------------------------

SCHEMAS = {
    "all-of": {"allOf": [{"type": "integer"}, {"minimum": 10}, {"maximum": 12}]},
    "any-of": {"anyOf": [{"type": "string", "format": "email"}, {"type": "integer", "minimum": 5}]},
    "one-of": {"oneOf": [{"const": "a"}, {"const": "b"}]},
    "if-then-else": {"if": {"minimum": 10}, "then": {"multipleOf": 5}, "else": {"maximum": 3}, "type": "integer"},
    "ref": {"$ref": "#/defs/positive"},
    "enum": {"enum": ["x", 2, None]},
    "exclusive": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "cents": {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.01},
    "huge": {"type": "integer", "minimum": -(10**15), "maximum": 10**15},
    "minus-infinity": {"type": "number", "minimum": float("-inf"), "maximum": 7},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "lengths": {"type": "string", "minLength": 4.0, "maxLength": 6},
    "list": {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 3},
}
DOCUMENT = {"defs": {"positive": {"type": "integer", "exclusiveMinimum": 0}}, "schemas": SCHEMAS}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_sampler_draws_values_the_schema_allows(name):
    schema = SCHEMAS[name]
    validator = fragment_validator(definition_registry(DOCUMENT), ("schemas", name))
    sampler = Sampler(DOCUMENT, random.Random(5))
    drawn = [sampler.value(schema) for _ in range(200)]
    fitting = [v for v in drawn if validator.is_valid(v)]
    assert len(fitting) >= 100, [v for v in drawn if v not in fitting][:5]


def test_the_sampler_reaches_both_ends_of_a_large_range_and_every_magnitude():
    sampler = Sampler({}, random.Random(3))
    drawn = {sampler.value({"type": "integer", "minimum": 0, "maximum": 10**12}) for _ in range(500)}
    assert {0, 10**12} <= drawn
    assert {len(str(v)) for v in drawn} >= set(range(1, 13))


def test_the_sampler_tries_the_numbers_the_conditions_compare_with():
    sampler = Sampler({}, random.Random(3), hints=[4999])
    drawn = {sampler.value({"type": "integer", "minimum": 0, "maximum": 10**9}) for _ in range(200)}
    assert {4998, 4999, 5000} <= drawn


def test_exclusive_bounds_are_sampled_just_inside():
    sampler = Sampler({}, random.Random(3))
    drawn = [sampler.value({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}) for _ in range(200)]
    assert min(drawn) == 1 and max(drawn) == 9


numbers = st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=True, width=64)
counts = st.integers(0, 50) | st.integers(0, 50).map(float)
schemas = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["string", "integer", "number", "boolean", "null", "object", "array"])
            | st.lists(st.sampled_from(["string", "integer", "number", "null"]), min_size=1, max_size=3, unique=True),
            "minimum": numbers,
            "maximum": numbers,
            "exclusiveMinimum": numbers,
            "exclusiveMaximum": numbers,
            "multipleOf": st.sampled_from([0.01, 0.5, 3, 1e-9, 10**12, 2.5]),
            "minLength": counts,
            "maxLength": counts,
            "minItems": counts,
            "maxItems": counts,
            "enum": st.lists(st.none() | st.booleans() | st.integers() | st.text(max_size=3), min_size=1, max_size=3),
            "const": st.integers() | st.text(max_size=3),
            "format": st.sampled_from(["date", "date-time", "email", "uuid", "ipv4", "regex", "unknown"]),
            "pattern": st.sampled_from(["^a", "[0-9]+"]),
            "uniqueItems": st.booleans(),
        },
    )
    | st.booleans(),
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "allOf": st.lists(inner, min_size=1, max_size=3),
            "anyOf": st.lists(inner, min_size=1, max_size=3),
            "oneOf": st.lists(inner, min_size=1, max_size=3),
            "not": inner,
            "if": inner,
            "then": inner,
            "else": inner,
            "items": inner,
            "prefixItems": st.lists(inner, max_size=2),
            "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
            "required": st.lists(st.sampled_from(["a", "b", "d"]), unique=True, max_size=3),
            "additionalProperties": inner,
        },
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(schema=schemas, seed=st.integers(0, 2**16))
def test_the_sampler_never_fails_on_a_schema(schema, seed):
    sampler = Sampler({}, random.Random(seed), hints=[5, -3.5, "mode"])
    value = sampler.value(schema)
    json.dumps(value, allow_nan=False)  # plain JSON, nothing infinite

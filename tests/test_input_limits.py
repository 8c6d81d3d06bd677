"""What an end user sends is held to the limits of ``engine.inputs``: refused with a named place and a
stable code, the same way whichever store keeps the instances, and with nothing changed."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys

import pytest
from conftest import mutate
from hypothesis import given, settings
from hypothesis import strategies as st
from store_support import CLERK, CUSTOMER, MINIMAL, MONDAY, OUT_OF_WARRANTY, ROOT, dump, minimal_runtime, snapshot

from engine import (
    Actor,
    EventRefused,
    InstanceFormatError,
    InvalidActor,
    InvalidData,
    InvalidPayload,
    InvalidTime,
    Runtime,
    instance_from_json,
    instance_to_json,
    load_process_text,
)
from engine.inputs import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_CHARACTERS,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_NAME_LENGTH,
    json_copy,
    kept_as_is,
)
from engine.render import read_history
from engine.service import Workflows

pytest_plugins = ["store_support"]

MAX_NUMBER = 2**63


def nested(depth: int, inner: object = 1) -> object:
    value = inner
    for _ in range(depth):
        value = {"a": value}
    return value


def quoted_on(workflows: Workflows, instance_id: str = "I-1") -> str:
    workflows.start("minimal_repair", CUSTOMER, instance_id=instance_id, at=MONDAY)
    workflows.fire(instance_id, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
    return instance_id


def everything_stored(workflows: Workflows, url: str) -> object:
    """Every row of an SQL store; for the memory store, every instance it holds, as JSON."""
    if url == "memory:":
        return sorted(snapshot(workflows.get(s.id)) for s in workflows.list())
    return dump(url)


# --- actor ids and roles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("x" * (MAX_NAME_LENGTH + 1), "is 201 characters long"),
        ("li\n", "holds the control character U+000A"),
        ("li\x00", "holds the control character U+0000"),
        ("li\x85", "holds the control character U+0085"),
        ("\ud800", "holds U+D800, a lone surrogate"),
        (b"li\xff".decode("utf-8", "surrogateescape"), "holds U+DCFF, a lone surrogate"),
    ],
    ids=["empty", "blank", "too-long", "newline", "nul", "c1-control", "lone-surrogate", "not-utf8"],
)
def test_an_actor_id_that_breaks_the_rule_for_names_is_refused_in_words(name, wrong):
    with pytest.raises(InvalidActor) as refused:
        Actor(name, ["customer"])
    assert refused.value.code == "invalid-actor"
    assert f"the actor id {wrong}" in str(refused.value)
    assert "1 to 200 characters of printable text" in str(refused.value)


@pytest.mark.parametrize("role", ["", "clerk\t", "\udc80", 7])
def test_a_role_that_breaks_the_rule_for_names_is_refused(role):
    with pytest.raises(InvalidActor, match="a role of actor `li`"):
        Actor("li", ["customer", role])


@pytest.mark.parametrize("name", ["li", "李四", "x" * MAX_NAME_LENGTH, "procflow:clock", "wang@example.com", "王 小明"])
def test_names_within_the_rule_are_kept_as_given(name):
    assert Actor(name, [name]).id == name


# --- payloads and start data ---------------------------------------------------------------------------


def test_a_payload_nested_ten_thousand_deep_is_refused_and_changes_nothing():
    runtime = minimal_runtime()
    instance = runtime.start(CUSTOMER, at=MONDAY)
    before = snapshot(instance)
    with pytest.raises(InvalidPayload) as refused:
        runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X1", "x": nested(10_000)})
    assert refused.value.code == "invalid-payload"
    assert f"is nested more than {MAX_DEPTH} levels deep" in str(refused.value)
    assert str(refused.value).startswith("payload.x.a.a")
    assert snapshot(instance) == before


def test_start_data_nested_ten_thousand_deep_is_refused():
    with pytest.raises(InvalidData, match=f"nested more than {MAX_DEPTH} levels deep"):
        minimal_runtime().start(CUSTOMER, {"model": nested(10_000)}, at=MONDAY)


def test_the_deepest_accepted_value_is_kept_and_one_level_more_is_refused():
    deepest = {"x": nested(MAX_DEPTH - 1)}
    assert json_copy(deepest, "payload") == deepest
    with pytest.raises(InvalidPayload, match="nested more than 64 levels deep"):
        json_copy({"x": nested(MAX_DEPTH)}, "payload")


@pytest.mark.parametrize(
    "value, place, wrong",
    [
        ({"model": "X\ud800"}, "payload.model", "holds U+D800, a lone surrogate"),
        ({"\udcff": 1}, 'payload["\\udcff"]', "holds U+DCFF, a lone surrogate"),
        ({"notes": ["ok", "bad\x00"]}, "payload.notes[1]", "holds a NUL character"),
        ({"n": 10**5000}, "payload.n", "is a number too large to keep"),
        ({"n": -(MAX_NUMBER + 1)}, "payload.n", "is a number too large to keep"),
        ({"n": 1e300}, "payload.n", "is a number too large to keep"),
        ({"n": float("inf")}, "payload.n", "inf is not a JSON number"),
        ({"n": float("nan")}, "payload.n", "nan is not a JSON number"),
        ({"when": dt.date(2026, 1, 1)}, "payload.when", "date values cannot be stored"),
        ({"raw": b"\xff"}, "payload.raw", "bytes values cannot be stored"),
        ({"m": {1: "one"}}, "payload.m", "the key 1 is not text"),
    ],
    ids=[
        "surrogate",
        "surrogate-key",
        "nul",
        "5000-digits",
        "below-minimum",
        "huge-float",
        "infinity",
        "nan",
        "a-date",
        "bytes",
        "number-key",
    ],
)
def test_a_value_outside_the_limits_is_refused_naming_its_place(value, place, wrong):
    runtime = minimal_runtime()
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
    runtime.fire(instance, "hold", CLERK, at=MONDAY)
    before = snapshot(instance)
    with pytest.raises(InvalidPayload) as refused:
        runtime.fire(instance, "remind", CLERK, value, at=MONDAY)  # a trigger that takes any payload
    assert str(refused.value).startswith(f"{place} {wrong}") or str(refused.value).startswith(f"{place}: {wrong}")
    assert refused.value.problems == (str(refused.value),)
    assert snapshot(instance) == before


def test_numbers_up_to_two_to_the_63_are_kept():
    edge = {"top": MAX_NUMBER, "bottom": -MAX_NUMBER, "real": float(2**62), "fine": 1.5}
    assert json_copy(edge, "payload") == edge


def test_too_many_values_or_too_much_text_in_one_payload_is_refused():
    with pytest.raises(InvalidPayload, match=f"more than {MAX_ITEMS:,} values"):
        json_copy({"xs": list(range(MAX_ITEMS))}, "payload")
    with pytest.raises(InvalidPayload, match=f"more than {MAX_CHARACTERS:,} characters"):
        json_copy({"text": "x" * MAX_CHARACTERS}, "payload")
    within = {"xs": list(range(MAX_ITEMS - 3)), "text": "x" * (MAX_CHARACTERS - 10)}
    assert json_copy(within, "payload") == within


def test_the_copy_is_private_to_the_record():
    runtime = minimal_runtime()
    instance = runtime.start(CUSTOMER, at=MONDAY)
    payload = {"in_warranty": False, "model": "X1", "parts": ["a"]}
    entry = runtime.fire(instance, "submit", CUSTOMER, payload, at=MONDAY)
    payload["parts"].append("b")
    assert entry.payload["parts"] == ["a"]


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=6)
)
json_like = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(st.characters(exclude_categories=()), max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


def within_limits(value: object) -> bool:
    """The rule for small values, said independently of ``engine.inputs``: text without lone surrogates
    or NUL, finite numbers of at most 2**63, lists and text-keyed objects of such values."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value) and abs(value) <= MAX_NUMBER
    if isinstance(value, list):
        return all(within_limits(v) for v in value)
    return all(within_limits(k) and within_limits(v) for k, v in value.items())


@settings(max_examples=300)
@given(json_like)
def test_a_small_value_is_accepted_exactly_when_it_can_be_written_as_utf8_json(value):
    try:
        copied = json_copy({"v": value}, "payload")
    except InvalidPayload as refused:
        assert refused.code == "invalid-payload" and str(refused).startswith("payload.v")
        assert not within_limits(value)
        return
    assert within_limits(value)
    text = json.dumps(copied, ensure_ascii=False, allow_nan=False)
    assert json.loads(text.encode("utf-8")) == copied == {"v": value}


# --- event times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(9999, 12, 31, 12, tzinfo=dt.UTC),
        LATEST_TIME,
        EARLIEST_TIME - dt.timedelta(microseconds=1),
        dt.datetime(1, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    ],
    ids=["late-in-9999", "the-latest", "before-the-earliest", "year-1"],
)
def test_an_event_time_outside_the_kept_range_is_refused_and_changes_nothing(moment):
    runtime = minimal_runtime()
    with pytest.raises(InvalidTime, match="outside the times procflow records: from 1900-01-01 to before 9000-01-01"):
        runtime.start(CUSTOMER, at=moment)
    instance = runtime.start(CUSTOMER, at=EARLIEST_TIME)
    before = snapshot(instance)
    with pytest.raises(InvalidTime) as refused:
        runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=moment)
    assert refused.value.code == "invalid-time"
    assert snapshot(instance) == before


def test_the_last_moment_kept_opens_deadlines_that_can_be_stored_and_read_back():
    runtime = minimal_runtime()
    last = LATEST_TIME - dt.timedelta(microseconds=1)
    instance = runtime.start(CUSTOMER, at=last)
    runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=last)
    assert instance.state == "quote" and instance.deadlines[0].due > LATEST_TIME
    assert instance_from_json(json.loads(json.dumps(instance_to_json(instance)))) == instance


def test_a_deadline_due_after_the_latest_time_stays_open_and_is_reported():
    runtime = minimal_runtime()
    when = LATEST_TIME - dt.timedelta(days=1)
    instance = runtime.start(CUSTOMER, at=when)
    runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=when)
    runtime.fire(instance, "hold", CLERK, at=when)  # `on_hold` reminds after 3d, past LATEST_TIME
    before = snapshot(instance)
    result = runtime.advance(instance, LATEST_TIME + dt.timedelta(days=30))
    assert result.fired == ()
    [(deadline, refusal)] = result.refused
    assert deadline.fire == "remind" and isinstance(refusal, InvalidTime)
    assert "the deadline's due time" in str(refusal)
    assert snapshot(instance) == before


# --- the same on every store --------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"x": nested(10_000)},
        {"x": "\ud800"},
        {"x": b"\xfe".decode("utf-8", "surrogateescape")},
        {"x": "nul\x00"},
        {"x": 10**5000},
    ],
    ids=["deep", "surrogate", "not-utf8", "nul", "5000-digits"],
)
def test_every_store_refuses_a_bad_payload_before_it_sees_it(workflows, store_url, payload):
    quoted_on(workflows)
    workflows.fire("I-1", "hold", CLERK, at=MONDAY)
    before, rows = snapshot(workflows.get("I-1")), everything_stored(workflows, store_url)
    with pytest.raises(InvalidPayload):
        workflows.fire("I-1", "remind", CLERK, payload, key="k-1", at=MONDAY)
    assert snapshot(workflows.get("I-1")) == before
    assert everything_stored(workflows, store_url) == rows


@pytest.mark.parametrize(
    "actor", [lambda: Actor("\ud800", ["customer"]), lambda: Actor("wang\x00", ["customer"])], ids=["surrogate", "nul"]
)
def test_no_store_ever_sees_a_bad_actor(workflows, store_url, actor):
    rows = everything_stored(workflows, store_url)
    with pytest.raises(InvalidActor):
        workflows.start("minimal_repair", actor(), instance_id="I-1", at=MONDAY)
    assert everything_stored(workflows, store_url) == rows


def test_every_store_keeps_what_the_limits_accept(workflows):
    unusual = {
        "model": "X1 \u2028 \U0001f527 \x01 \u200f",  # separators, astral, C0 and bidi marks are text
        "in_warranty": False,
        "big": MAX_NUMBER,
        "small": -MAX_NUMBER,
        "deep": nested(MAX_DEPTH - 2),
    }
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=MONDAY)
    entry = workflows.fire("I-1", "submit", Actor("王 小明", ["customer"]), unusual, at=MONDAY)
    stored = workflows.get("I-1")
    assert stored.history[-1] == entry
    assert stored.history[-1].payload == unusual


GROWING = mutate(
    MINIMAL.read_text(encoding="utf-8"),
    (
        "    model: {type: string}\nstates:",
        "    model: {type: string}\n    a: {type: array}\n    b: {type: array}\nstates:",
    ),
    (
        "            model: {type: string}\n          required:",
        "            model: {type: string}\n            a: {}\n          required:",
    ),
    ("          model: payload.model\n", '          model: payload.model\n          a: "[payload.a]"\n'),
    (
        "        dest: on_hold\n        roles: [clerk]\n",
        "        dest: on_hold\n        roles: [clerk]\n        payload: {type: object, properties: {b: {}}}\n"
        "        set: {b: payload.b}\n",
    ),
)
"""`submit` keeps the payload's `a` in a list and `remind` keeps its `b`, in the data."""


def test_data_grown_from_checked_payloads_past_one_payloads_limits_is_kept(store_url):
    half = list(range(MAX_ITEMS * 3 // 5))
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(load_process_text(GROWING))
        workflows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=MONDAY)
        workflows.fire("I-1", "submit", CUSTOMER, {**OUT_OF_WARRANTY, "a": half}, at=MONDAY)
        workflows.fire("I-1", "hold", CLERK, at=MONDAY)
        workflows.fire("I-1", "remind", CLERK, {"b": half}, at=MONDAY)
        stored = workflows.get("I-1")
        assert stored.data["a"] == [half] and stored.data["b"] == half
        workflows.verify("I-1")


def test_a_set_value_is_held_to_the_depth_it_will_sit_at_in_the_data():
    runtime = Runtime(load_process_text(GROWING))
    instance = runtime.start(CUSTOMER, at=MONDAY)
    before = snapshot(instance)
    deepest = nested(MAX_DEPTH - 1)  # as deep as a payload's field may be: one level too deep in a list
    with pytest.raises(InvalidData, match=r"`set: a` could not be evaluated: data.a\[0\].a.a"):
        runtime.fire(instance, "submit", CUSTOMER, {**OUT_OF_WARRANTY, "a": deepest}, at=MONDAY)
    assert snapshot(instance) == before
    runtime.fire(instance, "submit", CUSTOMER, {**OUT_OF_WARRANTY, "a": nested(MAX_DEPTH - 2)}, at=MONDAY)
    assert instance_from_json(instance_to_json(instance)) == instance


def test_a_late_instance_is_stored_and_read_back_on_every_store(workflows):
    last = LATEST_TIME - dt.timedelta(seconds=1)
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=last)
    workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, at=last)
    instance = workflows.get("I-1")
    assert instance.deadlines[0].due.year == 9000
    workflows.verify("I-1")


# --- the command line ------------------------------------------------------------------------------


def run_cli(*args: str | bytes, store: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args, "--store", store],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )


def test_the_command_line_refuses_deep_data_and_bad_bytes_in_one_line(sqlite_url):
    deep = '{"a": ' * 10_000 + "1" + "}" * 10_000
    started = run_cli(
        "start", str(MINIMAL), "--data", f'{{"model": {deep}}}', "--as", "wang:customer", store=sqlite_url
    )
    assert started.returncode == 1, started.stderr
    assert b"refused: --data is nested more than 64 levels deep" in started.stderr
    assert b"Traceback" not in started.stderr

    # Bytes that are not UTF-8 never reach the runtime: the command line refuses the argument itself.
    started = run_cli("start", str(MINIMAL), "--as", b"wang\xff:customer", store=sqlite_url)
    assert started.returncode == 2, started.stderr
    assert b"--as: is not UTF-8 text" in started.stderr and b"Traceback" not in started.stderr

    started = run_cli("start", str(MINIMAL), "--data", b'{"model": "X\xff"}', "--as", "wang:customer", store=sqlite_url)
    assert started.returncode == 2, started.stderr
    assert b"--data: is not UTF-8 text" in started.stderr and b"Traceback" not in started.stderr

    started = run_cli(
        "start", str(MINIMAL), "--data", '{"n": ' + "9" * 5000 + "}", "--as", "wang:customer", store=sqlite_url
    )
    assert started.returncode == 1, started.stderr
    assert b"refused: --data holds a number too large to keep" in started.stderr
    assert run_cli("list", store=sqlite_url).stdout.strip() == b"0 instance(s)"


# --- reading instances -------------------------------------------------------------------------------


def recorded() -> dict:
    runtime = minimal_runtime()
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
    return instance_to_json(instance)


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda doc: doc.__setitem__("data", {"x": nested(10_000)}), '"data".x.a'),
        (lambda doc: doc["history"][1].__setitem__("payload", {"x": nested(10_000)}), '"history"[1].payload.x'),
        (lambda doc: doc["data"].__setitem__("n", 10**5000), '"data".n'),
        (lambda doc: doc["history"][1].__setitem__("actor", "\ud800"), '"history"[1].actor'),
        (lambda doc: doc["history"][0]["roles"].append("a\nb"), '"history"[0].roles'),
    ],
    ids=["deep-data", "deep-payload", "huge-number", "surrogate-actor", "control-in-role"],
)
def test_an_instance_document_beyond_the_limits_is_an_instance_format_error(edit, where):
    document = recorded()
    edit(document)
    with pytest.raises(InstanceFormatError) as refused:
        instance_from_json(document)
    assert str(refused.value).startswith(where)


def test_a_history_file_nested_too_deeply_is_an_instance_format_error(tmp_path):
    path = tmp_path / "history.json"
    path.write_text('{"format": "procflow-instance/1", "data": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InstanceFormatError, match="too deeply"):
        read_history(path)
    path.write_text('{"format": "procflow-instance/1", "n": ' + "9" * 5000 + "}")
    with pytest.raises(InstanceFormatError, match="not a JSON history"):
        read_history(path)


def test_refusals_for_inputs_are_event_refusals_with_stable_codes():
    codes = {kind.code for kind in (InvalidActor, InvalidData, InvalidPayload, InvalidTime)}
    assert codes == {"invalid-actor", "invalid-data", "invalid-payload", "invalid-time"}
    assert all(issubclass(kind, EventRefused) for kind in (InvalidActor, InvalidData, InvalidPayload, InvalidTime))


@pytest.mark.parametrize(
    "text, kept",
    [
        ("开机无显示 / no display", True),
        ("两行\n文字\t和制表符", True),  # not printable, still valid text
        ("开机\x00无显示", False),
        ("开机\ud800无显示", False),
        ("\u00e9t\u00e9 \u2028 fin", True),  # a line separator: not printable, valid
        ("caf\u00e9\udcff", False),
    ],
    ids=["cjk", "cjk-with-breaks", "cjk-with-nul", "cjk-with-surrogate", "line-separator", "latin-with-surrogate"],
)
def test_text_beyond_ascii_is_kept_unless_it_holds_a_nul_or_a_lone_surrogate(text, kept):
    for value in ({"note": text}, {text: 1}, {"notes": [text]}):
        if kept:
            assert json_copy(value, "payload") == value
        else:
            with pytest.raises(InvalidPayload, match="NUL character|lone surrogate"):
                json_copy(value, "payload")
    assert kept_as_is(text) is kept


def _objects_in_lists(levels: int, inner: object) -> object:
    """``inner`` under ``levels`` levels of lists and objects in turn, each object in a list."""
    value = inner
    for level in range(levels):
        value = {"k": value} if level % 2 == 0 else [value]
    return value


def _as_mappings(value: object) -> object:
    """The same value with each object a read-only mapping rather than a dict (the copy's general path)."""
    from types import MappingProxyType

    if isinstance(value, dict):
        return MappingProxyType({k: _as_mappings(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_as_mappings(v) for v in value]
    return value


def _copied_or_refused(value: object) -> object:
    try:
        return json_copy({"v": value}, "payload")
    except InvalidPayload as refused:
        return str(refused)


@pytest.mark.parametrize("depth", [1, 2, 3, *range(MAX_DEPTH - 3, MAX_DEPTH + 2)])
@pytest.mark.parametrize(
    "inner",
    [
        "ok",
        "bad\x00",
        "x" * (MAX_CHARACTERS + 1),
        list(range(MAX_ITEMS)),
        ["x" * (MAX_CHARACTERS + 1), {"k": "bad\x00"}],  # over the budget first: what follows is not read
        [list(range(MAX_ITEMS)), {"k": "bad\x00"}],
    ],
)
def test_an_object_in_a_list_is_copied_and_refused_as_any_mapping_in_a_list_is(depth, inner):
    # Objects in lists are copied without _copy's call (engine.inputs._copy_list); other mappings through it.
    value = _objects_in_lists(depth, inner)
    assert _copied_or_refused(value) == _copied_or_refused(_as_mappings(value))

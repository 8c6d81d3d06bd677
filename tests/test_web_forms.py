"""Forms generated from triggers' JSON Schemas (``engine.web.forms``) and their HTML (``form.html``)."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from conftest import mutate
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from engine.model import Process, Text, thaw_json
from engine.processes import load_process, validate_text
from engine.runtime import Choice
from engine.web.forms import FieldProblem, Form, PlacedProblems, at_fields, defaults, encode, form_for, payload_from
from engine.web.templating import render_form

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "processes").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
NONE = PlacedProblems()


def choice(schema: Any, *, signoffs: tuple[Any, ...] = (), trigger: str = "fire") -> Choice:
    return Choice(trigger, Text("提交", "Submit"), "done", schema, (), signoffs, True)


def html(form: Form, values: Any = None, problems: PlacedProblems = NONE, lang: str = "both") -> str:
    return render_form(form, values or {}, problems, "csrf-123", "/cases/1/events", lang)


@pytest.fixture(scope="module")
def minimal() -> Process:
    text = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")
    glossary = ("data:\n", "fields:\n  model: {zh: 型号, en: Model, description: 铭牌上的型号}\ndata:\n")
    process = validate_text(mutate(text, glossary), "m.yaml").process
    assert process is not None
    return process


def every_choice(process: Process) -> list[Choice]:
    found = [
        Choice(t.trigger, t.label, t.dest, thaw_json(t.payload_schema), (), t.signoffs, True)
        for t in process.transitions
    ]
    found += [
        Choice(p.id, p.label, s.id, thaw_json(p.payload_schema), (), (), True, part=p.id)
        for s in process.states.values()
        for p in s.parts
    ]
    return found


# --- every shipped form -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_trigger_of_every_shipped_procedure_gets_a_form_that_renders(path: Path) -> None:
    process = load_process(path)
    for c in every_choice(process):
        form = form_for(c, process, "both")
        page = html(form, defaults(form))
        assert page.count('name="csrf_token" value="csrf-123"') == 1
        ids = re.findall(r' id="([^"]+)"', page)
        assert len(ids) == len(set(ids)), f"{c.trigger}: ids repeat"
        for target in re.findall(r'<label for="([^"]+)"', page):
            assert f'id="{target}"' in page, f"{c.trigger}: a label for nothing"
        for f in form.fields:
            if f.kind not in ("fieldset", "list", "checkboxes"):
                assert f'name="{f.pointer}"' in page
        if c.signoffs:
            assert 'type="password"' in page and 'name="signoff_password"' in page


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_forms_name_their_fields_from_the_glossary_or_a_title(path: Path) -> None:
    process = load_process(path)
    unnamed = {
        f.key
        for c in every_choice(process)
        for f in form_for(c, process).walk()
        if f.label == Text(f.key, f.key) and not f.pointer.endswith("/-")
    }
    assert not unnamed, f"{path.name}: no Chinese/English name for {sorted(unnamed)}"


# --- examples -----------------------------------------------------------------------------------------


def test_inputs_follow_the_schema(minimal: Process) -> None:
    schema = {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "kind": {"enum": ["repair", "exchange"]},
            "on": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "ok": {"type": "boolean"},
            "maybe": {"type": "boolean"},
            "count": {"type": "integer", "minimum": 1, "maximum": 9},
            "reason": {"type": "string"},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        },
        "required": ["model", "ok", "count"],
    }
    form = form_for(choice(schema), minimal)
    kinds = {f.key: f.kind for f in form.fields}
    assert kinds == {
        "model": "text",
        "kind": "select",
        "on": "date",
        "at": "datetime-local",
        "ok": "checkbox",
        "maybe": "select",
        "count": "number",
        "reason": "textarea",
        "tags": "checkboxes",
    }
    model = form.fields[0]
    assert model.label == Text("型号", "Model") and model.required and model.description == "铭牌上的型号"
    page = html(form)
    assert re.search(r'<label for="field-2f-model">型号 / Model <code>model</code> <span class="required"', page)
    assert re.search(r'<input type="text" id="field-2f-model" name="/model" value="" required', page)
    assert 'type="date"' in page and 'type="datetime-local"' in page
    assert 'step="1" min="1" max="9" required' in page
    assert '<option value="repair">repair</option>' in page
    assert html(form, lang="zh").count("Model") == 0


def test_posted_strings_become_json(minimal: Process) -> None:
    schema = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "count": {"type": "integer"},
            "amount": {"type": "number"},
            "on": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "note": {"type": "string"},
        },
        "required": ["ok"],
    }
    form = form_for(choice(schema), minimal)
    posted = {"/count": ["3"], "/amount": ["2.5"], "/on": ["2026-10-08"], "/at": ["2026-10-08T09:30"], "/note": [""]}
    payload, problems = payload_from(form, posted)
    assert problems == ()
    assert payload == {"ok": False, "count": 3, "amount": 2.5, "on": "2026-10-08", "at": "2026-10-08T09:30:00+08:00"}


def test_a_required_box_left_blank_is_a_problem_at_its_field_not_an_empty_text(minimal: Process) -> None:
    schema = {
        "type": "object",
        "properties": {"fault": {"type": "string"}, "note": {"type": "string"}},
        "required": ["fault"],
    }
    form = form_for(choice(schema), minimal)
    payload, problems = payload_from(form, {"/fault": [""], "/note": [""]})
    assert payload == {} and problems == (FieldProblem("/fault", Text("此项必填", "This is required")),)


def test_a_value_that_does_not_convert_is_a_problem_at_its_field(minimal: Process) -> None:
    schema = {
        "type": "object",
        "properties": {
            "parts": {"type": "array", "items": {"type": "object", "properties": {"quantity": {"type": "integer"}}}}
        },
    }
    form = form_for(choice(schema), minimal)
    payload, problems = payload_from(form, {"/parts/0/quantity": ["two"]})
    assert problems == (FieldProblem("/parts/0/quantity", Text("“two”不是数字", "“two” is not a number")),)
    page = html(form, {"/parts/0/quantity": ["two"]}, at_fields(form, problems))
    assert 'aria-describedby="field-2f-parts-2f-0-2f-quantity-problems" aria-invalid="true"' in page
    assert "“two” is not a number" in page and 'value="two"' in page


def test_the_servers_problems_land_at_their_fields(minimal: Process) -> None:
    schema = {"type": "object", "properties": {"model": {"type": "string"}, "quote": {"type": "number"}}}
    form = form_for(choice(schema), minimal)
    placed = at_fields(
        form,
        [
            {"pointer": "/model", "detail": "is required; fill it in"},
            {"pointer": "/quote/deep", "detail": "must be a number"},
            {"pointer": "", "detail": "the quote needs approval"},
            "something else",
        ],
    )
    assert placed.at == {
        "/model": (Text("is required; fill it in", "is required; fill it in"),),
        "/quote": (Text("must be a number", "must be a number"),),
    }
    assert [t.en for t in placed.form] == ["the quote needs approval", "something else"]
    page = html(form, {}, placed)
    assert 'id="form-problems"' in page and 'role="alert"' in page
    assert (
        'name="/model" value="" aria-describedby="field-2f-model-help field-2f-model-problems" aria-invalid="true"'
        in page
    )


def test_a_signoff_says_who_must_sign_and_asks_for_the_password(minimal: Process) -> None:
    transition = next(t for t in minimal.transitions if t.signoffs)
    form = form_for(choice(thaw_json(transition.payload_schema), signoffs=transition.signoffs), minimal)
    assert [(s.role, s.role_label) for s in form.signers] == [("supervisor", Text("维修主管", "Repair supervisor"))]
    page = html(form)
    assert "维修主管 / Repair supervisor" in page
    assert (
        '<input type="password" id="field-signoff-password" name="signoff_password" '
        'autocomplete="current-password" required' in page
    )


def test_a_reference_to_a_records_fields_is_followed(minimal: Process) -> None:
    form = form_for(choice({"$ref": "#/records/repair_order/fields"}), minimal)
    assert [(f.key, f.required, f.label.zh) for f in form.fields] == [("model", True, "型号")]


def test_a_trigger_without_input_has_an_empty_form(minimal: Process) -> None:
    form = form_for(choice(None), minimal)
    assert form.fields == () and payload_from(form, {}) == ({}, ())
    assert "<button" in html(form)


# --- escaping -----------------------------------------------------------------------------------------

EVIL = "<script>alert(1)</script>"


def test_script_in_labels_values_defaults_and_posts_is_escaped(minimal: Process) -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "title": EVIL, "default": EVIL, "description": EVIL},
            "b": {"enum": [EVIL, "x"]},
            EVIL: {"type": "string"},
        },
    }
    form = form_for(choice(schema), minimal)
    for values in (defaults(form), {"/a": [EVIL], "/b": [EVIL], "/" + EVIL: [EVIL]}):
        problems = at_fields(form, [{"pointer": "/a", "detail": EVIL}, {"pointer": "", "detail": EVIL}])
        page = html(form, values, problems)
        assert "<script" not in page
        assert "&lt;script&gt;" in page
    assert "<script" not in render_form(form, {}, NONE, EVIL, '"><script>', "both")


# --- the round trip -----------------------------------------------------------------------------------

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
KEYS = st.sampled_from(["model", "quote", "note", "a/b~c", "名称", "x1", "when", "ok"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), min_size=1, max_size=12)


def leaf() -> st.SearchStrategy[tuple[dict[str, Any], st.SearchStrategy[Any]]]:
    moments = st.datetimes(datetime.datetime(1970, 1, 2), datetime.datetime(2200, 1, 1)).map(
        lambda d: d.replace(microsecond=0, tzinfo=TZ).isoformat()
    )
    enum = st.lists(st.one_of(TEXT, st.integers(-5, 5), st.booleans()), min_size=1, max_size=4, unique_by=repr)
    return st.one_of(
        st.just(({"type": "string"}, TEXT.filter(lambda s: "\n" not in s))),
        st.just(({"type": "string", "maxLength": 300}, TEXT)),
        st.just(({"type": "integer", "minimum": -50}, st.integers(-50, 10**12))),
        st.just(({"type": "number"}, st.one_of(st.integers(-9, 9), st.floats(allow_nan=False, allow_infinity=False)))),
        st.just(({"type": ["integer", "null"]}, st.one_of(st.none(), st.integers()))),
        st.just(({"type": "boolean"}, st.booleans())),
        st.just(({"type": "string", "format": "date"}, st.dates().map(lambda d: d.isoformat()))),
        st.just(({"type": "string", "format": "date-time"}, moments)),
        enum.map(lambda values: ({"enum": values}, st.sampled_from(values))),
        st.just(({"type": "array", "items": {"enum": ["p", "q", "r"]}}, st.sets(st.sampled_from("pqr")).map(sorted))),
        st.just(({"type": "array", "items": {"type": "string"}}, st.lists(TEXT, min_size=1, max_size=3))),
    )


def objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[dict[str, Any], st.SearchStrategy[Any]]]:
    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, Any], st.SearchStrategy[Any]]:
        members = draw(st.dictionaries(KEYS, children, min_size=1, max_size=4))
        required = sorted(draw(st.sets(st.sampled_from(sorted(members)), min_size=1)))
        schema = {"type": "object", "properties": {k: s for k, (s, _) in members.items()}, "required": required}

        @st.composite
        def value(draw_value: st.DrawFn) -> dict[str, Any]:
            drawn = {k: draw_value(v) for k, (_, v) in members.items() if k in required or draw_value(st.booleans())}
            # an optional group left all blank (null, false, empty) reads as not given: the form cannot tell
            return {k: v for k, v in drawn.items() if k in required or not isinstance(v, dict) or _shows(v)}

        return schema, value()

    return build()


def _shows(value: Any) -> bool:
    """Whether a list item shows in its row: a row left blank (all false, null or empty) is the spare one."""
    if isinstance(value, dict):
        return any(_shows(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value is not None and value is not False


def shapes() -> st.SearchStrategy[tuple[dict[str, Any], st.SearchStrategy[Any]]]:
    nested = st.recursive(
        leaf(),
        lambda inner: st.one_of(
            objects(inner),
            objects(inner).map(
                lambda o: ({"type": "array", "items": o[0]}, st.lists(o[1].filter(_shows), min_size=1, max_size=2))
            ),
        ),
        max_leaves=6,
    )
    return objects(nested)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_posting_the_forms_encoding_of_a_valid_payload_gives_it_back(data: st.DataObject) -> None:
    process = _minimal()
    schema, values = data.draw(shapes())
    payload = data.draw(values)
    assert Draft202012Validator(schema).is_valid(payload)
    form = form_for(choice(schema), process)
    posted = encode(form, payload)
    back, problems = payload_from(form, posted)
    assert problems == ()
    assert back == payload and _types(back) == _types(payload)
    assert "<script" not in html(form, posted)


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


_CACHE: dict[str, Process] = {}


def _minimal() -> Process:
    if "m" not in _CACHE:
        process = validate_text(
            (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8"), "m.yaml"
        ).process
        assert process is not None
        _CACHE["m"] = process
    return _CACHE["m"]

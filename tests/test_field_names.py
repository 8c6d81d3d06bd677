"""The glossary of field names (``fields:``): loaded into the model, checked, and shown in the book."""

from __future__ import annotations

from conftest import mutate, position

from engine.model import Text
from engine.processes import validate_text
from engine.render.book_sections import fields_table

GLOSSARY = (
    "data:\n",
    "fields:\n  model: {zh: 型号, en: Model, description: 铭牌上的型号}\n  quote: {zh: 报价, en: Quote}\ndata:\n",
)


def test_the_glossary_names_each_field_in_both_languages(fixture_text: str) -> None:
    report = validate_text(mutate(fixture_text, GLOSSARY), "m.yaml")
    assert report.ok and report.process is not None
    process = report.process
    assert list(process.fields) == ["model", "quote"]
    assert process.fields["model"].label == Text("型号", "Model")
    assert process.fields["model"].description == "铭牌上的型号"
    assert process.field_label("model") == Text("型号", "Model")
    assert process.field_label("in_warranty") is None


def test_a_property_title_overrides_the_glossary_for_its_form(fixture_text: str) -> None:
    process = validate_text(mutate(fixture_text, GLOSSARY), "m.yaml").process
    assert process is not None
    assert process.field_label("model", {"type": "string", "title": "机型"}) == Text("机型", "机型")
    assert process.field_label("model", {"type": "string", "title": "  "}) == Text("型号", "Model")


def test_a_glossary_entry_no_field_uses_is_a_located_warning(fixture_text: str) -> None:
    text = mutate(fixture_text, GLOSSARY, ("  quote: {zh: 报价", "  qoute: {zh: 报价"))
    report = validate_text(text, "m.yaml")
    assert report.ok  # a warning: the procedure still loads
    [problem] = [p for p in report.problems if p.code == "unused-field-name"]
    assert (problem.location.line, problem.location.column) == position(text, "  qoute: {", "qoute")
    assert "`qoute`" in problem.message and "did you mean `quote`?" in problem.message


def test_nested_fields_and_record_fields_count_as_used(fixture_text: str) -> None:
    text = mutate(
        fixture_text,
        ("data:\n", "fields:\n  part_no: {zh: 零件号, en: Part number}\ndata:\n"),
        (
            "        model: {type: string}\n      required: [model]",
            "        model: {type: string}\n"
            "        parts: {type: array, items: {type: object, properties: {part_no: {type: string}}}}\n"
            "      required: [model]",
        ),
    )
    report = validate_text(text, "m.yaml")
    assert report.ok, report.problems
    assert not [p for p in report.problems if p.code == "unused-field-name"]


def test_the_book_shows_a_records_field_names_beside_their_keys(fixture_text: str) -> None:
    process = validate_text(mutate(fixture_text, GLOSSARY), "m.yaml").process
    assert process is not None
    shown = fields_table(process, process.records["repair_order"].fields, "both")
    assert "<code>model</code> (" in shown and "型号" in shown and "Model" in shown
    escaped = fields_table(process, {"properties": {"x": {"type": "string", "title": "<b>"}}}, "zh")
    assert "&lt;b&gt;" in escaped and "<b>" not in escaped


def test_the_field_names_found_as_the_document_is_frozen_are_those_a_walk_of_it_finds() -> None:
    from pathlib import Path

    from engine.checks.usage import schema_field_names
    from engine.definition import build_process
    from engine.loader import load_file, load_text

    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.glob("processes/*.yaml")):
        process = build_process(load_file(path))
        assert process.schema_field_names is not None and len(process.schema_field_names) > 5
        assert process.schema_field_names == schema_field_names(process.document)
    nested = "properties: {a: 1}\nx: [[{properties: {b: {properties: {c: 2}}}}], {properties: [d]}]\n"
    document = load_text(nested, "n.yaml")
    from engine.definition import _frozen_mapping

    names: set[object] = set()
    frozen = _frozen_mapping(document.data, names)
    assert names == {"a", "b", "c"} == schema_field_names(frozen)

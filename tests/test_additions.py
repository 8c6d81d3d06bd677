"""Additions not in the source: a step, transition or deadline that no source document names is
declared with ``addition: {zh, en}`` (why it is there). Charts draw exactly those dashed in their own
colour with a legend entry, the book lists each with where it is and why, and the shipped procedures
declare every escalation the sources do not name."""

from __future__ import annotations

import html
import json
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import FIXTURE, SHIPPED, mutate, position

from engine import load_process, load_process_text
from engine.errors import Severity
from engine.processes import validate_text
from engine.render import layout, render_dot, render_mermaid
from engine.render.book_pages import diagram_files, procedure_page
from engine.render.dot import ADDITION_COLOR

TEXT = FIXTURE.read_text(encoding="utf-8")
SVG = "{http://www.w3.org/2000/svg}"

STATE = (
    "    source: 七.2\n",
    "    addition:\n      zh: 来源未载等待步骤\n      en: The source names no waiting step\n",
)
TRANSITION = (
    "        en: Remind the customer\n",
    "        en: Remind the customer\n        addition: {zh: 来源未载提醒, en: The source names no reminder}\n",
)
DEADLINE = (
    "      - fire: escalate\n",
    "      - fire: escalate\n        addition: {zh: 来源未载升级, en: 'The source names no escalation <b>&</b>'}\n",
)
MARKED = (STATE, TRANSITION, DEADLINE)


def marked():
    return load_process_text(mutate(TEXT, *MARKED), "a.yaml")


def problems(text: str, severity: Severity):
    return [p for p in validate_text(text, "a.yaml").problems if p.severity is severity]


# --- the language ----------------------------------------------------------------------------------


def test_the_markers_load_onto_the_model():
    process = marked()
    assert process.states["on_hold"].addition.en == "The source names no waiting step"
    assert process.states["on_hold"].source is None
    remind = next(t for t in process.states["on_hold"].transitions if t.trigger == "remind")
    assert remind.addition.zh == "来源未载提醒"
    assert process.states["quote"].deadlines[0].addition.en.startswith("The source names no escalation")
    assert process.states["accept"].addition is None and process.states["quote"].deadlines[0].after is not None


def test_a_definition_without_markers_loads_unchanged():
    process = load_process(FIXTURE)
    assert all(s.addition is None for s in process.states.values())
    assert all(t.addition is None for t in process.transitions)


def test_a_step_with_both_a_source_and_an_addition_is_refused_where_the_addition_is():
    text = mutate(TEXT, ("    source: 七.2\n", STATE[0] + STATE[1]))
    errors = problems(text, Severity.ERROR)
    assert [p.code for p in errors] == ["addition-with-source"]
    line, column = position(text, "    addition:\n      zh: 来源未载等待步骤", "addition")
    assert (errors[0].location.line, errors[0].location.column) == (line, column)
    assert "`on_hold`" in errors[0].message and "keep `source`" in errors[0].message


def test_a_step_with_neither_source_nor_addition_is_warned_and_the_warning_names_the_marker():
    text = mutate(TEXT, ("    source: 七.2\n", ""))
    warnings = [p for p in problems(text, Severity.WARNING) if p.code == "no-source"]
    assert len(warnings) == 1 and "`on_hold`" in warnings[0].message and "addition:" in warnings[0].message


def test_a_declared_addition_is_not_warned_for_citing_no_source():
    assert not [p for p in problems(mutate(TEXT, STATE), Severity.WARNING) if p.code == "no-source"]


@pytest.mark.parametrize(
    "replacement, words",
    [
        ("    addition: true\n", "addition"),
        ("    addition: {zh: 只有中文}\n", "en"),
        ("    addition: {zh: 中文, en: English, why: more}\n", "why"),
        ("    addition: {zh: '', en: English}\n", "zh"),
    ],
)
def test_a_malformed_addition_is_refused_by_the_schema_in_words(replacement, words):
    text = mutate(TEXT, ("    source: 七.2\n", replacement))
    errors = problems(text, Severity.ERROR)
    assert errors and all(p.location.line > 1 for p in errors)
    line, _ = position(text, replacement.strip())
    assert any(p.location.line == line and words in p.message for p in errors), [str(p) for p in errors]


def test_an_addition_on_a_branch_is_refused_as_an_unknown_key():
    text = mutate(
        TEXT,
        ("        dest: accept\n    default:", "        dest: accept\n        addition: {zh: x, en: y}\n    default:"),
    )
    errors = problems(text, Severity.ERROR)
    assert errors and any("addition" in p.message for p in errors)


# --- the charts --------------------------------------------------------------------------------------


def dot_graph(dot_text: str) -> dict:
    done = subprocess.run(["dot", "-Tjson0"], input=dot_text.encode(), capture_output=True, check=True, timeout=60)
    return json.loads(done.stdout)


def test_the_dot_chart_draws_exactly_the_marked_elements_dashed_in_the_addition_colour():
    parsed = dot_graph(render_dot(marked(), lang="both"))
    objects = parsed["objects"]
    nodes = {o["name"]: o for o in objects if "nodes" not in o and not o["name"].startswith("cluster")}
    added = {name for name, node in nodes.items() if node.get("color") == ADDITION_COLOR}
    assert added == {"on_hold", "_legend_addition"}
    assert "dashed" in nodes["on_hold"]["style"] and "dashed" not in nodes["accept"]["style"]
    edges = {
        (objects[e["tail"]]["name"], objects[e["head"]]["name"], e.get("label", ""))
        for e in parsed["edges"]
        if e.get("color") == ADDITION_COLOR
    }
    assert {(tail, head) for tail, head, _ in edges} == {("on_hold", "on_hold"), ("quote", "quote")}
    assert all("dashed" in e["style"] for e in parsed["edges"] if e.get("color") == ADDITION_COLOR)
    legend = next(o for o in objects if o["name"] == "cluster_legend")
    assert "Legend" in legend["label"]
    assert "not in the source document" in nodes["_legend_addition"]["label"]
    assert "非来源文件所载" in nodes["_legend_addition"]["label"]


def test_a_chart_without_additions_has_no_legend_and_nothing_in_the_addition_colour():
    dot_text = render_dot(load_process(FIXTURE), lang="both")
    assert ADDITION_COLOR not in dot_text and "_legend_addition" not in dot_text


def test_the_svg_shows_the_addition_style_and_legend_and_the_reason_as_tooltip():
    root = ET.fromstring(layout(render_dot(marked(), lang="en"), "svg"))
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    on_hold = groups["state-on_hold"]
    shape = next(e for e in on_hold.iter() if e.tag in (f"{SVG}polygon", f"{SVG}path", f"{SVG}ellipse"))
    assert shape.get("stroke") == ADDITION_COLOR.lower() or shape.get("stroke") == ADDITION_COLOR
    assert shape.get("stroke-dasharray")
    accept_shape = next(e for e in groups["state-accept"].iter() if e.tag == f"{SVG}polygon")
    assert not accept_shape.get("stroke-dasharray")
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "not in the source document" in text
    titles = [a.get("{http://www.w3.org/1999/xlink}title") or "" for a in root.iter(f"{SVG}a")]
    assert any("The source names no waiting step" in t for t in titles)


def test_the_mermaid_chart_gives_exactly_the_marked_elements_the_addition_class():
    text = render_mermaid(marked())
    lines = text.splitlines()
    assert any(line.strip().startswith("classDef addition") and "stroke-dasharray" in line for line in lines)
    (classed,) = [
        line.strip() for line in lines if line.strip().endswith(" addition") and line.strip().startswith("class ")
    ]
    assert set(classed.split()[1].split(",")) == {"s_on_hold", "s__legend_addition"}
    edges = [line.strip() for line in lines if "-->" in line or "-.->" in line]
    (styled,) = [line.strip() for line in lines if line.strip().startswith("linkStyle")]
    indices = {int(i) for i in styled.split()[1].split(",")}
    marked_edges = {edges[i].split()[0] + " " + edges[i].split()[-1] for i in indices}
    assert marked_edges == {"s_on_hold s_on_hold", "s_quote s_quote"}
    assert "not in the source document" in text


def test_the_mermaid_chart_without_additions_has_no_addition_class():
    assert "addition" not in render_mermaid(load_process(FIXTURE))


# --- the book -------------------------------------------------------------------------------------------


def page(process) -> str:
    return procedure_page(process, "<svg></svg>", diagram_files(process), "both")


def test_the_book_lists_each_addition_with_its_label_where_it_is_and_why():
    text = page(marked())
    section = text[text.index('<section id="additions">') :]
    section = section[: section.index("</section>")]
    assert "Additions not in the source" in section
    rows = [row for row in section.split("<tr") if 'class="addition"' in row]
    assert len(rows) == 3
    assert any(
        "等待客户回复" in r and "<code>on_hold</code>" in r and "The source names no waiting step" in r for r in rows
    )
    assert any(
        "Remind the customer" in r and "<code>remind</code>" in r and "The source names no reminder" in r for r in rows
    )
    assert any("3 working days" in r and "<code>escalate</code>" in r for r in rows)
    assert html.escape("The source names no escalation <b>&</b>") in section
    assert "<b>&</b>" not in section
    step = text[text.index('<tr id="step-on_hold">') :]
    assert "not in the source document" in step[: step.index("</tr>")]


def test_the_book_says_so_when_a_procedure_adds_nothing():
    text = page(load_process(FIXTURE))
    assert 'id="additions"' in text and "every step is taken from the source documents" in text


# --- the shipped procedures ------------------------------------------------------------------------


def test_the_shipped_procedures_declare_the_invented_steps_as_additions():
    repair = load_process(next(p for p in SHIPPED if p.stem == "return_repair"))
    assert repair.states["repair_overdue"].addition is not None


# Escalations the source documents do name: the complaint's 72 h promise reads "solve it, or report
# the latest progress", so reporting progress at 72 h is the document's own step.
SOURCED_BY_DEADLINE = {("complaint", "report_progress")}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_transition_a_deadline_fires_is_sourced_or_declared_an_addition(path):
    process = load_process(path)
    for state in process.states.values():
        for deadline in state.deadlines:
            if (process.id, deadline.fire) in SOURCED_BY_DEADLINE:
                continue
            fired = [t for t in state.transitions if t.trigger == deadline.fire]
            assert fired and all(t.addition is not None or deadline.addition is not None for t in fired), (
                f"{state.id}: `{deadline.fire}`"
            )

"""Mermaid flowcharts: lanes as subgraphs, shapes per kind, labelled edges, and text that cannot break out."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import FIXTURE, SHIPPED
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_process
from engine.model import StateKind
from engine.render import render_mermaid
from engine.render.diagram import Diagram, Edge, EdgeLabel, Lane, Node
from engine.render.dot import clean
from engine.render.mermaid import label, one_line, to_mermaid

SHAPES = {
    StateKind.START: ('(["', '"])'),
    StateKind.FINAL: ('((("', '")))'),
    StateKind.TASK: ('["', '"]'),
    StateKind.DECISION: ('{"', '"}'),
    StateKind.WAIT: ('[/"', '"/]'),
}


@pytest.fixture(scope="module")
def minimal():
    return load_process(FIXTURE)


def node_line(chart: str, state: str) -> str:
    (line,) = [
        ln.strip() for ln in chart.splitlines() if re.match(rf"\s*s_{state}\W", ln) and not re.search(r"-\.?->", ln)
    ]
    return line


def test_the_chart_is_a_top_down_flowchart_with_a_title(minimal):
    chart = render_mermaid(minimal)
    assert chart.startswith('---\ntitle: "简易维修 / Simple repair"\n')
    assert "\n---\nflowchart TD\n" in chart


@pytest.mark.parametrize("path", SHIPPED + [FIXTURE], ids=lambda p: p.stem)
def test_each_kind_of_step_has_its_shape(path):
    process = load_process(path)
    chart = render_mermaid(process)
    for state in process.states.values():
        opening, closing = SHAPES[state.kind]
        line = node_line(chart, state.id)
        assert line.startswith(f"s_{state.id}{opening}") and line.endswith(closing), line


@pytest.mark.parametrize("path", SHIPPED + [FIXTURE], ids=lambda p: p.stem)
def test_each_step_sits_in_its_roles_subgraph_inside_its_department(path):
    process = load_process(path)
    lines = render_mermaid(process).splitlines()
    stack: list[str] = []
    where: dict[str, tuple[str, ...]] = {}
    for line in lines:
        opened = re.match(r"\s*subgraph (\S+?)\[", line)
        if opened:
            stack.append(opened.group(1))
        elif line.strip() == "end":
            stack.pop()
        else:
            node = re.match(r"\s*s_([a-z0-9_]+)[\[({>]", line)
            if node:
                where[node.group(1)] = tuple(stack)
    assert not stack
    for state in process.states.values():
        expected: tuple[str, ...] = ()
        if state.role:
            department = process.roles[state.role].department
            expected = ((f"dept_{department}",) if department else ()) + (f"lane_{state.role}",)
        assert where[state.id] == expected, state.id


def test_edges_carry_the_label_guard_and_default(minimal):
    chart = render_mermaid(minimal, lang="en")
    assert (
        's_quote -->|"Send quote<br/>[payload.quote #lt;= 500]<br/><i>signed: Repair supervisor</i>"| s_accept' in chart
    )
    assert 's_check_warranty -->|"Out of warranty<br/><i>otherwise</i>"| s_quote' in chart
    assert 's_check_warranty -->|"In warranty<br/>[data.in_warranty]"| s_accept' in chart


def test_a_deadline_transition_is_a_dotted_arrow(minimal):
    chart = render_mermaid(minimal, lang="en")
    assert 's_quote -.->|"Escalate<br/><i>fires after 3 working days</i>"| s_quote' in chart


def test_time_limits_and_records_are_on_the_node(minimal):
    line = node_line(render_mermaid(minimal, lang="zh"), "accept")
    assert line == 's_accept["<b>维修申请受理</b><br/><small>时限 24小时</small><br/><small>《返厂维修单》</small>"]'


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_labels_follow_the_language(minimal, lang):
    line = node_line(render_mermaid(minimal, lang=lang), "apply")
    assert ("客户申请返厂维修" in line) == (lang != "en")
    assert ("Customer applies for repair" in line) == (lang != "zh")


def test_state_ids_that_are_mermaid_keywords_are_safe():
    diagram = Diagram(
        "p",
        "t",
        "",
        (),
        (),
        (
            Node("end", "task", "x", None, None, (), None, None),
            Node("graph", "final", "y", None, None, (), None, None),
        ),
        (Edge("end", "graph", "transition", (EdgeLabel("go", None, None, ""),), frozenset()),),
    )
    chart = to_mermaid(diagram)
    assert 's_end -->|"go"| s_graph' in chart
    assert not re.search(r"^\s*end\[", chart, re.M)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_same_definition_gives_the_same_chart(path):
    assert render_mermaid(load_process(path)) == render_mermaid(load_process(path))


_NAMED = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}


@settings(max_examples=300)
@given(st.text(max_size=40) | st.lists(st.sampled_from(list('"#<>&`|[]{}()\n;') + ["<br/>", "#quot;"])).map("".join))
def test_label_text_never_breaks_out_of_its_quotes_and_reads_back(text):
    written = label(text).replace("<br/>", "\n")
    assert not set(written) & set('"<>`|')
    assert re.fullmatch(r"(?:[^#]|#(?:\d+|quot|lt|gt|amp);)*", written, re.S)
    decoded = re.sub(r"#(\d+|quot|lt|gt|amp);", lambda m: _NAMED.get(m[1]) or chr(int(m[1])), written)
    assert decoded == clean(text)


@settings(max_examples=100)
@given(st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_lane_and_node_labels_are_always_quoted(lane_label, title):
    diagram = Diagram(
        "p", title, "", (), (Lane("r", lane_label, None),), (Node("a", "task", title, "r", None, (), None, None),), ()
    )
    chart = to_mermaid(diagram)
    assert f'subgraph lane_r["{label(one_line(lane_label))}"]' in chart
    assert f's_a["<b>{label(title)}</b>"]' in chart or (not title and 's_a["<b></b>"]' in chart)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_no_lane_title_has_a_second_line_for_the_first_node_to_hide(path):
    """Mermaid sizes a subgraph's title for one line: each title is one line, and the front matter
    keeps a margin under it (for a title Mermaid wraps itself)."""
    chart = render_mermaid(load_process(path), lang="both")
    front = yaml.safe_load(chart.split("---\n")[1])
    assert front["config"]["flowchart"]["subGraphTitleMargin"]["bottom"] >= 16
    titles = [m[1] for m in re.finditer(r'^\s*subgraph \S+?\["(.*)"\]$', chart, re.M)]
    assert titles and all("<br/>" not in t for t in titles)
    assert any(" / " in t for t in titles)  # both languages still there, side by side

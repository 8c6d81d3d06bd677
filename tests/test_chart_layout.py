"""The charts as laid out by Graphviz are readable: no two texts on one spot, no arrow through a text.

Reads the ``-Tjson`` positions of the chart as drawn (dot's, with any arrow dot ran through a text
routed again, see ``render.graphviz_run``) through ``render.layout_check`` (label boxes from the text
operations, arrows as sampled splines) for every shipped procedure in each language, and for generated
procedures of 30 to 60 steps with loops (a way back from every step, a decision sending the case back).
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT, SHIPPED

from benchmarks.generated import definition_text
from engine import load_process
from engine.processes import load_process_text
from engine.render import layout, render_dot
from engine.render.diagram import LANGS
from engine.render.graphviz_run import rerouted
from engine.render.layout_check import Box, Layout, check, read

pytestmark = pytest.mark.skipif(
    any(shutil.which(p) is None for p in ("dot", "neato", "gvpr")), reason="needs Graphviz's dot, neato and gvpr"
)

CHARTS = [*SHIPPED, *sorted((ROOT / "examples").glob("*.yaml"))]
GENERATED = (30, 47, 60)

# Three steps in a column and an arrow drawn straight from the first to the last, through the middle
# one's text, as dot's router does between swimlanes; beside them an arrow that crosses nothing.
THROUGH_A_STEP = """digraph {
  graph [bb="0,0,300,300"];
  node [shape=box, fontsize=11];
  top [pos="100,275", width=1.2, height=0.5, label="Receive"];
  middle [pos="100,150", width=1.6, height=0.5, label="Check the parts"];
  bottom [pos="100,25", width=1.2, height=0.5, label="Ship"];
  side [pos="250,275", width=0.8, height=0.5, label="Note"];
  other [pos="250,25", width=0.8, height=0.5, label="File"];
  top -> bottom [pos="e,100,43 100,257 100,200 100,100 100,43"];
  side -> other [pos="e,250,43 250,257 250,200 250,100 250,43"];
}
"""


def findings(process, lang):
    return check(read(layout(render_dot(process, lang=lang), "json", timeout=120)))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", CHARTS, ids=lambda p: p.stem)
def test_no_label_covers_another_label_a_step_or_a_lane_title(path, lang):
    found = findings(load_process(path), lang)
    assert found.label_overlaps == ()
    assert found.arrow_crossings == ()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("count", GENERATED)
def test_generated_procedures_with_loops_read_clearly(count, lang):
    found = findings(load_process_text(definition_text(count)), lang)
    assert found.label_overlaps == () and found.arrow_crossings == ()


def test_the_check_counts_labels_printed_on_one_spot():
    """The reader sees what the issue saw: the old drawing (labels on the arrows) overlapped them."""
    from engine.render.diagram import extract
    from engine.render.dot import to_dot

    repair = load_process(ROOT / "processes" / "return_repair.yaml")
    old = to_dot(extract(repair, "both"), "both", label_nodes=False)
    found = check(read(layout(old, "json")))
    pairs = {frozenset(p) for p in found.label_overlaps}
    assert frozenset({"label:repair->quality_check", "label:quality_check->repair"}) in pairs
    assert found.arrow_crossings


def test_the_check_finds_an_arrow_drawn_through_a_step():
    found = check(read(layout(THROUGH_A_STEP, "json", laid_out=True)))
    assert found.arrow_crossings == (("top->bottom", "middle"),)


def test_an_arrow_through_a_step_is_routed_round_it_and_nothing_else_moves():
    before = read(layout(THROUGH_A_STEP, "json", laid_out=True))
    mended = rerouted(THROUGH_A_STEP, [("top", "bottom")])
    assert mended is not None
    after = read(layout(mended, "json", laid_out=True))
    assert check(after).arrow_crossings == ()
    assert _places(after) == pytest.approx(_places(before), abs=0.1)
    routes = [_route(layout_, "top->bottom") for layout_ in (before, after)]
    assert routes[0] != pytest.approx(routes[1], abs=0.1)  # routed again …
    assert _route(after, "side->other") == pytest.approx(_route(before, "side->other"), abs=0.1)  # … alone


def _origin(found: Layout) -> Box:
    return next(box for box in found.nodes if box.name == "top")


def _places(found: Layout) -> list[float]:
    """Each step's centre (by name), from the first step's (Graphviz may shift the whole drawing)."""
    top = _origin(found)
    boxes = sorted(found.nodes, key=lambda b: b.name)
    return [v for b in boxes for v in ((b.x0 + b.x1 - top.x0 - top.x1) / 2, (b.y0 + b.y1 - top.y0 - top.y1) / 2)]


def _route(found: Layout, name: str) -> list[float]:
    top = _origin(found)
    arrow = next(a for a in found.arrows if a.name == name)
    centre = ((top.x0 + top.x1) / 2, (top.y0 + top.y1) / 2)
    return [v for x, y in arrow.points for v in (x - centre[0], y - centre[1])]

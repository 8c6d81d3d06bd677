"""Every role that acts (fires a transition) is on the chart: as a lane, or named at the steps it acts in."""

from __future__ import annotations

import pytest
from conftest import ROOT, SHIPPED

from engine import load_process
from engine.render.diagram import LANGS, extract, text

CHARTS = [*SHIPPED, *sorted((ROOT / "examples").glob("*.yaml"))]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", CHARTS, ids=lambda p: p.stem)
def test_every_acting_role_has_a_lane_or_is_named_at_its_steps(path, lang):
    process = load_process(path)
    diagram = extract(process, lang)
    nodes = {node.id: node for node in diagram.nodes}
    lanes = {lane.id for lane in diagram.lanes}
    for state in process.states.values():
        for transition in state.transitions:
            for role in transition.roles:
                if role == state.role:
                    continue  # the step's own lane
                shown = [n for n in nodes.values() if n.acted_by and n.id in (state.id, *_any_ids(diagram))]
                label = text(process.roles[role].label, "zh" if lang == "zh" else "en").split("\n")[0]
                assert any(label in (n.acted_by or "") for n in shown), (state.id, role, role in lanes)


def _any_ids(diagram):
    return [n.id for n in diagram.nodes if n.kind == "any"]


@pytest.mark.parametrize("path", CHARTS, ids=lambda p: p.stem)
def test_the_legend_explains_clocks_parts_additions_and_roles_acting_at_a_step(path):
    from engine.render import render_dot

    process = load_process(path)
    diagram = extract(process, "both")
    dot_text = render_dot(process, lang="both")
    assert ('"_legend_clock"' in dot_text) == bool(process.clocks)
    assert ('"_legend_part"' in dot_text) == any(s.parts for s in process.states.values())
    assert ('"_legend_addition"' in dot_text) == diagram.has_additions
    assert ('"_legend_acted"' in dot_text) == any(n.acted_by for n in diagram.nodes)

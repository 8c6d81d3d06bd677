"""Flowcharts: what the DOT text and the drawings carry, that they are stable, and how rendering fails.

Structure is read back through Graphviz itself (``dot -Tjson0``), so the tests check what Graphviz
understood, not how our text happens to be spelt.
"""

from __future__ import annotations

import html
import io
import json
import os
import random
import re
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
import zlib

import pytest
import yaml
from conftest import FIXTURE, ROOT, SHIPPED
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import load_process
from engine.cli import run
from engine.errors import LayoutTimeout, RenderError
from engine.loader import load_file
from engine.model import StateKind
from engine.render import FILE_FORMATS, graphviz_run, layout, render_dot, render_mermaid, render_to_file
from engine.render.diagram import Diagram, Edge, EdgeLabel, Group, Lane, Node, Step
from engine.render.dot import FONT, to_dot
from engine.render.layout_check import LABEL_NODE_PREFIX, TITLE_NODE_PREFIX, arrows

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def graph(dot_text: str) -> dict:
    """What Graphviz read from ``dot_text``: its objects (clusters, then nodes) and edges, unlaid."""
    done = subprocess.run(["dot", "-Tjson0"], input=dot_text.encode(), capture_output=True, check=True, timeout=60)
    return json.loads(done.stdout)


def nodes_by_name(parsed: dict, keep_titles: bool = True) -> dict[str, dict]:
    return {
        o["name"]: o
        for o in parsed["objects"]
        if "nodes" not in o
        and not o["name"].startswith(("cluster", LABEL_NODE_PREFIX))
        and (keep_titles or not o["name"].startswith(TITLE_NODE_PREFIX))
    }


def clusters(parsed: dict) -> dict[str, dict]:
    return {o["name"]: o for o in parsed["objects"] if o["name"].startswith("cluster_")}


def members(parsed: dict, cluster: dict) -> set[str]:
    objects = parsed["objects"]
    return {objects[i]["name"] for i in cluster.get("nodes", [])}


def plain(label: str) -> str:
    """An HTML-like label as a reader sees it: line breaks as spaces, no markup, entities decoded."""
    text = re.sub(r"<[^>]*>", "", label.replace("<BR/>", " "))
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def edges(parsed: dict) -> list[tuple[str, str, dict]]:
    """The arrows as a reader sees them (an arrow drawn through its label node counts once)."""
    return arrows(parsed)


@pytest.fixture(scope="module")
def repair():
    return load_process(SHIPPED[[p.stem for p in SHIPPED].index("return_repair")])


@pytest.fixture(scope="module")
def minimal():
    return load_process(FIXTURE)


# --- what the chart shows ----------------------------------------------------------------------

EXPECTED_SHAPES = {"start": "oval", "final": "oval", "task": "box", "decision": "diamond", "wait": "parallelogram"}


@pytest.mark.parametrize("path", SHIPPED + [FIXTURE], ids=lambda p: p.stem)
def test_each_kind_of_step_has_its_flowchart_shape(path):
    process = load_process(path)
    nodes = nodes_by_name(graph(render_dot(process)))
    for state in process.states.values():
        node = nodes[state.id]
        assert node["shape"] == EXPECTED_SHAPES[state.kind.value], state.id
        assert node.get("peripheries") == ("2" if state.kind is StateKind.FINAL else None), state.id


@pytest.mark.parametrize("path", SHIPPED + [FIXTURE], ids=lambda p: p.stem)
def test_each_step_sits_in_its_roles_lane_inside_its_departments_group(path):
    process = load_process(path)
    parsed = graph(render_dot(process))
    found = clusters(parsed)
    for state in process.states.values():
        if state.role is None:
            assert not any(state.id in members(parsed, c) for c in found.values()), state.id
            continue
        assert state.id in members(parsed, found[f"cluster_lane_{state.role}"])
        department = process.roles[state.role].department
        if department:
            assert state.id in members(parsed, found[f"cluster_dept_{department}"])
    roles = {s.role for s in process.states.values() if s.role}
    assert {name for name in found if name.startswith("cluster_lane_")} == {f"cluster_lane_{r}" for r in roles}


def test_lanes_and_groups_are_labelled_with_the_role_and_department(repair):
    # The titles are nodes inside their lane and department (arrows are routed round nodes).
    parsed = graph(render_dot(repair, lang="both"))
    found = clusters(parsed)
    lane_title = nodes_by_name(parsed)[f"{TITLE_NODE_PREFIX}lane_engineer"]
    assert f"{TITLE_NODE_PREFIX}lane_engineer" in members(parsed, found["cluster_lane_engineer"])
    assert "维修工程师" in lane_title["label"] and "Repair engineer" in lane_title["label"]
    dept_title = nodes_by_name(parsed)[f"{TITLE_NODE_PREFIX}dept_repair_center"]
    assert f"{TITLE_NODE_PREFIX}dept_repair_center" in members(parsed, found["cluster_dept_repair_center"])
    assert "维修中心" in dept_title["label"]


@pytest.mark.parametrize(
    ("lang", "shown", "hidden"),
    [("zh", "维修实施", "Repair record"), ("en", "Repair record", "维修实施"), ("both", "维修实施", None)],
)
def test_labels_follow_the_language(repair, lang, shown, hidden):
    label = nodes_by_name(graph(render_dot(repair, lang=lang)))["repair"]["label"]
    assert shown in label
    if hidden:
        assert hidden not in label
    else:
        assert "Repair" in label and "<BR/>" in label  # Chinese above English


def test_every_branch_carries_its_condition_and_the_default_says_otherwise(repair):
    parsed = graph(render_dot(repair, lang="both"))
    labels = {(tail, head): plain(e["label"]) for tail, head, e in edges(parsed)}
    for state in repair.states.values():
        for branch in state.branches:
            assert f"[{branch.condition}]" in labels[(state.id, branch.dest)]
        if state.default is not None:
            assert "否则 / otherwise" in labels[(state.id, state.default.dest)]


def test_edges_show_the_triggers_label_its_guard_and_sign_offs(minimal):
    parsed = graph(render_dot(minimal, lang="en"))
    label = plain({(t, h): e for t, h, e in edges(parsed)}[("quote", "accept")]["label"])
    assert label == "Send quote [payload.quote <= 500] signed: Repair supervisor"


def test_a_deadline_transition_is_dashed_and_says_when_it_fires(minimal):
    found = {(t, h): e for t, h, e in edges(graph(render_dot(minimal, lang="en")))}
    escalate = found[("quote", "quote")]
    assert escalate["style"] == "dashed"
    assert plain(escalate["label"]) == "Escalate fires after 3 working days"


def test_a_step_shows_its_time_limit_and_records(repair, minimal):
    nodes = nodes_by_name(graph(render_dot(repair, lang="both")))
    # The rework promise is a clock across repair and QC, drawn as its own note (tests/test_clocks.py).
    # The supervisor, who has a lane of its own, signs the repair off here: named at the step.
    assert plain(nodes["repair"]["label"]) == (
        "维修实施 Repair 办理:维修主管 / acted on by: Repair supervisor 《维修记录》 / Repair record"
    )
    zh = nodes_by_name(graph(render_dot(minimal, lang="zh")))
    assert plain(zh["quote"]["label"]) == "报价 时限 3 个工作日"
    assert plain(zh["accept"]["label"]) == "维修申请受理 时限 24小时 《返厂维修单》"


def test_a_transition_shared_by_many_steps_is_drawn_once_from_any_of_them(minimal):
    parsed = graph(render_dot(minimal, lang="en"))
    found = edges(parsed)
    to_withdrawn = [(t, h) for t, h, _ in found if h == "withdrawn"]
    assert to_withdrawn == [("_any_0", "withdrawn")]
    assert nodes_by_name(parsed)["_any_0"]["tooltip"] == "from: apply, check_warranty, quote, accept, on_hold"


def test_the_svg_carries_each_steps_source_section_as_tooltip_and_link(repair):
    svg = layout(render_dot(repair, lang="both", source_base="../sources/"), "svg")
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "state-repair")
    link = group.find(f".//{SVG}a")
    assert link is not None
    assert link.get(f"{XLINK}title").startswith("三.8 维修实施 — 返厂维修管理流程")
    assert "004_0781a068a735b19d.txt" in link.get(f"{XLINK}title")
    href = link.get(f"{XLINK}href")
    assert href.startswith("../sources/004_0781a068a735b19d.txt#:~:text=")
    assert "%E7%BB%B4%E4%BF%AE%E5%AE%9E%E6%96%BD" in href  # 维修实施, the section's own words


def test_without_a_place_for_the_sources_steps_keep_the_tooltip_but_link_nowhere(repair):
    parsed = nodes_by_name(graph(render_dot(repair)))
    assert parsed["repair"]["tooltip"].startswith("三.8 维修实施")
    assert "URL" not in parsed["repair"]


def test_the_chart_names_a_cjk_font():
    process = load_process(FIXTURE)
    parsed = graph(render_dot(process))
    assert parsed["fontname"] == FONT
    assert all(n["fontname"] == FONT for n in nodes_by_name(parsed).values())


# --- the same YAML gives the same bytes ----------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_same_yaml_gives_byte_identical_dot_in_any_place(path, tmp_path):
    copy = tmp_path / "elsewhere" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    first = render_dot(load_process(path))
    assert render_dot(load_process(copy)) == first
    # a fresh interpreter: no dependence on hash seeds, ids or anything left over in this one
    code = (
        "import sys; from engine import load_process; from engine.render import render_dot; "
        "sys.stdout.buffer.write(render_dot(load_process(sys.argv[1])).encode())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    fresh = subprocess.run(
        [os.sys.executable, "-c", code, str(copy)], capture_output=True, check=True, env=env, timeout=120
    )
    assert fresh.stdout.decode() == first


def _shuffled(value, rng: random.Random, keep_order: bool = False):
    """The same YAML data with every mapping's keys in a random order, except where order means
    something: the states (file order is the reading order), the sources (the first is the default) and
    the clocks (drawn, and coloured, in file order)."""
    if isinstance(value, dict):
        items = list(value.items())
        if not keep_order:
            rng.shuffle(items)
        return {k: _shuffled(v, rng, keep_order=k in ("states", "sources", "clocks")) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_reordering_keys_where_order_means_nothing_leaves_the_dot_unchanged(tmp_path, path, seed):
    data = load_file(path).data  # YAML 1.2, as procflow reads it (`on` is text)
    shuffled = tmp_path / path.name
    shuffled.write_text(
        yaml.safe_dump(_shuffled(data, random.Random(seed)), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    original, reordered = load_process(path), load_process(shuffled)
    # The content hash shown under the title follows the key order (definition.content_hash does not
    # sort keys); everything the chart draws must not.
    expected = render_dot(original).replace(original.content_hash[:12], "HASH")
    assert render_dot(reordered).replace(reordered.content_hash[:12], "HASH") == expected


# --- escaping ----------------------------------------------------------------------------------

awkward = st.lists(
    st.characters(codec="utf-8") | st.sampled_from(list("\"\\<>&{}[];|#\n\r\t`'%") + ["\\n", "\\N", "]]>", "&amp;"]),
    max_size=30,
).map("".join)


def visible(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())


@settings(max_examples=60, deadline=None)
@given(title=awkward, lane=awkward, label=awkward, guard=awkward, tooltip=awkward, node_id=awkward)
# Found by this test: HTML-like text reads `\\` as an escape; a stray `&;` passed into SVG as an entity.
@example(title="0\\\\", lane="", label="", guard="", tooltip="", node_id="")
@example(title="", lane="", label="", guard="", tooltip="", node_id="&;")
def test_no_label_text_breaks_the_dot_syntax(title, lane, label, guard, tooltip, node_id):
    node_id = node_id or "x"
    diagram = Diagram(
        id=node_id,
        title=title,
        subtitle=tooltip,
        groups=(Group(node_id, lane),),
        lanes=(Lane(node_id, lane, node_id),),
        nodes=(
            Node(node_id, "task", title, node_id, label, (guard,), tooltip, tooltip),
            Node("end", "final", label, None, None, (), None, None),
        ),
        edges=(Edge(node_id, "end", "transition", (EdgeLabel(label, guard, tooltip, tooltip),), frozenset()),),
    )
    dot_text = to_dot(diagram, "both")
    parsed = graph(dot_text)
    names = nodes_by_name(parsed, keep_titles=False)
    assert len(names) == 2 and len(edges(parsed)) == 1
    svg = layout(dot_text, "svg")
    ET.fromstring(svg)  # well-formed XML
    drawn = visible("".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")))
    assert visible(title) in drawn


# --- drawing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FILE_FORMATS)
def test_render_to_file_writes_each_format(minimal, tmp_path, suffix):
    target = tmp_path / f"chart{suffix}"
    render_to_file(minimal, target)
    content = target.read_bytes()
    signature = {
        ".dot": b"digraph ",
        ".svg": b"<?xml",
        ".png": b"\x89PNG",
        ".pdf": b"%PDF",
        ".mmd": b"---\ntitle:",
        ".bpmn": b"<?xml",
    }[suffix]
    assert content.startswith(signature)


def test_an_unknown_suffix_names_the_supported_ones_and_writes_nothing(minimal, tmp_path):
    target = tmp_path / "chart.gif"
    with pytest.raises(RenderError, match=r"\.dot, \.svg, \.png, \.pdf, \.mmd"):
        render_to_file(minimal, target)
    assert not target.exists()


def test_chinese_is_drawn_with_an_embedded_cjk_font_in_pdf(minimal, tmp_path):
    # Cairo embeds the font it drew with; without a CJK font installed it falls back to one without
    # Chinese glyphs (boxes), and no CJK font is embedded.
    pdf = layout(render_dot(minimal, lang="zh"), "pdf")
    fonts = set(re.findall(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([A-Za-z0-9-]+)", pdf))
    assert any(b"CJK" in name for name in fonts), fonts


def ink_box(png: bytes) -> tuple[int, int]:
    """Width and height of the dark pixels of an 8-bit, non-interlaced PNG (as Graphviz writes them)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed, header = 8, b"", None
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        body = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        position += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert (depth, interlace) == (8, 0)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride, raw = width * channels, zlib.decompress(compressed)
    previous, inked = bytearray(stride), []
    for y in range(height):
        kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):  # undo the PNG row filters
            left = row[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                row[x] = (row[x] + left) & 255
            elif kind == 2:
                row[x] = (row[x] + up) & 255
            elif kind == 3:
                row[x] = (row[x] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))
                row[x] = (row[x] + near[2]) & 255
        opaque = [channels < 4 or row[x * channels + 3] > 128 for x in range(width)]
        inked += [(x, y) for x in range(width) if row[x * channels] < 128 and opaque[x]]
        previous = row
    xs, ys = [x for x, _ in inked], [y for _, y in inked]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def test_chinese_is_drawn_as_glyphs_in_png():
    # 一 ("one") is a single horizontal stroke: far wider than tall. Without a CJK font the PNG shows
    # a "missing glyph" box instead, about as tall as it is wide.
    dot = f'digraph {{ bgcolor=white; node [shape=plaintext fontname="{FONT}" fontsize=48]; a [label="一"] }}'
    width, height = ink_box(layout(dot, "png"))
    assert width > 4 * height, (width, height)


def test_the_cjk_font_resolves_to_itself():
    matched = subprocess.run(["fc-match", "-f", "%{family}", FONT], capture_output=True, text=True, check=True)
    assert FONT in matched.stdout


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_process_draws_as_svg(path, capsys):
    process = load_process(path)
    began = time.perf_counter()
    svg = layout(render_dot(process), "svg")
    elapsed = time.perf_counter() - began
    root = ET.fromstring(svg)
    drawn = {g.get("id") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("state-")}
    # a shared transition (the withdraw paths) is drawn from a node of its own, `_any_0`, not a state
    assert drawn - {f"state-_any_{i}" for i in range(len(process.shared_transitions))} == {
        f"state-{s}" for s in process.states
    }
    with capsys.disabled():
        print(f"\n  {path.stem}: {len(process.states)} states drawn as SVG in {elapsed * 1000:.0f} ms", end="")


def big_definition(states: int) -> str:
    """A generated definition: a chain of tasks over 10 roles with a decision every tenth step that
    may send the case back, so the layout has crossings and back edges to work on."""
    roles = "\n".join(f"  r{i}: {{zh: 角色{i}, en: Role {i}}}" for i in range(10))
    lines = [
        "procflow: 1",
        "id: big",
        "version: 1",
        "title: {zh: 大流程, en: Big process}",
        "owner: r0",
        "sources:",
        "  doc: {file: big.txt, title: {zh: 文档, en: Document}}",
        "roles:",
        roles,
        "data:",
        "  type: object",
        "  properties: {ok: {type: boolean}}",
        "states:",
        "  s0:",
        "    type: start",
        "    zh: 开始",
        "    en: Start",
        "    role: r0",
        "    source: '1'",
        "    on: [{trigger: go, zh: 开始, en: Go, dest: s1}]",
    ]
    for i in range(1, states - 1):
        following = f"s{i + 1}" if i + 1 < states - 1 else "done"
        if i % 10 == 0:
            back = f"s{max(1, i - 7)}"
            lines += [
                f"  s{i}:",
                "    type: decision",
                f"    zh: 判断{i}",
                f"    en: Check {i}",
                f"    role: r{i % 10}",
                f"    source: '{i}'",
                f"    branches: [{{when: data.ok, zh: 通过, en: Pass, dest: {following}}}]",
                f"    default: {{zh: 退回, en: Back, dest: {back}}}",
            ]
        else:
            lines += [
                f"  s{i}:",
                "    type: task",
                f"    zh: 步骤{i}",
                f"    en: Step {i}",
                f"    role: r{(i * 7) % 10}",
                f"    source: '{i}'",
                f"    on: [{{trigger: t{i}, zh: 完成{i}, en: Done {i}, dest: {following}}}]",
            ]
    lines += ["  done:", "    type: final", "    zh: 结束", "    en: Done", "    source: 'end'"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    path.write_text(big_definition(500), encoding="utf-8")
    return load_process(path)


def test_a_500_state_definition_draws_as_svg(big, capsys):
    assert len(big.states) == 500
    began = time.perf_counter()
    dot_text = render_dot(big)
    made = time.perf_counter()
    svg = layout(dot_text, "svg", timeout=600)
    laid = time.perf_counter()
    assert len([g for g in ET.fromstring(svg).iter(f"{SVG}g") if (g.get("id") or "").startswith("state-")]) == 500
    with capsys.disabled():
        print(f"\n  500 states: DOT in {(made - began) * 1000:.0f} ms, SVG layout in {laid - made:.1f} s", end="")


def test_a_layout_past_its_time_bound_is_stopped_and_reported(big, monkeypatch):
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(graphviz_run.subprocess, "Popen", recording_popen)
    with pytest.raises(LayoutTimeout, match=r"took longer than 0\.05 s and was stopped.*--timeout SECONDS"):
        layout(render_dot(big), "svg", timeout=0.05)
    assert len(started) == 1
    assert started[0].returncode is not None  # reaped: no dot left running, no zombie
    with pytest.raises(ProcessLookupError):
        os.kill(started[0].pid, 0)


def test_graphviz_failing_is_a_render_error():
    with pytest.raises(RenderError, match="could not draw"):
        layout("digraph { a -> }", "svg")


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_a_time_bound_must_be_positive(bad):
    with pytest.raises(RenderError, match="positive"):
        layout("digraph { a }", "svg", timeout=bad)


def test_layout_refuses_formats_it_does_not_draw():
    with pytest.raises(RenderError, match="svg, png, pdf"):
        layout("digraph { a }", "gif")


# --- no Graphviz on the machine ----------------------------------------------------------------


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.usefixtures("no_dot")
@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_without_dot_drawing_formats_fail_with_what_to_install(minimal, tmp_path, suffix):
    target = tmp_path / f"chart{suffix}"
    with pytest.raises(RenderError) as caught:
        render_to_file(minimal, target)
    message = str(caught.value)
    assert "\n" not in message
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert not target.exists()


@pytest.mark.usefixtures("no_dot")
@pytest.mark.parametrize("suffix", [".dot", ".mmd"])
def test_without_dot_text_formats_still_work(minimal, tmp_path, suffix):
    target = tmp_path / f"chart{suffix}"
    render_to_file(minimal, target)
    expected = render_dot(minimal) if suffix == ".dot" else render_mermaid(minimal)
    assert target.read_text(encoding="utf-8") == expected


# --- the command ---------------------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("suffix", FILE_FORMATS)
def test_procflow_render_writes_the_format_its_suffix_names(tmp_path, suffix):
    target = tmp_path / f"chart{suffix}"
    code, out, err = cli("render", str(FIXTURE), "-o", str(target), "--lang", "zh")
    assert (code, err) == (0, "")
    assert target.stat().st_size > 0
    if suffix == ".dot":
        assert target.read_text(encoding="utf-8") == render_dot(load_process(FIXTURE), lang="zh")


def test_procflow_render_links_steps_to_their_sources(tmp_path):
    target = tmp_path / "chart.dot"
    assert cli("render", str(FIXTURE), "-o", str(target), "--sources", "docs/")[0] == 0
    assert 'URL="docs/004_0781a068a735b19d.txt' in target.read_text(encoding="utf-8")


def test_procflow_render_without_dot_says_what_to_install_in_one_line(tmp_path, no_dot):
    code, out, err = cli("render", str(FIXTURE), "-o", str(tmp_path / "chart.png"))
    assert code == 1
    assert err.count("\n") == 1 and "apt-get install graphviz" in err


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["render", "missing.yaml", "-o", "x.svg"], 2, "no such file: missing.yaml"),
        (["render", str(FIXTURE), "-o", "x.gif"], 2, "use one of .dot, .svg, .png, .pdf, .mmd"),
        (["render", str(FIXTURE), "-o", "x.svg", "--lang", "fr"], 2, "invalid choice: 'fr'"),
        (["render", str(FIXTURE), "-o", "x.svg", "--timeout", "0"], 2, "more than 0 and at most 3600 seconds"),
        (["render", str(FIXTURE), "-o", "x.svg", "--at", "2026-11-30T09:00+08:00"], 2, "--at goes with --instance"),
        (["render", str(FIXTURE)], 2, "-o/--output"),
    ],
)
def test_procflow_render_usage_errors(argv, code, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got, out, err = cli(*argv)
    assert got == code
    assert words in err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_procflow_render_reports_an_invalid_definition_at_its_place(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(FIXTURE.read_text(encoding="utf-8").replace("role: clerk", "role: clerc", 1), encoding="utf-8")
    code, out, err = cli("render", str(broken), "-o", str(tmp_path / "chart.svg"))
    assert code == 1
    assert f"{broken}:" in err and "`clerc` is not a declared role" in err
    assert not (tmp_path / "chart.svg").exists()


def test_procflow_render_reports_an_unwritable_target(tmp_path):
    code, out, err = cli("render", str(FIXTURE), "-o", str(tmp_path / "no-such-folder" / "chart.dot"))
    assert code == 1
    assert err.startswith("procflow render: ") and "cannot write the diagram" in err


def test_mermaid_output_refuses_an_overlay(minimal, tmp_path):
    from engine.model import Text
    from engine.render.overlay import Overlay

    with pytest.raises(RenderError, match="Mermaid charts carry no overlay"):
        render_to_file(minimal, tmp_path / "chart.mmd", overlay=Overlay("instance", Text("", "")))


def test_steps_are_keyed_as_histories_record_them(minimal):
    from engine.render.diagram import extract

    diagram = extract(minimal, "en")
    keys = {step for edge in diagram.edges for step in edge.steps}
    assert Step("transition", "quote", "send_quote", "accept") in keys
    assert Step("branch", "check_warranty", "0", "accept") in keys
    assert Step("branch", "check_warranty", "default", "quote") in keys
    assert Step("transition", "on_hold", "withdraw", "withdrawn") in keys


def test_transitions_between_the_same_two_steps_share_one_arrow_listing_each():
    complaint = load_process(SHIPPED[[p.stem for p in SHIPPED].index("complaint")])
    found = [(t, h, e) for t, h, e in edges(graph(render_dot(complaint, lang="en"))) if t == "resolution"]
    to_approval = [e for t, h, e in found if h == "needs_approval"]
    assert len(to_approval) == 1
    listed = plain(to_approval[0]["label"])
    for transition in complaint.states["resolution"].transitions:
        if transition.dest == "needs_approval":
            assert transition.label.en in listed


DRAWING_MODULES = ["__init__", "diagram", "dot", "mermaid", "overlay", "graphviz_run"]
ALLOWED_BELOW_RENDER = {
    "engine.model",
    "engine.instances",
    "engine.errors",
    "engine.files",
    "engine.source",
    "engine.timing",
}


@pytest.mark.parametrize("module", DRAWING_MODULES)
def test_drawing_reads_the_model_and_histories_never_the_runtime(module):
    import ast

    tree = ast.parse((ROOT / "engine" / "render" / f"{module}.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    engine = {name for name in imported if name.startswith("engine.") and not name.startswith("engine.render.")}
    assert engine <= ALLOWED_BELOW_RENDER, f"engine/render/{module}.py imports {engine - ALLOWED_BELOW_RENDER}"

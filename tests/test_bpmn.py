"""`procflow render -o x.bpmn`: BPMN 2.0 XML that three independent readers accept as the chart.

Each shipped procedure's file is valid against the OMG BPMN 2.0 XSD (the copy SpiffWorkflow ships),
parses in SpiffWorkflow's BpmnParser with every flow node a task spec, and opens in bpmn-js (the viewer
BPM tools embed) in headless Chromium with no import warning and every flow node, lane and flow drawn.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import FIXTURE, ROOT, SHIPPED, missing_tool, mutate
from drawing_support import served
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from test_book import DevTools, browser, png_size  # noqa: F401  (browser: the shared Chromium fixture)

from engine.cli import run
from engine.errors import DefinitionError, RenderError
from engine.model import Text
from engine.processes import load_process, load_process_text
from engine.render import render_bpmn, render_to_file
from engine.render.bpmn import BPMN_NS, EXPRESSION_LANGUAGE, PROCFLOW_NS
from engine.render.dot import clean
from engine.render.overlay import Overlay

etree = pytest.importorskip("lxml.etree")  # the dev extra's lxml (SpiffWorkflow reads BPMN with it)
BpmnParser = pytest.importorskip("SpiffWorkflow.bpmn.parser.BpmnParser").BpmnParser

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PROCEDURES = SHIPPED + EXAMPLES
NS = {"bpmn": BPMN_NS, "procflow": PROCFLOW_NS, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "task", "callActivity", "exclusiveGateway", "boundaryEvent")
BPMN_JS = ROOT / "tests" / "bpmn" / "node_modules" / "bpmn-js" / "dist"
SCREENSHOTS = ROOT / "out" / "bpmn"
HOSTILE = "<script>&\"'"


@pytest.fixture(scope="module")
def documents() -> dict[str, bytes]:
    if shutil.which("dot") is None:
        missing_tool("Graphviz's dot", "apt-get install graphviz")
    return {path.stem: render_bpmn(load_process(path)) for path in PROCEDURES}


def ids(xml: bytes, *tags: str) -> list[str]:
    root = etree.fromstring(xml)
    return [e.get("id") for tag in tags for e in root.iter(f"{{{BPMN_NS}}}{tag}")]


def xsd() -> object:
    schema_folder = Path(pytest.importorskip("SpiffWorkflow.bpmn.parser").__file__).parent / "schema"
    return etree.XMLSchema(etree.parse(str(schema_folder / "BPMN20.xsd")))


@pytest.mark.parametrize("lang", ["both", "zh", "en"])
@pytest.mark.parametrize("path", PROCEDURES, ids=lambda p: p.stem)
def test_every_procedure_is_valid_against_the_omg_bpmn_xsd(documents: dict[str, bytes], path: Path, lang: str) -> None:
    schema = xsd()
    xml = documents[path.stem] if lang == "both" else render_bpmn(load_process(path), lang=lang)  # type: ignore[arg-type]
    document = etree.fromstring(xml)
    valid = schema.validate(document)  # type: ignore[attr-defined]
    assert valid, [str(error) for error in schema.error_log]  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", PROCEDURES, ids=lambda p: p.stem)
def test_spiffworkflow_reads_every_step_back(documents: dict[str, bytes], path: Path) -> None:
    parser = BpmnParser()
    parser.add_bpmn_str(documents[path.stem], filename=f"{path.stem}.bpmn")
    process = load_process(path)
    spec = parser.get_spec(process.id)
    parsed = {name for name, task in spec.task_specs.items() if getattr(task, "bpmn_id", None)}
    written = set(ids(documents[path.stem], *FLOW_NODES))
    assert parsed == written
    assert set(process.states) <= parsed  # every step of the procedure is a task spec of its own
    assert len([s for s in process.states.values() if s.kind.value == "final"]) == len(
        ids(documents[path.stem], "endEvent")
    )


def test_steps_lanes_gateways_and_timers_map_to_their_bpmn_elements() -> None:
    xml = render_bpmn(load_process(ROOT / "processes" / "complaint.yaml"), lang="en")
    root = etree.fromstring(xml)
    process = load_process(ROOT / "processes" / "complaint.yaml")
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    for state in process.states.values():
        element = by_id[state.id]
        tag = etree.QName(element).localname
        expected = {"decision": "exclusiveGateway", "final": "endEvent"}.get(state.kind.value, "userTask")
        assert tag == expected, state.id
        assert element.get("name") == state.label.en
    # Each decision's branches carry their procflow condition, the default is the gateway's default.
    for state in (s for s in process.states.values() if s.branches):
        flows = [f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("sourceRef") == state.id]
        conditions = {f.findtext("bpmn:conditionExpression", namespaces=NS) for f in flows}
        assert {b.condition for b in state.branches} <= conditions
        languages = {c.get("language") for f in flows for c in f.findall("bpmn:conditionExpression", NS)}
        assert languages == {EXPRESSION_LANGUAGE}
        if state.default is not None:
            default = by_id[by_id[state.id].get("default")]
            assert default.find("bpmn:conditionExpression", NS) is None
            assert default.get("name") == state.default.label.en
    # A step with a time limit has a non-interrupting timer on its border, its deadline an interrupting one.
    limited = [s for s in process.states.values() if s.time_limit is not None]
    assert limited
    for state in limited:
        timer = by_id[f"limit-{state.id}"]
        assert (timer.get("attachedToRef"), timer.get("cancelActivity")) == (state.id, "false")
        assert timer.findtext("bpmn:timerEventDefinition/bpmn:timeDuration", namespaces=NS).startswith("P")
    for state in (s for s in process.states.values() if s.deadlines):
        for deadline in state.deadlines:
            event = by_id[f"deadline-{state.id}-{deadline.fire}"]
            assert event.get("cancelActivity") == "true"
            fired = [f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("sourceRef") == event.get("id")]
            assert [f.get("targetRef") for f in fired] == [
                t.dest for t in state.transitions if t.trigger == deadline.fire
            ]
    # Every role holding a step is a lane listing its steps; a department's lane holds its roles' lanes.
    lanes = {lane.get("id"): lane for lane in root.iter(f"{{{BPMN_NS}}}lane")}
    for state in (s for s in process.states.values() if s.role):
        assert state.id in [r.text for r in lanes[f"lane-{state.role}"].findall("bpmn:flowNodeRef", NS)]
        department = process.roles[state.role].department
        if department is not None:
            assert lanes[f"lane-{state.role}"] in list(lanes[f"dept-{department}"].iter(f"{{{BPMN_NS}}}lane"))
    # Clocks are documented on the process and drawn as annotations on the steps they time.
    clocks = root.findall("bpmn:process/bpmn:extensionElements/procflow:clock", NS)
    assert [c.get("id") for c in clocks] == list(process.clocks)
    assert len(ids(xml, "textAnnotation")) == len(process.clocks)


def test_sign_offs_and_parts_are_documented_task_attributes() -> None:
    process = load_process(ROOT / "processes" / "qc_signoff.yaml")
    root = etree.fromstring(render_bpmn(process, lang="zh"))
    for state in process.states.values():
        element = root.find(f".//*[@id='{state.id}']")
        signoffs = element.findall("bpmn:extensionElements/procflow:signoff", NS)
        assert [(s.get("trigger"), s.get("role")) for s in signoffs] == [
            (t.trigger, s.role) for t in state.transitions for s in t.signoffs
        ]
        parts = element.findall("bpmn:extensionElements/procflow:part", NS)
        assert [(p.get("id"), p.get("zh"), p.get("roles")) for p in parts] == [
            (p.id, p.label.zh, " ".join(p.roles)) for p in state.parts
        ]
        text = element.findtext("bpmn:documentation", default="", namespaces=NS)
        for part in state.parts:
            assert part.label.zh in text
        if any(t.signoffs for t in state.transitions):
            assert "须签字" in text
    assert root.findall(".//procflow:part", NS) and root.findall(".//procflow:signoff", NS)


@pytest.mark.parametrize(
    ("lang", "expected"), [("zh", "简易维修"), ("en", "Simple repair"), ("both", "简易维修 / Simple repair")]
)
def test_names_follow_the_chosen_language(lang: str, expected: str) -> None:
    root = etree.fromstring(render_bpmn(load_process(FIXTURE), lang=lang))  # type: ignore[arg-type]
    assert root.find("bpmn:process", NS).get("name") == expected
    assert root.find("bpmn:collaboration/bpmn:participant", NS).get("name") == expected


DI = {
    "bpmndi": NS["bpmndi"],
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}


def bounds(root: object, element_id: str) -> tuple[float, float, float, float]:
    """The drawn shape of ``element_id``: x, y, width, height."""
    box = root.find(f".//bpmndi:BPMNShape[@bpmnElement='{element_id}']/dc:Bounds", DI)  # type: ignore[attr-defined]
    return tuple(float(box.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def waypoints(root: object, flow_id: str) -> list[tuple[float, float]]:
    edge = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow_id}']", DI)  # type: ignore[attr-defined]
    return [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", DI)]


def test_each_withdrawable_step_carries_a_boundary_event_whose_flow_leads_to_withdrawn() -> None:
    """A shared transition is, on each of its steps, an interrupting message boundary event on the
    step's bottom edge with a flow to its destination: not an event nothing leads into."""
    process = load_process(ROOT / "processes" / "exchange.yaml")
    withdraw = next(t for t in process.shared_transitions if t.trigger == "withdraw")
    xml = render_bpmn(process, lang="en")
    root = etree.fromstring(xml)
    messages = root.findall("bpmn:message", NS)
    assert [(m.get("id"), m.get("name")) for m in messages] == [("message-withdraw", withdraw.label.en)]
    events = {
        e.get("attachedToRef"): e
        for e in root.iter(f"{{{BPMN_NS}}}boundaryEvent")
        if e.find("bpmn:messageEventDefinition", NS) is not None
    }
    assert (
        set(events)
        == set(withdraw.sources)
        == {"review", "await_information", "instruct_return", "await_return", "collect_return"}
    )
    flows = {f.get("id"): f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    for step, event in events.items():
        assert event.get("cancelActivity") == "true"
        assert event.find("bpmn:messageEventDefinition", NS).get("messageRef") == "message-withdraw"
        assert "cancels the case" in event.findtext("bpmn:documentation", namespaces=NS)
        assert event.find("bpmn:extensionElements/procflow:shared", NS).attrib == {
            "trigger": "withdraw",
            "roles": "customer cs_agent",
            "cancels": "true",
        }
        (outgoing,) = [o.text for o in event.findall("bpmn:outgoing", NS)]
        flow = flows[outgoing]
        assert (flow.get("sourceRef"), flow.get("targetRef")) == (event.get("id"), "withdrawn")
        move = flow.find("bpmn:extensionElements/procflow:move", NS)
        assert move.attrib == {"kind": "transition", "from": step, "trigger": "withdraw", "cancels": "true"}
        assert flow.find("bpmn:conditionExpression", NS) is None  # withdraw has no conditions
        # The task itself does not fork into it: the event is the only way the flow starts.
        task = root.find(f".//*[@id='{step}']")
        assert outgoing not in [o.text for o in task.findall("bpmn:outgoing", NS)]
        # Drawn on the task's bottom edge, the flow from the event to the end event's circle.
        x, y, width, height = bounds(root, step)
        ex, ey, ew, eh = bounds(root, event.get("id"))
        assert ey + eh / 2 == y + height and x <= ex + ew / 2 <= x + width
        route = waypoints(root, outgoing)
        assert route[0] == (ex + ew / 2, ey + eh)
        wx, wy, ww, wh = bounds(root, "withdrawn")
        assert wx <= route[-1][0] <= wx + ww and wy <= route[-1][1] <= wy + wh
    assert not ids(xml, "intermediateThrowEvent")
    assert not [e for e in root.iter() if (e.get("id") or "").startswith("any-")]


def test_spiffworkflow_reaches_withdrawn_when_the_message_arrives_in_a_withdrawable_step() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
    from SpiffWorkflow.bpmn.util.event import BpmnEvent
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    process = load_process(ROOT / "processes" / "exchange.yaml")
    parser = BpmnParser()
    parser.add_bpmn_str(render_bpmn(process, lang="en"), filename="exchange.bpmn")
    workflow = BpmnWorkflow(parser.get_spec(process.id))
    workflow.do_engine_steps()
    (apply,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert apply.task_spec.bpmn_id == "apply"
    apply.run()
    workflow.do_engine_steps()
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["review"]
    withdraw = next(t for t in process.shared_transitions if t.trigger == "withdraw")
    workflow.catch(BpmnEvent(MessageEventDefinition(withdraw.label.en)))
    workflow.do_engine_steps()
    assert workflow.completed
    done = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
    assert done == ["start-event", "apply", "event-review-withdraw", "withdrawn"]
    assert "review" in [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.CANCELLED)]


def test_a_shared_transition_skips_decisions_spreads_its_events_and_guards_each_flow(fixture_text: str) -> None:
    """``source: '*'`` takes in the decision, which no event can reach (it is left as it is entered); a
    task with a time limit, a deadline and two shared transitions has four events side by side; a shared
    transition's conditions are each of its flows' condition."""
    text = mutate(
        fixture_text, ("    source: [quote, accept]\n", "    source: [quote, accept]\n    conditions: data.quote > 0\n")
    )
    process = load_process_text(text, "shared.yaml")
    xml = render_bpmn(process, lang="en")
    root = etree.fromstring(xml)
    assert xsd().validate(root)  # type: ignore[attr-defined]
    parser = BpmnParser()
    parser.add_bpmn_str(xml, filename="shared.bpmn")
    assert set(ids(xml, *FLOW_NODES)) <= set(parser.get_spec(process.id).task_specs)
    attached = Counter(e.get("attachedToRef") for e in root.iter(f"{{{BPMN_NS}}}boundaryEvent"))
    assert attached == {"apply": 1, "quote": 4, "accept": 3, "on_hold": 3}
    assert "check_warranty" not in attached
    assert len(root.findall("bpmn:message", NS)) == 2
    held = [f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("sourceRef", "").endswith("-hold")]
    assert sorted(f.get("sourceRef") for f in held) == ["event-accept-hold", "event-quote-hold"]
    for flow in held:
        condition = flow.find("bpmn:conditionExpression", NS)
        assert (condition.text, condition.get("language")) == ("data.quote > 0", EXPRESSION_LANGUAGE)
        assert flow.get("targetRef") == "on_hold"
    x, y, width, height = bounds(root, "quote")
    shapes = sorted(
        bounds(root, e.get("id")) for e in root.iter(f"{{{BPMN_NS}}}boundaryEvent") if e.get("attachedToRef") == "quote"
    )
    assert all(sy + sh / 2 == y + height and x <= sx + sw / 2 <= x + width for sx, sy, sw, sh in shapes)
    assert all(right[0] >= left[0] + left[2] for left, right in pairwise(shapes))  # none on another


def test_markup_in_a_label_stays_text(fixture_text: str) -> None:
    text = mutate(
        fixture_text,
        ("en: Customer applies for repair", f"en: '{HOSTILE.replace(chr(39), chr(39) * 2)}'"),
        ("en: Submit", f"en: '{HOSTILE.replace(chr(39), chr(39) * 2)} submit'"),
    )
    process = load_process_text(text, "hostile.yaml")
    xml = render_bpmn(process, lang="en")
    root = etree.fromstring(xml)
    assert root.find(".//bpmn:userTask[@id='apply']", NS).get("name") == HOSTILE
    names = [f.get("name") for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    assert f"{HOSTILE} submit" in names
    assert not [e for e in root.iter() if etree.QName(e).localname == "script"]
    assert b"<script>" not in xml


label_text = st.lists(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
    | st.sampled_from(list("\"\\<>&'{}[]#%") + ["]]>", "&amp;", "<![CDATA[", "--", "<!--"]),
    min_size=1,
    max_size=30,
).map("".join)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(step=label_text, transition=label_text)
def test_any_label_reads_back_as_written_and_the_file_stays_valid(
    fixture_text: str, step: str, transition: str
) -> None:
    if shutil.which("dot") is None:
        missing_tool("Graphviz's dot", "apt-get install graphviz")
    text = mutate(
        fixture_text,
        ("en: Customer applies for repair", f"en: {json.dumps(step)}"),
        ("en: Submit", f"en: {json.dumps(transition)}"),
    )
    try:
        process = load_process_text(text, "labels.yaml")
    except DefinitionError:  # a label the language refuses (blank, invisible reordering marks): not drawn
        reject()
    xml = render_bpmn(process, lang="en")
    root = etree.fromstring(xml)
    assert xsd().validate(root)  # type: ignore[attr-defined]
    assert root.find(".//bpmn:userTask[@id='apply']", NS).get("name") == clean(process.states["apply"].label.en)
    names = [f.get("name") for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("sourceRef") == "apply"]
    assert names == [clean(process.states["apply"].transitions[0].label.en)]


def test_procflow_render_writes_bpmn_and_refuses_an_overlay(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        missing_tool("Graphviz's dot", "apt-get install graphviz")
    target = tmp_path / "chart.bpmn"
    out, err = io.StringIO(), io.StringIO()
    assert run(["render", str(FIXTURE), "-o", str(target), "--lang", "en"], out, err) == 0, err.getvalue()
    assert xsd().validate(etree.parse(str(target)))  # type: ignore[attr-defined]
    assert target.read_bytes() == render_bpmn(load_process(FIXTURE), lang="en")
    with pytest.raises(RenderError, match="BPMN files carry no overlay"):
        render_to_file(load_process(FIXTURE), tmp_path / "path.bpmn", overlay=Overlay("instance", Text("", "")))
    assert not (tmp_path / "path.bpmn").exists()


# --- bpmn-js in headless Chromium ------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/bpmn-js/assets/diagram-js.css">
<link rel="stylesheet" href="/bpmn-js/assets/bpmn-js.css">
<link rel="stylesheet" href="/bpmn-js/assets/bpmn-font/css/bpmn.css">
<style>html, body, #canvas { margin: 0; width: 100%; height: 100%; background: #fff; }</style>
<script src="/bpmn-js/bpmn-navigated-viewer.production.min.js"></script>
</head><body><div id="canvas"></div><script>
window.show = async (name) => {
  document.getElementById('canvas').innerHTML = '';
  const viewer = window.viewer = new BpmnJS({ container: '#canvas' });
  const xml = await (await fetch('/files/' + name + '.bpmn')).text();
  const { warnings } = await viewer.importXML(xml);
  viewer.get('canvas').zoom('fit-viewport');
  const drawn = viewer.get('elementRegistry').getAll()
    .filter((e) => e.type !== 'label' && e.businessObject && e.businessObject.$type !== 'bpmn:Collaboration')
    .map((e) => [e.businessObject.id, e.type, Boolean(viewer.get('elementRegistry').getGraphics(e))]);
  return { warnings: warnings.map((w) => String(w.message)), drawn };
};
</script></body></html>
"""


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory, documents: dict[str, bytes]) -> Iterator[str]:
    """A local web server for the page, bpmn-js's own dist files and the documents: no CDN."""
    if not (BPMN_JS / "bpmn-navigated-viewer.production.min.js").is_file():
        missing_tool("bpmn-js", "make editor-tools: npm ci in tests/bpmn")
    site = tmp_path_factory.mktemp("bpmn-site")
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    (site / "bpmn-js").symlink_to(BPMN_JS, target_is_directory=True)
    (site / "files").mkdir()
    for name, xml in documents.items():
        (site / "files" / f"{name}.bpmn").write_bytes(xml)
    with served(site) as address:
        yield address


SCREEN = (1200, 2000)
"""Tall, as the charts are (ranks run down the page), so the kept screenshot shows the labels."""


@pytest.mark.parametrize("path", PROCEDURES, ids=lambda p: p.stem)
def test_bpmn_js_draws_every_element_without_warnings(
    browser: DevTools,  # noqa: F811 (the fixture imported above)
    viewer: str,
    documents: dict[str, bytes],
    path: Path,
) -> None:
    width, height = SCREEN
    browser.call(
        "Emulation.setDeviceMetricsOverride", page=True, width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    try:
        assert browser.open(viewer) == []
        result = browser.evaluate(f"show({path.stem!r})", wait=True)
        assert isinstance(result, dict)
        shot = base64.b64decode(browser.call("Page.captureScreenshot", page=True, format="png")["data"])  # type: ignore[arg-type]
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", page=True)
    assert result["warnings"] == []
    xml = documents[path.stem]
    elements = (*FLOW_NODES, "lane", "participant", "sequenceFlow", "textAnnotation", "association")
    written = Counter(ids(xml, *elements))
    drawn = Counter(element_id for element_id, _, has_graphics in result["drawn"] if has_graphics)
    assert drawn == written
    assert all(count == 1 for count in written.values())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{path.stem}.png").write_bytes(shot)
    assert png_size(shot) == SCREEN
    assert os.path.getsize(SCREENSHOTS / f"{path.stem}.png") > 20_000  # a drawing, not a blank page

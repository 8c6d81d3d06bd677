"""Histories over the chart: one instance's path, overdue steps, and heat maps of many instances."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import re
import subprocess

import pytest
from conftest import FIXTURE, PROCESSES

from engine import Runtime, instance_from_json, instance_to_json, load_process
from engine.cli import run
from engine.errors import InstanceFormatError
from engine.instances import Instance
from engine.render import heatmap_overlay, instance_overlay, read_history, render_dot
from engine.render.diagram import Step
from engine.render.layout_check import arrows
from engine.render.overlay import EdgeMark
from engine.scenarios import load_scenario, play

REPAIR = PROCESSES / "return_repair.yaml"
SCENARIO = PROCESSES / "scenarios" / "return_repair.yaml"


def graph(dot_text: str) -> dict:
    done = subprocess.run(["dot", "-Tjson0"], input=dot_text.encode(), capture_output=True, check=True, timeout=60)
    return json.loads(done.stdout)


def plain(label: str) -> str:
    """An HTML-like label as a reader sees it: line breaks as spaces, no markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", label)).strip()


def node_attrs(dot_text: str) -> dict[str, dict]:
    return {o["name"]: o for o in graph(dot_text)["objects"] if "nodes" not in o}


def edge_attrs(dot_text: str) -> dict[tuple[str, str], dict]:
    """Arrows by (tail, head); an arrow drawn through its label node counts once."""
    return {(tail, head): e for tail, head, e in arrows(graph(dot_text))}


@pytest.fixture(scope="module")
def repair():
    return load_process(REPAIR)


@pytest.fixture(scope="module")
def finished(repair) -> Instance:
    """The shipped scenario's instance, through its JSON history as ``procflow run --history`` writes it."""
    playthrough = play(Runtime(repair), load_scenario(SCENARIO))
    assert playthrough.ok
    return instance_from_json(json.loads(json.dumps(instance_to_json(playthrough.instance))))


def played_until(process, state: str) -> Instance:
    """The shipped scenario cut short at the first event that leaves the instance in ``state``."""
    scenario = load_scenario(SCENARIO)
    for count in range(1, len(scenario.events) + 1):
        partial = dataclasses.replace(scenario, events=scenario.events[:count], expect_state=None, expect_data={})
        instance = play(Runtime(process), partial).instance
        if instance.state == state:
            return instance
    raise AssertionError(f"the scenario never rests in {state}")


# --- one instance --------------------------------------------------------------------------------


def test_the_path_taken_is_numbered_in_order_along_the_edges(repair, finished):
    overlay = instance_overlay(repair, finished)
    moves = [
        step for entry in finished.history for step in overlay.steps if entry.source and step.source == entry.source
    ]
    assert moves  # the overlay is keyed by the moves the history made
    walked = sorted(n for mark in overlay.steps.values() for n in mark.order)
    transitions = sum(1 for e in finished.history if e.trigger) + sum(len(e.branches) for e in finished.history)
    assert walked == list(range(1, transitions + 1))
    first = finished.history[1]
    assert overlay.steps[Step("transition", first.source, first.trigger, first.dest)].order[0] == 1
    # QC failed once: the edge back to repair was walked once, the repair → QC edge twice
    assert overlay.steps[Step("transition", "quality_check", "fail", "repair")].count == 1
    assert overlay.steps[Step("transition", "repair", "repaired", "quality_check")].count == 2


def test_the_drawn_path_shows_step_numbers_and_the_current_state(repair, finished):
    dot_text = render_dot(repair, overlay=instance_overlay(repair, finished))
    edges = edge_attrs(dot_text)
    fail_back = edges[("quality_check", "repair")]
    assert fail_back["color"] == "#1565C0" and fail_back["penwidth"] == "2.5"
    assert re.match(r"#\d+ 检测不合格", plain(fail_back["label"]))
    assert re.match(r"#\d+ #\d+ 维修完成", plain(edges[("repair", "quality_check")]["label"]))
    nodes = node_attrs(dot_text)
    assert finished.state == "completed"
    assert nodes["completed"]["fillcolor"] == "#FFB300"
    assert "◆ current step" in plain(nodes["completed"]["label"])
    assert "实例 RR-2026-0001" in graph(dot_text)["label"]


def test_steps_the_instance_never_reached_are_greyed_and_reached_ones_are_not(repair, finished):
    nodes = node_attrs(render_dot(repair, overlay=instance_overlay(repair, finished)))
    reached = {e.dest for e in finished.history} | {b.dest for e in finished.history for b in e.branches}
    for state in repair.states:
        greyed = nodes[state].get("fontcolor") == "#9E9E9E"
        assert greyed == (state not in reached), state


def test_an_open_deadline_past_now_marks_the_step_overdue(repair):
    instance = played_until(repair, "repair")
    due = min(d.due for d in instance.deadlines if d.state == "repair")
    on_time = instance_overlay(repair, instance, now=due - datetime.timedelta(minutes=1))
    assert on_time.nodes["repair"].overdue_since is None
    late = instance_overlay(repair, instance, now=due + datetime.timedelta(hours=1))
    assert late.nodes["repair"].overdue_since == due
    node = node_attrs(render_dot(repair, lang="en", overlay=late))["repair"]
    assert node["color"] == "#C62828" and node["penwidth"] == "4"
    assert f"OVERDUE since {due.isoformat(timespec='minutes')}" in plain(node["label"])
    assert "OVERDUE" not in node_attrs(render_dot(repair, lang="en", overlay=on_time))["repair"]["label"]


def test_by_default_overdue_is_judged_at_the_last_event(repair):
    instance = played_until(repair, "repair")
    assert instance_overlay(repair, instance) == instance_overlay(repair, instance, now=instance.history[-1].at)


def test_a_naive_time_is_refused(repair, finished):
    with pytest.raises(InstanceFormatError, match="UTC offset"):
        instance_overlay(repair, finished, now=datetime.datetime(2026, 12, 1))


# --- histories that do not belong ------------------------------------------------------------------


def test_a_history_of_another_process_is_refused(finished):
    other = load_process(PROCESSES / "exchange.yaml")
    with pytest.raises(InstanceFormatError, match=r"belongs to process `return_repair`, not `exchange`"):
        instance_overlay(other, finished)
    with pytest.raises(InstanceFormatError, match="belongs to process"):
        heatmap_overlay(other, [finished])


def test_a_history_of_another_version_of_the_definition_is_refused(finished, tmp_path):
    edited = tmp_path / "return_repair.yaml"
    edited.write_text(REPAIR.read_text(encoding="utf-8").replace("en: Initial review", "en: First review", 1))
    changed = load_process(edited)
    assert changed.id == finished.process_id
    with pytest.raises(InstanceFormatError, match=r"ran on version 1 of `return_repair` \(content hash \w{12}\)"):
        instance_overlay(changed, finished)


def test_a_history_naming_states_the_definition_lacks_is_refused(repair, finished):
    forged = dataclasses.replace(finished, state="vanished")
    with pytest.raises(InstanceFormatError, match="names states `return_repair` does not have: vanished"):
        instance_overlay(repair, forged)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not a JSON history"),
        ('{"format": "something-else/1"}', 'not a procflow instance record: "format" must be'),
        ("[]", "must be an object"),
    ],
)
def test_a_file_that_is_not_a_history_is_refused_with_its_name(tmp_path, content, words):
    path = tmp_path / "history.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InstanceFormatError, match=re.escape(words)) as caught:
        read_history(path)
    assert str(caught.value).startswith(str(path))


# --- heat maps ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def histories(repair, finished) -> list[Instance]:
    return [finished, played_until(repair, "repair"), played_until(repair, "approve_plan")]


def test_a_heat_map_counts_each_move_over_all_histories(repair, histories):
    overlay = heatmap_overlay(repair, histories)
    expected: dict[Step, int] = {}
    for instance in histories:
        for entry in instance.history:
            if entry.trigger:
                step = Step("transition", entry.source, entry.trigger, entry.dest)
                expected[step] = expected.get(step, 0) + 1
            for taken in entry.branches:
                via = "default" if taken.branch is None else str(taken.branch)
                step = Step("branch", taken.decision, via, taken.dest)
                expected[step] = expected.get(step, 0) + 1
    assert dict(overlay.steps) == {step: EdgeMark(count) for step, count in expected.items()}
    submit = Step("transition", "apply", "submit", "review_application")
    assert overlay.steps[submit].count == 3


def test_a_heat_map_draws_counts_as_edge_weight_and_greys_what_nobody_reached(repair, histories):
    overlay = heatmap_overlay(repair, histories)
    edges = edge_attrs(render_dot(repair, lang="en", overlay=overlay))
    submit = edges[("apply", "review_application")]
    assert submit["label"].startswith("<B>×3</B>")
    ship = edges[("pack_and_ship", "inform_shipment")]
    assert ship["label"].startswith("<B>×1</B>")
    assert float(submit["penwidth"]) > float(ship["penwidth"]) > 1
    never = edges[("review_application", "rejected")]
    assert never["style"] == "dotted" and never["color"] == "#BDBDBD"
    nodes = node_attrs(render_dot(repair, lang="en", overlay=overlay))
    assert nodes["rejected"]["fontcolor"] == "#9E9E9E"
    assert "entered 3×" in plain(nodes["apply"]["label"])


def test_a_heat_map_gives_each_steps_median_stay(repair):
    # Three histories that stay 1 h, 2 h and 6 h in review_application: the median is 2 h.
    runtime = Runtime(repair)
    scenario = load_scenario(SCENARIO)
    submit, reviewed = scenario.events[0], scenario.events[1]
    instances = []
    for hours in (1, 2, 6):
        instance = runtime.start(scenario.starter, at=scenario.start_at, instance_id=f"I{hours}")
        runtime.fire(instance, submit.trigger, submit.actor, submit.payload, at=submit.at)
        later = submit.at + datetime.timedelta(hours=hours)
        runtime.fire(instance, reviewed.trigger, reviewed.actor, reviewed.payload, at=later)
        instances.append(instance)
    overlay = heatmap_overlay(repair, instances)
    mark = overlay.nodes["review_application"]
    assert (mark.median_stay, mark.stays, mark.visits) == (datetime.timedelta(hours=2), 3, 3)
    assert overlay.nodes["check_warranty"].median_stay is None  # a decision takes no time
    label = node_attrs(render_dot(repair, lang="en", overlay=overlay))["review_application"]["label"]
    assert "median stay 2.0 h" in plain(label)


def test_a_heat_map_needs_a_history(repair):
    with pytest.raises(InstanceFormatError, match="at least one history"):
        heatmap_overlay(repair, [])


# --- the command ---------------------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def history_file(tmp_path) -> str:
    path = tmp_path / "rr.json"
    code, _, err = cli("run", str(REPAIR), "--events", str(SCENARIO), "--history", str(path))
    assert code == 0, err
    return str(path)


def test_procflow_render_draws_an_instance_from_its_history_file(tmp_path, history_file, repair):
    target = tmp_path / "path.dot"
    code, out, err = cli("render", str(REPAIR), "-o", str(target), "--instance", history_file)
    assert (code, err) == (0, "")
    expected = render_dot(repair, overlay=instance_overlay(repair, read_history(history_file)))
    assert target.read_text(encoding="utf-8") == expected
    svg = tmp_path / "path.svg"
    assert cli("render", str(REPAIR), "-o", str(svg), "--instance", history_file, "--at", "2027-01-01T00:00Z")[0] == 0
    assert b"#1565c0" in svg.read_bytes().lower()


def test_procflow_render_draws_a_heat_map_from_several_histories(tmp_path, history_file):
    target = tmp_path / "heat.dot"
    code, out, err = cli("render", str(REPAIR), "-o", str(target), "--heatmap", history_file, history_file)
    assert (code, err) == (0, "")
    assert "×2" in target.read_text(encoding="utf-8")


def test_procflow_render_refuses_a_history_of_another_process_in_one_line(tmp_path, history_file):
    target = tmp_path / "x.svg"
    code, out, err = cli("render", str(PROCESSES / "exchange.yaml"), "-o", str(target), "--instance", history_file)
    assert code == 1
    assert err.count("\n") == 1 and "belongs to process `return_repair`, not `exchange`" in err
    assert not target.exists()


def test_procflow_render_refuses_instance_and_heatmap_together(tmp_path, history_file):
    code, out, err = cli(
        "render", str(FIXTURE), "-o", str(tmp_path / "x.svg"), "--instance", history_file, "--heatmap", history_file
    )
    assert code == 2 and "not allowed with argument" in err


def test_procflow_render_names_a_missing_history(tmp_path):
    code, out, err = cli("render", str(REPAIR), "-o", str(tmp_path / "x.svg"), "--instance", "nowhere.json")
    assert code == 2 and "no such file: nowhere.json" in err


def test_a_reminder_back_into_the_same_step_is_not_counted_as_entering_it(repair, finished):
    loops = [e for e in finished.history if e.source == e.dest == "repair"]
    assert loops, "the scenario escalates the overdue repair"
    entries = [e for e in finished.history if e.dest == "repair" and e.source != "repair"]
    overlay = heatmap_overlay(repair, [finished])
    assert overlay.nodes["repair"].visits == len(entries)
    assert overlay.steps[Step("transition", "repair", loops[0].trigger, "repair")].count == len(loops)

"""The benchmark suite runs end to end at its tiny size, so it cannot rot. No figure is judged here:
machines are noisy, and the targets are for the full run written up in benchmarks/README.md."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

pytest.importorskip("statemachine", reason="the benchmark peers come with the `bench` extra")
pytest.importorskip("SpiffWorkflow", reason="the benchmark peers come with the `bench` extra")

EVERY_SECTION = {
    "1 per event",
    "2 instances",
    "3 stores",
    "4 loading",
    "5 rendering",
    "6 worklist",
    "7 HTTP",
    "8 start-up",
}
CONTENDERS = ("procflow", "transitions (bare)", "python-statemachine", "SpiffWorkflow")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "tiny.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "tiny", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return run, json.loads(out.read_text(encoding="utf-8"))


def rows_named(document: dict, section: str) -> list[str]:
    return [row["name"] for row in document["rows"] if row["section"] == section]


def test_the_tiny_run_prints_a_table_and_writes_every_section(tiny_run):
    run, document = tiny_run
    assert run.stdout.splitlines()[0].split()[:3] == ["section", "measurement", "value"]
    assert {row["section"] for row in document["rows"]} == EVERY_SECTION
    assert document["size"] == "tiny"
    for row in document["rows"]:
        assert row["name"] in run.stdout
        assert set(row) == {"section", "name", "value", "unit", "ratio", "ratio_text", "target", "met", "note"}


def test_every_contender_has_its_per_event_instance_and_memory_rows(tiny_run):
    _, document = tiny_run
    per_event = rows_named(document, "1 per event")
    instances = rows_named(document, "2 instances")
    for name in CONTENDERS:
        assert any(row.startswith(name) for row in per_event), name
        assert any(row.startswith(f"{name}:") and "completed" in row for row in instances), name
        assert any(row.startswith(f"{name}:") and "memory" in row for row in instances), name


def test_every_row_with_a_target_says_whether_it_is_met(tiny_run):
    _, document = tiny_run
    targeted = [row for row in document["rows"] if row["target"]]
    assert len(targeted) >= 10
    for row in targeted:
        assert isinstance(row["met"], bool) or row["value"] is None, row


def test_every_shipped_process_is_loaded_and_rendered(tiny_run):
    _, document = tiny_run
    shipped = sorted(path.name for path in (ROOT / "processes").glob("*.yaml"))
    loading = rows_named(document, "4 loading")
    rendering = rows_named(document, "5 rendering")
    for name in shipped:
        assert any(row.startswith(name) for row in loading), name
        assert any(row.startswith(name) for row in rendering) or rendering == ["not measured"], name


def test_the_machine_it_ran_on_is_recorded(tiny_run):
    _, document = tiny_run
    machine = document["machine"]
    assert machine["cores"] >= 1
    assert machine["python"].count(".") == 2
    for package in ("transitions", "python-statemachine", "SpiffWorkflow"):
        assert machine["packages"][package], package


def test_the_run_ends_with_every_target_measured_or_said_not_to_be(tiny_run):
    from benchmarks.targets import TARGETS

    run, _ = tiny_run
    listed = run.stdout.split("\ntarget ", 1)[1].splitlines()[2:]
    assert [line.split("  ")[0] for line in listed] == [target.title for target in TARGETS]
    startup = next(line for line in listed if line.startswith("`procflow validate` start-up"))
    assert "not measured" not in startup  # the tiny run measures it; a 10,000-state load it does not
    assert "not measured" in next(line for line in listed if line.startswith("a 10,000-state definition"))


def test_the_committed_figures_are_the_ones_latest_json_gives():
    from benchmarks.readme import LATEST, README, regenerated

    page = README.read_text(encoding="utf-8")
    assert regenerated(page, json.loads(LATEST.read_text(encoding="utf-8"))) == page, (
        "benchmarks/README.md's figures differ from latest.json: run `.venv/bin/python -m benchmarks.readme` "
        "(never edit between the generated markers)"
    )


def test_a_page_without_its_markers_is_refused_naming_them():
    from benchmarks.readme import LATEST, regenerated

    with pytest.raises(ValueError, match="generated: NAME"):
        regenerated("# Benchmarks\n", json.loads(LATEST.read_text(encoding="utf-8")))


def test_the_committed_bpmn_file_is_the_one_the_graph_gives():
    from benchmarks.bpmn import bpmn_text
    from benchmarks.contenders import BPMN_FILE
    from benchmarks.workload import load_workload

    assert BPMN_FILE.read_text(encoding="utf-8") == bpmn_text(load_workload()), (
        "processes/return_repair.yaml changed: run `.venv/bin/python -m benchmarks.bpmn`"
    )


def test_every_peer_takes_the_same_path_to_the_same_end():
    from benchmarks.events import contenders
    from benchmarks.workload import load_workload

    workload = load_workload()
    assert (workload.resting_state, workload.final_state) == ("approve_plan", "completed")
    assert len(contenders(workload)) == len(CONTENDERS)  # it raises naming any that strays


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="instruction counts need valgrind")
def test_the_callgrind_run_gives_every_peer_its_ratio_and_says_whether_each_target_is_met(tmp_path):
    out = tmp_path / "callgrind.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "tiny", "--only", "callgrind", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr
    rows = {row["name"]: row for row in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    (long_history,) = [name for name in rows if name.startswith("procflow on SQLite: per event on histories of")]
    assert set(rows) == {
        "procflow, everything on: per event",
        "transitions (bare): per event",
        "python-statemachine: per event",
        "procflow: per completed instance",
        "SpiffWorkflow: per completed instance",
        long_history,
    }
    for row in rows.values():
        assert row["section"] == "9 instructions"
        assert row["value"] > 0, row
        assert row["unit"] in ("instructions/event", "instructions/instance")
    targeted = [rows[n] for n in ("transitions (bare): per event", "python-statemachine: per event")]
    targeted += [rows["SpiffWorkflow: per completed instance"], rows[long_history]]
    for row in targeted:
        assert row["target"] and isinstance(row["met"], bool) and row["ratio"] > 0, row
        assert row["name"] in run.stdout

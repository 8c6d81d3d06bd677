"""A step that starts another procedure (``starts``): entering it starts the child in the same store
transaction, both histories link to each other, and the child's end fires the parent's continuation
(its ``on_end`` trigger, with the child's ``returns`` as payload). A child that cannot start refuses
the parent's event and nothing is written; ``Runtime`` alone refuses to enter such a step."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from conftest import position
from store_support import dump

from engine import Actor, DefinitionError, Runtime, SubProcessRefused, instance_to_json, load_process, validate_text
from engine.cli import run
from engine.render.diagram import extract
from engine.render.dot import to_dot
from engine.render.mermaid import to_mermaid
from engine.service import Workflows

pytest_plugins = ["store_support"]

FIXTURES = Path(__file__).parent / "fixtures" / "subprocess"
INTAKE = FIXTURES / "intake.yaml"
WORKSHOP = FIXTURES / "workshop_repair.yaml"
INTAKE_TEXT = INTAKE.read_text(encoding="utf-8")
WORKSHOP_TEXT = WORKSHOP.read_text(encoding="utf-8")
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
CLERK = Actor("li", ["clerk"])
ENGINEER = Actor("zhao", ["engineer"])


@pytest.fixture
def workflows(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as opened:
        opened.register(WORKSHOP)
        opened.register(INTAKE)
        yield opened


def _in_workshop(workflows: Workflows) -> tuple[str, str]:
    parent = workflows.start("intake", CLERK)
    workflows.fire(parent.id, "to_workshop", CLERK, {"fault": "no power"})
    (child,) = workflows.children(parent.id)
    return parent.id, child.instance


def test_entering_the_step_starts_the_child_and_links_both_histories(workflows):
    parent_id, child_id = _in_workshop(workflows)
    parent, child = workflows.get(parent_id), workflows.get(child_id)
    entered = parent.history[-1]
    assert (entered.child.instance, entered.child.process, entered.child.state) == (
        child_id,
        "workshop_repair",
        "in_workshop",
    )
    start = child.history[0]
    assert (start.parent.instance, start.parent.process, start.parent.state) == (parent_id, "intake", "in_workshop")
    assert workflows.parent(child_id) == start.parent
    assert child.state == "diagnose" and child.data == {"fault": "no power"}
    assert start.actor == CLERK.id and start.roles == ("engineer",), "started by the parent's actor, as `as` says"


def test_the_childs_end_fires_the_parents_continuation_with_its_result(workflows):
    parent_id, child_id = _in_workshop(workflows)
    workflows.fire(child_id, "fixed", ENGINEER, {"cost": 120})
    parent = workflows.get(parent_id)
    assert parent.state == "return_goods" and parent.data["cost"] == 120
    continued = parent.history[-1]
    assert continued.trigger == "workshop_done" and continued.payload == {"cost": 120}
    assert (continued.child_ended.instance, continued.child_ended.state) == (child_id, "repaired")
    assert workflows.get(child_id).state == "repaired"
    assert workflows.verify_store().ok


def test_each_end_of_the_child_fires_its_own_trigger(workflows):
    parent_id, child_id = _in_workshop(workflows)
    workflows.fire(child_id, "beyond_repair", ENGINEER)
    parent = workflows.get(parent_id)
    assert parent.state == "closed" and parent.history[-1].trigger == "workshop_failed"


def test_a_child_ended_by_the_worker_moves_the_parent_on_in_the_same_write(workflows):
    parent_id, child_id = _in_workshop(workflows)
    assert workflows.fire_due(MONDAY + dt.timedelta(days=8)) == 1
    child, parent = workflows.get(child_id), workflows.get(parent_id)
    assert child.state == "scrapped" and child.history[-1].by_deadline
    assert parent.state == "closed" and parent.history[-1].child_ended.instance == child_id
    assert parent.history[-1].at == child.history[-1].at == MONDAY + dt.timedelta(days=7)
    assert workflows.verify_store().ok


def test_the_event_sent_again_with_its_key_returns_its_entry_and_starts_no_second_child(workflows):
    parent = workflows.start("intake", CLERK)
    first = workflows.fire(parent.id, "to_workshop", CLERK, {"fault": "no power"}, key="k1")
    again = workflows.fire(parent.id, "to_workshop", CLERK, {"fault": "no power"}, key="k1")
    assert again == first and len(workflows.children(parent.id)) == 1
    assert len(workflows.list(process="workshop_repair")) == 1


def test_a_person_cannot_fire_the_continuation_the_engine_fires(workflows):
    parent_id, _ = _in_workshop(workflows)
    before = json.dumps(instance_to_json(workflows.get(parent_id)))
    assert [c.trigger for c in workflows.available(parent_id, CLERK)] == []
    with pytest.raises(SubProcessRefused, match="the engine fires it"):
        workflows.fire(parent_id, "workshop_done", CLERK, {"cost": 1})
    assert json.dumps(instance_to_json(workflows.get(parent_id))) == before


def test_a_child_that_cannot_start_refuses_the_parents_event_and_nothing_is_written(workflows, store_url):
    parent = workflows.start("intake", CLERK)
    before = dump(store_url) if store_url != "memory:" else None
    listed = len(workflows.list())
    with pytest.raises(SubProcessRefused) as refused:
        workflows.fire(parent.id, "to_workshop", CLERK, {"fault": ""})  # the child's data needs a fault
    assert refused.value.code == "sub-process"
    assert "cannot start `workshop_repair`" in str(refused.value) and "data.fault" in str(refused.value)
    assert workflows.get(parent.id).version == 1 and len(workflows.list()) == listed
    if before is not None:
        assert dump(store_url) == before


def test_a_child_whose_definition_is_gone_from_the_latest_refuses_the_event(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(WORKSHOP)
        workflows.register(INTAKE)
        parent = workflows.start("intake", CLERK)
        roles = WORKSHOP_TEXT.replace("engineer: {zh: 维修工程师, en: Repair engineer}", "tech: {zh: 技师, en: Tech}")
        renamed = roles.replace("role: engineer", "role: tech").replace("owner: engineer", "owner: tech")
        (path := Path(f"/tmp/procflow-workshop-{parent.id}.yaml")).write_text(renamed, encoding="utf-8")
        try:
            workflows.register(path)  # a later revision of the child no longer has the role `as` names
        finally:
            path.unlink()
        with pytest.raises(SubProcessRefused, match="may not start `workshop_repair`"):
            workflows.fire(parent.id, "to_workshop", CLERK, {"fault": "no power"})
        assert workflows.get(parent.id).version == 1


def test_both_instances_replay_and_round_trip(workflows):
    parent_id, child_id = _in_workshop(workflows)
    workflows.fire(child_id, "fixed", ENGINEER, {"cost": 80})
    workflows.fire(parent_id, "shipped", CLERK)
    for instance_id in (parent_id, child_id):
        workflows.verify(instance_id)
        document = json.loads(json.dumps(instance_to_json(workflows.get(instance_id))))
        assert json.dumps(document) == json.dumps(instance_to_json(workflows.get(instance_id)))
    assert workflows.verify_store().ok


def test_a_runtime_alone_refuses_to_enter_the_step_and_changes_nothing():
    runtime = Runtime(load_process(INTAKE), clock=lambda: MONDAY)
    instance = runtime.start(CLERK)
    before = json.dumps(instance_to_json(instance))
    with pytest.raises(SubProcessRefused, match="run the instance in a store"):
        runtime.fire(instance, "to_workshop", CLERK, {"fault": "no power"})
    assert json.dumps(instance_to_json(instance)) == before


def test_register_refuses_a_parent_whose_child_is_not_registered(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows, pytest.raises(DefinitionError) as refused:
        workflows.register(INTAKE)
    (problem,) = refused.value.errors
    assert problem.code == "unknown-process" and "register it first" in problem.message
    assert (problem.location.line, problem.location.column) == position(
        INTAKE_TEXT, "process: workshop_repair", "workshop_repair"
    )


@pytest.mark.parametrize(
    ("old", "new", "code", "words"),
    [
        (
            "on_end: {repaired: workshop_done, scrapped: workshop_failed}",
            "on_end: {repaired: workshop_done}",
            "on-end-incomplete",
            "may end in `scrapped`",
        ),
        (
            "on_end: {repaired: workshop_done, scrapped: workshop_failed}",
            "on_end: {repaired: workshop_done, scrapped: workshop_failed, repair: workshop_done}",
            "unknown-reference",
            "did you mean `repaired`",
        ),
        ("as: engineer", "as: enginer", "unknown-reference", "did you mean `engineer`"),
        ("data: {fault: data.fault}", "data: {faults: data.fault}", "unknown-field", "did you mean `fault`"),
        ("returns: {cost: cost}", "returns: {cost: costs}", "unknown-field", "did you mean `cost`"),
    ],
    ids=["on-end-misses-a-final", "on-end-names-no-final", "unknown-role", "unknown-child-field", "unknown-return"],
)
def test_register_checks_the_step_against_the_child(store_url, tmp_path, old, new, code, words):
    text = INTAKE_TEXT.replace(old, new)
    (path := tmp_path / "intake.yaml").write_text(text, encoding="utf-8")
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(WORKSHOP)
        with pytest.raises(DefinitionError) as refused:
            workflows.register(path)
        assert [(p.code, words in p.message) for p in refused.value.errors] == [(code, True)]
        assert refused.value.errors[0].location.line == position(text, new)[0]
        assert not [d for d in workflows.store.definitions() if d.ref.id == "intake"], "nothing registered"


def _errors(text: str) -> list[tuple[str, int, str]]:
    report = validate_text(text, "intake.yaml")
    return [(p.code, p.location.line, p.message) for p in report.problems if p.severity.value == "error"]


def test_an_on_end_trigger_that_does_not_leave_the_step_is_located():
    text = INTAKE_TEXT.replace("scrapped: workshop_failed}", "scrapped: workshop_fail}")
    [(code, line, message)] = [e for e in _errors(text) if e[0] == "unknown-reference"]
    assert line == position(text, "scrapped: workshop_fail}")[0] and "did you mean `workshop_failed`" in message


def test_a_child_data_expression_reading_an_unknown_field_is_located():
    text = INTAKE_TEXT.replace("data: {fault: data.fault}", "data: {fault: data.falt}")
    [(code, line, message)] = _errors(text)
    assert code == "unknown-field" and line == position(text, "data.falt")[0] and "did you mean `fault`" in message


def test_a_step_cannot_start_its_own_procedure():
    text = INTAKE_TEXT.replace("process: workshop_repair", "process: intake")
    [(code, line, _)] = _errors(text)
    assert code == "starts-itself" and line == position(text, "process: intake")[0]


def test_the_start_step_cannot_start_a_child():
    text = INTAKE_TEXT.replace(
        '    role: clerk\n    source: "一"\n',
        '    role: clerk\n    source: "一"\n    starts: {process: workshop_repair, on_end: {repaired: to_workshop}}\n',
    )
    assert [e[0] for e in _errors(text)] == ["starts-on-start"]


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("      on_end: {repaired: workshop_done, scrapped: workshop_failed}\n", "", "on_end"),
        ("as: engineer", "as: Engineer", "identifier"),
        ("returns: {cost: cost}", "returns: [cost]", "mapping"),
        ("process: workshop_repair", "proces: workshop_repair", "did you mean `process`"),
    ],
    ids=["no-on-end", "bad-role-name", "returns-not-a-mapping", "misspelt-key"],
)
def test_bad_starts_forms_are_located(old, new, words):
    text = INTAKE_TEXT.replace(old, new)
    errors = _errors(text)
    assert errors, "the bad form was accepted"
    starts_line = position(text, "    starts:\n")[0]
    assert any(line >= starts_line and words in message for _, line, message in errors), errors


def test_the_chart_draws_a_sub_procedure_box_naming_the_child():
    diagram = extract(load_process(INTAKE), "en")
    node = next(n for n in diagram.nodes if n.id == "in_workshop")
    assert node.starts == "sub-procedure: workshop_repair"
    box = next(x for x in to_dot(diagram, "en").splitlines() if x.lstrip().startswith('"in_workshop" ['))
    assert 'peripheries="2"' in box and 'shape="box"' in box, "a task box with a double border"
    mermaid = next(x for x in to_mermaid(diagram).splitlines() if "sub-procedure: workshop_repair" in x)
    assert mermaid.strip().startswith("s_in_workshop[[") and mermaid.rstrip().endswith("]]"), "a subroutine shape"
    done = next(e for e in diagram.edges if (e.source, e.dest) == ("in_workshop", "return_goods"))
    assert done.labels[0].note == "when the sub-procedure ends: repaired"


def _procflow(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_show_and_history_say_who_waits_for_whom(sqlite_url):
    with Workflows(sqlite_url, clock=lambda: MONDAY) as workflows:
        workflows.register(WORKSHOP)
        workflows.register(INTAKE)
        parent_id, child_id = _in_workshop(workflows)
    code, out, err = _procflow("show", parent_id, "--store", sqlite_url)
    assert (code, err) == (0, "")
    assert f"waiting:  for `workshop_repair` instance {child_id} to end" in out
    assert "by: the engine, when it ends in `repaired`" in out
    code, out, _ = _procflow("history", child_id, "--store", sqlite_url)
    assert code == 0 and f"started by `intake` instance {parent_id}, step `in_workshop`" in out
    code, out, _ = _procflow("history", parent_id, "--store", sqlite_url)
    assert code == 0 and f"started `workshop_repair` instance {child_id}" in out

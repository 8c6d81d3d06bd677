"""``procflow diff OLD NEW``: the changes between two loaded definitions, in words, as JSON that fits
``schemas/diff.schema.json``, and drawn over NEW's chart; either side a file or ``git:REV:PATH``."""

from __future__ import annotations

import functools
import io
import json
import shutil
import subprocess
from xml.etree import ElementTree

import jsonschema
import pytest
from conftest import FIXTURE, ROOT, missing_tool, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.changes import RENAME_THRESHOLD, Change, changes_json, diff_processes
from engine.cli import run
from engine.model import Process
from engine.processes import load_process_text
from engine.render.changes import changes_dot

TEXT = FIXTURE.read_text(encoding="utf-8")
DIFF_SCHEMA = json.loads((ROOT / "schemas" / "diff.schema.json").read_text(encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(DIFF_SCHEMA)

NEW_STEP = """  inspect:
    type: task
    zh: 检测
    en: Inspect the product
    role: clerk
    source: 三.3
    on:
      - trigger: inspected
        zh: 检测完成
        en: Inspected
        dest: done

  done:
"""
CLOCK = """
clocks:
  handling:
    zh: 两个工作日内办结
    en: Handled within two working days
    starts: {enter: [quote]}
    stops: {enter: [done]}
    limit: 2 working days
states:
"""
PARTS = """    role: clerk
    time_limit: 24h
    parts:
      - id: supervisor_opinion
        zh: 主管意见
        en: Supervisor's opinion
        roles: [supervisor]
        payload:
          type: object
          properties:
            opinion: {type: string}
          required: [opinion]
"""
NOTIFY = (
    "    produces: [repair_order]\n    notify:\n      - roles: [supervisor]\n        text: {zh: 已受理, en: Accepted}\n"
)

# Each edit of the fixture, and a line `procflow diff FIXTURE EDITED` must print for it.
EDITS: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "time-limit": ((("time_limit: 24h", "time_limit: 12h"),), "step `accept`: time limit 24h → 12h"),
    "step-added": (
        (
            (
                "        dest: done\n  on_hold:",
                "        dest: done\n      - trigger: inspect\n        zh: 送检\n"
                "        en: Send for inspection\n        dest: inspect\n\n  on_hold:",
            ),
            ("  done:\n", NEW_STEP),
        ),
        "step `inspect` added (task; 检测 / Inspect the product)",
    ),
    "transition-added": (
        (
            (
                "        dest: done\n  on_hold:",
                "        dest: done\n      - trigger: reject\n        zh: 拒绝\n"
                "        en: Reject\n        dest: withdrawn\n\n  on_hold:",
            ),
        ),
        "transition `accept.reject` added",
    ),
    "destination": (
        (("        en: Customer replied\n        dest: accept", "        en: Customer replied\n        dest: quote"),),
        "transition `on_hold.customer_replied`: destination accept → quote",
    ),
    "condition": (
        (("payload.quote <= 500", "payload.quote <= 800"),),
        "transition `quote.send_quote`: conditions payload.quote <= 500 → payload.quote <= 800",
    ),
    "transition-roles": (
        (("    roles: [clerk, supervisor]", "    roles: [supervisor]"),),
        "transition `*.hold`: roles clerk, supervisor → supervisor",
    ),
    "sign-off": (
        (("            not_actor_of: [apply]\n", "            not_actor_of: [apply]\n          - role: clerk\n"),),
        "transition `quote.send_quote`: sign-offs supervisor, not the actor of apply → supervisor, not the actor"
        " of apply, clerk",
    ),
    "loop-limit": (
        (
            (
                "        en: Escalate\n        dest: quote\n",
                "        en: Escalate\n        dest: quote\n        limit: {times: 3}\n",
            ),
        ),
        "transition `quote.escalate`: limit none → 3 times, then refused",
    ),
    "form-new-required": (
        (
            (
                "properties: {quote: {type: number}}\n          required: [quote]",
                "properties: {quote: {type: number}, amount: {type: integer}}\n          required: [quote, amount]",
            ),
        ),
        "form of `quote.send_quote`: new required field `amount` (integer)",
    ),
    "form-type": (
        (("properties: {quote: {type: number}}", "properties: {quote: {type: integer}}"),),
        "form of `quote.send_quote`: field `quote`: type number → integer",
    ),
    "form-removed-field": (
        (
            (
                "            in_warranty: {type: boolean}\n            model: {type: string}\n"
                "          required: [in_warranty, model]",
                "            in_warranty: {type: boolean}\n          required: [in_warranty]",
            ),
            ("          model: payload.model\n", ""),
        ),
        "form of `apply.submit`: required field `model` removed",
    ),
    "role-added": (
        (("  supervisor: {zh: 维修主管", "  engineer: {zh: 工程师, en: Engineer}\n  supervisor: {zh: 维修主管"),),
        "role `engineer` added",
    ),
    "role-label": (
        (("en: Service clerk", "en: Service agent"),),
        "role `clerk`: label 客服人员 / Service clerk → 客服人员 / Service agent",
    ),
    "record-field": (
        (
            (
                "        model: {type: string}\n      required: [model]",
                "        model: {type: string}\n        serial: {type: string}\n      required: [model, serial]",
            ),
        ),
        "fields of record `repair_order`: new required field `serial` (string)",
    ),
    "record-label": (
        (("en: Return repair order", "en: Repair order"),),
        "record `repair_order`: label 返厂维修单 / Return repair order → 返厂维修单 / Repair order",
    ),
    "data-field": (
        (
            (
                "    quote: {type: number, minimum: 0}\n",
                "    quote: {type: number, minimum: 0}\n    urgent: {type: boolean}\n",
            ),
        ),
        "data: new field `urgent` (boolean)",
    ),
    "data-constraint": (
        (("quote: {type: number, minimum: 0}", "quote: {type: number, minimum: 1}"),),
        'data: field `quote`: constraints {"minimum": 0} → {"minimum": 1}',
    ),
    "clock": ((("\nstates:\n", CLOCK),), "clock `handling` added"),
    "part": ((("    role: clerk\n    time_limit: 24h\n", PARTS),), "part `accept.supervisor_opinion` added"),
    "part-form": (
        (("    role: clerk\n    time_limit: 24h\n", PARTS),),
        "form of `accept.supervisor_opinion`: new required field `opinion` (string)",
    ),
    "notification": (
        (("    produces: [repair_order]\n", NOTIFY),),
        "step `accept`: notifications none → supervisor: 已受理 / Accepted",
    ),
    "deadline": (
        (("      - after: 3d\n", "      - after: 2d\n"),),
        "step `on_hold`: deadlines after 3d: fire remind → after 2d",
    ),
    "cancels": (
        (
            (
                "    dest: withdrawn\n    roles: [customer]\n",
                "    dest: withdrawn\n    roles: [customer]\n    cancels: true\n    payload:\n"
                "      type: object\n      properties: {reason: {type: string}}\n      required: [reason]\n",
            ),
        ),
        "transition `*.withdraw`: cancels the case no → yes",
    ),
    "administrators": (
        (("roles:\n  customer:", "administrators: [supervisor]\nroles:\n  customer:"),),
        "process `minimal_repair`: administrators none → supervisor",
    ),
    "process-title": (
        (("title: {zh: 简易维修, en: Simple repair}", "title: {zh: 简易维修, en: Simple repairs}"),),
        "process `minimal_repair`: title 简易维修 / Simple repair → 简易维修 / Simple repairs",
    ),
}


@functools.cache
def load(text: str, name: str = "new.yaml") -> Process:
    return load_process_text(text, name)


def edited(name: str) -> str:
    return mutate(TEXT, *EDITS[name][0])


def lines(changes: tuple[Change, ...]) -> list[str]:
    return [line for change in changes for line in change.lines()]


def call(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_a_definition_has_no_changes_from_itself():
    assert diff_processes(load(TEXT, "old.yaml"), load(TEXT)) == ()


def test_layout_comments_and_the_way_a_duration_is_written_are_no_change():
    text = mutate(
        TEXT,
        ("time_limit: 24h", "time_limit: 1d   # a day"),
        ("zh: 简易维修, en: Simple repair", 'zh: "简易维修", en: Simple repair'),
    )
    assert diff_processes(load(TEXT, "old.yaml"), load(text)) == ()


@pytest.mark.parametrize("name", EDITS)
def test_each_kind_of_change_is_said_in_plain_words(name):
    changes = diff_processes(load(TEXT, "old.yaml"), load(edited(name)))
    said = lines(changes)
    assert any(line.startswith(EDITS[name][1]) for line in said), said


@pytest.mark.parametrize("name", ["step-added", "transition-added", "role-added", "clock", "part", "data-field"])
def test_what_one_direction_adds_the_other_removes(name):
    forward = diff_processes(load(TEXT, "old.yaml"), load(edited(name)))
    backward = diff_processes(load(edited(name)), load(TEXT, "old.yaml"))
    assert {c.kind for c in forward} >= {"added"}
    assert sorted(map(repr, backward)) == sorted(repr(c.reversed()) for c in forward)
    removed = lines(backward)
    assert any("removed" in line for line in removed), removed


@pytest.mark.parametrize("name", EDITS)
def test_the_json_fits_its_schema(name):
    old, new = load(TEXT, "old.yaml"), load(edited(name))
    document = changes_json(old, new, diff_processes(old, new))
    jsonschema.validate(document, DIFF_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert document["identical"] is False and document["changes"]
    assert json.loads(json.dumps(document)) == document  # plain JSON, nothing Python-only


def test_a_time_limit_change_in_json_names_the_field_with_its_old_and_new_values():
    old, new = load(TEXT, "old.yaml"), load(edited("time-limit"))
    [change] = changes_json(old, new, diff_processes(old, new))["changes"]
    assert change == {
        "kind": "changed",
        "element": "step",
        "id": "accept",
        "fields": [{"field": "time limit", "old": "24h", "new": "12h"}],
    }


# --- renames --------------------------------------------------------------------------------------


def renamed_state(text: str, old: str, new: str) -> str:
    return text.replace(f"  {old}:\n", f"  {new}:\n").replace(f"dest: {old}\n", f"dest: {new}\n")


def test_a_step_under_a_new_id_with_the_same_labels_is_a_rename_and_references_follow_it():
    new = load(renamed_state(TEXT, "on_hold", "waiting"))
    changes = diff_processes(load(TEXT, "old.yaml"), new)
    [step] = [c for c in changes if c.element == "step"]
    assert (step.kind, step.old_id, step.id, step.score) == ("renamed", "on_hold", "waiting", 1.0)
    # The shared `hold` leads to the renamed step: no change of its destination is reported.
    assert not [c for c in changes if c.kind != "renamed"], lines(changes)
    assert "step `on_hold` renamed to `waiting` (similarity 1.00)" in lines(changes)


def test_a_step_with_new_labels_but_the_same_transitions_is_a_rename():
    text = renamed_state(TEXT, "on_hold", "waiting").replace(
        "zh: 等待客户回复\n    en: Waiting for the customer", "zh: 待客户\n    en: Customer pending"
    )
    changes = diff_processes(load(TEXT, "old.yaml"), load(text))
    [step] = [c for c in changes if c.element == "step"]
    assert step.kind == "renamed" and step.score is not None and step.score >= RENAME_THRESHOLD
    assert [f.field for f in step.fields] == ["label"]


def test_new_labels_and_half_the_same_transitions_is_no_rename():
    text = renamed_state(TEXT, "on_hold", "waiting").replace(
        "zh: 等待客户回复\n    en: Waiting for the customer", "zh: 待客户\n    en: Customer pending"
    )
    text = text.replace(
        "        en: Customer replied\n        dest: accept", "        en: Customer replied\n        dest: quote"
    )
    changes = diff_processes(load(TEXT, "old.yaml"), load(text))
    steps = {(c.kind, c.id) for c in changes if c.element == "step"}
    assert steps == {("removed", "on_hold"), ("added", "waiting")}


def test_a_role_under_a_new_id_with_the_same_labels_is_renamed_and_its_uses_follow():
    text = TEXT.replace("  clerk: {", "  agent: {").replace("role: clerk", "role: agent").replace("[clerk", "[agent")
    changes = diff_processes(load(TEXT, "old.yaml"), load(text))
    assert [(c.kind, c.element, c.old_id, c.id) for c in changes] == [("renamed", "role", "clerk", "agent")]


# --- the command ----------------------------------------------------------------------------------


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_command_exits_0_when_the_same_and_1_when_different(tmp_path):
    code, out, err = call("diff", str(FIXTURE), str(FIXTURE))
    assert (code, err) == (0, "") and out.startswith("no changes")
    new = write(tmp_path, "new.yaml", edited("time-limit"))
    code, out, err = call("diff", str(FIXTURE), new)
    assert (code, err) == (1, "")
    assert "  step `accept`: time limit 24h → 12h\n" in out


def test_the_command_prints_json_that_fits_its_schema(tmp_path):
    new = write(tmp_path, "new.yaml", edited("form-new-required"))
    code, out, _ = call("diff", str(FIXTURE), new, "--format", "json")
    document = json.loads(out)
    jsonschema.validate(document, DIFF_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert code == 1 and document["new"]["file"] == new
    [field] = [c for c in document["changes"] if c["element"] == "form field"]
    assert (field["kind"], field["id"], field["parent"]) == ("added", "quote.send_quote.amount", "quote.send_quote")
    code, out, _ = call("diff", str(FIXTURE), str(FIXTURE), "--format", "json")
    assert code == 0 and json.loads(out)["identical"] is True


def test_a_missing_file_is_a_usage_error_naming_it(tmp_path):
    code, _, err = call("diff", str(FIXTURE), str(tmp_path / "gone.yaml"))
    assert code == 2 and "gone.yaml" in err.splitlines()[0]


def test_a_broken_side_gets_the_usual_located_errors_and_status_2(tmp_path):
    broken = write(
        tmp_path,
        "broken.yaml",
        TEXT.replace(
            "    role: supervisor\n    time_limit: 3 working days",
            "    role: supervisr\n    time_limit: 3 working days",
        ),
    )
    code, out, err = call("diff", broken, str(FIXTURE))
    assert code == 2 and out == ""
    assert err.startswith(f"{broken}:") and "did you mean `supervisor`" in err
    bad_yaml = write(tmp_path, "bad.yaml", TEXT.replace("states:\n", "states: [\n", 1))
    code, _, err = call("diff", str(FIXTURE), bad_yaml)
    assert code == 2 and err.startswith(f"{bad_yaml}:")


# --- git:REV:PATH ---------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        missing_tool("git", "apt-get install git")
    monkeypatch.chdir(tmp_path)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(key, raising=False)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], check=True, capture_output=True
        )

    git("init", "-q")
    (tmp_path / "procs").mkdir()
    (tmp_path / "procs" / "repair.yaml").write_text(TEXT, encoding="utf-8")
    git("add", "procs/repair.yaml")
    git("commit", "-qm", "first")
    (tmp_path / "procs" / "repair.yaml").write_text(edited("time-limit"), encoding="utf-8")
    git.__dict__["root"] = tmp_path
    return git


def test_a_side_read_from_git_is_compared_with_the_working_file(repo):
    code, out, err = call("diff", "git:HEAD:procs/repair.yaml", "procs/repair.yaml")
    assert (code, err) == (1, "")
    assert out.startswith("git:HEAD:procs/repair.yaml → procs/repair.yaml:")
    assert "step `accept`: time limit 24h → 12h" in out
    repo("commit", "-qam", "second")
    code, out, _ = call("diff", "git:HEAD~1:procs/repair.yaml", "git:HEAD:procs/repair.yaml", "--format", "json")
    assert code == 1 and json.loads(out)["old"]["file"] == "git:HEAD~1:procs/repair.yaml"
    assert call("diff", "git:HEAD:procs/repair.yaml", "procs/repair.yaml")[0] == 0


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("git:nope:procs/repair.yaml", "no revision `nope`"),
        ("git:HEAD:procs/missing.yaml", "no file `procs/missing.yaml` at revision `HEAD`"),
        ("git:HEAD:procs", "is a folder"),
        ("git:--output=x:procs/repair.yaml", "is not a revision"),
        ("git:HEAD", "git:REV:PATH"),
    ],
)
def test_a_bad_revision_or_path_is_refused_naming_it(repo, spec, named):
    code, out, err = call("diff", spec, "procs/repair.yaml")
    assert code == 2 and out == ""
    assert err.startswith(f"procflow diff: {spec}") and named in err, err


def test_a_broken_definition_at_a_revision_is_located_under_its_git_name(repo):
    (repo.root / "procs" / "repair.yaml").write_text(
        TEXT.replace("dest: accept\n", "dest: acept\n", 1), encoding="utf-8"
    )
    repo("commit", "-qam", "broken")
    code, _, err = call("diff", "git:HEAD:procs/repair.yaml", str(FIXTURE))
    assert code == 2
    assert err.startswith("git:HEAD:procs/repair.yaml:") and "did you mean `accept`" in err


def test_outside_a_repository_git_sides_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    code, _, err = call("diff", "git:HEAD:x.yaml", str(FIXTURE))
    assert code == 2 and "not in a git repository" in err


# --- drawn ----------------------------------------------------------------------------------------

# Added a step (and the arrows to and from it), removed `on_hold` (and its arrows), changed `accept`.
DRAWN_OLD = TEXT
DRAWN_NEW = mutate(
    TEXT,
    *EDITS["step-added"][0],
    ("time_limit: 24h", "time_limit: 12h"),
    ("payload.quote <= 500", "payload.quote <= 800"),
)


def classes(svg: str) -> dict[str, str]:
    """The class of each element of the SVG that has an id and a class, by id."""
    root = ElementTree.fromstring(svg)
    return {e.get("id", ""): e.get("class", "") for e in root.iter() if e.get("id") and e.get("class")}


def test_the_drawn_diff_marks_added_removed_and_changed_elements(tmp_path):
    if shutil.which("dot") is None:
        missing_tool("Graphviz", "apt-get install graphviz")
    old = write(tmp_path, "old.yaml", DRAWN_OLD)
    new_text = DRAWN_NEW.replace(
        "        en: Customer replied\n        dest: accept", "        en: Customer replied\n        dest: quote"
    )
    new = write(tmp_path, "new.yaml", new_text)
    target = tmp_path / "diff.svg"
    code, out, err = call("diff", old, new, "-o", str(target))
    assert code == 1 and err == "" and out.endswith(f"wrote {target}\n")
    svg = target.read_text(encoding="utf-8")
    found = classes(svg)
    assert found["state-inspect"] == "node added"
    assert found["state-accept"] == "node changed"
    assert found["state-done"] == "node"
    assert "time limit 24h → 12h" in svg
    # The arrows to and from the new step are added; the condition's arrow changed; the old destination ghosted.
    # (an arrow through its label node is drawn in two halves; the first is counted with the second)
    edges = sorted(c for i, c in found.items() if c.startswith("edge ") and not i.endswith("-tail"))
    assert edges.count("edge added") == 2 and "edge changed" in edges and "edge removed" in edges
    for kind in ("added", "removed", "changed"):
        assert found[f"legend-{kind}"] == f"node {kind}"


def test_a_removed_step_is_drawn_ghosted_in_place():
    old, new = load(DRAWN_NEW, "old.yaml"), load(TEXT)
    dot = changes_dot(old, new, diff_processes(old, new))
    ghost = next(line for line in dot.splitlines() if line.strip().startswith('"inspect" ['))
    assert 'class="removed"' in ghost and 'style="dashed"' in ghost
    # it sits in its lane, the clerk's, as it did
    lane = dot.split('subgraph "cluster_lane_clerk"', 1)[1].split("\n    }", 1)[0]
    assert '"inspect" [' in lane


def test_a_drawing_to_an_unknown_format_is_a_usage_error(tmp_path):
    code, _, err = call("diff", str(FIXTURE), str(FIXTURE), "-o", str(tmp_path / "d.mmd"))
    assert code == 2 and "d.mmd" in err.splitlines()[0]
    assert not (tmp_path / "d.mmd").exists()


# --- properties -----------------------------------------------------------------------------------

# Edits that can be made together, in any combination.
COMBINABLE = [
    "time-limit",
    "step-added",
    "condition",
    "form-new-required",
    "role-added",
    "record-field",
    "data-field",
    "clock",
    "notification",
    "deadline",
    "process-title",
    "transition-roles",
]


@functools.cache
def variant(names: frozenset[str]) -> Process:
    text = TEXT
    for name in COMBINABLE:
        if name in names:
            text = mutate(text, *EDITS[name][0])
    if "rename" in names:
        text = renamed_state(text, "on_hold", "waiting")
    return load_process_text(text, "variant.yaml")


variants = st.frozensets(st.sampled_from([*COMBINABLE, "rename"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants, variants)
def test_a_diff_reversed_is_the_diff_the_other_way(a, b):
    forward = diff_processes(variant(a), variant(b))
    backward = diff_processes(variant(b), variant(a))
    assert diff_processes(variant(a), variant(a)) == ()
    assert sorted(map(repr, backward)) == sorted(repr(c.reversed()) for c in forward)
    assert (forward == ()) == (a == b)
    kinds = {"added": "removed", "removed": "added"}
    assert sorted(kinds.get(c.kind, c.kind) for c in forward) == sorted(c.kind for c in backward)


SUBPROCESS = ROOT / "tests" / "fixtures" / "subprocess" / "intake.yaml"


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("      as: engineer\n", "", "step `in_workshop`: sub-procedure started as engineer → none"),
        ("      returns: {cost: cost}\n", "", "step `in_workshop`: sub-procedure returns cost ← cost → none"),
    ],
)
def test_a_sub_procedure_start_is_compared_field_by_field(old, new, said):
    text = SUBPROCESS.read_text(encoding="utf-8")
    changes = diff_processes(load(text, "old.yaml"), load(mutate(text, (old, new))))
    assert any(said in line for line in lines(changes)), lines(changes)


def test_a_transition_shared_by_every_step_is_not_changed_by_a_new_step():
    changes = diff_processes(load(TEXT, "old.yaml"), load(edited("step-added")))
    assert not [c for c in changes if c.id == "*.withdraw"], lines(changes)


def test_a_removed_step_whose_role_was_renamed_is_ghosted_in_the_renamed_lane():
    agent = TEXT.replace("  clerk: {", "  agent: {").replace("role: clerk", "role: agent").replace("[clerk", "[agent")
    old, new = load(DRAWN_NEW, "old.yaml"), load(agent)
    changes = diff_processes(old, new)
    assert ("renamed", "role", "clerk", "agent") in [(c.kind, c.element, c.old_id, c.id) for c in changes]
    dot = changes_dot(old, new, changes)
    assert 'subgraph "cluster_lane_clerk"' not in dot
    lane = dot.split('subgraph "cluster_lane_agent"', 1)[1].split("\n    }", 1)[0]
    assert '"inspect" [' in lane


def test_the_text_counts_and_lists_a_renamed_step_once(tmp_path):
    new = write(tmp_path, "new.yaml", renamed_state(TEXT, "on_hold", "waiting"))
    code, out, _ = call("diff", str(FIXTURE), new)
    assert code == 1
    assert out.splitlines()[1:] == ["  step `on_hold` renamed to `waiting` (similarity 1.00)"]
    assert out.splitlines()[0].endswith(": 0 added, 0 removed, 1 renamed, 0 changed")

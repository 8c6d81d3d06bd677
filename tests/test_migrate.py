"""Changing a procedure under running cases: which open cases a change touches (``procflow diff --store``),
and moving them onto the new revision with a migration plan (``procflow migrate``, ``Workflows.migrate``).

The fixtures: ``claim_v1.yaml`` and ``claim_v2.yaml`` (triage removed, refund renamed payout with a new
required field in its form, review's limit 24h → 12h and one part fewer, a priority the data must hold,
the clock 3 days → 2), and ``plan.yaml`` that moves cases from the one to the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import signal
from pathlib import Path

import jsonschema
import pytest
from conftest import position
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import dump, finish, spawn

from engine import (
    Actor,
    PermissionDenied,
    Runtime,
    instance_from_json,
    instance_to_json,
    load_process,
    load_process_text,
)
from engine.cli import run
from engine.errors import PlanError, ReplayMismatch
from engine.instances import entry_to_json
from engine.migration import load_plan
from engine.schema import bundled_schema
from engine.service import Workflows

pytest_plugins = ["store_support"]

FIXTURES = Path(__file__).parent / "fixtures" / "migrate"
V1, V2, PLAN = FIXTURES / "claim_v1.yaml", FIXTURES / "claim_v2.yaml", FIXTURES / "plan.yaml"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
CUSTOMER = Actor("wang", ["customer"])
CLERK = Actor("li", ["clerk"])
FINANCE = Actor("qian", ["finance"])
SUPERVISOR = Actor("zhou", ["supervisor"])
MIGRATED_AT = MONDAY + dt.timedelta(hours=5)

STEPS = {  # case id → the events that bring it to its step on revision 1
    "in-apply": [],
    "in-triage": [("submit", CUSTOMER)],
    "in-review": [("submit", CUSTOMER), ("accept", CLERK), ("check_goods", CLERK)],
    "in-refund": [
        ("submit", CUSTOMER),
        ("accept", CLERK),
        ("check_goods", CLERK),
        ("check_account", FINANCE),
        ("approve", CLERK),
    ],
    "done": [
        ("submit", CUSTOMER),
        ("accept", CLERK),
        ("check_goods", CLERK),
        ("check_account", FINANCE),
        ("approve", CLERK),
        ("refunded", FINANCE),
    ],
}


def cases_on_revision_1(
    workflows: Workflows, steps: dict[str, list[tuple[str, Actor]]] = STEPS, estimate: int | None = None
) -> None:
    workflows.register(V1)
    for number, (case, events) in enumerate(steps.items()):
        data = {"estimate": 300 * number if estimate is None else estimate}
        workflows.start("claim", CUSTOMER, data, instance_id=case, at=MONDAY)
        for hour, (trigger, actor) in enumerate(events, start=1):
            payload = {"amount": 10} if trigger == "refunded" else {}
            workflows.fire(case, trigger, actor, payload, at=MONDAY + dt.timedelta(hours=hour))
    workflows.register(V2)


@pytest.fixture
def claims(store_url: str):  # type: ignore[no-untyped-def]
    with Workflows(store_url, clock=lambda: MIGRATED_AT) as workflows:
        cases_on_revision_1(workflows)
        yield workflows


@pytest.fixture
def sqlite_claims(sqlite_url: str):  # type: ignore[no-untyped-def]
    with Workflows(sqlite_url, clock=lambda: MIGRATED_AT) as workflows:
        cases_on_revision_1(workflows)
        yield sqlite_url, workflows


@pytest.fixture
def durable_claims(durable_url: str):  # type: ignore[no-untyped-def]
    """On SQLite and PostgreSQL, whose tables ``dump`` reads."""
    with Workflows(durable_url, clock=lambda: MIGRATED_AT) as workflows:
        cases_on_revision_1(workflows)
        yield durable_url, workflows


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


# --- what a change does to open cases ----------------------------------------------------------------


def test_the_open_cases_a_change_touches_are_grouped_by_how(claims):
    found = claims.impact(load_process(V1), load_process(V2))
    assert found.checked == 4  # the finished case is not open
    assert found.ids("removed-step") == ("in-triage",)
    assert found.ids("renamed-step") == ("in-refund",)
    assert found.ids("new-required-field") == ("in-refund",)
    assert [t.detail for t in found.of("new-required-field")] == ["form of `refunded`: new required field `method`"]
    assert set(found.ids("data-misfit")) == {"in-apply", "in-triage", "in-review", "in-refund"}  # no priority
    assert set(found.ids("clock-limit")) == {"in-triage", "in-review", "in-refund"}  # running since triage
    assert found.ids("parts") == ("in-review",)
    assert "part `check_account` removed" in found.of("parts")[0].detail


def test_a_change_that_touches_nothing_says_so(claims):
    same = claims.impact(load_process(V2), load_process(V2))  # no case runs on revision 2 yet
    assert (same.checked, same.touched) == (0, ())


def test_diff_with_a_store_lists_the_touched_cases_as_text_and_as_json_that_fits_its_schema(sqlite_claims):
    url, _ = sqlite_claims
    code, out, err = cli("diff", str(V1), str(V2), "--store", url)
    assert code == 1, err
    assert "4 of 4 open cases touched" in out
    assert "in a removed step: 1\n    in-triage (triage): step `triage` is removed" in out
    code, out, err = cli("diff", str(V1), str(V2), "--store", url, "--format", "json")
    document = json.loads(out)
    jsonschema.validate(document, bundled_schema("diff.schema.json"))
    groups = document["cases"]["groups"]
    assert groups["renamed-step"]["ids"] == ["in-refund"] and groups["parts"]["count"] == 1
    assert document["cases"]["touched"] == 4


# --- moving them ---------------------------------------------------------------------------------------


def test_a_dry_run_says_per_case_what_would_happen_and_changes_nothing(durable_claims):
    url, workflows = durable_claims
    before = dump(url)
    report = workflows.migrate(PLAN, SUPERVISOR, dry_run=True)
    assert dump(url) == before
    assert {c.instance_id: (c.outcome, c.source, c.target) for c in report.cases} == {
        "in-apply": ("would move", "apply", "apply"),
        "in-triage": ("would move", "triage", "review"),
        "in-review": ("would move", "review", "review"),
        "in-refund": ("would move", "refund", "payout"),
    }
    assert next(c for c in report.cases if c.instance_id == "in-refund").values == {"priority": "high"}
    code, out, _ = cli("migrate", "claim", "--plan", str(PLAN), "--store", url, "--dry-run", "--as", "zhou:supervisor")
    assert code == 0 and out.startswith("dry run: `claim` revision 1 → 2: 4 would move")
    assert dump(url) == before


def test_applied_each_case_is_on_the_new_revision_with_a_migration_entry_and_verifies(claims):
    report = claims.migrate(PLAN, SUPERVISOR)
    assert report.ok and report.count("moved") == 4
    new = claims.latest("claim")
    for case in ("in-apply", "in-triage", "in-review", "in-refund"):
        instance = claims.get(case)
        assert (instance.content_hash, instance.process_version) == (new.content_hash, 2)
        entry = instance.history[-1]
        assert (entry.trigger, entry.actor, entry.at) == (None, "zhou", MIGRATED_AT)
        written = entry_to_json(entry)["migration"]
        assert written["format"] == "procflow-migration/1"
        assert (written["from"]["revision"], written["to"]["revision"]) == (1, 2)
        assert written["steps"] == {"triage": "review", "refund": "payout"}
        assert instance.data["priority"] in ("normal", "high")
    assert claims.get("done").content_hash != new.content_hash  # a finished case stays where it ended
    assert claims.verify_store().ok


def test_time_limits_and_clocks_are_worked_out_on_the_new_revision(claims):
    claims.migrate(PLAN, SUPERVISOR)
    review = claims.get("in-review")  # same step: the stay goes on, its 12 h count from when it entered
    entered = MONDAY + dt.timedelta(hours=2)
    assert review.entered_at == entered
    limits = {(d.clock, d.threshold, d.fire): d.due for d in review.deadlines}
    assert limits[(None, None, None)] == entered + dt.timedelta(hours=12)
    clock_started = MONDAY + dt.timedelta(hours=1)  # entering triage, on revision 1
    assert limits[("answer", "limit", "procflow:clock")] == clock_started + dt.timedelta(days=2)
    triaged = claims.get("in-triage")  # another step: a new stay, from the migration
    assert triaged.state == "review" and triaged.entered_at == MIGRATED_AT
    assert min(d.due for d in triaged.deadlines if d.clock is None) == MIGRATED_AT + dt.timedelta(hours=12)
    assert claims.runtime("claim", review.content_hash).open_parts(review) == ()  # check_goods was done


def test_moved_cases_go_on_under_the_new_revision_and_still_verify(claims):
    claims.migrate(PLAN, SUPERVISOR)
    later = MIGRATED_AT + dt.timedelta(hours=1)
    with pytest.raises(Exception, match="method"):
        claims.fire("in-refund", "refunded", FINANCE, {"amount": 10}, at=later)  # the new form's field
    claims.fire("in-refund", "refunded", FINANCE, {"amount": 10, "method": "bank"}, at=later)
    with pytest.raises(Exception, match="accept"):
        claims.fire("in-apply", "accept", CLERK, at=later)
    claims.fire("in-apply", "submit", CUSTOMER, at=later)
    assert (claims.get("in-refund").state, claims.get("in-apply").state) == ("done", "review")
    assert claims.verify_store().ok


def test_a_rerun_skips_the_cases_already_moved_and_changes_nothing(durable_claims):
    url, workflows = durable_claims
    workflows.migrate(PLAN, SUPERVISOR)
    before = dump(url)
    again = workflows.migrate(PLAN, SUPERVISOR)
    assert dump(url) == before
    assert [c.outcome for c in again.cases] == ["already moved"] * 4
    assert all("moved at" in c.detail for c in again.cases)
    code, out, _ = cli("verify", "--store", url)
    assert (code, out) == (0, "checked 5 instance(s): 5 match their history, 0 damaged\n")


def test_a_case_that_cannot_move_is_reported_and_left_as_it_was_while_the_others_move(store_url):
    steps = {
        "parts-done": STEPS["in-review"] + [("check_account", FINANCE)],  # a part revision 2 has no more
        "fine": STEPS["in-review"],
    }
    with Workflows(store_url, clock=lambda: MIGRATED_AT) as workflows:
        cases_on_revision_1(workflows, steps)
        before = instance_to_json(workflows.get("parts-done"))
        report = workflows.migrate(PLAN, SUPERVISOR)
        refused = next(c for c in report.cases if c.instance_id == "parts-done")
        assert refused.outcome == "refused" and "check_account" in refused.detail
        assert instance_to_json(workflows.get("parts-done")) == before
        assert workflows.get("fine").process_version == 2 and not report.ok


def test_only_the_cases_the_plan_selects_move(tmp_path, claims):
    plan = _plan(tmp_path, "cases: {steps: [review, refund], where: data.estimate > 700}\n")
    report = claims.migrate(plan, SUPERVISOR)
    assert [c.instance_id for c in report.cases] == ["in-refund"]  # estimate 900; in-review's is 600
    assert claims.get("in-review").process_version == 1
    plan = _plan(tmp_path, "cases: {ids: [in-apply]}\n")
    assert [c.instance_id for c in claims.migrate(plan, SUPERVISOR).cases] == ["in-apply"]


def test_a_value_the_data_cannot_give_refuses_that_case(tmp_path, claims):
    plan = _plan(tmp_path, "", values='  priority: "data.missing + 1"\n')
    report = claims.migrate(plan, SUPERVISOR)
    assert {c.outcome for c in report.cases} == {"refused"}
    assert all("`set:`" in c.detail for c in report.cases)


def test_only_an_administrator_of_the_new_revision_may_migrate(durable_claims):
    url, workflows = durable_claims
    before = dump(url)
    with pytest.raises(PermissionDenied, match="`supervisor`"):
        workflows.migrate(PLAN, CLERK)
    code, _, err = cli("migrate", "claim", "--plan", str(PLAN), "--store", url, "--as", "li:clerk")
    assert code == 1 and "may not migrate" in err and "Traceback" not in err
    assert dump(url) == before


def test_a_migration_entry_reads_back_and_old_entries_keep_their_text(claims):
    claims.migrate(PLAN, SUPERVISOR)
    instance = claims.get("in-triage")
    assert instance_from_json(json.loads(json.dumps(instance_to_json(instance)))) == instance
    assert all("migration" not in entry_to_json(e) for e in instance.history[:-1])


def test_a_runtime_alone_refuses_to_verify_a_migrated_case_and_says_where_to(claims):
    claims.migrate(PLAN, SUPERVISOR)
    instance = claims.get("in-triage")
    with pytest.raises(ReplayMismatch, match="procflow verify"):
        Runtime(load_process(V2)).verify(instance)
    claims.verify("in-triage")


def test_a_migration_entry_changed_behind_procflow_s_back_fails_verify(claims):
    claims.migrate(PLAN, SUPERVISOR)
    instance = claims.get("in-triage")
    entry = instance.history[-1]
    instance.history[-1] = dataclasses.replace(entry, payload={"priority": "low"})
    with pytest.raises(ReplayMismatch):
        claims.runtime("claim", instance.content_hash).check_replayed(instance, claims.replay(instance))


# --- bad plans: each refused with its place, nothing changed ----------------------------------------------


def _plan(
    folder: Path,
    extra: str,
    *,
    source: str = "1",
    steps: str = "  triage: review\n  refund: payout\n",
    values: str = "  priority: \"'normal'\"\n",
) -> Path:
    text = f"migration: 1\nprocess: claim\nfrom: {source}\nto: 2\nsteps:\n{steps}set:\n{values}{extra}"
    path = folder / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BAD_PLANS = {
    "unknown-old-step": (dict(steps="  triag: review\n  refund: payout\n"), "triag", "did you mean `triage`?"),
    "unknown-new-step": (dict(steps="  triage: reviw\n  refund: payout\n"), "reviw", "did you mean `review`?"),
    "final-step": (dict(steps="  triage: done\n  refund: payout\n"), "done", "does not end it"),
    "bad-expression": (dict(values='  priority: "data.estimate >"\n'), "data.estimate >", "`set.priority`"),
    "missing-value": (dict(values="  estimate: 1\n"), "estimate: 1", "requires the data field `priority`"),
    "unknown-field": (dict(values="  priorty: \"'normal'\"\n"), "priorty", "did you mean `priority`?"),
    "wrong-revision": (dict(source="7"), "7\nto: 2", "has no revision 7"),
    "yaml-syntax": (dict(values="  priority: [\n"), None, "YAML"),  # found at the end of the file
    "unknown-key": (dict(), "colour", "colour"),
}


@pytest.mark.parametrize("case", BAD_PLANS, ids=list(BAD_PLANS))
def test_a_bad_plan_is_refused_at_its_place_and_nothing_changes(case, tmp_path, sqlite_claims):
    url, workflows = sqlite_claims
    change, needle, words = BAD_PLANS[case]
    plan = _plan(tmp_path, "colour: red\n" if case == "unknown-key" else "", **change)
    before = dump(url)
    with pytest.raises(PlanError) as refused:
        workflows.migrate(plan, SUPERVISOR)
    problem = refused.value.errors[0]
    assert words in problem.message or words.lower() in str(refused.value).lower(), str(refused.value)
    assert problem.location.file == str(plan)
    text = plan.read_text(encoding="utf-8")
    expected = (text.count("\n") + 1, 1) if needle is None else position(text, needle)
    assert (problem.location.line, problem.location.column) == expected
    code, out, err = cli("migrate", "claim", "--plan", str(plan), "--store", url, "--as", "zhou:supervisor")
    assert code == 2 and f"{plan}:{problem.location.line}:{problem.location.column}: error:" in err
    assert "Traceback" not in err and out == ""
    assert dump(url) == before


def test_a_plan_for_another_process_or_the_same_revision_is_refused(tmp_path, claims):
    plan = _plan(tmp_path, "").read_text(encoding="utf-8")
    (tmp_path / "same.yaml").write_text(plan.replace("from: 1", "from: 2"), encoding="utf-8")
    with pytest.raises(PlanError, match="same revision"):
        claims.migrate(tmp_path / "same.yaml", SUPERVISOR)
    (tmp_path / "other.yaml").write_text(plan.replace("process: claim", "process: clam"), encoding="utf-8")
    with pytest.raises(PlanError, match="clam"):
        claims.migrate(tmp_path / "other.yaml", SUPERVISOR)


def test_a_plan_naming_a_definition_file_the_store_does_not_hold_is_refused(tmp_path, claims):
    shutil.copy(V2, tmp_path / "claim_v3.yaml")
    text = (tmp_path / "claim_v3.yaml").read_text(encoding="utf-8").replace("version: 2", "version: 3")
    (tmp_path / "claim_v3.yaml").write_text(text, encoding="utf-8")
    plan = _plan(tmp_path, "")
    plan.write_text(plan.read_text(encoding="utf-8").replace("to: 2", "to: claim_v3.yaml"), encoding="utf-8")
    with pytest.raises(PlanError, match="register it first"):
        claims.migrate(plan, SUPERVISOR)


def test_the_report_as_json_fits_its_schema(sqlite_claims):
    url, _ = sqlite_claims
    args = ("migrate", "claim", "--plan", str(PLAN), "--store", url, "--as", "zhou:supervisor", "--format", "json")
    code, out, err = cli(*args, "--dry-run")
    report = json.loads(out)
    jsonschema.validate(report, bundled_schema("migration-report.schema.json"))
    assert (code, report["dry_run"], report["summary"]["would move"]) == (0, True, 4), err
    code, out, _ = cli(*args)
    assert (code, json.loads(out)["summary"]["moved"]) == (0, 4)


@pytest.mark.parametrize("name", ["migration.schema.json", "migration-report.schema.json"])
def test_the_migration_schemas_are_json_schemas_that_describe_what_they_hold(name):
    schema = bundled_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["description"] and all("description" in p for p in schema["properties"].values())


def test_the_shipped_plan_fits_its_schema_and_loads():
    plan = load_plan(PLAN)
    assert (plan.maps("triage"), plan.maps("review")) == ("review", "review")


# --- in other processes: killed midway, and racing live events ------------------------------------------


def test_a_killed_migration_leaves_each_case_on_one_revision_or_the_other(durable_url, tmp_path):
    many = {f"r{n:02d}": STEPS["in-review"] for n in range(24)}
    with Workflows(durable_url, clock=lambda: MIGRATED_AT) as workflows:
        cases_on_revision_1(workflows, many)
    plan = _plan(tmp_path, "")
    migrator = spawn("migrator", durable_url, str(plan))
    moved = []
    assert migrator.stdout is not None
    try:
        for line in migrator.stdout:
            if "ready" in line:
                continue
            moved.append(line.split()[0])
            if len(moved) == 5:
                migrator.send_signal(signal.SIGKILL)  # it is writing the next case as this lands
                break
    finally:
        migrator.kill()
        _, err = finish(migrator)
    assert len(moved) == 5, err
    with Workflows(durable_url) as workflows:
        revisions = {case: workflows.get(case).process_version for case in many}
        assert set(revisions.values()) <= {1, 2}
        for case, revision in revisions.items():
            migrations = [e for e in workflows.get(case).history if e.migration is not None]
            assert len(migrations) == revision - 1  # moved exactly once, or not at all
        assert all(revisions[case] == 2 for case in moved)
        assert workflows.verify_store().ok
        rest = workflows.migrate(plan, SUPERVISOR)
        assert rest.count("already moved") == sum(1 for r in revisions.values() if r == 2)
        assert rest.count("moved") == sum(1 for r in revisions.values() if r == 1)


def test_a_migration_racing_live_events_on_postgresql_loses_none_and_moves_each_case_once(pg_url, tmp_path):
    many = {f"r{n:02d}": STEPS["in-review"] for n in range(30)}
    with Workflows(pg_url) as workflows:
        cases_on_revision_1(workflows, many)
    go = tmp_path / "go"
    noters = [spawn("noter", pg_url, tag, "150", ",".join(many), str(go)) for tag in ("a", "b")]
    for noter in noters:
        assert noter.stdout is not None and "ready" in noter.stdout.readline()
    migrator = spawn("migrator", pg_url, str(_plan(tmp_path, "")), str(go))
    assert migrator.stdout is not None and "ready" in migrator.stdout.readline()
    go.touch()
    out, err = finish(migrator)
    assert migrator.returncode == 0, err
    assert sorted(line.split()[1] for line in out.splitlines()) == ["moved"] * len(many)
    acknowledged = []
    for noter in noters:
        lines, noted_err = finish(noter)
        assert noter.returncode == 0, noted_err
        acknowledged += [json.loads(line) for line in lines.splitlines()]
    with Workflows(pg_url) as workflows:
        for case in many:
            instance = workflows.get(case)
            assert instance.process_version == 2
            assert sum(1 for e in instance.history if e.migration is not None) == 1
        keys = {e.key: case for case in many for e in workflows.get(case).history if e.key is not None}
        for event in acknowledged:
            if "ack" in event:
                assert keys.get(event["ack"]) == event["instance"], f"acknowledged {event} is not stored"
        assert len(keys) == sum(1 for e in acknowledged if "ack" in e)  # no refused event was stored
        assert workflows.verify_store().ok


# --- stores written by earlier procflows ---------------------------------------------------------------

FORMATS = sorted(p for p in (Path(__file__).parent / "fixtures" / "formats").iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", FORMATS, ids=[f.name for f in FORMATS])
def test_the_open_cases_of_an_old_store_move_onto_a_new_revision_and_verify(folder, tmp_path):
    shutil.copy(folder / "store.db", tmp_path / "store.db")
    with Workflows(f"sqlite:///{tmp_path / 'store.db'}") as workflows:
        processes = sorted({d.ref.id for d in workflows.store.definitions()})
        moved = 0
        for process_id in processes:
            stored = workflows.store.definition(process_id)
            text = re.sub(
                r"(?m)^version: *(\d+)", lambda m: f"version: {int(m.group(1)) + 100}", stored.source, count=1
            )
            if not re.search(r"(?m)^administrators:", text):
                text += "\nadministrators: [procflow_admin]\n"
            text = re.sub(
                r"(?m)^roles:\n", "roles:\n  procflow_admin: {zh: 管理员, en: Administrator}\n", text, count=1
            )
            new = workflows.register(load_process_text(text, f"{process_id}-new.yaml"))
            plan = tmp_path / f"{process_id}.plan.yaml"
            plan.write_text(
                f"migration: 1\nprocess: {process_id}\nfrom: {stored.ref.revision}\nto: {new.revision}\n",
                encoding="utf-8",
            )
            admins = load_process_text(text, "x.yaml").administrators
            report = workflows.migrate(plan, Actor("admin", admins))
            assert report.ok, report.lines()
            moved += report.count("moved")
        assert moved >= len(processes)  # each procedure has open cases
        assert workflows.verify_store().ok


def test_a_migrated_case_is_drawn_over_its_new_revision_from_its_migration_on(claims, tmp_path):
    claims.migrate(PLAN, SUPERVISOR)
    history = tmp_path / "in-triage.json"
    history.write_text(json.dumps(instance_to_json(claims.get("in-triage")), ensure_ascii=False), encoding="utf-8")
    code, _, err = cli("render", str(V2), "--instance", str(history), "-o", str(tmp_path / "case.dot"), "--lang", "en")
    assert code == 0, err
    drawn = (tmp_path / "case.dot").read_text(encoding="utf-8")
    assert "since its migration" in drawn and '"triage"' not in drawn  # a step of revision 1 only


def test_a_removed_step_the_plan_does_not_map_is_warned_of_and_its_cases_refused(tmp_path, claims):
    plan = _plan(tmp_path, "", steps="  refund: payout\n")
    report = claims.migrate(plan, SUPERVISOR)
    assert [w.code for w in report.warnings] == ["unmapped-step"]
    assert "step `triage` is not in the new revision" in report.warnings[0].message
    refused = {c.instance_id: c.detail for c in report.cases if c.outcome == "refused"}
    assert list(refused) == ["in-triage"] and "map `triage`" in refused["in-triage"]
    assert claims.get("in-triage").process_version == 1
    assert report.count("moved") == 3


def test_the_history_says_who_migrated_a_case_from_which_revision_to_which(sqlite_claims):
    url, workflows = sqlite_claims
    workflows.migrate(PLAN, SUPERVISOR)
    code, out, err = cli("history", "in-refund", "--store", url)
    assert code == 0, err
    assert "migrated           zhou [supervisor]            refund → payout" in out
    assert "migrated from revision 1 (version 1) to revision 2 (version 2) by plan claims onto revision 2" in out


PATH_ON_1 = STEPS["done"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.sampled_from([0, 1, 2, 3, 5]),  # 4: check_account done in review, a part revision 2 lacks
    estimate=st.integers(0, 2_000),
    hours=st.integers(0, 100),
    notes=st.integers(0, 3),
)
def test_any_open_case_moved_then_carried_on_replays_exactly(before, estimate, hours, notes):
    """Wherever a case is on revision 1 and whatever it holds, once moved it verifies, and goes on
    verifying as events are sent on revision 2."""
    when = MONDAY + dt.timedelta(hours=len(PATH_ON_1) + hours)
    with Workflows("memory:", clock=lambda: when) as workflows:
        cases_on_revision_1(workflows, {"case": PATH_ON_1[:before]}, estimate)
        report = workflows.migrate(PLAN, SUPERVISOR)
        assert [(c.outcome, c.values) for c in report.cases] == [
            ("moved", {"priority": "high" if estimate > 500 else "normal"})
        ]
        workflows.verify("case")
        for n in range(notes if workflows.get("case").state == "review" else 0):  # review's own loop
            workflows.fire("case", "note", CLERK, at=when + dt.timedelta(minutes=n))
        assert workflows.verify_store().ok

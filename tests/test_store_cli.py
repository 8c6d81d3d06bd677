"""The store commands: start, fire, show, history, list, worker. Bad input is one line on stderr,
exit 1 (refused, not found) or 2 (usage), and changes nothing."""

from __future__ import annotations

import io
import json
import signal

import pytest
from store_support import CUSTOMER, LONG_AGO, MINIMAL, finish, spawn

from engine import instance_from_json
from engine.cli import run
from engine.service import Workflows

pytest_plugins = ["store_support"]


def procflow(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def store(sqlite_url):
    return sqlite_url


def started(store: str) -> str:
    code, out, err = procflow(
        "start", str(MINIMAL), "--data", '{"model": "X1"}', "--as", "wang:customer", "--store", store
    )
    assert code == 0, err
    return out.splitlines()[0]


def test_start_fire_show_history_and_list(store):
    instance_id = started(store)
    code, out, _ = procflow(
        "fire",
        instance_id,
        "submit",
        "--payload",
        '{"in_warranty": false, "model": "X1"}',
        "--as",
        "wang:customer",
        "--store",
        store,
    )
    assert code == 0
    assert "decision `check_warranty`: 超出保修期 / Out of warranty → quote" in out
    assert out.endswith("now in `quote` 报价 / Quote the repair\n")

    code, out, _ = procflow("show", instance_id, "--store", store)
    assert code == 0
    assert out.startswith(f"instance {instance_id} · minimal_repair revision 1 (version 1, content ")
    assert "state:    `quote` 报价 / Quote the repair" in out
    assert '"in_warranty": false' in out
    assert "send_quote" in out and "by: supervisor" in out and "payload: quote" in out
    assert "fires `escalate`" in out

    code, out, _ = procflow("history", instance_id, "--store", store)
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:3]] == ["start", "submit"]

    code, out, _ = procflow("history", instance_id, "--json", "--store", store)
    record = instance_from_json(json.loads(out))
    with Workflows(store) as workflows:
        assert record == workflows.get(instance_id)

    code, out, _ = procflow("list", "--state", "quote", "--store", store)
    assert out.splitlines()[0].startswith(f"{instance_id}  minimal_repair r1 (v1)  quote")
    assert out.endswith("1 instance(s)\n")
    assert procflow("list", "--state", "apply", "--store", store)[1] == "0 instance(s)\n"


def test_start_by_registered_process_id_and_with_a_key(store):
    first = started(store)
    code, out, err = procflow("start", "minimal_repair", "--as", "wang:customer", "--key", "k", "--store", store)
    assert code == 0, err
    again = procflow("start", "minimal_repair", "--as", "wang:customer", "--key", "k", "--store", store)[1]
    assert again.splitlines()[0] == out.splitlines()[0] != first


def test_start_from_a_changed_file_says_which_revision_it_runs_on(store, tmp_path):
    first = started(store)
    edited = tmp_path / "repair.yaml"
    edited.write_text(MINIMAL.read_text(encoding="utf-8").replace("payload.quote <= 500", "payload.quote <= 800"))
    start = ("start", str(edited), "--as", "wang:customer", "--store", store)
    code, out, err = procflow(*start)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("runs on minimal_repair revision 2 (version 1, content ")
    assert lines[2] == (
        f"note: stored as revision 2 (declares version 1, as revision 1 did: consider raising `version:` in {edited})"
    )
    again = procflow(*start)[1].splitlines()
    assert again[1] == lines[1] and again[0] != lines[0]  # the same content: the same revision
    by_id = procflow("start", "minimal_repair", "--as", "wang:customer", "--store", store)[1].splitlines()
    assert by_id[1] == lines[1] and not by_id[2].startswith("note:")
    listed = procflow("list", "--store", store)[1]
    assert f"{first}  minimal_repair r1 (v1)  apply" in listed
    assert f"{lines[0]}  minimal_repair r2 (v1)  apply" in listed
    assert "minimal_repair revision 1 (version 1" in procflow("history", first, "--store", store)[1]


def test_fire_with_a_key_twice_applies_once(store):
    instance_id = started(store)
    args = ("fire", instance_id, "withdraw", "--as", "wang:customer", "--key", "w-1", "--store", store)
    assert procflow(*args)[0] == 0
    assert procflow(*args)[0] == 0
    with Workflows(store) as workflows:
        assert [e.trigger for e in workflows.history(instance_id)] == [None, "withdraw"]


def test_listing_overdue_instances(store):
    fresh = started(store)
    with Workflows(store) as workflows:
        workflows.start("minimal_repair", CUSTOMER, instance_id="late", at=LONG_AGO)
        workflows.fire("late", "submit", CUSTOMER, {"in_warranty": False, "model": "X1"}, at=LONG_AGO)
    code, out, _ = procflow("list", "--overdue", "--store", store)
    assert code == 0
    [line, total] = out.splitlines()
    assert line.startswith("late  minimal_repair r1 (v1)  quote") and "overdue since 2026-01-" in line
    assert total == "1 instance(s)"
    assert fresh in procflow("list", "--store", store)[1]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("fire", "{id}", "send_quote", "--payload", '{"quote": 100}', "--as", "wang:customer"), 1, "refused:"),
        (("fire", "{id}", "submit", "--payload", "{not json", "--as", "wang:customer"), 2, "--payload is not JSON"),
        (("fire", "{id}", "submit", "--payload", "[1]", "--as", "wang:customer"), 2, "must be a JSON object"),
        (("fire", "{id}", "submit", "--as", "wang"), 2, "--as takes ACTOR:ROLE"),
        (("fire", "{id}", "submit", "--as", ":customer"), 2, "--as takes ACTOR:ROLE"),
        (("fire", "nope", "submit", "--as", "wang:customer"), 1, "no instance `nope`"),
        (("show", "nope"), 1, "no instance `nope`"),
        (("history", "nope", "--json"), 1, "no instance `nope`"),
        (("start", "exchange", "--as", "wang:customer"), 1, "no definition of process `exchange`"),
        (("start", "missing.yaml", "--as", "wang:customer"), 2, "no such file: missing.yaml"),
        (("start", "minimal_repair", "--data", "{}", "--as", "li:clerk"), 1, "refused: `li`"),
        (("list",), 2, "is not a store URL"),
    ],
    ids=lambda value: value if isinstance(value, int) else None,
)
def test_bad_input_is_one_line_and_changes_nothing(store, argv, code, message):
    instance_id = started(store)
    with Workflows(store) as workflows:
        before = workflows.get(instance_id)
    store_args = ("--store", "ftp://nowhere") if argv == ("list",) else ("--store", store)
    exit_code, out, err = procflow(*(a.replace("{id}", instance_id) for a in argv), *store_args)
    assert (exit_code, out) == (code, "")
    assert message in err
    assert "Traceback" not in err and err.count("\n") <= 2
    with Workflows(store) as workflows:
        assert workflows.get(instance_id) == before
        assert len(workflows.list()) == 1


def test_the_worker_fires_due_deadlines_and_stops_cleanly_on_sigterm(sqlite_url):
    with Workflows(sqlite_url) as workflows:
        workflows.register(MINIMAL)
        instance = workflows.start("minimal_repair", CUSTOMER, instance_id="W", at=LONG_AGO)
        workflows.fire("W", "submit", CUSTOMER, {"in_warranty": False, "model": "X1"}, at=LONG_AGO)
    worker = spawn("-m", "engine", "worker", "--store", sqlite_url, "--interval", "0.1")
    assert worker.stdout is not None
    try:
        assert worker.stdout.readline().startswith(f"worker on {sqlite_url}")
        assert worker.stdout.readline().endswith("fired 1 of 1 claimed\n")
        worker.send_signal(signal.SIGTERM)
        out, err = finish(worker, timeout=60)
    finally:
        worker.kill()
        finish(worker)
    assert worker.returncode == 0, err
    assert out == "worker stopped: fired 1 deadline(s)\n"
    assert err == ""
    with Workflows(sqlite_url) as workflows:
        assert [e.trigger for e in workflows.history(instance.id)][-1] == "escalate"


def test_the_worker_once_exits_when_nothing_is_due(sqlite_url):
    code, out, err = procflow("worker", "--once", "--store", sqlite_url)
    assert (code, err) == (0, "")
    assert out.endswith("worker stopped: fired 0 deadline(s)\n")


@pytest.mark.parametrize("argv", [("worker", "--batch", "0"), ("worker", "--interval", "-1")])
def test_worker_options_are_checked(argv):
    code, _, err = procflow(*argv, "--store", "memory:")
    assert code == 2
    assert "must be" in err

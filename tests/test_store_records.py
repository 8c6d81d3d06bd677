"""Records kept by every store (memory, SQLite, PostgreSQL) and shown by `procflow records`."""

from __future__ import annotations

import io
import json

import pytest
from test_records import APPLICATION, CLERK, CUSTOMER, DEMO, MONDAY, at

from engine import Actor, MissingRecord, load_process_text
from engine.cli import run
from engine.service import Workflows

pytest_plugins = ["store_support"]


def stored_case(workflows: Workflows) -> None:
    workflows.register(load_process_text(DEMO, "demo.yaml"))
    workflows.start("records_demo", CUSTOMER, at=at(0), instance_id="R-1")
    workflows.fire("R-1", "submit", CUSTOMER, APPLICATION, at=at(1))
    workflows.fire("R-1", "correct", CLERK, {"fault": "屏幕闪烁"}, at=at(2))
    workflows.fire("R-1", "issue", CLERK, {"order_no": "FW-01"}, at=at(3))


def test_a_store_keeps_every_version(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        stored_case(workflows)
        records = workflows.records("R-1")
        assert [v.version for v in records["application"]] == [1, 2]
        assert [v.fields["fault"] for v in records["application"]] == ["开机无显示", "屏幕闪烁"]
        assert (records["order"][0].actor, records["order"][0].event) == ("li", 3)
        workflows.verify("R-1")
        assert workflows.verify_store().ok


def test_a_new_connection_reads_the_records_another_wrote(durable_url):
    with Workflows(durable_url, clock=lambda: MONDAY) as first:
        stored_case(first)
        written = first.records("R-1")
        instance = first.get("R-1")
    with Workflows(durable_url, clock=lambda: MONDAY) as second:
        assert second.records("R-1") == written
        assert second.get("R-1") == instance


def test_a_refused_event_leaves_the_stored_records_as_they_were(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(load_process_text(DEMO, "demo.yaml"))
        workflows.start("records_demo", CUSTOMER, at=at(0), instance_id="R-2")
        workflows.fire("R-2", "submit", CUSTOMER, APPLICATION, at=at(1))
        workflows.fire("R-2", "escalate", CLERK, {}, at=at(2))
        before = workflows.get("R-2")
        with pytest.raises(MissingRecord):
            workflows.fire("R-2", "archive", Actor("zhou", ["supervisor"]), {}, at=at(3))
        assert workflows.get("R-2") == before
        assert list(workflows.records("R-2")) == ["application"]


def procflow(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_records_command_lists_each_version_with_its_author_and_event(sqlite_url):
    with Workflows(sqlite_url, clock=lambda: MONDAY) as workflows:
        stored_case(workflows)
    code, out, err = procflow("records", "R-1", "--store", sqlite_url)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "application 维修申请 / Repair application" in lines
    assert any(line.startswith("  v2 amended by li (clerk) at 2026-11-23T11:00:00+08:00, event 2") for line in lines)
    assert '    fault: "屏幕闪烁"' in lines
    assert lines[-1] == "2 record(s)"

    code, out, err = procflow("records", "R-1", "--json", "--store", sqlite_url)
    assert code == 0, err
    shown = json.loads(out)
    assert list(shown) == ["application", "order"]
    assert shown["order"][0] == {
        "record": "order",
        "version": 1,
        "fields": {"order_no": "FW-01", "model": "XK-200"},
        "actor": "li",
        "roles": ["clerk"],
        "at": "2026-11-23T12:00:00+08:00",
        "event": 3,
        "trigger": "issue",
        "amended": False,
    }


def test_the_records_command_names_an_unknown_instance_in_one_line(sqlite_url):
    code, out, err = procflow("records", "nope", "--store", sqlite_url)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "nope" in err

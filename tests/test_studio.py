"""The Studio: a process owner's draft checked as `procflow validate` checks it, drawn, diffed against
the published revision, and published (role `publisher` only) with its impact and a migration plan."""

import pytest
from conftest import FIXTURE
from http_support import api_client, assert_problem, make_users

from engine import studio
from engine.loader import MAX_FILE_BYTES
from engine.processes import validate_file
from engine.runtime import Actor
from engine.service import Workflows

PROCESS = "minimal_repair"
TEXT = FIXTURE.read_text(encoding="utf-8")
RENAMED = TEXT.replace("check_warranty", "warranty_check")
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def users(tmp_path):
    return make_users(tmp_path, pat="publisher")


@pytest.fixture
def workflows():
    with Workflows("memory:") as flows:
        flows.register(FIXTURE)
        yield flows


@pytest.fixture
def client(workflows, users):
    return api_client(workflows, users)


def post(client, users, path, text, name="li"):
    headers = YAML | users.bearer(name) if name in users.tokens else YAML
    return client.post(path, headers=headers, content=text.encode("utf-8"))


def test_check_reports_what_validate_reports_at_the_same_places(tmp_path):
    draft = TEXT.replace("owner: service", "owner: service\ncolour: red")
    (tmp_path / "d.yaml").write_text(draft, encoding="utf-8")
    checked = studio.check(draft, str(tmp_path / "d.yaml"))
    assert checked.problems == validate_file(tmp_path / "d.yaml").problems
    [problem] = checked.as_json()["problems"]
    assert (problem["line"], problem["column"], problem["end"]) == (7, 1, {"line": 7, "column": 7})
    assert problem["code"] == "unknown-key" and problem["text"] == str(checked.problems[0])  # the CLI's line


@pytest.mark.parametrize("path", ["/studio/check", f"/studio/diff/{PROCESS}", f"/studio/publish/{PROCESS}"])
def test_every_studio_route_needs_a_signed_in_caller(client, users, path):
    answer = client.post(path, headers=YAML, content=TEXT.encode())
    assert_problem(answer, 401, "unauthenticated")


def test_check_places_a_yaml_error_at_its_line_and_column(client, users):
    answer = post(client, users, "/studio/check", "id: x\nstates: [\n", name="sam")
    assert answer.status_code == 200
    body = answer.json()
    assert body["valid"] is False and body["svg"] is None
    [problem] = body["problems"]
    assert (problem["code"], problem["line"], problem["file"]) == ("yaml-syntax", 3, "<draft>")


def test_check_draws_a_valid_draft(client, users):
    body = post(client, users, "/studio/check", TEXT, name="sam").json()
    assert body["valid"] and body["problems"] == []
    assert body["process"]["id"] == PROCESS
    assert body["svg"].lstrip().startswith("<?xml") and "<svg" in body["svg"]


def test_check_takes_a_definition_as_json_too(client, users):
    answer = client.post("/studio/check", headers=users.bearer("sam"), json={"id": "x"})
    assert answer.status_code == 200 and answer.json()["valid"] is False


def test_diff_lists_the_changes_and_draws_them(client, users):
    body = post(client, users, f"/studio/diff/{PROCESS}", RENAMED, name="sam").json()
    assert body["published"]["revision"] == 1
    assert body["old"]["file"] == f"{PROCESS}@1" and str(FIXTURE.parent) not in body["svg"]  # not the server's path
    assert {"kind": "renamed", "element": "step", "id": "warranty_check"}.items() <= body["changes"][0].items()
    assert "<svg" in body["svg"] and any("warranty_check" in line for line in body["lines"])


def test_diff_of_a_draft_with_errors_is_422_with_the_problems_at_their_places(client, users):
    answer = post(client, users, f"/studio/diff/{PROCESS}", TEXT.replace("version: 1", "version: one"), name="sam")
    body = assert_problem(answer, 422, "invalid-definition")
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(4, 10)]


def test_publishing_needs_the_publisher_role_and_a_refusal_changes_nothing(client, users, workflows):
    answer = post(client, users, f"/studio/publish/{PROCESS}", RENAMED, name="sam")
    assert_problem(answer, 403, "permission")
    assert workflows.latest(PROCESS).revision == 1
    with pytest.raises(studio.PermissionDenied):
        studio.publish(workflows, RENAMED, Actor("sam", ("supervisor",)))
    assert workflows.latest(PROCESS).revision == 1


def test_publishing_a_draft_with_errors_is_422_and_stores_nothing(client, users, workflows):
    answer = post(client, users, f"/studio/publish/{PROCESS}", TEXT.replace("version: 1", "version: one"), name="pat")
    assert_problem(answer, 422, "invalid-definition")
    assert workflows.latest(PROCESS).revision == 1


def test_publishing_another_procedures_draft_under_this_name_is_refused(client, users, workflows):
    answer = post(client, users, "/studio/publish/other", RENAMED, name="pat")
    assert_problem(answer, 422, "wrong-process")


def test_publishing_creates_the_next_revision_with_its_impact_and_plan(client, users, workflows):
    case = client.post(f"/procedures/{PROCESS}/cases", headers=users.bearer("cara"), json={}).json()["id"]
    client.post(
        f"/procedures/{PROCESS}/cases/{case}/events/submit",
        headers=users.bearer("cara"),
        json={"model": "X1", "in_warranty": True},
    )
    answer = post(client, users, f"/studio/publish/{PROCESS}", RENAMED, name="pat")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["revision"]["revision"] == 2 and body["previous"]["revision"] == 1 and body["created"]
    assert body["impact"]["checked"] == 1
    assert "from: 1\nto: 2\nsteps:\n  check_warranty: warranty_check\n" in body["plan"]
    shown = client.get(f"/procedures/{PROCESS}", headers=users.bearer("sam")).json()
    assert shown["revision"] == 2 and "warranty_check" in shown["definition"]["states"]
    assert workflows.store.definition(PROCESS).source == RENAMED  # the owner's YAML as written, comments and all
    again = post(client, users, f"/studio/publish/{PROCESS}", RENAMED, name="pat")
    assert again.status_code == 200 and again.json()["created"] is False
    assert workflows.latest(PROCESS).revision == 2


def test_the_studio_routes_are_in_the_openapi_document(client, users):
    paths = client.get("/openapi.json", headers=users.bearer("sam")).json()["paths"]
    assert {"/studio/check", "/studio/diff/{process}", "/studio/publish/{process}"} <= set(paths)


def test_a_draft_past_a_definition_files_size_or_of_another_type_is_refused(client, users):
    too_big = "# " + "x" * (MAX_FILE_BYTES + 1)
    assert_problem(post(client, users, "/studio/check", too_big, name="sam"), 413, "too-large")
    html = client.post("/studio/check", headers=users.bearer("sam") | {"Content-Type": "text/html"}, content=b"id: x")
    assert_problem(html, 415, "unsupported-media-type")

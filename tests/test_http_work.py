"""The HTTP API over work: the worklist, claims, cancelling, moves by hand and migrations.

Every route signs the caller in and acts with the roles the users file gives them: a body or a
header naming roles gives none. Each refusal is problem details with its status and stable code, and
leaves the case as it was.
"""

import json

import pytest
from conftest import FIXTURE, ROOT, mutate
from http_support import Client, api_client, assert_problem, basic, make_users

from engine.errors import ClaimRefused, InvalidQuery, MigrationRefused, MoveRefused, PlanError, Problem, StepClaimed
from engine.http import Authenticator, create_app
from engine.http.problems import problem_for
from engine.runtime import Actor
from engine.service import Workflows
from engine.source import SourceLocation

WITHDRAWABLE = ROOT / "tests" / "fixtures" / "corrections" / "withdrawable.yaml"
MIGRATE = ROOT / "tests" / "fixtures" / "migrate"
CLAIMS = "/procedures/withdrawable/cases"
PLAN = """migration: 1
title: claims onto revision 2
process: claim
from: 1
to: 2
steps:
  triage: review
  refund: payout
set:
  priority: "'high' if data.estimate > 500 else 'normal'"
"""


@pytest.fixture
def users(tmp_path):
    return make_users(tmp_path, chen="clerk", qian="finance")


@pytest.fixture
def workflows():
    with Workflows("memory:") as flows:
        flows.register(WITHDRAWABLE)
        flows.register(FIXTURE)
        yield flows


@pytest.fixture
def client(workflows, users):
    return api_client(workflows, users)


def in_review(client, users) -> str:
    """A case of `withdrawable` the customer has submitted: in `review`, a clerk's step with two parts."""
    started = client.post(CLAIMS, headers=users.bearer("cara"), json={})
    assert started.status_code == 201, started.text
    case = started.json()["id"]
    submitted = client.post(f"{CLAIMS}/{case}/events/submit", headers=users.bearer("cara"), json={})
    assert submitted.status_code == 200, submitted.text
    return case


def unchanged(workflows, case, version, response, status, code):
    body = assert_problem(response, status, code)
    assert workflows.get(case).version == version
    return body


# --- who is calling ---------------------------------------------------------------------------------

NEW_ROUTES = [
    ("GET", "/worklist"),
    ("POST", "/cases/c-1/claim"),
    ("POST", "/cases/c-1/release"),
    ("POST", "/cases/c-1/assign"),
    ("POST", "/cases/c-1/cancel"),
    ("POST", "/cases/c-1/move"),
    ("POST", "/procedures/claim/migrations"),
    ("GET", "/procedures/withdrawable/impact"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES, ids=[p for _, p in NEW_ROUTES])
def test_each_new_route_refuses_a_call_without_credentials(client, method, path):
    response = client.request(method, path, json={"to": "x", "reason": "y"} if method == "POST" else None)
    assert_problem(response, 401, "unauthenticated")
    assert "Bearer" in response.headers["www-authenticate"]


CLAIMED_ROLES = {"X-Roles": "supervisor", "X-Procflow-Roles": "supervisor", "X-Remote-User": "sam"}


def test_roles_named_in_the_request_give_none_to_any_new_route(client, users, workflows):
    case = in_review(client, users)
    li = basic("li") | CLAIMED_ROLES
    forged = {"roles": ["supervisor"], "actor": "sam"}
    unchanged(workflows, case, 2, client.post(f"/cases/{case}/move", headers=li, json=forged), 422, "invalid-body")
    move = {"to": "refund", "reason": "forged"}
    unchanged(workflows, case, 2, client.post(f"/cases/{case}/move", headers=li, json=move), 403, "permission")
    assign = {"to": "chen"}
    unchanged(workflows, case, 2, client.post(f"/cases/{case}/assign", headers=li, json=assign), 403, "permission")
    cancel = {"reason": "forged", "roles": ["customer"]}
    unchanged(workflows, case, 2, client.post(f"/cases/{case}/cancel", headers=li, json=cancel), 403, "permission")
    listed = client.get("/worklist?role=supervisor&roles=supervisor", headers=li)
    assert_problem(listed, 400, "invalid-query")  # li holds no role `supervisor`, whatever the headers say
    mine = client.get("/worklist", headers=li).json()["items"]
    assert [i["case"] for i in mine] == [case] and all(t["trigger"] != "withdraw" for t in mine[0]["triggers"])


# --- the worklist -------------------------------------------------------------------------------------


def test_the_worklist_lists_the_callers_open_steps_with_what_they_may_fire(client, users):
    case = in_review(client, users)
    response = client.get("/worklist", headers=basic("li"))
    assert response.status_code == 200
    page = response.json()
    assert page["next"] is None and page["damaged"] == []
    [item] = page["items"]
    assert (item["process"], item["case"], item["step"]["id"]) == ("withdrawable", case, "review")
    assert item["step"]["label"] == {"zh": "商家审核", "en": "Review"}
    assert item["claimed_by"] is None and item["due"] is not None and item["overdue"] is False
    triggers = {t["trigger"]: t for t in item["triggers"]}
    assert "check_goods" in triggers and "check_account" not in triggers  # the finance part is not li's
    assert triggers["check_goods"]["href"] == f"{CLAIMS}/{case}/events/check_goods"
    assert triggers["check_goods"]["label"] == {"zh": "检查货品", "en": "Check the goods"}
    assert [(c["clock"], c["status"]) for c in item["clocks"]] == [("answer", "running")]
    finance = client.get("/worklist", headers=users.bearer("qian")).json()["items"]
    assert [t["trigger"] for t in finance[0]["triggers"]] == ["check_account"]
    assert client.get("/worklist", headers=users.bearer("sam")).json()["items"] == []


def test_the_worklist_filters_and_pages(client, users):
    cases = [in_review(client, users) for _ in range(3)]
    li = basic("li")
    first = client.get("/worklist?limit=2", headers=li).json()
    assert len(first["items"]) == 2 and first["next"] is not None
    rest = client.get("/worklist", params={"limit": 2, "after": first["next"]}, headers=li).json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert sorted(i["case"] for i in first["items"] + rest["items"]) == sorted(cases)
    assert client.get("/worklist?process=minimal_repair", headers=li).json()["items"] == []
    assert len(client.get("/worklist?process=withdrawable&role=clerk", headers=li).json()["items"]) == 3
    for spelling in ("true", "1"):
        assert client.get(f"/worklist?overdue={spelling}", headers=li).json()["items"] == []  # due in 24 h
    for spelling in ("false", "0"):
        assert len(client.get(f"/worklist?overdue={spelling}", headers=li).json()["items"]) == 3


@pytest.mark.parametrize(
    "query",
    [
        "overdue=yes",
        "overdue=",
        "limit=0",
        "limit=201",
        "limit=ten",
        "limit=%C2%B2",
        "after=not-a-cursor",
        "role=finance",
        "process=Not%20an%20id",
    ],
)
def test_a_worklist_query_that_cannot_be_used_is_a_400(client, users, query):
    body = assert_problem(client.get(f"/worklist?{query}", headers=basic("li")), 400, "invalid-query")
    assert body["detail"]


# --- claims -------------------------------------------------------------------------------------------


def test_a_claim_shows_who_has_the_step_and_holds_it_for_them(client, users, workflows):
    case = in_review(client, users)
    claimed = client.post(f"/cases/{case}/claim", headers=basic("li"))
    assert claimed.status_code == 200 and claimed.headers["etag"] == '"3"'
    assert claimed.json()["entry"]["assignment"]["to"] == "li"
    [item] = client.get("/worklist", headers=users.bearer("chen")).json()["items"]
    assert item["claimed_by"] == "li"
    body = unchanged(
        workflows, case, 3, client.post(f"/cases/{case}/claim", headers=users.bearer("chen")), 409, "claim"
    )
    assert (body["reason"], body["claimed_by"]) == ("held", "li")
    again = unchanged(workflows, case, 3, client.post(f"/cases/{case}/claim", headers=basic("li")), 409, "claim")
    assert again["reason"] == "held"
    for part, who in (("check_goods", basic("li")), ("check_account", users.bearer("qian"))):
        assert client.post(f"{CLAIMS}/{case}/events/{part}", headers=who, json={}).status_code == 200
    held = client.post(f"{CLAIMS}/{case}/events/approve", headers=users.bearer("chen"), json={})
    assert unchanged(workflows, case, 5, held, 409, "claimed")["claimed_by"] == "li"
    assert client.post(f"{CLAIMS}/{case}/events/approve", headers=basic("li"), json={}).status_code == 200


def test_a_claim_is_released_by_its_holder_or_a_supervisor_only(client, users, workflows):
    case = in_review(client, users)
    nothing = unchanged(workflows, case, 2, client.post(f"/cases/{case}/release", headers=basic("li")), 409, "claim")
    assert nothing["reason"] == "unclaimed"
    assert client.post(f"/cases/{case}/claim", headers=basic("li")).status_code == 200
    other = client.post(f"/cases/{case}/release", headers=users.bearer("chen"))
    assert unchanged(workflows, case, 3, other, 403, "claim")["reason"] == "not-allowed"
    released = client.post(f"/cases/{case}/release", headers=users.bearer("sam"))
    assert released.status_code == 200 and released.json()["entry"]["assignment"]["to"] is None


def test_a_step_with_nothing_for_the_caller_or_a_finished_case_cannot_be_claimed(client, users, workflows):
    case = in_review(client, users)
    stranger = client.post(f"/cases/{case}/claim", headers=users.bearer("sam"))
    assert unchanged(workflows, case, 2, stranger, 403, "claim")["reason"] == "not-allowed"
    body = {"reason": "changed my mind"}
    assert client.post(f"/cases/{case}/cancel", headers=users.bearer("cara"), json=body).status_code == 200
    finished = client.post(f"/cases/{case}/claim", headers=basic("li"))
    assert unchanged(workflows, case, 3, finished, 409, "claim")["reason"] == "finished"


def test_a_supervisor_assigns_the_step_to_a_user_with_the_roles_the_users_file_gives(client, users, workflows):
    case = in_review(client, users)
    assigned = client.post(f"/cases/{case}/assign", headers=users.bearer("sam"), json={"to": "chen"})
    assert assigned.status_code == 200
    assert assigned.json()["entry"]["assignment"] == {"action": "assign", "to": "chen", "roles": ["clerk"]}
    assert client.get("/worklist", headers=users.bearer("chen")).json()["items"][0]["claimed_by"] == "chen"
    back = client.post(f"/cases/{case}/assign", headers=users.bearer("sam"), json={"to": "li", "roles": ["clerk"]})
    assert back.status_code == 200 and back.json()["entry"]["assignment"]["to"] == "li"


@pytest.mark.parametrize(
    ("who", "body", "status", "code", "reason"),
    [
        ("li", {"to": "chen"}, 403, "permission", None),  # a clerk does not assign
        ("li", {"to": "nobody"}, 403, "permission", None),  # nor learns who is in the users file
        ("sam", {"to": "nobody"}, 422, "unknown-user", None),
        ("sam", {"to": "chen", "roles": ["supervisor"]}, 422, "roles-not-held", None),
        ("sam", {"to": "chen", "roles": []}, 422, "roles-not-held", None),
        ("sam", {"to": "cara"}, 422, "claim", "cannot-act"),  # a customer only withdraws there
        ("sam", {"to": 7}, 422, "invalid-body", None),
        ("sam", {"to": "chen", "roles": "clerk"}, 422, "invalid-body", None),
        ("sam", {"to": "chen", "until": "friday"}, 422, "invalid-body", None),
        ("sam", {}, 422, "invalid-body", None),
        ("sam", [], 422, "invalid-body", None),
    ],
    ids=[
        "clerk",
        "clerk-asks-of-nobody",
        "unknown-user",
        "role-not-held",
        "no-roles",
        "cannot-act",
        "not-text",
        "roles-text",
        "extra",
        "missing",
        "not-an-object",
    ],
)
def test_an_assignment_that_cannot_be_made_is_refused_and_changes_nothing(
    client, users, workflows, who, body, status, code, reason
):
    case = in_review(client, users)
    headers = basic("li") if who == "li" else users.bearer(who)
    refused = unchanged(
        workflows, case, 2, client.post(f"/cases/{case}/assign", headers=headers, json=body), status, code
    )
    assert refused.get("reason") == reason
    if code == "invalid-body":
        assert refused["errors"] and all(e["pointer"].startswith("/") or e["pointer"] == "" for e in refused["errors"])


def test_claim_and_release_take_no_fields(client, users, workflows):
    case = in_review(client, users)
    response = client.post(f"/cases/{case}/claim", headers=basic("li"), json={"for": "chen"})
    assert unchanged(workflows, case, 2, response, 422, "invalid-body")["errors"][0]["pointer"] == "/for"


# --- cancelling ---------------------------------------------------------------------------------------


def test_a_case_is_cancelled_with_a_reason_by_one_who_may(client, users, workflows):
    case = in_review(client, users)
    clerk = client.post(f"/cases/{case}/cancel", headers=basic("li"), json={"reason": "not mine to"})
    unchanged(workflows, case, 2, clerk, 403, "permission")
    no_reason = unchanged(
        workflows,
        case,
        2,
        client.post(f"/cases/{case}/cancel", headers=users.bearer("cara"), json={}),
        422,
        "invalid-payload",
    )
    assert {e["pointer"] for e in no_reason["errors"]} == {"/reason"}
    wrong = client.post(
        f"/cases/{case}/cancel", headers=users.bearer("cara"), json={"trigger": "approve", "reason": "x"}
    )
    assert unchanged(workflows, case, 2, wrong, 422, "not-a-cancellation")["allowed"] == ["withdraw"]
    stale = client.post(
        f"/cases/{case}/cancel", headers=users.bearer("cara") | {"If-Match": '"1"'}, json={"reason": "x"}
    )
    unchanged(workflows, case, 2, stale, 412, "version-mismatch")
    done = client.post(f"/cases/{case}/cancel", headers=users.bearer("cara"), json={"reason": "found it"})
    assert done.status_code == 200 and done.json()["case"]["state"]["id"] == "withdrawn"
    assert done.json()["entry"]["trigger"] == "withdraw" and done.json()["entry"]["payload"] == {"reason": "found it"}
    again = client.post(f"/cases/{case}/cancel", headers=users.bearer("cara"), json={"reason": "again"})
    unchanged(workflows, case, 3, again, 409, "not-cancellable")


def test_a_step_nothing_cancels_is_a_409(client, users, workflows):
    started = client.post("/procedures/minimal_repair/cases", headers=users.bearer("cara"), json={})
    case = started.json()["id"]
    response = client.post(f"/cases/{case}/cancel", headers=users.bearer("cara"), json={"reason": "x"})
    unchanged(workflows, case, 1, response, 409, "not-cancellable")


def test_several_cancellations_the_caller_may_fire_must_be_named(users, tmp_path):
    text = WITHDRAWABLE.read_text(encoding="utf-8")
    second = text[text.index("  - trigger: withdraw") :].replace("trigger: withdraw", "trigger: give_up")
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        mutate(text, ("id: withdrawable", "id: twice")) + second.replace("顾客撤回申请", "顾客放弃"), encoding="utf-8"
    )
    with Workflows("memory:") as workflows:
        workflows.register(twice)
        client = Client(create_app(workflows, Authenticator(users.path)))
        case = client.post("/procedures/twice/cases", headers=users.bearer("cara"), json={}).json()["id"]
        unnamed = client.post(f"/cases/{case}/cancel", headers=users.bearer("cara"), json={"reason": "x"})
        assert unchanged(workflows, case, 1, unnamed, 422, "trigger-required")["allowed"] == ["withdraw", "give_up"]
        named = client.post(
            f"/cases/{case}/cancel", headers=users.bearer("cara"), json={"trigger": "give_up", "reason": "x"}
        )
        assert named.status_code == 200 and named.json()["entry"]["trigger"] == "give_up"


# --- moves by hand ------------------------------------------------------------------------------------


def test_an_administrator_moves_a_case_by_hand_with_a_reason(client, users, workflows):
    case = in_review(client, users)
    moved = client.post(f"/cases/{case}/move", headers=users.bearer("sam"), json={"to": "refund", "reason": "agreed"})
    assert moved.status_code == 200 and moved.headers["etag"] == '"3"'
    assert moved.json()["case"]["state"]["id"] == "refund"
    assert moved.json()["entry"]["correction"] == {"reason": "agreed"}


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("li", {"to": "refund", "reason": "agreed"}, 403, "permission"),
        ("sam", {"to": "refnud", "reason": "agreed"}, 422, "move-refused"),
        ("sam", {"to": "review", "reason": "agreed"}, 422, "move-refused"),  # where it is already
        ("sam", {"to": "refund", "reason": " "}, 422, "move-refused"),
        ("sam", {"to": "refund"}, 422, "invalid-body"),
        ("sam", {"to": ["refund"], "reason": "x"}, 422, "invalid-body"),
    ],
    ids=["clerk", "unknown-step", "same-step", "no-reason", "missing-reason", "not-text"],
)
def test_a_move_that_cannot_be_made_is_refused_and_changes_nothing(client, users, workflows, who, body, status, code):
    case = in_review(client, users)
    headers = basic("li") if who == "li" else users.bearer(who)
    unchanged(workflows, case, 2, client.post(f"/cases/{case}/move", headers=headers, json=body), status, code)


def test_a_procedure_without_administrators_is_moved_by_nobody(client, users, workflows):
    case = client.post("/procedures/minimal_repair/cases", headers=users.bearer("cara"), json={}).json()["id"]
    response = client.post(f"/cases/{case}/move", headers=users.bearer("sam"), json={"to": "accept", "reason": "x"})
    assert "administrators" in unchanged(workflows, case, 1, response, 403, "permission")["detail"]


# --- migrations and impact ----------------------------------------------------------------------------


@pytest.fixture
def claims(users):
    """Cases of `claim` revision 1 in triage, then revision 2 registered."""
    with Workflows("memory:") as workflows:
        workflows.register(MIGRATE / "claim_v1.yaml")
        cara = Actor("cara", ["customer"])
        for number in range(2):
            workflows.start("claim", cara, {"estimate": 400 * number}, instance_id=f"c-{number}")
            workflows.fire(f"c-{number}", "submit", cara)
        workflows.register(MIGRATE / "claim_v2.yaml")
        yield workflows, Client(create_app(workflows, Authenticator(users.path)))


def send_plan(client, headers, text=PLAN, query="", kind="application/yaml"):
    return client.post(
        f"/procedures/claim/migrations{query}", headers=headers | {"Content-Type": kind}, content=text.encode()
    )


def revisions(workflows):
    return [workflows.ref_of(workflows.get(f"c-{n}")).revision for n in range(2)]


def test_an_administrator_migrates_the_open_cases_after_a_dry_run(claims, users):
    workflows, client = claims
    dry = send_plan(client, users.bearer("sam"), query="?dry_run=true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True and report["summary"]["would move"] == 2
    assert {(c["id"], c["from"], c["to"]) for c in report["cases"]} == {
        ("c-0", "triage", "review"),
        ("c-1", "triage", "review"),
    }
    assert revisions(workflows) == [1, 1]
    done = send_plan(client, users.bearer("sam"))
    assert done.status_code == 200 and done.json()["summary"]["moved"] == 2
    assert revisions(workflows) == [2, 2] and workflows.get("c-1").data["priority"] == "normal"


def test_a_plan_sent_as_json_is_read_as_its_yaml_would_be(claims, users):
    workflows, client = claims
    plan = json.dumps(
        {"migration": 1, "process": "claim", "from": 1, "to": 2, "steps": {"triage": "review", "refund": "payout"}}
        | {"set": {"priority": "'normal'"}}
    )
    response = send_plan(client, users.bearer("sam"), plan, "?dry_run=1", "application/json")
    assert response.status_code == 200 and response.json()["summary"]["would move"] == 2


def test_only_an_administrator_migrates(claims, users):
    workflows, client = claims
    assert_problem(send_plan(client, basic("li") | CLAIMED_ROLES), 403, "permission")
    assert_problem(send_plan(client, basic("li"), query="?dry_run=true"), 403, "permission")
    assert revisions(workflows) == [1, 1]


@pytest.mark.parametrize(
    ("plan", "code", "line"),
    [
        (PLAN.replace("from: 1", "from: claim_v1.yaml"), "revision-file", 4),
        (PLAN.replace("process: claim", "process: withdrawable"), "wrong-process", 3),
        (PLAN.replace("  refund: payout\n", "  refund: [payout\n"), "yaml-syntax", 9),
        (PLAN.replace("triage: review", "triage: reveiw"), "unknown-step", 7),
        (PLAN.replace("to: 2", "to: 9"), "wrong-revision", 5),
        (PLAN.replace("migration: 1", "migrations: 1"), None, 1),
    ],
    ids=["a-file", "another-process", "yaml", "unknown-step", "no-such-revision", "shape"],
)
def test_a_plan_that_cannot_be_used_is_a_422_with_its_problems_at_their_lines(claims, users, plan, code, line):
    workflows, client = claims
    body = assert_problem(send_plan(client, users.bearer("sam"), plan), 422, "invalid-plan")
    located = [e for e in body["errors"] if e["severity"] == "error"]
    assert located and located[0]["line"] == line and located[0]["column"] >= 1
    if code is not None:
        assert code in {e["code"] for e in located}
    assert revisions(workflows) == [1, 1]


def test_a_plan_of_another_media_type_or_a_bad_flag_is_refused(claims, users):
    workflows, client = claims
    assert_problem(send_plan(client, users.bearer("sam"), kind="text/plain"), 415, "unsupported-media-type")
    assert_problem(send_plan(client, users.bearer("sam"), query="?dry_run=yes"), 400, "invalid-query")
    assert revisions(workflows) == [1, 1]


def test_the_impact_of_a_revision_lists_the_open_cases_it_touches(claims, users):
    workflows, client = claims
    response = client.get("/procedures/claim/impact", headers=basic("li"))
    assert response.status_code == 200
    impact = response.json()
    assert (impact["from"]["revision"], impact["to"]["revision"], impact["checked"]) == (1, 2, 2)
    assert impact["groups"]["removed-step"]["ids"] == ["c-0", "c-1"]
    same = client.get("/procedures/claim/impact?from=2&to=2", headers=basic("li")).json()
    assert same["checked"] == 0
    assert_problem(client.get("/procedures/claim/impact?to=3", headers=basic("li")), 400, "invalid-query")


# --- the OpenAPI document and the problems ------------------------------------------------------------


def test_the_openapi_document_describes_each_new_route(client, users):
    document = client.get("/openapi.json", headers=basic("li")).json()
    paths = document["paths"]
    for action in ("claim", "release", "assign", "cancel", "move"):
        assert "200" in paths[f"/cases/{{case}}/{action}"]["post"]["responses"]
    assert paths["/cases/{case}/move"]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "to",
        "reason",
    ]
    assert "requestBody" not in paths["/cases/{case}/claim"]["post"]
    migrations = paths["/procedures/{process}/migrations"]["post"]
    assert set(migrations["requestBody"]["content"]) == {"application/json", "application/yaml"}
    worklist = {p["name"] for p in paths["/worklist"]["get"]["parameters"]}
    assert worklist == {"process", "role", "overdue", "limit", "after"}
    assert "Worklist" in document["components"]["schemas"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (StepClaimed("no", claimed_by="li"), 409, "claimed"),
        (ClaimRefused("no", reason="held", claimed_by="li"), 409, "claim"),
        (ClaimRefused("no", reason="finished"), 409, "claim"),
        (ClaimRefused("no", reason="not-allowed"), 403, "claim"),
        (ClaimRefused("no", reason="cannot-act"), 422, "claim"),
        (MoveRefused("no"), 422, "move-refused"),
        (MigrationRefused("no"), 422, "migration-refused"),
        (InvalidQuery("no"), 400, "invalid-query"),
        (PlanError([Problem(SourceLocation("p", 2, 3), "no", code="unknown-step")]), 422, "invalid-plan"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_new_refusal_has_its_status_and_stable_code(error, status, code):
    problem = problem_for(error)
    assert (problem.status, problem.code) == (status, code)

"""The HTTP API in process: routes, problem details, who is calling, and the OpenAPI document."""

import json
import logging

import pytest
from conftest import FIXTURE, SHIPPED, mutate
from http_support import PASSWORD, Client, api_client, assert_problem, basic, make_users
from openapi_spec_validator import validate

from engine.errors import (
    DamagedRecord,
    EventConflict,
    GuardFailed,
    InvalidIdentifier,
    InvalidPayload,
    KeyReused,
    MissingSignature,
    NotFound,
    PermissionDenied,
    RenderError,
    StaleVersion,
    StoreError,
)
from engine.http import Authenticator, TrustedProxy, create_app
from engine.http import auth as auth_module
from engine.http.problems import problem_for
from engine.model import thaw_json
from engine.processes import load_process
from engine.runtime import Actor
from engine.service import Workflows

PROCESS = "minimal_repair"
CASES = f"/procedures/{PROCESS}/cases"


@pytest.fixture
def users(tmp_path):
    return make_users(tmp_path)


@pytest.fixture
def workflows():
    with Workflows("memory:") as flows:
        flows.register(FIXTURE)
        yield flows


@pytest.fixture
def client(workflows, users):
    return api_client(workflows, users)


def start(client, users, name="cara"):
    response = client.post(CASES, headers=users.bearer(name), json={})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def fire(client, headers, case, trigger, payload=None, **extra):
    return client.post(f"{CASES}/{case}/events/{trigger}", headers=headers | extra, json=payload or {})


# --- who is calling ---------------------------------------------------------------------------------


def test_a_call_without_credentials_is_refused_with_a_challenge(client, caplog):
    with caplog.at_level(logging.WARNING, "procflow.http.auth"):
        response = client.get("/procedures")
    assert_problem(response, 401, "unauthenticated")
    assert 'Basic realm="procflow"' in response.headers["www-authenticate"]
    assert "Bearer" in response.headers["www-authenticate"]
    assert "198.51.100.7: no credentials" in caplog.text


def test_a_person_signs_in_with_their_password(client):
    response = client.get("/procedures", headers=basic("li"))
    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [PROCESS]


@pytest.mark.parametrize(
    "headers",
    [
        basic("li", "wrong password"),
        basic("nobody", PASSWORD),
        basic("cara", PASSWORD),  # a system: it has no password
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer pft_000000000000_notarealtokenatall"},
        {"Authorization": "Bearer something-else"},
        {"Authorization": "Digest username=li"},
    ],
    ids=["wrong-password", "unknown-user", "no-password", "not-base64", "unknown-token", "not-a-token", "scheme"],
)
def test_each_failed_sign_in_is_a_401_and_logged_without_the_secret(client, caplog, headers):
    with caplog.at_level(logging.WARNING, "procflow.http.auth"):
        response = client.get("/procedures", headers=headers)
    assert_problem(response, 401, "unauthenticated")
    assert "WWW-Authenticate" in response.headers
    assert "authentication failed from 198.51.100.7" in caplog.text
    secret = headers["Authorization"].partition(" ")[2]
    for shown in (caplog.text, response.text):
        assert "wrong password" not in shown.replace("a wrong password for", "")
        assert PASSWORD not in shown
        assert secret not in shown
        assert "notarealtokenatall" not in shown


def test_a_password_once_accepted_still_lets_no_other_password_in(client, users):
    assert client.get("/procedures", headers=basic("li")).status_code == 200
    assert_problem(client.get("/procedures", headers=basic("li", PASSWORD + "x")), 401, "unauthenticated")
    assert client.get("/procedures", headers=basic("li")).status_code == 200
    auth_module.add_user(users.path, "li", ["clerk"], "a new password")
    assert_problem(client.get("/procedures", headers=basic("li")), 401, "unauthenticated")
    assert client.get("/procedures", headers=basic("li", "a new password")).status_code == 200


def test_an_address_that_keeps_failing_to_sign_in_is_made_to_wait(workflows, users, caplog):
    now = [1000.0]
    authenticator = Authenticator(users.path, failures=3, window=60, clock=lambda: now[0])
    client = Client(create_app(workflows, authenticator))
    for _ in range(3):
        client.get("/procedures")  # no credentials: how a client asks, not a failure
        assert_problem(client.get("/procedures", headers=basic("li", "guess")), 401, "unauthenticated")
    with caplog.at_level(logging.WARNING, "procflow.http.auth"):
        throttled = client.get("/procedures", headers=basic("li"))  # even the right password waits
    assert_problem(throttled, 429, "too-many-failures")
    assert throttled.headers["retry-after"] == "60"
    assert "throttled for 198.51.100.7" in caplog.text
    elsewhere = Client(client.app, peer="192.0.2.1")
    assert elsewhere.get("/procedures", headers=basic("li")).status_code == 200
    now[0] += 60
    assert client.get("/procedures", headers=basic("li")).status_code == 200


def test_a_revoked_token_is_refused_from_the_next_request(client, users, caplog):
    assert client.get("/procedures", headers=users.bearer("sam")).status_code == 200
    assert auth_module.revoke(users.path, "sam") == 1
    with caplog.at_level(logging.WARNING, "procflow.http.auth"):
        response = client.get("/procedures", headers=users.bearer("sam"))
    assert_problem(response, 401, "unauthenticated")
    assert "revoked" in caplog.text and users.tokens["sam"] not in caplog.text
    assert client.get("/procedures", headers=users.bearer("mo")).status_code == 200  # the others' tokens still work


def test_a_wrong_role_is_a_403_and_changes_nothing(client, users, workflows):
    response = client.post(CASES, headers=basic("li"), json={})  # a clerk cannot start: the customer does
    assert_problem(response, 403, "permission")
    assert workflows.list() == []
    case = start(client, users)
    response = fire(client, users.bearer("sam"), case, "submit", {"in_warranty": True, "model": "X1"})
    assert_problem(response, 403, "permission")
    assert workflows.get(case).version == 1


def test_roles_claimed_in_the_request_give_no_roles(client, users, workflows):
    claims = {"X-Roles": "customer", "X-Procflow-Roles": "customer", "X-Remote-User": "cara", "X-Actor": "cara"}
    response = client.post(CASES, headers=basic("li") | claims, json={"roles": ["customer"], "actor": "cara"})
    assert_problem(response, 403, "permission")
    case = start(client, users)
    payload = {"in_warranty": True, "model": "X1", "roles": ["customer"], "actor": "cara"}
    response = fire(client, basic("li") | claims, case, "submit", payload)
    assert_problem(response, 403, "permission")
    assert workflows.get(case).version == 1
    actions = client.get(f"/cases/{case}/actions", headers=basic("li") | claims).json()
    assert [a["trigger"] for a in actions] == []  # a clerk has nothing to do while the customer applies


def test_a_trusted_proxy_names_the_user_whose_roles_the_file_gives(workflows, users, caplog):
    proxy = TrustedProxy("203.0.113.9", "X-Remote-User")
    app = create_app(workflows, Authenticator(users.path, proxy))
    through_proxy = Client(app, peer="203.0.113.9")
    response = through_proxy.post(CASES, headers={"X-Remote-User": "cara", "X-Roles": "supervisor"}, json={})
    assert response.status_code == 201
    assert workflows.get(response.json()["id"]).history[0].roles == ("customer",)
    with caplog.at_level(logging.WARNING, "procflow.http.auth"):
        unknown = through_proxy.get("/procedures", headers={"X-Remote-User": "mallory"})
        elsewhere = Client(app, peer="198.51.100.7").get("/procedures", headers={"X-Remote-User": "cara"})
    assert_problem(unknown, 401, "unauthenticated")
    assert_problem(elsewhere, 401, "unauthenticated")  # only the proxy's own requests may name a user
    assert "mallory" in caplog.text


def test_the_users_file_keeps_no_secret(users):
    text = users.path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "$argon2id$" in text
    for token in users.tokens.values():
        assert token not in text and token.partition("_")[2].partition("_")[2] not in text
    assert users.path.stat().st_mode & 0o077 == 0


# --- cases ------------------------------------------------------------------------------------------


def test_a_case_is_started_read_and_moved_on(client, users):
    response = client.post(CASES, headers=users.bearer("cara"), json={})
    assert response.status_code == 201
    case = response.json()
    assert response.headers["location"] == f"/cases/{case['id']}"
    assert response.headers["etag"] == '"1"'
    assert (case["state"]["id"], case["version"], case["finished"]) == ("apply", 1, False)
    assert case["process"]["id"] == PROCESS and case["process"]["revision"] == 1
    moved = fire(client, users.bearer("cara"), case["id"], "submit", {"in_warranty": True, "model": "X1"})
    assert moved.status_code == 200
    assert moved.headers["etag"] == '"2"'
    assert moved.json()["entry"]["actor"] == "cara" and moved.json()["case"]["state"]["id"] == "accept"
    read = client.get(f"/cases/{case['id']}", headers=basic("li"))
    assert read.json()["state"]["id"] == "accept" and read.headers["etag"] == '"2"'
    history = client.get(f"/cases/{case['id']}/history", headers=basic("li")).json()
    assert [e["trigger"] for e in history] == [None, "submit"]
    actions = client.get(f"/cases/{case['id']}/actions", headers=basic("li")).json()
    assert {a["trigger"] for a in actions} == {"accept", "hold"}
    assert all(a["href"] == f"{CASES}/{case['id']}/events/{a['trigger']}" for a in actions)
    assert client.get(f"/cases/{case['id']}/records", headers=basic("li")).json() == {}
    assert client.get(f"/cases/{case['id']}/clocks", headers=basic("li")).json() == []
    listed = client.get(CASES, headers=basic("li")).json()
    assert [c["id"] for c in listed] == [case["id"]]


def test_an_idempotency_key_makes_a_resent_event_take_effect_once(client, users, workflows):
    case = start(client, users)
    headers = users.bearer("cara") | {"Idempotency-Key": "order-7"}
    first = fire(client, headers, case, "submit", {"in_warranty": True, "model": "X1"})
    again = fire(client, headers, case, "submit", {"in_warranty": True, "model": "X1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["entry"] == again.json()["entry"]
    assert workflows.get(case).version == 2
    other = fire(client, headers, case, "submit", {"in_warranty": False, "model": "X1"})
    assert_problem(other, 409, "key-reused")
    assert workflows.get(case).version == 2


@pytest.mark.parametrize("url", ["memory:", "sqlite"])
def test_an_event_answers_with_the_case_as_stored_after_it_and_its_etag(users, tmp_path, url):
    with Workflows(f"sqlite:///{tmp_path / 'cases.db'}" if url == "sqlite" else url) as flows:
        flows.register(FIXTURE)
        client = Client(create_app(flows, Authenticator(users.path)))
        case = start(client, users)
        headers = users.bearer("cara") | {"Idempotency-Key": "order-8"}
        for _ in range(2):  # the second time the key answers with the event it recorded
            fired = fire(client, headers, case, "submit", {"in_warranty": True, "model": "X1"})
            read = client.get(f"/cases/{case}", headers=users.bearer("cara"))
            assert fired.status_code == read.status_code == 200
            assert fired.json()["case"] == read.json() and fired.headers["etag"] == read.headers["etag"] == '"2"'
            assert (
                fired.json()["entry"] == client.get(f"/cases/{case}/history", headers=users.bearer("cara")).json()[-1]
            )


def test_if_match_applies_an_event_only_at_that_version(client, users, workflows):
    case = start(client, users)
    stale = fire(client, users.bearer("cara"), case, "withdraw", **{"If-Match": '"7"'})
    body = assert_problem(stale, 412, "version-mismatch")
    assert (body["expected"], body["found"]) == (7, 1)
    garbled = fire(client, users.bearer("cara"), case, "withdraw", **{"If-Match": '"abc"'})
    assert_problem(garbled, 412, "version-mismatch")
    assert workflows.get(case).version == 1
    done = fire(client, users.bearer("cara"), case, "withdraw", **{"If-Match": '"1"'})
    assert done.status_code == 200 and done.json()["case"]["finished"] is True


def test_an_idempotency_key_procflow_does_not_accept_is_a_400(client, users, workflows):
    case = start(client, users)
    response = fire(client, users.bearer("cara"), case, "withdraw", **{"Idempotency-Key": "k" * 201})
    assert_problem(response, 400, "invalid-identifier")
    assert workflows.get(case).version == 1


def test_a_payload_that_does_not_fit_names_each_problem_at_its_place(client, users, workflows):
    case = start(client, users)
    response = fire(client, users.bearer("cara"), case, "submit", {"in_warranty": "yes"})
    body = assert_problem(response, 422, "invalid-payload")
    assert {e["pointer"] for e in body["errors"]} == {"/in_warranty", "/model"}
    assert (body["state"], body["trigger"]) == ("apply", "submit")
    assert workflows.get(case).version == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad-json"),
        (b"\xff\xfe", 400, "bad-json"),
        (b"[1, 2]", 422, "invalid-payload"),
        (b'{"a": NaN}', 422, "invalid-payload"),
        (b'{"a": ' + b"9" * 5000 + b"}", 422, "invalid-payload"),
        (b"[" * 5000 + b"]" * 5000, 422, "invalid-payload"),
    ],
    ids=["not-json", "not-utf8", "not-an-object", "nan", "huge-number", "deep"],
)
def test_a_body_that_cannot_be_used_is_refused_in_words(client, users, workflows, body, status, code):
    case = start(client, users)
    headers = users.bearer("cara") | {"Content-Type": "application/json"}
    response = client.post(f"{CASES}/{case}/events/submit", headers=headers, content=body)
    assert_problem(response, status, code)
    assert workflows.get(case).version == 1


def test_a_body_of_another_media_type_is_refused(client, users):
    response = client.post(CASES, headers=users.bearer("cara") | {"Content-Type": "text/plain"}, content=b"{}")
    assert_problem(response, 415, "unsupported-media-type")


def test_an_unknown_trigger_lists_those_allowed(client, users):
    case = start(client, users)
    body = assert_problem(fire(client, users.bearer("cara"), case, "sumbit"), 422, "unknown-trigger")
    assert "submit" in body["allowed"]


@pytest.mark.parametrize(
    "path",
    [
        "/cases/no-such-case",
        "/cases/no-such-case/history",
        "/procedures/no_such_process",
        "/procedures/no_such_process/chart.svg",
        "/no/such/route",
    ],
)
def test_what_does_not_exist_is_a_404(client, users, path):
    assert_problem(client.get(path, headers=users.bearer("cara")), 404, "not-found")


@pytest.mark.parametrize("if_match", [None, '"1"', '"abc"'])
def test_an_event_for_a_case_of_another_procedure_is_a_404_and_changes_nothing(client, users, workflows, if_match):
    workflows.register(SHIPPED[0])
    case = start(client, users)
    other = load_process(SHIPPED[0]).id
    headers = users.bearer("cara") | ({} if if_match is None else {"If-Match": if_match})
    before = workflows.get(case)
    response = client.post(f"/procedures/{other}/cases/{case}/events/withdraw", headers=headers, json={})
    body = assert_problem(response, 404, "not-found")
    assert case in body["detail"] and PROCESS in body["detail"]
    assert workflows.get(case) == before


def test_the_service_fires_only_on_a_case_of_the_process_it_is_told(workflows):
    workflows.register(SHIPPED[0])
    case = workflows.start(PROCESS, Actor("cara", ("customer",))).id
    with pytest.raises(NotFound, match="has no case"):
        workflows.fire_and_get(case, "withdraw", Actor("cara", ("customer",)), process=load_process(SHIPPED[0]).id)
    assert workflows.get(case).version == 1
    entry, after = workflows.fire_and_get(case, "withdraw", Actor("cara", ("customer",)), process=PROCESS)
    assert entry.trigger == "withdraw" and after.version == 2


def test_a_bug_is_a_500_without_its_traceback(client, users, workflows, monkeypatch, caplog):
    def broken(instance_id):
        raise RuntimeError("the secret internals")

    monkeypatch.setattr(workflows, "get", broken)
    with caplog.at_level(logging.ERROR, "procflow.http"):
        response = client.get("/cases/x", headers=users.bearer("cara"))
    assert_problem(response, 500, "internal")
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text  # the log keeps what the caller is not shown


# --- procedures -------------------------------------------------------------------------------------


def test_a_procedure_is_served_with_its_definition_and_chart(client, users):
    procedure = client.get(f"/procedures/{PROCESS}", headers=users.bearer("cara")).json()
    assert procedure["definition"] == thaw_json(load_process(FIXTURE).document)
    chart = client.get(f"/procedures/{PROCESS}/chart.svg", headers=users.bearer("cara"))
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in chart.content and "script-src" not in chart.headers["content-security-policy"]


def test_a_chart_shows_a_labels_markup_as_text(client, users, workflows, tmp_path, fixture_text):
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(
        mutate(
            fixture_text, ("id: minimal_repair", "id: hostile"), ("en: Quote the repair", 'en: "<script>1</script>"')
        ),
        encoding="utf-8",
    )
    workflows.register(hostile)
    chart = client.get("/procedures/hostile/chart.svg", headers=users.bearer("cara"))
    assert chart.status_code == 200
    assert b"<script" not in chart.content and b"&lt;script&gt;" in chart.content


# --- the OpenAPI document ---------------------------------------------------------------------------


@pytest.fixture
def every_procedure(workflows):
    for path in SHIPPED:
        workflows.register(path)
    return workflows


def test_the_openapi_document_is_valid_openapi_3_1(client, users, every_procedure):
    document = client.get("/openapi.json", headers=users.bearer("cara")).json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_each_trigger_takes_its_payload_schema_as_its_request_body(client, users, every_procedure):
    document = client.get("/openapi.json", headers=users.bearer("cara")).json()
    process = load_process(FIXTURE)
    submit = process.states["apply"].transitions[0]
    operation = document["paths"][f"{CASES}/{{case}}/events/submit"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == thaw_json(submit.payload_schema)
    start_body = document["paths"][CASES]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert start_body == thaw_json(process.data_schema)
    for state in process.states.values():
        for transition in state.transitions:
            assert f"{CASES}/{{case}}/events/{transition.trigger}" in document["paths"]
    assert f"{CASES}/{{case}}/events/sign:send_quote" in document["paths"]


def test_a_payload_schema_referring_into_its_definition_resolves_in_the_document(client, users, every_procedure):
    document = client.get("/openapi.json", headers=users.bearer("cara")).json()
    text = json.dumps(document)
    refs = {r.split('"')[0] for r in text.split('"$ref": "')[1:]}
    assert refs and all(r.startswith("#/components/schemas/") for r in refs)
    assert all(r.removeprefix("#/components/schemas/") in document["components"]["schemas"] for r in refs)
    exchange = load_process(next(p for p in SHIPPED if p.stem == "exchange"))
    fields = thaw_json(exchange.records["return_application"].fields)
    assert fields in document["components"]["schemas"].values()


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound("no"), 404, "not-found"),
        (InvalidIdentifier("no"), 400, "invalid-identifier"),
        (PermissionDenied("no"), 403, "permission"),
        (MissingSignature("no", missing=("supervisor",)), 403, "missing-signature"),
        (GuardFailed("no"), 422, "guard-false"),
        (KeyReused("no"), 409, "key-reused"),
        (EventConflict("no", refusal=GuardFailed("no")), 409, "conflict"),
        (StaleVersion("no", expected=1, found=2), 412, "version-mismatch"),
        (DamagedRecord("no"), 500, "damaged-record"),
        (StoreError("no"), 503, "store-unavailable"),
        (RenderError("no"), 503, "render"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_engine_error_has_its_status_and_stable_code(error, status, code):
    problem = problem_for(error)
    assert (problem.status, problem.code) == (status, code)
    assert problem.body("/x")["type"] == f"urn:procflow:problem:{code}"


def test_a_problem_points_at_each_place_in_the_body():
    refusal = InvalidPayload(
        "no",
        problems=("payload.items[0].serial: is required; fill it in", "payload.a/b: bad", "payload: must be a set"),
    )
    errors = problem_for(refusal).body("/x")["errors"]
    assert errors == [
        {"pointer": "/items/0/serial", "detail": "is required; fill it in"},
        {"pointer": "/a~1b", "detail": "bad"},
        {"pointer": "", "detail": "must be a set"},
    ]

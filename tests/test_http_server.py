"""`procflow serve` as a person runs it: a server process on a free port, called over real HTTP, and
schemathesis fuzzing it from its own OpenAPI document."""

import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import FIXTURE, PROCESSES, ROOT, python_tool
from http_support import PASSWORD, make_users
from store_support import pg_url  # noqa: F401 (a fixture)

SERVED = [FIXTURE, PROCESSES / "exchange.yaml"]  # the second has a payload that refers into its definition


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procflow(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextlib.contextmanager
def serving(folder, store, users, paths=SERVED, *options):
    """``procflow serve`` on a free port until the block ends: its base URL; its log in ``folder``."""
    port = free_port()
    log_path = folder / f"server-{port}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", "--store", store, "--port", str(port), "--users", str(users)]
        + [*options, *map(str, paths)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):  # until it listens (or has ended), at most about 30 s
            if process.poll() is not None:
                pytest.fail(f"procflow serve ended: {log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("procflow serve did not start listening")
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    users = make_users(folder)
    # Schemathesis sends wrong credentials on purpose, many times: no waiting for them here.
    with serving(folder, f"sqlite:///{folder / 'store.db'}", users.path, SERVED, "--max-failures", "100000") as (
        base,
        log,
    ):
        yield base, users, log


def call(base, method, path, headers=None, body=None):
    """One request over the socket: (status, headers, decoded JSON or bytes)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, got, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        status, got, raw = refused.code, refused.headers, refused.read()
    kind = got.get("Content-Type", "")
    return status, got, json.loads(raw) if "json" in kind else raw


def test_a_session_over_http_starts_a_case_and_moves_it_on(server):
    base, users, _ = server
    cara = users.bearer("cara")
    status, headers, case = call(base, "POST", "/procedures/minimal_repair/cases", cara, {})
    assert status == 201 and headers["ETag"] == '"1"'
    path = f"/procedures/minimal_repair/cases/{case['id']}/events/submit"
    status, headers, fired = call(
        base, "POST", path, cara | {"If-Match": '"1"', "Idempotency-Key": "s-1"}, {"in_warranty": True, "model": "X"}
    )
    assert status == 200 and fired["case"]["state"]["id"] == "accept" and headers["ETag"] == '"2"'
    li = {"Authorization": "Basic " + base64.b64encode(f"li:{PASSWORD}".encode()).decode()}
    status, _, actions = call(base, "GET", f"/cases/{case['id']}/actions", li)
    assert status == 200 and {a["trigger"] for a in actions} == {"accept", "hold"}
    status, _, done = call(base, "POST", f"/procedures/minimal_repair/cases/{case['id']}/events/accept", li, {})
    assert status == 200 and done["case"]["finished"] is True
    status, headers, refused = call(base, "GET", f"/cases/{case['id']}")
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    assert "Basic" in headers["WWW-Authenticate"] and refused["code"] == "unauthenticated"
    log = server[2].read_text(encoding="utf-8")
    assert "authentication failed from 127.0.0.1: no credentials" in log
    assert PASSWORD not in log and users.tokens["cara"] not in log
    assert "Finished processing state" not in log  # the state machine's INFO lines, two an event


def test_a_token_revoked_with_the_command_is_refused_by_the_running_server(server):
    base, users, _ = server
    assert call(base, "GET", "/procedures", users.bearer("mo"))[0] == 200
    revoked = procflow("users", "revoke", "mo", "--users", str(users.path))
    assert revoked.returncode == 0, revoked.stderr
    status, _, problem = call(base, "GET", "/procedures", users.bearer("mo"))
    assert (status, problem["code"]) == (401, "unauthenticated")


def test_requests_are_logged_one_a_line_only_with_access_log(tmp_path):
    users = make_users(tmp_path)
    logs = {}
    for options in ((), ("--access-log",)):
        with serving(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", users.path, [FIXTURE], *options) as (base, log):
            assert call(base, "GET", "/procedures", users.bearer("cara"))[0] == 200
        logs[options] = log.read_text(encoding="utf-8")
    assert '"GET /procedures HTTP/1.1" 200' not in logs[()]
    assert '"GET /procedures HTTP/1.1" 200' in logs[("--access-log",)]


def test_the_users_commands_add_people_and_systems(tmp_path):
    users = str(tmp_path / "users.yaml")
    added = procflow(
        "users",
        "add",
        "wang",
        "--roles",
        "clerk,supervisor",
        "--users",
        users,
        "--password-stdin",
        stdin="s3cret pass\n",
    )
    assert added.returncode == 0, added.stderr
    assert "a password" in added.stdout
    system = procflow("users", "add", "erp", "--roles", "customer", "--users", users)
    assert system.returncode == 0 and "tokens only" in system.stdout
    token = procflow("users", "token", "erp", "--users", users)
    assert token.returncode == 0 and token.stdout.startswith("pft_") and "cannot be shown again" in token.stderr
    text = (tmp_path / "users.yaml").read_text(encoding="utf-8")
    assert "s3cret pass" not in text and token.stdout.strip() not in text
    listed = procflow("users", "list", "--users", users)
    assert "wang  roles: clerk, supervisor  password: yes" in listed.stdout
    assert procflow("users", "token", "nobody", "--users", users).returncode == 1
    unknown = procflow("users", "revoke", "erp", "--token", "ffffffffffff", "--users", users)
    assert unknown.returncode == 1 and "no token `ffffffffffff`" in unknown.stderr
    empty_roles = procflow("users", "add", "x", "--roles", ",", "--users", users)
    assert empty_roles.returncode == 2


def test_serve_without_a_users_file_refuses_to_start(tmp_path):
    result = procflow("serve", "--users", str(tmp_path / "none.yaml"), "--store", "memory:")
    assert result.returncode == 1
    assert "no users file" in result.stderr and "Traceback" not in result.stderr


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(server):
    base, users, log = server
    tool = python_tool("schemathesis") or python_tool("st")
    assert tool is not None, "schemathesis is a dev dependency"
    checks = (
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
        "response_headers_conformance,unsupported_method,ignored_auth"
    )
    token = users.tokens["cara"]
    # One worker: with two, Hypothesis (inside schemathesis) sometimes trips on Python 3.11's ast in threads.
    result = subprocess.run(
        [tool, "run", f"{base}/openapi.json", "-H", f"Authorization: Bearer {token}", "--checks", checks]
        + ["--max-examples", "5", "--seed", "1", "--workers", "1", "--no-color"],
        cwd=log.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    failures = result.stdout[result.stdout.find("= FAILURES =") :][:6000]
    assert result.returncode == 0, failures + result.stderr[-2000:]
    assert "passed" in result.stdout


def test_two_servers_on_one_postgresql_store_serve_the_same_cases(tmp_path, pg_url):  # noqa: F811
    users = make_users(tmp_path)
    cara = users.bearer("cara")
    with (
        serving(tmp_path, pg_url, users.path) as (one, _),
        serving(tmp_path, pg_url, users.path, [FIXTURE]) as (two, _),
    ):
        status, _, case = call(one, "POST", "/procedures/minimal_repair/cases", cara, {})
        assert status == 201
        path = f"/procedures/minimal_repair/cases/{case['id']}/events/submit"
        sent = cara | {"Idempotency-Key": "both-servers"}
        answers = [call(base, "POST", path, sent, {"in_warranty": False, "model": "X"}) for base in (two, one)]
        assert [a[0] for a in answers] == [200, 200] and answers[0][2]["entry"] == answers[1][2]["entry"]
        status, headers, read = call(one, "GET", f"/cases/{case['id']}", cara)
        assert (read["state"]["id"], headers["ETag"]) == ("quote", '"2"')
        stale = call(
            two,
            "POST",
            f"/procedures/minimal_repair/cases/{case['id']}/events/withdraw",
            cara | {"If-Match": '"1"'},
            {},
        )
        assert (stale[0], stale[2]["code"]) == (412, "version-mismatch")


def _started(log: Path) -> set[str]:
    """The server processes uvicorn's log says it started."""
    return set(re.findall(r"Started server process \[(\d+)\]", log.read_text(encoding="utf-8")))


def test_serve_with_two_worker_processes_shares_one_sqlite_store(tmp_path):
    users = make_users(tmp_path)
    cara = users.bearer("cara")
    with serving(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", users.path, [FIXTURE], "--workers", "2") as (
        base,
        log,
    ):
        deadline = time.monotonic() + 30
        while len(_started(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_started(log)) == 2, log.read_text()
        cases = [call(base, "POST", "/procedures/minimal_repair/cases", cara, {})[2]["id"] for _ in range(6)]
        for case in cases:  # each call on a new connection: the two processes take them as they come
            status, _, fired = call(
                base,
                "POST",
                f"/procedures/minimal_repair/cases/{case}/events/submit",
                cara,
                {"in_warranty": False, "model": "X"},
            )
            assert (status, fired["case"]["state"]["id"]) == (200, "quote")
        read = [call(base, "GET", f"/cases/{case}", cara)[2]["state"]["id"] for case in cases]
        assert read == ["quote"] * 6


def test_serve_refuses_worker_processes_on_a_store_they_cannot_share(tmp_path):
    users = make_users(tmp_path)
    result = procflow("serve", "--users", str(users.path), "--store", "memory:", "--workers", "2")
    assert result.returncode == 2
    assert "--workers 2 needs a store the processes share" in result.stderr and "Traceback" not in result.stderr
    none = procflow("serve", "--users", str(users.path), "--store", "memory:", "--workers", "0")
    assert none.returncode == 2 and "--workers: must be from 1 to 64, got 0" in none.stderr
    assert "Traceback" not in none.stderr

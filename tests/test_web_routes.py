"""Every page route, read off the route table itself, as someone who has not signed in and as someone
whose roles do not open it: sent to sign in (GET) or refused (POST), nothing changed."""

import re

import pytest
from starlette.routing import Route
from test_web_pages import client, csrf, new_case, sign_in, site  # noqa: F401  (site: the fixture)

from engine.http.sessions import Sessions
from engine.web.routes import page_routes

PUBLIC = {"/", "/favicon.ico", "/app/login", "/app/{rest:path}"}
AUDITORS_ONLY = re.compile(r"^/app/book")


def page_paths():
    """(path template, methods) of every page route but the public ones and the static files."""
    routes = page_routes(None, None, Sessions(b"k" * 32))  # the table only: nothing is served here
    return [(r.path, sorted(r.methods - {"HEAD"})) for r in routes if isinstance(r, Route) and r.path not in PUBLIC]


def concrete(path: str, case: str) -> str:
    values = {
        "case": case,
        "process": "return_repair",
        "trigger": "reviewed",
        "revision": "1",
        "kind": "svg",
        "child": "x",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)


@pytest.mark.parametrize(("path", "methods"), page_paths(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_route_asks_who_is_calling_and_refuses_a_role_it_does_not_serve(site, path, methods):  # noqa: F811
    app, workflows, users = site
    case = new_case(workflows)
    url = concrete(path, case)
    stranger = client(app)
    for method in methods:
        answer = stranger.request(method, url, data={})
        if method == "GET":
            assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login"), (method, url)
        else:
            assert answer.status_code == 403, (method, url)
    outsider = sign_in(app, "nobody")  # a role the procedure does not name, and not an auditor
    token = csrf(outsider.get("/app/inbox").text)
    for method in methods:
        answer = outsider.request(method, url, data={"csrf_token": token, "to": "wang"})
        if AUDITORS_ONLY.match(path) or "/cases/" in path or method == "POST" and "/logout" not in path:
            moved = answer.status_code == 303 and answer.headers["location"].startswith("/app/book")
            assert answer.status_code in (403, 404) or moved, (method, url, answer.status_code)  # moved: to a refusal
    assert workflows.get(case).version == 2  # nothing changed


def test_the_route_table_is_what_this_test_walks():
    paths = {path for path, _ in page_paths()}
    assert {"/app/inbox", "/app/cases/{case}/events/{trigger}", "/app/book/cases", "/app/studio/{process}"} <= paths

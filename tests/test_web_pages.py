"""The pages as a browser's HTTP sees them: signing in, sessions, CSRF, the inbox and a case's page."""

import re
import time
from pathlib import Path

import pytest
from web_support import PASSWORD, Browser, add_people, pages_app, sign_in

from engine.http import Authenticator, auth
from engine.http.sessions import COOKIE, Session, Sessions, session_key
from engine.runtime import Actor
from engine.service import Workflows

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = {
    "wang": ["cs_agent"],
    "zhao": ["engineer"],
    "sun": ["supervisor"],
    "qian": ["auditor"],
    "nobody": ["gardener"],
}


@pytest.fixture
def site(tmp_path):
    users = add_people(tmp_path / "users.yaml", PEOPLE)
    workflows = Workflows(f"sqlite:///{tmp_path / 'cases.db'}")
    workflows.register(ROOT / "processes" / "return_repair.yaml")
    yield pages_app(workflows, users), workflows, users
    workflows.close()


def client(app) -> Browser:
    return Browser(app)


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def new_case(workflows: Workflows) -> str:
    payload = {
        "channel": "电话",
        "customer_name": "<script>alert(1)</script>张三",
        "contact": "138 0000 0000",
        "model": "X-100",
        "fault_description": "屏幕不亮 <img src=x onerror=alert(2)>",
        "proof_of_purchase": "发票 001",
    }
    instance = workflows.start("return_repair", Actor("cara", ("customer",)))
    workflows.fire(instance.id, "submit", Actor("cara", ("customer",)), payload)
    return instance.id


def test_a_visitor_who_has_not_signed_in_is_sent_to_the_sign_in_page(site):
    app, workflows, _ = site
    case = new_case(workflows)
    for path in ("/app/inbox", f"/app/cases/{case}", f"/app/cases/{case}/chart.svg"):
        answer = client(app).get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/app/login?next=")
    for path in ("/app/logout", f"/app/cases/{case}/claim", f"/app/cases/{case}/events/reviewed"):
        assert client(app).post(path, data={}).status_code == 403
    assert workflows.get(case).version == 2


def test_signing_in_sets_an_http_only_same_site_cookie_and_a_wrong_password_does_not(site):
    app, _, _ = site
    browser = client(app)
    form = browser.get("/app/login")
    assert "procflow_login" in form.headers["set-cookie"]
    token = csrf_login = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    wrong = browser.post("/app/login", data={"login_token": token, "user": "wang", "password": "nope"})
    assert wrong.status_code == 401 and COOKIE not in wrong.headers.get("set-cookie", "")
    right = browser.post("/app/login", data={"login_token": csrf_login, "user": "wang", "password": PASSWORD})
    cookie = right.headers["set-cookie"]
    assert right.status_code == 303 and right.headers["location"] == "/app/inbox"
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_sign_in_form_posted_from_elsewhere_is_refused(site):
    app, _, _ = site
    forged = client(app).post("/app/login", data={"login_token": "made-up", "user": "wang", "password": PASSWORD})
    assert forged.status_code == 403 and COOKIE not in forged.headers.get("set-cookie", "")


def test_after_signing_in_the_visitor_goes_back_to_their_page_but_never_to_another_site(site):
    app, _, _ = site
    browser = client(app)
    for asked, went in (("/app/inbox?overdue=1", "/app/inbox?overdue=1"), ("https://evil.example/", "/app/inbox")):
        form = browser.get("/app/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
        data = {"login_token": token, "user": "wang", "password": PASSWORD, "next": asked}
        assert browser.post("/app/login", data=data).headers["location"] == went


def test_a_forged_form_post_changes_nothing(site):
    app, workflows, _ = site
    case = new_case(workflows)
    browser = sign_in(app, "wang")
    for token in ("", "0" * 64):
        answer = browser.post(f"/app/cases/{case}/claim", data={"csrf_token": token})
        assert answer.status_code == 403
    assert workflows.get(case).version == 2


def test_the_inbox_lists_the_new_case_for_the_agent_and_not_for_the_engineer(site):
    app, workflows, _ = site
    case = new_case(workflows)
    agent = sign_in(app, "wang").get("/app/inbox?lang=en")
    assert agent.status_code == 200 and case in agent.text and "Initial review" in agent.text
    assert "procflow_lang=en" in agent.headers["set-cookie"]
    engineer = sign_in(app, "zhao").get("/app/inbox")
    assert engineer.status_code == 200 and case not in engineer.text


def test_every_page_is_sent_with_headers_that_keep_other_sites_out(site):
    app, workflows, _ = site
    browser = sign_in(app, "wang")
    page = browser.get("/app/inbox")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


def test_text_that_people_wrote_is_escaped_on_the_case_page(site):
    app, workflows, _ = site
    case = new_case(workflows)
    page = sign_in(app, "wang").get(f"/app/cases/{case}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;张三" in page.text
    assert "<img src=x" not in page.text


def test_someone_whose_roles_the_procedure_does_not_name_may_not_open_its_cases(site):
    app, workflows, _ = site
    case = new_case(workflows)
    outsider = sign_in(app, "nobody")
    assert outsider.get(f"/app/cases/{case}").status_code == 403
    assert outsider.get(f"/app/cases/{case}/chart.svg").status_code == 403
    page = outsider.get(f"/app/cases/{case}")
    assert outsider.post(f"/app/cases/{case}/claim", data={"csrf_token": csrf(page.text)}).status_code == 403
    assert workflows.get(case).version == 2
    assert sign_in(app, "qian").get(f"/app/cases/{case}").status_code == 200  # the auditor reads every case


def test_claim_and_release_from_the_case_page_are_recorded_in_the_history(site):
    app, workflows, _ = site
    case = new_case(workflows)
    browser = sign_in(app, "wang")
    page = browser.get(f"/app/cases/{case}")
    claimed = browser.post(f"/app/cases/{case}/claim", data={"csrf_token": csrf(page.text)})
    assert claimed.status_code == 303
    assert [e.assignment.action for e in workflows.history(case) if e.assignment] == ["claim"]
    page = browser.get(f"/app/cases/{case}")
    assert "/release" in page.text
    browser.post(f"/app/cases/{case}/release", data={"csrf_token": csrf(page.text)})
    assert [e.assignment.action for e in workflows.history(case) if e.assignment] == ["claim", "release"]


def test_the_case_chart_is_our_svg_with_a_policy_that_allows_no_script(site):
    app, workflows, _ = site
    case = new_case(workflows)
    chart = sign_in(app, "wang").get(f"/app/cases/{case}/chart.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "script" not in chart.headers["content-security-policy"].replace("'none'", "")
    assert "<script" not in chart.text


def test_signing_out_ends_the_session_in_that_browser(site):
    app, workflows, _ = site
    browser = sign_in(app, "wang")
    page = browser.get("/app/inbox")
    assert browser.post("/app/logout", data={"csrf_token": csrf(page.text)}).status_code == 303
    assert browser.get("/app/inbox").status_code == 303


def test_a_changed_password_ends_the_sessions_made_with_the_old_one(site):
    app, _, users = site
    browser = sign_in(app, "wang")
    assert browser.get("/app/inbox").status_code == 200
    auth.add_user(users, "wang", ["cs_agent"], "a new password")
    assert browser.get("/app/inbox").status_code == 303


def test_a_session_cookie_that_was_tampered_with_or_has_expired_is_not_a_session(tmp_path):
    sessions = Sessions(session_key(tmp_path / "key"), lifetime=60)
    known = {"wang": "hash-1"}

    def password_of(name):
        return (name in known, known.get(name))

    cookie = sessions.issue("wang", "hash-1", now=1000)
    read = sessions.read(cookie, password_of, now=1001)
    assert isinstance(read, Session) and read.user == "wang"
    assert sessions.read(cookie, password_of, now=1061) is None
    body, _, signature = cookie.partition(".")
    assert sessions.read(body[:-2] + "xx." + signature, password_of, now=1001) is None
    other = Sessions(session_key(tmp_path / "other"))
    assert other.read(cookie, password_of, now=1001) is None
    assert sessions.csrf_ok(read, sessions.csrf(read)) and not sessions.csrf_ok(read, "0" * 64)


def test_the_session_key_file_is_made_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "session.key"
    first = session_key(path)
    assert session_key(path) == first and len(first) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_bytes(b"short")
    with pytest.raises(Exception, match="at least 32 bytes"):
        session_key(path)


def test_the_page_language_follows_the_switch_then_the_browser(site):
    app, _, _ = site
    assert 'lang="zh-Hans"' in client(app).get("/app/login", headers={"accept-language": "zh-CN,zh"}).text
    assert "Sign in" in client(app).get("/app/login", headers={"accept-language": "en-GB"}).text
    both = client(app).get("/app/login?lang=both")
    assert "登录 Sign in" in both.text


def test_a_wrong_password_counts_towards_the_same_throttle_as_the_api(tmp_path):
    users = tmp_path / "users.yaml"
    auth.add_user(users, "wang", ["cs_agent"], PASSWORD)
    workflows = Workflows(f"sqlite:///{tmp_path / 'cases.db'}")
    app = pages_app(workflows, users, authenticator=Authenticator(users, failures=2, clock=time.monotonic))
    browser = client(app)
    statuses = []
    for _ in range(3):
        token = re.search(r'name="login_token" value="([^"]+)"', browser.get("/app/login").text).group(1)
        statuses.append(
            browser.post("/app/login", data={"login_token": token, "user": "wang", "password": "x"}).status_code
        )
    assert statuses == [401, 401, 429]
    workflows.close()


def test_the_agent_starts_a_case_from_the_inbox_and_lands_on_its_page(site):
    app, workflows, _ = site
    browser = sign_in(app, "wang")
    inbox = browser.get("/app/inbox")
    assert 'action="/app/procedures/return_repair/start"' in inbox.text
    started = browser.post("/app/procedures/return_repair/start", data={"csrf_token": csrf(inbox.text)})
    assert started.status_code == 303
    case = started.headers["location"].split("/app/cases/")[1].split("?")[0]
    assert workflows.get(case).history[0].actor == "wang"
    engineer = sign_in(app, "zhao")
    assert 'action="/app/procedures/return_repair/start"' not in engineer.get("/app/inbox").text
    refused = engineer.post(
        "/app/procedures/return_repair/start", data={"csrf_token": csrf(engineer.get("/app/inbox").text)}
    )
    assert refused.status_code == 403
    assert len(workflows.list("return_repair")) == 1


def test_a_supervisor_assigns_the_step_to_someone_and_only_a_supervisor_may(site):
    app, workflows, _ = site
    case = new_case(workflows)
    supervisor = sign_in(app, "sun")
    page = supervisor.get(f"/app/cases/{case}")
    assert 'action="/app/cases/' + case + '/assign"' in page.text
    unknown = supervisor.post(f"/app/cases/{case}/assign", data={"csrf_token": csrf(page.text), "to": "ghost"})
    assert unknown.status_code == 422 and "ghost" in unknown.text
    given = supervisor.post(f"/app/cases/{case}/assign", data={"csrf_token": csrf(page.text), "to": "wang"})
    assert given.status_code == 303
    assert [(e.assignment.action, e.assignment.to) for e in workflows.history(case) if e.assignment] == [
        ("assign", "wang")
    ]
    agent = sign_in(app, "wang")
    page = agent.get(f"/app/cases/{case}")
    assert "/assign" not in page.text
    assert (
        agent.post(f"/app/cases/{case}/assign", data={"csrf_token": csrf(page.text), "to": "wang"}).status_code == 403
    )


def test_a_step_shared_by_several_people_shows_each_part_open_or_done_and_by_whom(tmp_path):
    from test_parts import DEMO, ENGINEER, MANAGER

    users = tmp_path / "users.yaml"
    auth.add_user(users, "gao", ["manager"], PASSWORD)
    workflows = Workflows(f"sqlite:///{tmp_path / 'cases.db'}")
    source = tmp_path / "parts_demo.yaml"
    source.write_text(DEMO, encoding="utf-8")
    workflows.register(source)
    case = workflows.start("parts_demo", MANAGER).id
    workflows.fire(case, "opened", MANAGER, {"amount": 50, "units": []})
    workflows.fire(case, "engineer_opinion", ENGINEER, {"opinion": "可修复"})
    app = pages_app(workflows, users)
    page = sign_in(app, "gao").get(f"/app/cases/{case}?lang=en")
    parts = page.text.split('id="parts-h"')[1].split("</section>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", parts, re.S)
    engineer = next(r for r in rows if "Engineer&#39;s opinion" in r or "Engineer's opinion" in r)
    assert "done" in engineer and ENGINEER.id in engineer
    clerk = next(r for r in rows if "Clerk" in r)
    assert "open" in clerk
    workflows.close()


def test_the_api_takes_a_page_session_and_a_post_only_with_its_csrf_token(site):
    app, workflows, _ = site
    case = new_case(workflows)
    browser = sign_in(app, "wang")
    assert browser.get(f"/cases/{case}/actions").status_code == 200
    forged = browser.post(f"/cases/{case}/claim", json={})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf"
    assert workflows.get(case).version == 2
    token = csrf(browser.get("/app/inbox").text)
    assert browser.post(f"/cases/{case}/claim", json={}, headers={"X-CSRF-Token": token}).status_code == 200
    assert client(app).get(f"/cases/{case}/actions").status_code == 401  # no cookie, no credentials


def test_a_page_that_does_not_exist_is_a_404_page_in_the_visitors_language(site):
    app, _, _ = site
    missing = client(app).get("/app/no-such-page?lang=en")
    assert missing.status_code == 404 and "There is no such page" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    assert client(app).get("/app/static/app.css").status_code == 200


def test_a_publisher_opens_the_studio_on_the_published_text_and_its_script_checks_with_the_session(site, tmp_path):
    app, workflows, users = site
    auth.add_user(users, "pat", ["publisher"], PASSWORD)
    browser = sign_in(app, "pat")
    index = browser.get("/app/studio")
    assert index.status_code == 200 and 'href="/app/studio/return_repair"' in index.text
    editor = browser.get("/app/studio/return_repair")
    assert editor.status_code == 200 and 'id="studio-publish-button"' in editor.text
    assert "返厂维修管理流程" in editor.text  # the published YAML is the draft
    token = csrf(editor.text)
    text = (ROOT / "processes" / "return_repair.yaml").read_text(encoding="utf-8")
    checked = browser.post(
        "/studio/check", content=text.encode(), headers={"Content-Type": "application/yaml", "X-CSRF-Token": token}
    )
    assert checked.status_code == 200 and checked.json()["valid"] is True
    forged = browser.post(
        "/studio/publish/return_repair", content=text.encode(), headers={"Content-Type": "application/yaml"}
    )
    assert forged.status_code == 403
    changed = text.replace("en: Initial review", "en: First review", 1)
    published = browser.post(
        "/studio/publish/return_repair",
        content=changed.encode(),
        headers={"Content-Type": "application/yaml", "X-CSRF-Token": token},
    )
    assert published.status_code == 201 and published.json()["revision"]["revision"] == 2
    assert workflows.latest("return_repair").revision == 2
    agent = sign_in(app, "wang")
    assert 'id="studio-publish-button"' not in agent.get("/app/studio/return_repair").text
    refused = agent.post(
        "/studio/publish/return_repair",
        content=text.encode(),
        headers={"Content-Type": "application/yaml", "X-CSRF-Token": csrf(agent.get("/app/inbox").text)},
    )
    assert refused.status_code == 403 and workflows.latest("return_repair").revision == 2


def test_the_icon_browsers_ask_for_is_no_content_rather_than_an_error(site):
    app, _, _ = site
    assert client(app).get("/favicon.ico").status_code == 204

"""The pages' routes: who the visitor is, their language, CSRF, and turning a view into HTML.

Every page is a view function taking a ``Visit`` and giving a ``Page`` (a template and what it
shows) or a redirect. This module does the rest in one place for all of them: it reads the session
cookie and finds the user in the users file (roles only from there), sends a visitor who is not
signed in to the sign-in page, refuses a POST whose CSRF token is not the session's, answers an
engine error as a page in the visitor's language, and sets the headers that keep pages from being
framed, cached or given script from elsewhere.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Undefined
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from engine.errors import ProcflowError
from engine.http.auth import Authenticator, Caller, Throttled, User
from engine.http.problems import problem_for
from engine.http.sessions import COOKIE, LOGIN_COOKIE, Session, Sessions
from engine.runtime import Actor
from engine.studio import PUBLISHER_ROLE
from engine.web.templating import environment
from engine.web.words import LANG_COOKIE, LANGS, PageLang, chosen_lang, label, word

LOG = logging.getLogger("procflow.web")
BASE = "/app"
STATIC = Path(__file__).parent / "static"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EDITOR_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
AUDITOR_ROLE = "auditor"


@dataclass(frozen=True)
class Visit:
    """One request to a page, as a view sees it."""

    request: Request
    lang: PageLang
    user: User | None
    session: Session | None
    form: Mapping[str, list[str]] = field(default_factory=dict)
    """A POST's fields, each with every value sent."""

    @property
    def actor(self) -> Actor:
        assert self.user is not None, "a view for signed-in visitors only"
        return Actor(self.user.name, self.user.roles)

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value else None

    def field(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any]
    status: int = 200
    title: str = ""
    styles_inline: bool = False
    """The page's script sets styles of its own (the studio's editor): allow inline styles, never script."""


View = Callable[[Visit], "Page | Response"]


class PageError(Exception):
    """A view's refusal shown as a page: the status and the message in the visitor's words."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Site:
    """The pages of one server: their templates, sessions and the users file."""

    def __init__(self, authenticator: Authenticator, sessions: Sessions):
        self.authenticator = authenticator
        self.sessions = sessions
        self.templates = environment(Undefined)

    # --- routes --------------------------------------------------------------------------------------

    def route(self, path: str, get: View | None = None, post: View | None = None, *, public: bool = False) -> Route:
        views = {method: v for method, v in (("GET", get), ("POST", post)) if v is not None}

        async def endpoint(request: Request) -> Response:
            lang = _lang(request)
            session, user = self._visitor(request)
            form: dict[str, list[str]] = {}
            if request.method == "POST":
                data = await request.form()
                for key, value in data.multi_items():
                    if isinstance(value, str):
                        form.setdefault(key, []).append(value)
            visit = Visit(request, lang, user, session, form)
            if user is None and not public:
                if request.method == "POST":
                    return self.error(visit, 403, word("forged", lang))
                target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                return RedirectResponse(f"{BASE}/login?next={target}", 303)
            if request.method == "POST" and session is not None and not public:
                if not self.sessions.csrf_ok(session, visit.field("csrf_token")):
                    LOG.warning("a form without this session's CSRF token: %s %s", request.method, request.url.path)
                    return self.error(visit, 403, word("forged", lang))
            try:
                answer = await run_in_threadpool(views["GET" if request.method == "HEAD" else request.method], visit)
            except PageError as refused:
                return self.error(visit, refused.status, refused.message)
            except ProcflowError as error:
                problem = problem_for(error)
                if problem.status >= 500:
                    LOG.error("%s %s: %s", request.method, request.url.path, error)
                return self.error(visit, problem.status, problem.detail)
            response = self.render(visit, answer) if isinstance(answer, Page) else answer
            if request.query_params.get("lang") in LANGS:
                response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", httponly=True)
            return response

        return Route(path, endpoint, methods=list(views))

    def static(self) -> BaseRoute:
        return Mount(f"{BASE}/static", app=StaticFiles(directory=STATIC), name="static")

    # --- who is visiting -----------------------------------------------------------------------------

    def _visitor(self, request: Request) -> tuple[Session | None, User | None]:
        found = self.sessions.signed_in(request.cookies.get(COOKIE), self.authenticator, time.time())
        return (None, None) if found is None else found

    def sign_in(self, request: Request, name: str, password: str) -> Caller | Throttled | None:
        """The person, if the users file knows them by this password (counted and logged as the API's
        HTTP Basic is: the same throttle guards both)."""
        credentials = base64.b64encode(f"{name}:{password}".encode()).decode("ascii")
        peer = request.client.host if request.client else None
        known = self.authenticator.authenticate({"authorization": f"Basic {credentials}"}, peer)
        return known if isinstance(known, Caller | Throttled) else None

    def start_session(self, request: Request, caller: Caller, target: str) -> Response:
        value = self.sessions.issue(caller.user.name, caller.user.password, time.time())
        response = RedirectResponse(target, 303)
        secure = request.url.scheme == "https"
        response.set_cookie(
            COOKIE, value, max_age=self.sessions.lifetime, httponly=True, samesite="strict", secure=secure, path="/"
        )
        response.delete_cookie(LOGIN_COOKIE, path=f"{BASE}/login")
        return response

    @staticmethod
    def login_token(request: Request) -> str:
        return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)

    def not_found(self, visit: Visit) -> Response:
        return self.error(visit, 404, word("not_found", visit.lang))

    # --- answering -----------------------------------------------------------------------------------

    def render(self, visit: Visit, page: Page) -> Response:
        html = self.templates.get_template(page.template).render(self.context(visit, page.title) | page.context)
        headers = HEADERS | {"Content-Security-Policy": EDITOR_POLICY} if page.styles_inline else HEADERS
        return HTMLResponse(html, page.status, headers=headers)

    def error(self, visit: Visit, status: int, message: str) -> Response:
        title = word("refused", visit.lang)
        return self.render(visit, Page("error.html", {"message": message, "status": status}, status, title))

    def context(self, visit: Visit, title: str) -> dict[str, Any]:
        lang = visit.lang
        roles = set(visit.user.roles) if visit.user else set()
        path = visit.request.url.path
        return {
            "lang": lang,
            "langs": LANGS,
            "t": lambda key: word(key, lang),
            "label": lambda text: label(text, lang),
            "title": title,
            "user": visit.user,
            "csrf_token": self.sessions.csrf(visit.session) if visit.session else "",
            "base": BASE,
            "here": path,
            "may_publish": PUBLISHER_ROLE in roles,
            "may_audit": AUDITOR_ROLE in roles,
        }


def _lang(request: Request) -> PageLang:
    asked = request.query_params.get("lang")
    kept = asked if asked in LANGS else request.cookies.get(LANG_COOKIE)
    return chosen_lang(kept, request.headers.get("accept-language"))


def safe_target(target: str | None) -> str:
    """Where to go after signing in: a page of this site only (never another host)."""
    if target and target.startswith(f"{BASE}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{BASE}/inbox"

"""The pages' paths, all under ``/app``; ``/`` leads to the inbox."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.http.auth import Authenticator
from engine.http.sessions import Sessions
from engine.service import Workflows
from engine.web.book import BOOK, BookViews
from engine.web.book_cases import BookCaseViews
from engine.web.cases import CaseViews
from engine.web.inbox import InboxViews
from engine.web.pages import BASE, Site
from engine.web.studio_pages import StudioPages


def page_routes(workflows: Workflows, authenticator: Authenticator, sessions: Sessions) -> list[BaseRoute]:
    site = Site(authenticator, sessions)
    inbox = InboxViews(site, workflows)
    cases = CaseViews(site, workflows)
    studio = StudioPages(workflows)
    book = BookViews(site, workflows)
    found = BookCaseViews(site, workflows)

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{BASE}/inbox", 303)

    async def no_icon(request: Request) -> Response:  # browsers ask every site for one
        return Response(status_code=204)

    return [
        Route("/", home, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        site.route(f"{BASE}/login", inbox.login_form, inbox.login, public=True),
        site.route(f"{BASE}/logout", post=inbox.logout),
        site.route(f"{BASE}/inbox", inbox.inbox),
        site.route(f"{BASE}/cases/{{case}}", cases.page),
        site.route(f"{BASE}/cases/{{case}}/chart.svg", cases.chart),
        site.route(f"{BASE}/cases/{{case}}/claim", post=cases.claim),
        site.route(f"{BASE}/cases/{{case}}/release", post=cases.release),
        site.route(f"{BASE}/cases/{{case}}/assign", post=cases.assign),
        site.route(f"{BASE}/procedures/{{process}}/start", post=inbox.start),
        site.route(f"{BASE}/studio", studio.index),
        site.route(f"{BASE}/studio/new", studio.new),
        site.route(f"{BASE}/studio/{{process}}", studio.edit),
        site.route(f"{BASE}/cases/{{case}}/events/{{trigger}}", post=cases.fire),
        site.route(BOOK, book.index),
        site.route(f"{BOOK}/cases", found.search),
        site.route(f"{BOOK}/procedures/index.html", book.to_index),
        site.route(f"{BOOK}/procedures/{{process}}/{{revision:int}}", book.page),
        site.route(f"{BOOK}/procedures/{{process}}/{{revision:int}}/chart.{{kind}}", book.chart),
        site.route(f"{BOOK}/procedures/{{process}}/{{child}}.html", book.to_child),
        site.route(f"{BOOK}/heatmap/{{process}}", found.heatmap),
        site.route(f"{BOOK}/heatmap/{{process}}/chart.svg", found.chart),
        site.static(),
        site.route(f"{BASE}/{{rest:path}}", site.not_found, site.not_found, public=True),  # last: what no page is
    ]

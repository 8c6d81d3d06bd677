"""Signing in and out, and the inbox: what is waiting for the visitor and for their roles."""

from __future__ import annotations

import datetime
import hmac
from dataclasses import dataclass

from starlette.responses import RedirectResponse, Response

from engine.http.auth import Caller, Throttled
from engine.http.sessions import COOKIE, LOGIN_COOKIE
from engine.model import Duration, Process, Text
from engine.runtime import Actor
from engine.service import Workflows, WorkItem
from engine.timing import running_time
from engine.web.pages import BASE, Page, PageError, Site, Visit, safe_target
from engine.web.templating import shown_time, span
from engine.web.words import label, word

PAGE_SIZE = 25
STATUS_CLASS = {
    "idle": "idle",
    "running": "ok",
    "paused": "idle",
    "warned": "warn",
    "breached": "late",
    "stopped": "done",
}


@dataclass(frozen=True)
class ClockCell:
    name: str
    status: str
    css: str
    left: str
    """The running time left to the clock's next point, as a short text ("" when none is ahead)."""


@dataclass(frozen=True)
class Row:
    item: WorkItem
    procedure: str
    due: str
    clocks: tuple[ClockCell, ...]


class InboxViews:
    def __init__(self, site: Site, workflows: Workflows):
        self.site = site
        self.workflows = workflows
        self._processes: dict[str, Process] = {}

    # --- signing in ------------------------------------------------------------------------------------

    def login_form(self, visit: Visit) -> Response:
        token = self.site.login_token(visit.request)
        context = {"login_token": token, "next": visit.query("next") or ""}
        page = Page("login.html", context, title=word("sign_in", visit.lang))
        response = self.site.render(visit, page)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=f"{BASE}/login")
        return response

    def login(self, visit: Visit) -> Response | Page:
        sent, kept = visit.field("login_token"), visit.request.cookies.get(LOGIN_COOKIE)
        if not sent or not kept or not hmac.compare_digest(sent, kept):
            raise PageError(403, word("forged", visit.lang))
        known = self.site.sign_in(visit.request, visit.field("user") or "", visit.field("password") or "")
        if not isinstance(known, Caller):
            status, key = (429, "throttled") if isinstance(known, Throttled) else (401, "bad_sign_in")
            context = {"login_token": kept, "next": visit.field("next") or "", "problem": word(key, visit.lang)}
            return Page("login.html", context, status, word("sign_in", visit.lang))
        return self.site.start_session(visit.request, known, safe_target(visit.field("next")))

    def logout(self, visit: Visit) -> Response:
        response = RedirectResponse(f"{BASE}/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # --- the inbox -------------------------------------------------------------------------------------

    def inbox(self, visit: Visit) -> Page:
        actor = visit.actor
        process = visit.query("process")
        role = visit.query("role")
        overdue = visit.query("overdue") == "1"
        now = datetime.datetime.now(datetime.UTC)
        listed = self.workflows.worklist(
            actor, process=process, role=role, overdue=overdue, limit=PAGE_SIZE, after=visit.query("after"), at=now
        )
        rows = [self._row(item, visit, now) for item in listed.items]
        startable = self._startable(actor)
        context = {
            "startable": [(p, label(t, visit.lang)) for p, t in startable],
            "mine": [r for r in rows if r.item.claimed_by == actor.id],
            "waiting": [r for r in rows if r.item.claimed_by != actor.id],
            "next": listed.next,
            "procedures": sorted({stored.ref.id for stored in self.workflows.store.definitions()}),
            "chosen": {"process": process or "", "role": role or "", "overdue": overdue},
            "roles": sorted(actor.roles),
        }
        return Page("inbox.html", context, title=word("inbox", visit.lang))

    def start(self, visit: Visit) -> Response:
        instance = self.workflows.start(visit.param("process"), visit.actor)
        return RedirectResponse(f"{BASE}/cases/{instance.id}?done=start", 303)

    def _startable(self, actor: Actor) -> list[tuple[str, Text]]:
        """The procedures whose cases the actor may start, with their titles."""
        found = []
        for process_id in sorted({stored.ref.id for stored in self.workflows.store.definitions()}):
            ref = self.workflows.latest(process_id)
            runtime = self.workflows.runtime(ref.id, ref.content_hash)
            if not runtime.starting_roles or runtime.starting_roles & set(actor.roles):
                found.append((process_id, runtime.process.title))
        return found

    def _row(self, item: WorkItem, visit: Visit, now: datetime.datetime) -> Row:
        process = self._process(item.process_id)
        zone = process.calendar.timezone if process else "UTC"
        cells = tuple(
            ClockCell(
                label((clock.zh, clock.en), visit.lang),
                word(f"status_{status}", visit.lang),
                STATUS_CLASS.get(status, "idle"),
                _left(process, clock.clock, clock.points, now, visit),
            )
            for clock, status in item.clocks
        )
        title = label(process.title, visit.lang) if process else item.process_id
        return Row(item, title, shown_time(item.due, zone), cells)

    def _process(self, process_id: str) -> Process | None:
        if process_id not in self._processes:
            ref = self.workflows.latest(process_id)
            self._processes[process_id] = self.workflows.runtime(ref.id, ref.content_hash).process
        return self._processes.get(process_id)


def _left(
    process: Process | None,
    clock_id: str,
    points: tuple[tuple[str, datetime.datetime], ...],
    now: datetime.datetime,
    visit: Visit,
) -> str:
    ahead = [(name, due) for name, due in points if due > now]
    if not ahead or process is None:
        return ""
    name, due = ahead[0]
    clock = process.clocks.get(clock_id)
    limit = clock.thresholds.get(name, (None, None))[0] if clock else None
    working = limit is not None and limit.working
    if working:
        left = running_time(now, due, Duration("", 1, "hour", True), process.calendar)
    else:
        left = due - now
    words = word("working_left" if working else "time_left", visit.lang)
    return f"{words} {span(left, days=not working)}"

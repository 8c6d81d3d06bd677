"""A case's page: its data, records, history with signatures, clocks, its chart with the path taken,
and the actions the visitor may take, each a form made from the trigger's JSON Schema."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.responses import RedirectResponse, Response

from engine.errors import EventRefused
from engine.http.problems import problem_for
from engine.instances import Entry, Instance
from engine.model import Process, Text
from engine.render import instance_overlay, layout, render_dot
from engine.runtime import Actor, Choice
from engine.service import Workflows
from engine.web.forms import Form, PlacedProblems, at_fields, defaults, form_for, payload_from
from engine.web.pages import AUDITOR_ROLE, BASE, HEADERS, Page, PageError, Site, Visit
from engine.web.templating import shown_time
from engine.web.words import word
from engine.work import SUPERVISOR_ROLE

CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""A chart is our own SVG: no script, the inline styles Graphviz writes, nothing from elsewhere."""
_CHARTS_KEPT = 256


@dataclass(frozen=True)
class Action:
    choice: Choice
    form: Form
    values: dict[str, list[str]]
    """What the inputs hold: the defaults, or what was sent when it was refused."""
    problems: PlacedProblems
    """The server's problems placed at the form's fields (``at_fields``), after a refused send."""


@dataclass(frozen=True)
class HistoryRow:
    entry: Entry
    when: str
    source: str
    dest: str
    what: str


class CaseViews:
    def __init__(self, site: Site, workflows: Workflows):
        self.site = site
        self.workflows = workflows
        self._charts: dict[tuple[str, int, str], bytes] = {}
        self._lock = threading.Lock()

    def _open(self, visit: Visit) -> tuple[Instance, Process]:
        instance = self.workflows.get(visit.param("case"))
        process = self.workflows.runtime(instance.process_id, instance.content_hash).process
        if not may_view(process, visit.actor):
            raise PageError(403, word("forbidden", visit.lang))
        return instance, process

    def page(self, visit: Visit, *, refused: tuple[str, Form, PlacedProblems] | None = None, status: int = 422) -> Page:
        instance, process = self._open(visit)
        actor = visit.actor
        runtime = self.workflows.runtime(instance.process_id, instance.content_hash)
        zone = process.calendar.timezone
        actions = []
        for choice in self.workflows.available(instance.id, actor):
            form = form_for(choice, process, visit.lang)
            if refused is not None and refused[0] == choice.trigger:
                actions.append(Action(choice, refused[1], dict(visit.form), refused[2]))
            else:
                actions.append(Action(choice, form, defaults(form), PlacedProblems()))
        state = process.states[instance.state]
        work = runtime.case_work(instance).work
        still_open = {part.part for part in work.parts}
        parts = [(part, part.id in still_open, _done_by(instance, part.id)) for part in state.parts]
        rows = [_history_row(process, entry, zone, visit) for entry in instance.history]
        context = {
            "case": instance,
            "process": process,
            "state": state,
            "holder": work.claimed_by,
            "parts": parts,
            "data": sorted(instance.data.items()),
            "records": instance.records,
            "history": rows,
            "clocks": self.workflows.clocks(instance.id),
            "actions": actions,
            "done": visit.query("done"),
            "shown_time": lambda moment: shown_time(moment, zone),
            "action_base": f"{BASE}/cases/{instance.id}",
            "supervises": SUPERVISOR_ROLE in actor.roles and not state.is_final,
            "ref": self.workflows.ref_of(instance),
        }
        return Page("case.html", context, status if refused is not None else 200, f"{instance.id} · {process.title.zh}")

    def chart(self, visit: Visit) -> Response:
        instance, process = self._open(visit)
        key = (instance.content_hash, instance.version, visit.lang)
        with self._lock:
            svg = self._charts.get(key)
        if svg is None:
            overlay = instance_overlay(process, instance)
            svg = layout(render_dot(process, lang=visit.lang, overlay=overlay), "svg")
            with self._lock:
                if len(self._charts) >= _CHARTS_KEPT:
                    self._charts.clear()
                self._charts[key] = svg
        headers = HEADERS | {"Content-Security-Policy": CHART_POLICY}
        return Response(svg, media_type="image/svg+xml", headers=headers)

    def claim(self, visit: Visit) -> Response:
        self._open(visit)  # one who may not see the case is refused before anything about its step
        self.workflows.claim(visit.param("case"), visit.actor)
        return self._back(visit, "claim")

    def release(self, visit: Visit) -> Response:
        self._open(visit)
        self.workflows.release(visit.param("case"), visit.actor)
        return self._back(visit, "release")

    def assign(self, visit: Visit) -> Response:
        self._open(visit)
        name = visit.field("to") or ""
        user = self.site.authenticator.user(name)
        if user is None:
            raise PageError(422, f"{word('no_such_user', visit.lang)} `{name}`")
        self.workflows.assign(visit.param("case"), Actor(user.name, user.roles), visit.actor)
        return self._back(visit, "assign")

    def fire(self, visit: Visit) -> Page | Response:
        instance, process = self._open(visit)
        trigger = visit.param("trigger")
        choice = next((c for c in self.workflows.available(instance.id, visit.actor) if c.trigger == trigger), None)
        if choice is None:
            raise PageError(409, word("no_actions", visit.lang))
        form = form_for(choice, process, visit.lang)
        if visit.field("more_rows"):  # the form again, what was filled in kept, with a blank row more
            return self.page(visit, refused=(trigger, form, PlacedProblems()), status=200)
        payload, problems = payload_from(form, visit.form)
        if problems:
            return self.page(visit, refused=(trigger, form, at_fields(form, problems)))
        if form.items and visit.field("item"):
            payload["item"] = visit.field("item")
        if form.signers and not self._signer_confirms(visit):
            wrong = word("bad_sign_in", visit.lang)
            return self.page(
                visit, refused=(trigger, form, PlacedProblems({"signoff_password": (Text(wrong, wrong),)}))
            )
        try:
            self.workflows.fire(instance.id, trigger, visit.actor, payload)
        except EventRefused as refusal:
            found = problem_for(refusal).extra.get("errors") or [{"pointer": "", "detail": str(refusal)}]
            return self.page(visit, refused=(trigger, form, at_fields(form, found)))
        return self._back(visit, trigger)

    def _signer_confirms(self, visit: Visit) -> bool:
        """A sign-off is given only with the signer's password, asked again as they sign."""
        return self.site.sign_in(visit.request, visit.actor.id, visit.field("signoff_password") or "") is not None

    def _back(self, visit: Visit, done: str) -> Response:
        return RedirectResponse(f"{BASE}/cases/{visit.param('case')}?done={done}", 303)


def may_view(process: Process, actor: Actor) -> bool:
    """Whether a signed-in person may open the procedure's cases: they hold a role it names, they are
    one of its administrators, or they audit."""
    roles = set(actor.roles)
    return bool(roles & set(process.roles)) or actor.id in process.administrators or AUDITOR_ROLE in roles


def _done_by(instance: Instance, part_id: str) -> tuple[str, ...]:
    """Who did the part in the current stay in the step (a part's trigger is its id)."""
    stay = [e for e in instance.history if e.at >= instance.entered_at]
    return tuple(dict.fromkeys(e.actor for e in stay if e.trigger == part_id))


def _history_row(process: Process, entry: Entry, zone: str, visit: Visit) -> HistoryRow:
    def step(state_id: str | None) -> str:
        if state_id is None or state_id not in process.states:
            return state_id or ""
        state = process.states[state_id]
        return state.label.zh if visit.lang == "zh" else state.label.en if visit.lang == "en" else state.label.zh

    what = entry.trigger or ("start" if entry.source is None else "")
    if entry.assignment is not None:
        what = entry.assignment.action
    return HistoryRow(entry, shown_time(entry.at, zone), step(entry.source), step(entry.dest), what)

"""The auditors' search for cases, and heat maps of real histories over a chosen period.

The search is ``Workflows.search`` (filtered and paged in the store's SQL); a case found links to its
page (``/app/cases/{id}``), which auditors may open for any case. A heat map draws the histories of
one revision's cases that have events in the period (``heatmap_overlay``) as a chart the page shows
as an image, with the same numbers as a table.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.responses import Response

from engine.instances import Instance
from engine.model import Process
from engine.render import heatmap_overlay, layout, render_dot
from engine.render.overlay import Overlay
from engine.service import Workflows
from engine.stores import InstanceSummary, StoredDefinition
from engine.web.book import CHART_POLICY, require_auditor, revision_path
from engine.web.pages import HEADERS, Page, PageError, Site, Visit
from engine.web.templating import shown_time, span
from engine.web.words import label, word

PAGE_SIZE = 25
HEAT_CASES = 5000
"""The most histories one heat map reads."""
DEFAULT_DAYS = 30
_SEARCHED = ("process", "step", "case", "field", "value", "from", "to", "overdue_at")
KINDS = ("text", "number", "boolean")
"""How the search form's value is read: the data field holds text, a number, or true/false."""


@dataclass(frozen=True)
class CaseRow:
    case: InstanceSummary
    procedure: str
    step: str
    started: str
    entered: str
    overdue: bool
    value: object


@dataclass(frozen=True)
class HeatRow:
    step_id: str
    step: str
    visits: int
    median: str
    stays: int


@dataclass(frozen=True)
class Heat:
    process: Process
    stored: StoredDefinition
    overlay: Overlay | None
    drawn: int
    other_revisions: int
    cut: bool


class BookCaseViews:
    def __init__(self, site: Site, workflows: Workflows):
        self.site = site
        self.workflows = workflows

    # --- the search -----------------------------------------------------------------------------------

    def search(self, visit: Visit) -> Page:
        require_auditor(visit)
        chosen = {name: visit.query(name) or "" for name in _SEARCHED}
        flags = {"prefix": visit.query("prefix") == "1", "overdue": visit.query("overdue") == "1"}
        now = datetime.datetime.now(datetime.UTC)
        overdue_at = now if flags["overdue"] else moment(visit, "overdue_at")
        rows: list[CaseRow] = []
        following = None
        searched = any(chosen.values()) or any(flags.values()) or visit.query("after") is not None
        if searched:
            found = self.workflows.search(
                process=chosen["process"] or None,
                step=chosen["step"] or None,
                overdue_at=overdue_at,
                case=chosen["case"] or None,
                prefix=flags["prefix"],
                field=chosen["field"] or None,
                value=typed_value(visit, chosen["value"]) if chosen["field"] else (chosen["value"] or None),
                started_from=moment(visit, "from"),
                started_to=moment(visit, "to", end_of_day=True),
                limit=PAGE_SIZE,
                after=visit.query("after"),
            )
            rows = [
                self._row(case, started, chosen["field"], now, visit)
                for case, started in zip(found.cases, found.started, strict=True)
            ]
            if found.next is not None:
                kept = {k: v for k, v in visit.request.query_params.items() if k not in ("after", "lang")}
                following = urlencode({**kept, "after": found.next})
        context = {
            "chosen": chosen,
            "flags": flags,
            "rows": rows,
            "following": following,
            "procedures": sorted({d.ref.id for d in self.workflows.store.definitions()}),
            "steps": self._step_ids(),
            "request_made": searched,
            "kind": visit.query("kind") or "text",
            "kinds": KINDS,
        }
        return Page("book_cases.html", context, title=word("find_cases", visit.lang))

    def _row(
        self, case: InstanceSummary, started: datetime.datetime, field: str, now: datetime.datetime, visit: Visit
    ) -> CaseRow:
        process = self.workflows.runtime(case.process.id, case.process.content_hash).process
        zone = process.calendar.timezone
        state = process.states.get(case.state)
        return CaseRow(
            case,
            label(process.title, visit.lang),
            label(state.label, visit.lang) if state else case.state,
            shown_time(started, zone),
            shown_time(case.entered_at, zone),
            bool(case.overdue(now)),
            case.data.get(field, "") if field else "",
        )

    def _step_ids(self) -> list[str]:
        steps: set[str] = set()
        for stored in self.workflows.store.definitions():
            steps |= set(self.workflows.runtime(stored.ref.id, stored.ref.content_hash).process.states)
        return sorted(steps)

    # --- heat maps ------------------------------------------------------------------------------------

    def heatmap(self, visit: Visit) -> Page:
        require_auditor(visit)
        start, end = period(visit)
        heat = self._heat(visit, start, end)
        rows = []
        nodes = heat.overlay.nodes if heat.overlay is not None else {}
        for state in heat.process.states.values():
            mark = nodes.get(state.id)
            median = mark.median_stay if mark is not None else None
            rows.append(
                HeatRow(
                    state.id,
                    label(state.label, visit.lang),
                    mark.visits if mark else 0,
                    span(median) if median is not None else "",
                    mark.stays if mark else 0,
                )
            )
        query = {"from": start.date().isoformat(), "to": (end - datetime.timedelta(days=1)).date().isoformat()}
        query["revision"] = str(heat.stored.ref.revision)
        revisions = [d.ref.revision for d in self.workflows.store.definitions() if d.ref.id == heat.process.id]
        context = {
            "process": heat.process,
            "stored": heat.stored,
            "heat": heat,
            "rows": rows,
            "query": query,
            "chart_query": urlencode({**query, "lang": visit.lang}),
            "revisions": revisions,
            "book_page": revision_path(heat.process.id, heat.stored.ref.revision),
        }
        return Page("book_heatmap.html", context, title=f"{word('heatmap', visit.lang)} · {heat.process.id}")

    def chart(self, visit: Visit) -> Response:
        require_auditor(visit)
        start, end = period(visit)
        heat = self._heat(visit, start, end)
        svg = layout(render_dot(heat.process, lang=visit.lang, overlay=heat.overlay), "svg")
        return Response(svg, media_type="image/svg+xml", headers=HEADERS | {"Content-Security-Policy": CHART_POLICY})

    def _heat(self, visit: Visit, start: datetime.datetime, end: datetime.datetime) -> Heat:
        process_id = visit.param("process")
        revisions = [d for d in self.workflows.store.definitions() if d.ref.id == process_id]
        if not revisions:
            raise PageError(404, word("not_found", visit.lang))
        asked = visit.query("revision")
        stored = next((d for d in revisions if str(d.ref.revision) == asked), None) if asked else revisions[-1]
        if stored is None:
            raise PageError(400, f"{word('revision', visit.lang)} `{asked}`: {word('not_found', visit.lang)}")
        process = self.workflows.runtime(process_id, stored.ref.content_hash).process
        drawn: list[Instance] = []
        other, after, cut = 0, None, False
        while not cut:
            page = self.workflows.search(process=process_id, started_to=end, limit=200, after=after)
            for case in page.cases:
                if case.process.content_hash != process.content_hash:
                    other += 1
                    continue
                instance = self.workflows.get(case.id)
                if any(start <= entry.at < end for entry in instance.history):
                    drawn.append(instance)
                    cut = len(drawn) >= HEAT_CASES
            if page.next is None:
                break
            after = page.next
        overlay = heatmap_overlay(process, drawn) if drawn else None
        return Heat(process, stored, overlay, len(drawn), other, cut)


def moment(visit: Visit, name: str, *, end_of_day: bool = False) -> datetime.datetime | None:
    """The time a query parameter gives: ``2026-11-23`` (that day's midnight UTC, or the next one with
    ``end_of_day``), ``2026-11-23T09:00`` (UTC), or with its offset; a 400 page naming it otherwise."""
    text = visit.query(name)
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            found = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
            return found + datetime.timedelta(days=1) if end_of_day else found
        found = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise PageError(400, f"`{name}`: {word('bad_time', visit.lang)} {text[:40]}") from None
    return found if found.tzinfo is not None else found.replace(tzinfo=datetime.UTC)


def typed_value(visit: Visit, text: str) -> str | int | float | bool:
    """The form's value as the kind chosen says; a 400 page naming it when it does not read so."""
    kind = visit.query("kind") or "text"
    if kind == "text":
        return text
    if kind == "boolean" and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if number == number and abs(number) != float("inf"):
                return int(number) if number.is_integer() and "." not in text else number
    raise PageError(400, f"`value`: {word('bad_value', visit.lang)} {kind}: {text[:40]}")


def period(visit: Visit) -> tuple[datetime.datetime, datetime.datetime]:
    """The heat map's period: ``from`` to the end of ``to`` (by default the last ``DEFAULT_DAYS`` days)."""
    end = moment(visit, "to", end_of_day=True)
    if end is None:
        today = datetime.datetime.now(datetime.UTC).date()
        end = datetime.datetime(today.year, today.month, today.day, tzinfo=datetime.UTC) + datetime.timedelta(days=1)
    start = moment(visit, "from") or end - datetime.timedelta(days=DEFAULT_DAYS)
    if end <= start:
        raise PageError(400, f"`to`: {word('bad_time', visit.lang)} {visit.query('to') or ''}")
    return start, end

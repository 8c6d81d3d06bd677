"""The audit book served live from the store, for auditors: every procedure with each stored revision,
and each revision's book page made from the definition text the store keeps.

A revision's page is the static book's own page (``engine.render.book_pages.procedure_page``), sent as
its own document. Its links are relative, as on disk, so the routes answer where they lead: the
diagram downloads at ``{revision}/chart.svg|.mmd|.dot``, ``../index.html`` (back to the list) and a
sub-procedure's ``{child}.html`` (its latest revision). Its one stylesheet is inline: the page's
policy allows that stylesheet by its hash, and no script at all.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import threading

from starlette.responses import HTMLResponse, RedirectResponse, Response

from engine.changelog import change_log, stored_revisions
from engine.model import Process
from engine.render import layout, render_dot, render_mermaid
from engine.render.book_pages import DiagramFiles, procedure_page
from engine.render.book_revisions import History
from engine.render.book_style import CSS
from engine.service import Workflows
from engine.stores import StoredDefinition
from engine.web.pages import AUDITOR_ROLE, BASE, HEADERS, Page, PageError, Site, Visit
from engine.web.words import PageLang, word

BOOK = f"{BASE}/book"
_STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
BOOK_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; style-src-attr 'unsafe-inline'; img-src data:; "
    "form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""A book page: its own stylesheet (by hash), the chart box's size in a style attribute, the inline
chart, no script, nothing from elsewhere."""
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_KEPT = 64


def require_auditor(visit: Visit) -> None:
    if AUDITOR_ROLE not in visit.actor.roles:
        raise PageError(403, word("forbidden", visit.lang))


def revision_path(process_id: str, revision: int) -> str:
    return f"{BOOK}/procedures/{process_id}/{revision}"


class BookViews:
    def __init__(self, site: Site, workflows: Workflows):
        self.site = site
        self.workflows = workflows
        self._svgs: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    # --- the list of procedures ---------------------------------------------------------------------

    def index(self, visit: Visit) -> Page:
        require_auditor(visit)
        open_cases = self.workflows.open_cases()
        procedures: dict[str, list[tuple[StoredDefinition, int]]] = {}
        for stored in self.workflows.store.definitions():
            count = open_cases.get((stored.ref.id, stored.ref.content_hash), 0)
            procedures.setdefault(stored.ref.id, []).append((stored, count))
        rows = []
        for process_id, revisions in sorted(procedures.items()):
            newest = revisions[-1][0]
            title = self._process(newest).title
            rows.append((process_id, title, list(reversed(revisions))))
        context = {"procedures": rows, "revision_path": revision_path}
        return Page("book.html", context, title=word("book", visit.lang))

    # --- one revision's page ------------------------------------------------------------------------

    def page(self, visit: Visit) -> Response:
        require_auditor(visit)
        stored, earlier = self._stored(visit)
        process = self._process(stored)
        revision = stored.ref.revision
        texts = [(d.ref.revision, d.ref.content_hash, d.source, d.registered_at) for d in earlier]
        log = change_log(
            process, stored.source.encode("utf-8"), stored_revisions(texts), source="store", absent="not in the store"
        )
        generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        history = History(generated, None, log, self.workflows.store.url)
        files = DiagramFiles(f"{revision}/chart.svg", f"{revision}/chart.mmd", f"{revision}/chart.dot")
        book = {d.ref.id: self._process(d) for d in self._latest().values()}
        html = procedure_page(process, self._svg(process, visit.lang), files, visit.lang, book, history)
        return HTMLResponse(html, headers=HEADERS | {"Content-Security-Policy": BOOK_POLICY})

    def chart(self, visit: Visit) -> Response:
        require_auditor(visit)
        process = self._process(self._stored(visit)[0])
        kind = visit.param("kind")
        if kind == "svg":
            return Response(
                self._svg(process, visit.lang),
                media_type="image/svg+xml",
                headers=HEADERS | {"Content-Security-Policy": CHART_POLICY},
            )
        if kind not in ("mmd", "dot"):
            raise PageError(404, word("not_found", visit.lang))
        text = render_mermaid(process, lang=visit.lang) if kind == "mmd" else render_dot(process, lang=visit.lang)
        return Response(text, media_type="text/plain; charset=utf-8", headers=HEADERS)

    def to_index(self, visit: Visit) -> Response:
        return RedirectResponse(BOOK, 303)

    def to_child(self, visit: Visit) -> Response:
        """A sub-procedure's link on a revision's page: its latest revision's page."""
        require_auditor(visit)
        latest = self._latest().get(visit.param("child"))
        if latest is None:
            raise PageError(404, word("not_found", visit.lang))
        return RedirectResponse(revision_path(latest.ref.id, latest.ref.revision), 303)

    # --- what the views share -----------------------------------------------------------------------

    def _stored(self, visit: Visit) -> tuple[StoredDefinition, list[StoredDefinition]]:
        """The revision the path names, and it with every earlier one (for its change log)."""
        process_id, revision = visit.param("process"), int(visit.request.path_params["revision"])
        revisions = [d for d in self.workflows.store.definitions() if d.ref.id == process_id]
        chosen = next((d for d in revisions if d.ref.revision == revision), None)
        if chosen is None:
            raise PageError(404, word("not_found", visit.lang))
        return chosen, [d for d in revisions if d.ref.revision <= revision]

    def _latest(self) -> dict[str, StoredDefinition]:
        latest: dict[str, StoredDefinition] = {}
        for stored in self.workflows.store.definitions():  # by process id, then revision
            latest[stored.ref.id] = stored
        return latest

    def _process(self, stored: StoredDefinition) -> Process:
        return self.workflows.runtime(stored.ref.id, stored.ref.content_hash).process

    def _svg(self, process: Process, lang: PageLang) -> str:
        key = (process.content_hash, lang)
        with self._lock:
            svg = self._svgs.get(key)
        if svg is None:
            svg = layout(render_dot(process, lang=lang), "svg").decode("utf-8")
            with self._lock:
                if len(self._svgs) >= _KEPT:
                    self._svgs.clear()
                self._svgs[key] = svg
        return svg

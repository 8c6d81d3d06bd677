"""The studio's pages: the procedures to edit, and the editor of one (``templates/studio.html``).

The editor's checks, diff and publishing are the JSON routes of ``engine.http.studio``, which the
page's script calls with the visitor's session; here are only the pages that carry the draft. Any
signed-in person may open a draft and check it (the published definitions are no secret to them);
publishing needs the role ``publisher``.
"""

from __future__ import annotations

from importlib import resources

from engine.model import thaw_json
from engine.schema import process_schema
from engine.service import Workflows
from engine.studio import PUBLISHER_ROLE
from engine.web.pages import BASE, Page, Visit
from engine.web.words import label, word

STUDIO = f"{BASE}/studio"


class StudioPages:
    def __init__(self, workflows: Workflows):
        self.workflows = workflows

    def index(self, visit: Visit) -> Page:
        latest: dict[str, tuple[int, str]] = {}
        for stored in self.workflows.store.definitions():  # by process id then revision: the last wins
            runtime = self.workflows.runtime(stored.ref.id, stored.ref.content_hash)
            latest[stored.ref.id] = (stored.ref.revision, label(runtime.process.title, visit.lang))
        rows = [(process_id, revision, title) for process_id, (revision, title) in sorted(latest.items())]
        return Page("studio_index.html", {"procedures": rows}, title=word("studio", visit.lang))

    def edit(self, visit: Visit) -> Page:
        process_id = visit.param("process")
        ref = self.workflows.latest(process_id)
        draft = self.workflows.store.definition(ref.id, ref.content_hash).source
        return self._editor(visit, process_id, draft)

    def new(self, visit: Visit) -> Page:
        draft = resources.files("engine").joinpath("templates", "process.yaml").read_text(encoding="utf-8")
        return self._editor(visit, None, draft)

    def _editor(self, visit: Visit, process_id: str | None, draft: str) -> Page:
        context = {
            "process_id": process_id,
            "draft": draft,
            "can_publish": PUBLISHER_ROLE in visit.actor.roles,
            "schema": thaw_json(process_schema()),
            "static_url": f"{BASE}/static",
        }
        title = f"{word('studio', visit.lang)} · {process_id or ''}"
        return Page("studio.html", context, title=title, styles_inline=True)  # CodeMirror styles itself

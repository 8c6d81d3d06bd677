"""The Studio's JSON routes (``engine.studio`` over HTTP), for the page where process owners edit a
procedure. Each body is the draft's YAML text (``application/yaml``, ``text/yaml`` or JSON, which
YAML reads too; at most ``MAX_FILE_BYTES``, as a definition file), read by ``app``'s plan reader.

* ``POST /studio/check`` — the draft's problems as ``procflow validate`` finds them, each at its line
  and column; with its chart (SVG text) when it has no errors. Always 200: problems are the answer.
* ``POST /studio/diff/{process}`` — the changes from the latest published revision to the draft, and
  the drawn diff; 422 (the problems at their places) for a draft with errors.
* ``POST /studio/publish/{process}`` — for the role ``publisher`` only (403 otherwise, nothing stored):
  the draft becomes the next revision (201), with the impact on open cases and a draft migration plan;
  the same content again is 200 with the revision it already has.

Every route needs a signed-in caller; ``?lang=zh|en|both`` picks the chart labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.errors import NotFound
from engine.errors import Problem as DefinitionProblem
from engine.http.problems import Problem
from engine.model import Process
from engine.render import LANGS, Lang
from engine.service import Workflows
from engine.stores import ProcessRef
from engine.studio import PUBLISHER_ROLE, chart, check, diff, problem_json, publish, published

DRAFT_FILE = "<draft>"
"""The file name a draft sent over HTTP is located in (its problems read ``<draft>:3:5``)."""
_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class StudioCall(Protocol):
    """What the routes need of ``app.Call``: the request, who signed in, and the draft's text."""

    @property
    def request(self) -> Request: ...
    @property
    def caller(self) -> Any: ...
    @property
    def body(self) -> Any: ...
    def param(self, name: str) -> str: ...


class Studio:
    """The three routes' work, each run in a worker thread by ``app``."""

    def __init__(self, workflows: Workflows):
        self.workflows = workflows

    def check(self, call: StudioCall) -> Response:
        text = _text(call)
        checked = check(text, DRAFT_FILE)
        answer = checked.as_json()
        answer["svg"] = None if checked.process is None else chart(checked.process, _lang(call)).decode("utf-8")
        return _json(answer)

    def diff(self, call: StudioCall) -> Response:
        text = _text(call)
        draft = _valid(text, call.param("process"))
        found = published(self.workflows, draft.id)
        if found is None:
            raise NotFound(f"`{draft.id}` has no published revision to compare the draft with")
        ref, old = found
        drawn = diff(old, draft, _lang(call))
        said = [line for change in drawn.changes for line in change.lines()]  # `procflow diff`'s words
        drawing = {"lines": said, "svg": drawn.svg.decode("utf-8")}
        return _json({"published": _reference(ref)} | drawn.document | drawing)

    def publish(self, call: StudioCall) -> Response:
        if PUBLISHER_ROLE not in call.caller.actor.roles:
            raise Problem(403, "permission", f"publishing a procedure needs the role `{PUBLISHER_ROLE}`")
        text = _text(call)
        _valid(text, call.param("process"))
        done = publish(self.workflows, text, call.caller.actor, DRAFT_FILE)
        answer = {
            "revision": _reference(done.ref),
            "created": done.created,
            "previous": None if done.previous is None else _reference(done.previous),
            "impact": None if done.impact is None else done.impact.as_json(),
            "plan": done.plan,
        }
        headers = {"Location": f"/procedures/{done.ref.id}"}
        return _json(answer, 201 if done.created else 200, headers)


def _text(call: StudioCall) -> str:
    return call.body if isinstance(call.body, str) else ""


def _valid(text: str, process_id: str) -> Process:
    """The draft's model; 422 with every problem at its place, or when it is another procedure's."""
    checked = check(text, DRAFT_FILE)
    if checked.process is None:
        errors = [p for p in checked.problems if p.severity.value == "error"]
        detail = f"the draft has {len(errors)} error(s): {errors[0]}" if errors else "the draft has errors"
        raise Problem(422, "invalid-definition", detail, {"errors": [_located(p, text) for p in checked.problems]})
    if checked.process.id != process_id:
        raise Problem(422, "wrong-process", f"the draft defines `{checked.process.id}`, not `{process_id}`")
    return checked.process


def _located(problem: DefinitionProblem, text: str) -> dict[str, Any]:
    """A problem as problem details list them (``pointer`` and ``detail``, as a plan's), with the editor's fields."""
    return {"pointer": "", "detail": problem.message} | problem_json(problem, text)


def _lang(call: StudioCall) -> Lang:
    lang = call.request.query_params.get("lang", "both")
    if lang not in LANGS:
        raise Problem(400, "invalid-query", f"`lang` is one of {', '.join(LANGS)}")
    return lang


def _reference(ref: ProcessRef) -> dict[str, Any]:
    return {"id": ref.id, "revision": ref.revision, "version": ref.version, "content_hash": ref.content_hash}


def _json(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(value, status, headers=_HEADERS | dict(headers or {}))

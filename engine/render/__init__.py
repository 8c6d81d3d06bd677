"""Drawing processes: model (+ histories) → DOT, SVG/PNG/PDF through Graphviz, Mermaid, BPMN 2.0.

``render_dot`` and ``render_mermaid`` give text and need nothing installed; ``layout`` and
``render_to_file`` with ``.svg``, ``.png``, ``.pdf`` or ``.bpmn`` (BPMN 2.0 XML laid out from the
same Graphviz layout) run Graphviz's ``dot`` within a time bound.
Every failure is a ``RenderError`` (``LayoutTimeout`` for a layout that ran too long), or an
``InstanceFormatError`` for a history that does not belong to the definition.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import RenderError
from engine.files import write_replacing
from engine.model import Process
from engine.render.bpmn import to_bpmn
from engine.render.diagram import LANGS, Diagram, Lang, extract
from engine.render.dot import to_dot
from engine.render.graphviz_run import DEFAULT_TIMEOUT, LAYOUT_FORMATS, layout
from engine.render.mermaid import to_mermaid
from engine.render.overlay import Overlay, heatmap_overlay, instance_overlay, read_history
from engine.render.paper import PAPERS, Plan, Sheet, paper_pdf, sheet

FILE_FORMATS = (".dot", ".svg", ".png", ".pdf", ".mmd", ".bpmn")

__all__ = [
    "DEFAULT_TIMEOUT",
    "FILE_FORMATS",
    "LANGS",
    "LAYOUT_FORMATS",
    "PAPERS",
    "Diagram",
    "Lang",
    "Overlay",
    "Plan",
    "Sheet",
    "extract",
    "heatmap_overlay",
    "instance_overlay",
    "layout",
    "read_history",
    "render_bpmn",
    "render_dot",
    "render_mermaid",
    "render_to_file",
    "sheet",
]


def render_dot(
    process: Process, *, lang: Lang = "both", overlay: Overlay | None = None, source_base: str | None = None
) -> str:
    """The process as Graphviz DOT text: byte for byte the same for the same definition.

    ``source_base`` (a folder or URL ending in ``/``): where the source documents are, so that in SVG
    each step links to its section; without it steps carry their section as a tooltip only.
    """
    return to_dot(extract(process, lang, source_base=source_base), lang, overlay)


def render_mermaid(process: Process, *, lang: Lang = "both") -> str:
    """The process as a Mermaid flowchart, with its lanes as subgraphs."""
    return to_mermaid(extract(process, lang))


def render_bpmn(process: Process, *, lang: Lang = "both", timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The process as BPMN 2.0 XML with its diagram (BPMN DI), laid out by Graphviz (``engine.render.bpmn``)."""
    return to_bpmn(process, lang, timeout=timeout)


def render_to_file(
    process: Process,
    path: str | os.PathLike[str],
    *,
    lang: Lang = "both",
    overlay: Overlay | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    source_base: str | None = None,
    paper: Sheet | None = None,
) -> Plan | None:
    """Draw ``process`` into ``path``, in the format its suffix names (``.dot .svg .png .pdf .mmd .bpmn``).

    ``paper``: a ``.pdf`` on sheets of that paper, its text at 7 pt or more, cut across sheets when
    it must be (``engine.render.paper``); the plan it was printed by is returned.
    Nothing is written unless the drawing succeeded, and the file is replaced whole or not at all.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FILE_FORMATS:
        raise RenderError(
            f"{target}: cannot tell the format from the suffix {suffix or '(none)'!r}; "
            f"use one of {', '.join(FILE_FORMATS)}"
        )
    content: bytes
    printed = None
    if paper is not None and suffix != ".pdf":
        raise RenderError(f"{target}: a paper size goes with .pdf, not {suffix or 'no suffix'}")
    if paper is not None:
        chart = paper_pdf(
            render_dot(process, lang=lang, overlay=overlay, source_base=source_base),
            paper,
            title=process.id,
            timeout=timeout,
        )
        content, printed = chart.pdf, chart.plan
    elif suffix == ".mmd":
        if overlay is not None:
            raise RenderError(f"{target}: Mermaid charts carry no overlay; draw it as .svg, .png, .pdf or .dot")
        content = render_mermaid(process, lang=lang).encode("utf-8")
    elif suffix == ".bpmn":
        if overlay is not None:
            raise RenderError(f"{target}: BPMN files carry no overlay; draw it as .svg, .png, .pdf or .dot")
        content = render_bpmn(process, lang=lang, timeout=timeout)
    else:
        dot_text = render_dot(process, lang=lang, overlay=overlay, source_base=source_base)
        content = dot_text.encode("utf-8") if suffix == ".dot" else layout(dot_text, suffix[1:], timeout=timeout)
    try:
        write_replacing(target, content)
    except OSError as exc:
        raise RenderError(f"{target}: cannot write the diagram: {exc.strerror or exc}") from exc
    return printed

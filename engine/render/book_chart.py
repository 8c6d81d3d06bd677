"""The flowchart on a book page: on screen at a size its text can be read, in a box that scrolls and
zooms; on paper cut into sheets whose text is 7 pt or more.

On screen the chart is drawn at its full size (Graphviz's points, the smallest text 9 pt) inside a box
that scrolls both ways (a finger pans it, two pinch the page), with zoom buttons: fit the width for an
overview, 100 %, 150 %, 200 %. They are radio buttons, so they work from the keyboard (arrow keys) and
with no script at all; the box itself takes focus, so the arrow keys pan it.

On paper (``@media print``) the box is not printed; instead the chart comes after the tables as a
grid of sheets (``engine.render.paper``'s plan for A4 portrait): each a view (``<use>``) of the same
inline SVG through its own ``viewBox``, filling the printed page's width, so no copy of the chart
is made.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from engine.model import Text
from engine.render import Lang
from engine.render.book_html import esc, label
from engine.render.dot import title_node
from engine.render.paper import MIN_TEXT, PAPERS, Box, Sheet, plan

ZOOMS = (("fit", None), ("100", 1.0), ("150", 1.5), ("200", 2.0))
"""The zoom buttons: an id and the factor on the chart's full size (``None``: fit the box's width)."""
DEFAULT_ZOOM = "100"
CAPTION_ROOM = 36.0
"""Points of a printed sheet kept for the caption under its part of the chart."""
_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"[^>]*?\bheight="([\d.]+)pt"', re.S)
_VIEW_BOX = re.compile(r'<svg\b[^>]*?\bviewBox="([-\d. ]+)"', re.S)
_FONT = re.compile(r'\bfont-size="([\d.]+)"')


def chart_size(svg: str) -> tuple[float, float] | None:
    """The chart's full size in points, as Graphviz wrote it on the ``<svg>`` element (``None``: not said)."""
    found = _SIZE.search(svg)
    return (float(found.group(1)), float(found.group(2))) if found else None


def screen_figure(svg: str, caption: str, lang: Lang) -> str:
    """The chart in its zooming, scrolling box, with the zoom buttons and ``caption`` under it."""
    size = chart_size(svg)
    style = f' style="--w: {size[0]:g}pt; --h: {size[1]:g}pt"' if size else ""
    inputs = "".join(
        f'<input type="radio" name="zoom" id="zoom-{key}" class="zoom"'
        f'{" checked" if key == DEFAULT_ZOOM else ""} aria-label="{esc(_zoom_words(key, lang))}">'
        for key, _ in ZOOMS
    )
    buttons = "".join(f'<label for="zoom-{key}">{_zoom_label(key, lang)}</label>' for key, _ in ZOOMS)
    return (
        f'<figure class="diagram"{style}>\n{inputs}\n'
        f'<div class="zoom-bar" aria-hidden="true"><span>{label(_ZOOM, lang)}</span>{buttons}</div>\n'
        f'<div class="chart" tabindex="0" role="region" aria-label="{esc(_plain(_PAN, lang))}">\n{svg}\n</div>\n'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def print_sheets(svg: str, lang: Lang) -> str:
    """The chart for paper: one figure per sheet, each a window on the inline SVG, after the tables
    (nothing for an SVG that gives no size or has no drawing group)."""
    size, graph = chart_size(svg), _graph_id(svg)
    if size is None or graph is None:
        return ""
    width, height = size
    view = _VIEW_BOX.search(svg)
    left, top = (float(v) for v in view.group(1).split()[:2]) if view else (0.0, 0.0)
    sizes = [float(v) for v in _FONT.findall(svg)]
    smallest = min(sizes) if sizes else 14.0
    a4_width, a4_height = PAPERS["A4"]
    sheet = Sheet("A4", False, a4_width, a4_height - CAPTION_ROOM)
    found = plan(Box(0, 0, width, height), smallest, sheet, _marks(svg, height))
    lanes = _lanes(svg)
    note = label(_PRINTED, lang).replace("{pt}", f"{found.smallest_printed:g}")
    figures = []
    for number, (window, (row, column)) in enumerate(zip(found.windows, found.places, strict=True), start=1):
        x, y = left + window.left, top + (height - window.top)
        w, h = window.right - window.left, window.top - window.bottom
        where = f"{number} / {len(found.windows)}"
        if found.columns * found.rows > 1:
            where += f" · {label(_ROW, lang)} {row}/{found.rows} · {label(_COLUMN, lang)} {column}/{found.columns}"
        figures.append(
            f'<figure class="sheet"><svg viewBox="{x:.2f} {y:.2f} {w:.2f} {h:.2f}" '
            f'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" role="img" '
            f'aria-label="{esc(_plain(_DIAGRAM, lang))} {esc(where)}">'
            f'<use href="#{esc(graph)}" xlink:href="#{esc(graph)}"/>{_lane_titles(lanes, (x, y, x + w, y + h))}</svg>'
            f"<figcaption>{label(_DIAGRAM, lang)} · {where}{f'. {note}' if number == 1 else ''}</figcaption></figure>"
        )
    body = "\n".join(figures)
    return f'<section class="print-chart" aria-hidden="true">\n{body}</section>'


@dataclass(frozen=True)
class _Lane:
    """A lane or department as drawn: its box and its title's lines, in the SVG's coordinates."""

    box: tuple[float, float, float, float]
    """Left, top, right, bottom."""
    title_at: tuple[float, float]
    lines: tuple[tuple[str, str], ...]
    """Each line's text attributes (font, size, weight, colour) and its text, as Graphviz escaped it."""
    size: float


def _lanes(svg: str) -> list[_Lane]:
    moved = _TRANSLATE.search(svg)
    dx, dy = (float(moved.group(1)), float(moved.group(2))) if moved else (0.0, 0.0)
    titles = {html.unescape(node.group(1)): node.group(2) for node in _TITLE_NODE.finditer(svg)}
    found = []
    for cluster in _CLUSTER.finditer(svg):
        body = cluster.group(2)
        pairs = [(float(x) + dx, float(y) + dy) for shape in _SHAPE.findall(body) for x, y in _PAIR.findall(shape)]
        # the title is a node of its own (``dot.title_node``), or the cluster's label when it has one
        title = body if _TEXT.search(body) else titles.get(title_node(html.unescape(cluster.group(1))) or "", "")
        texts = _TEXT.findall(title)
        if not pairs or not texts:
            continue
        xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
        first = _TEXT_AT.search(title)
        at = (float(first.group(1)) + dx, float(first.group(2)) + dy) if first else (min(xs), min(ys))
        lines = tuple((" ".join(_STYLE.findall(attrs)), text) for attrs, text in texts)
        sized = _FONT.search(texts[0][0])
        size = float(sized.group(1)) if sized else 11.0
        found.append(_Lane((min(xs), min(ys), max(xs), max(ys)), at, lines, size))
    return found


def _lane_titles(lanes: list[_Lane], window: tuple[float, float, float, float]) -> str:
    """The titles of the lanes this sheet cuts off from their own, again at the top left of the part shown."""
    left, top, right, bottom = window
    placed: list[tuple[float, float, float, float]] = []
    marks = []
    for lane in lanes:
        l_left, l_top, l_right, l_bottom = lane.box
        if not (l_left < right and left < l_right and l_top < bottom and top < l_bottom):
            continue
        if left <= lane.title_at[0] <= right and top <= lane.title_at[1] - lane.size <= bottom:
            continue
        step = lane.size * 1.25
        w = max(sum(1.0 if ord(c) > 0x2E80 else 0.6 for c in html.unescape(t)) for _, t in lane.lines) * lane.size + 8
        h = len(lane.lines) * step + 4
        x, y = max(left, l_left) + 4, max(top, l_top) + 4
        for other in placed:  # a department and its lane both cut: one title under the other
            if x < other[2] and other[0] < x + w and y < other[3] and other[1] < y + h:
                y = other[3] + 2
        placed.append((x, y, x + w, y + h))
        lines = "".join(
            f'<text x="{x + 4:.2f}" y="{y + 2 + (n + 1) * step - lane.size * 0.3:.2f}" {attrs}>{text}</text>'
            for n, (attrs, text) in enumerate(lane.lines)
        )
        marks.append(
            f'<g class="lane-title"><rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="#F5F7FA" '
            f'fill-opacity="0.92" stroke="#90A4AE" stroke-dasharray="3 2"/>{lines}</g>'
        )
    return "".join(marks)


_CLUSTER = re.compile(
    r'<g id="[^"]*" class="cluster">\s*<title>(cluster_(?:lane|dept)_[^<]*)</title>(.*?)</a>\s*</g>\s*</g>', re.S
)
_TITLE_NODE = re.compile(r'<g id="[^"]*" class="node">\s*<title>(_title_(?:lane|dept)_[^<]*)</title>(.*?)</g>', re.S)
_TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")
_STYLE = re.compile(r'\b(?:font-family|font-size|font-weight|fill)="[^"]*"')
_NUMBER = r"-?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"({_NUMBER})\s*,\s*({_NUMBER})")
_SHAPE = re.compile(r'\b(?:points|d)="([^"]*)"')
_TEXT_AT = re.compile(rf'<text\b[^>]*?\bx="({_NUMBER})"[^>]*?\by="({_NUMBER})"')
_TRANSLATE = re.compile(rf'class="graph"[^>]*?translate\(({_NUMBER})[ ,]({_NUMBER})\)')


def _marks(svg: str, height: float) -> list[Box]:
    """Boxes around what the SVG draws, in the plan's frame (points from the bottom left), so that a
    sheet on which nothing would be printed is left out. The white page behind it all is not a mark."""
    moved = _TRANSLATE.search(svg)
    dx, dy = (float(moved.group(1)), float(moved.group(2))) if moved else (0.0, 0.0)
    boxes = []
    for shape in _SHAPE.finditer(svg):
        if 'fill="white" stroke="transparent"' in svg[max(0, shape.start() - 60) : shape.start()]:
            continue
        pairs = [(float(x) + dx, height - (float(y) + dy)) for x, y in _PAIR.findall(shape.group(1))]
        for (x0, y0), (x1, y1) in zip(pairs, pairs[1:] or pairs, strict=False):
            boxes.append(Box(min(x0, x1) - 1, min(y0, y1) - 1, max(x0, x1) + 1, max(y0, y1) + 1))
    for x, y in _TEXT_AT.findall(svg):
        px, py = float(x) + dx, height - (float(y) + dy)
        boxes.append(Box(px - 20, py - 2, px + 20, py + 9))
    return boxes


def _graph_id(svg: str) -> str | None:
    """The id of the group that holds the whole drawing (``graph0`` in Graphviz's SVG)."""
    found = re.search(r'<g\b[^>]*\bid="([^"]+)"[^>]*\bclass="graph"', svg)
    return found.group(1) if found else None


def _zoom_label(key: str, lang: Lang) -> str:
    return label(_FIT, lang) if key == "fit" else f"{key}%"


def _zoom_words(key: str, lang: Lang) -> str:
    return _plain(_FIT_WORDS, lang) if key == "fit" else f"{_plain(_ZOOM, lang)} {key}%"


def _plain(text: Text, lang: Lang) -> str:
    return text.zh if lang == "zh" else text.en if lang == "en" else f"{text.zh} {text.en}"


_ZOOM = Text("缩放", "Zoom")
_FIT = Text("适应宽度", "Fit")
_FIT_WORDS = Text("缩放至适应宽度", "Zoom to fit the width")
_PAN = Text("流程图:可滚动、用方向键平移", "Flowchart: scroll, or pan with the arrow keys")
_DIAGRAM = Text("流程图", "Flowchart")
_ROW = Text("行", "row")
_COLUMN = Text("列", "column")
_PRINTED = Text(
    f"流程图按 A4 分页打印,最小字号 {{pt}} pt(不小于 {MIN_TEXT:g} pt);各页按行、列拼接。",
    f"The flowchart is printed across A4 sheets with its smallest text at {{pt}} pt ({MIN_TEXT:g} pt or more); "
    "lay the sheets out by row and column.",
)

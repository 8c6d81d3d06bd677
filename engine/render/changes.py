"""A diff drawn: the new definition's chart, with what the changes added in one colour, what they
removed ghosted in place (grey and dashed, in the lane it was in), what they changed marked with
the change written on it, and a legend of the three.

The chart is ``diagram.extract`` of the new definition, with the removed steps and arrows of the
old one's chart put back; ``dot.to_dot`` draws it with per-element ``Marks``. In SVG each marked
step or arrow carries the class ``added``, ``removed`` or ``changed`` (``<g class="node added">``).
Changes that have no place on the chart (roles, records, the data, clocks) are listed in the caption.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from engine.changes import Change, transition_keys
from engine.errors import RenderError
from engine.files import write_replacing
from engine.model import Process
from engine.render.diagram import Diagram, Edge, Lang, Step, extract
from engine.render.dot import Mark, Marks, to_dot
from engine.render.graphviz_run import DEFAULT_TIMEOUT, layout

DIFF_FORMATS = (".dot", ".svg", ".png", ".pdf")
_K = TypeVar("_K")

ADDED = Mark("added", {"color": "#2E7D32", "fontcolor": "#1B5E20", "penwidth": "3"}, "#2E7D32")
REMOVED = Mark(
    "removed",
    {"style": "dashed", "color": "#9E9E9E", "fontcolor": "#9E9E9E", "fillcolor": "#F5F5F5", "penwidth": "1.5"},
    "#9E9E9E",
)
CHANGED = Mark("changed", {"color": "#E65100", "penwidth": "3"}, "#E65100")
LEGEND = (("added / 新增", ADDED), ("removed / 删除", REMOVED), ("changed / 修改", CHANGED))
MAX_CAPTION_LINES = 12
"""Changes listed in the caption (those with no place on the chart); the rest are counted."""


def changes_dot(old: Process, new: Process, changes: Sequence[Change], *, lang: Lang = "both") -> str:
    """The DOT text of the drawn diff from ``old`` to ``new``."""
    diagram, ghosts = _with_ghosts(extract(new, lang), extract(old, lang), old, changes)
    return to_dot(diagram, lang, marks=_marks(old, new, changes, ghosts))


def render_changes_to_file(
    old: Process,
    new: Process,
    changes: Sequence[Change],
    path: str | os.PathLike[str],
    *,
    lang: Lang = "both",
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Draw the diff into ``path`` (``.dot .svg .png .pdf``); nothing is written unless it succeeded."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in DIFF_FORMATS:
        raise RenderError(
            f"{target}: cannot tell the format from the suffix {suffix or '(none)'!r}; "
            f"use one of {', '.join(DIFF_FORMATS)}"
        )
    text = changes_dot(old, new, changes, lang=lang)
    content = text.encode("utf-8") if suffix == ".dot" else layout(text, suffix[1:], timeout=timeout)
    try:
        write_replacing(target, content)
    except OSError as exc:
        raise RenderError(f"{target}: cannot write the diagram: {exc.strerror or exc}") from exc


def _renamed_steps(changes: Iterable[Change]) -> dict[str, str]:
    return {c.old_id: c.id for c in changes if c.element == "step" and c.kind == "renamed" and c.old_id}


def _removed_shared(old: Process, changes: Iterable[Change]) -> dict[str, str]:
    """The old chart's origins of removed shared transitions (``_any_0``), by the ghost's node id."""
    removed = {c.id for c in changes if c.element == "transition" and c.kind == "removed"}
    keys = [key for key in transition_keys(old) if key.startswith("*.")]
    return {f"_any_{i}": f"_old_any_{i}" for i, key in enumerate(keys) if key in removed}


def _with_ghosts(
    new: Diagram, old: Diagram, old_process: Process, changes: Sequence[Change]
) -> tuple[Diagram, tuple[Edge, ...]]:
    """``new`` with the steps and arrows only ``old`` has put back, under the new chart's ids; and
    those arrows."""
    removed = {c.id for c in changes if c.element == "step" and c.kind == "removed"}
    names: dict[str, str] = {**_renamed_steps(changes), **_removed_shared(old_process, changes)}
    roles = {c.old_id: c.id for c in changes if c.element == "role" and c.kind == "renamed" and c.old_id}
    ghosts = [dataclasses.replace(n, lane=roles.get(n.lane, n.lane)) for n in old.nodes if n.id in removed and n.lane]
    ghosts += [n for n in old.nodes if n.id in removed and not n.lane]
    ghosts += [dataclasses.replace(n, id=names[n.id]) for n in old.nodes if n.id.startswith("_any_") and n.id in names]
    present = {(e.source, e.dest, e.kind) for e in new.edges}
    known = {n.id for n in new.nodes} | {n.id for n in ghosts}
    ghost_edges = []
    for edge in old.edges:
        source, dest = names.get(edge.source, edge.source), names.get(edge.dest, edge.dest)
        if source in known and dest in known and (source, dest, edge.kind) not in present:
            steps = frozenset(
                Step(s.kind, names.get(s.source, s.source), s.via, names.get(s.dest, s.dest)) for s in edge.steps
            )
            ghost_edges.append(dataclasses.replace(edge, source=source, dest=dest, steps=steps))
    lanes, groups = list(new.lanes), list(new.groups)
    for node in ghosts:
        if node.lane is not None and all(lane.id != node.lane for lane in lanes):
            lane = next(lane for lane in old.lanes if roles.get(lane.id, lane.id) == node.lane)
            lane = dataclasses.replace(lane, id=node.lane)
            if lane.group is not None and all(g.id != lane.group for g in groups):
                groups.append(next(g for g in old.groups if g.id == lane.group))
            lanes.append(lane)
    drawn = dataclasses.replace(
        new,
        nodes=new.nodes + tuple(ghosts),
        edges=new.edges + tuple(ghost_edges),
        lanes=tuple(lanes),
        groups=tuple(groups),
    )
    return drawn, tuple(ghost_edges)


def _marks(old: Process, new: Process, changes: Sequence[Change], ghosts: tuple[Edge, ...]) -> Marks:
    nodes: dict[str, Mark] = {}
    steps: dict[Step, Mark] = {}
    moves = _moves(new)
    off_chart: list[str] = []

    for change in changes:
        if change.element == "step":
            if change.kind == "added":
                nodes[change.id] = ADDED
            elif change.kind == "removed":
                nodes[change.id] = REMOVED
            else:
                _note(nodes, change.id, ["△ " + line for line in change.notes()])
        elif change.element == "transition":
            if change.kind == "added":
                steps.update(dict.fromkeys(moves.get(change.id, ()), ADDED))
            elif change.kind != "removed" and change.fields:
                for move in moves.get(change.id, ()):
                    _note(steps, move, ["△ " + line for line in change.notes() if not line.startswith("renamed")])
        elif change.element == "part" and change.parent is not None:
            name = change.id[len(change.parent) + 1 :]
            _note(nodes, change.parent, [f"△ part `{name}`: {line}" for line in change.notes()])
        elif change.element == "form field" and change.parent in moves:
            for move in moves[change.parent]:
                _note(steps, move, [f"△ form: {line}" for line in change.notes()])
        elif change.element == "form field" and change.parent is not None:  # a part's form
            step, part = change.parent.split(".", 1)
            _note(nodes, step, [f"△ form of part `{part}`: {line}" for line in change.notes()])
        else:
            off_chart.extend(change.lines())
    for edge in ghosts:
        steps.update(dict.fromkeys(edge.steps, REMOVED))
        if edge.source.startswith("_old_any_"):
            nodes[edge.source] = REMOVED
    drawn = {step for edge in ghosts for step in edge.steps}
    names = _renamed_steps(changes)
    old_moves = _moves(old)
    for change in changes:  # removed transitions that share an arrow still drawn: said in the caption
        if change.element == "transition" and change.kind == "removed":
            written = change.old_id or change.id
            gone = {
                Step(m.kind, names.get(m.source, m.source), m.via, names.get(m.dest, m.dest))
                for m in old_moves.get(written, ())
            }
            if not gone <= drawn:
                off_chart.extend(change.lines())
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in ("added", "removed", "renamed", "changed")}
    caption = [
        f"changes from {old.file} (v{old.version} · {old.content_hash[:12]}) to this chart: "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items())
        if changes
        else f"no changes from {old.file} (v{old.version} · {old.content_hash[:12]})"
    ]
    caption += off_chart[:MAX_CAPTION_LINES]
    if len(off_chart) > MAX_CAPTION_LINES:
        caption.append(f"… and {len(off_chart) - MAX_CAPTION_LINES} more (procflow diff without -o lists them all)")
    return Marks(MappingProxyType(nodes), MappingProxyType(steps), LEGEND, "\n".join(caption))


def _note(marks: dict[_K, Mark], key: _K, lines: list[str]) -> None:
    """Mark ``key`` changed, with ``lines`` written on it (added to what a changed mark already says;
    an added or removed element says that only)."""
    current = marks.get(key)
    if current is None:
        marks[key] = dataclasses.replace(CHANGED, notes=tuple(lines))
    elif current.css_class == CHANGED.css_class:
        marks[key] = dataclasses.replace(current, notes=current.notes + tuple(lines))


def _moves(process: Process) -> dict[str, tuple[Step, ...]]:
    """The moves each transition stands for on the chart, by the transition's key (``step.trigger``)."""
    found = {}
    for key, (transition, _) in transition_keys(process).items():
        found[key] = tuple(Step("transition", s, transition.trigger, transition.dest) for s in transition.sources)
    return found

"""Laying out DOT text with Graphviz's ``dot`` program, within a time bound.

Between swimlanes (clusters) dot's router can run an arrow through a step's or another arrow's text;
without clusters it does not. Such arrows, found by ``layout_check``, are routed again by ``neato -n2``
round every node, with the positions dot chose and every other arrow kept as dot drew it, so a
chart's arrows cross no text whatever the procedure (``gvpr`` clears the routes to redo).

``dot`` runs as a child process in its own process group: a layout that runs past the bound (dot
can take minutes on a large tangled graph) is killed, group and all, and reported as
``LayoutTimeout``. In-process layout (pygraphviz) is faster on small charts but cannot be stopped
once started; docs/charts.md gives the figures.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from engine.errors import LayoutTimeout, RenderError
from engine.render.layout_check import arrows_through_nodes, read

LAYOUT_FORMATS = ("svg", "png", "pdf")
JSON = "json"
"""Graphviz's ``-Tjson``: the laid-out positions and routes, which ``bpmn_geometry.py`` turns into BPMN DI."""
LAID_OUT = "dot"
"""Graphviz's ``-Tdot``: the DOT text again with every position, which ``paper.py`` draws page by page."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a layout may take before it is stopped."""
PNG_DPI = 144
"""Twice the screen's 72 dpi, so a PNG stays sharp when an auditor zooms in."""
REROUTE_ROUNDS = 3
"""At most this many rounds of routing arrows again (see ``rerouted``)."""
INSTALL_HINT = "install Graphviz: `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS)"


def layout(
    dot_text: str, fmt: str, *, timeout: float = DEFAULT_TIMEOUT, laid_out: bool = False, options: tuple[str, ...] = ()
) -> bytes:
    """``dot_text`` drawn as ``fmt`` (``svg``, ``png`` or ``pdf``, or laid out as ``json`` or ``dot``) by
    Graphviz's ``dot``; with ``laid_out``, ``dot_text`` already holds every position (``-Tdot``'s output)
    and is drawn as it is (``neato -n2``). ``options``: more ``-G`` attributes for this drawing only.

    An arrow ``dot`` routes through a node's text (its router can, between swimlanes) is routed again
    round the nodes, every position and every other arrow kept (see ``rerouted``); when the time bound leaves no room
    for that, the chart comes as dot drew it.

    Raises ``RenderError`` when a Graphviz program is missing or fails, and ``LayoutTimeout`` when the
    drawing runs past ``timeout`` seconds (the running program is killed first).
    """
    if fmt not in (*LAYOUT_FORMATS, JSON, LAID_OUT):
        raise RenderError(f"Graphviz cannot draw {fmt!r} here: choose one of {', '.join(LAYOUT_FORMATS)}")
    if not timeout > 0:
        raise RenderError(f"the layout time bound must be a positive number of seconds, got {timeout}")
    bound = _Bound(timeout)
    drawing = [f"-T{fmt}", *options, *([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])]
    if laid_out:
        return _run("neato", ["-n2", *drawing], dot_text, bound, fmt)
    with tempfile.TemporaryDirectory(prefix="procflow-layout-") as folder:
        # One layout, written three ways: the positions, what the check reads, and the drawing asked for.
        places = {kind: os.path.join(folder, "chart." + kind) for kind in dict.fromkeys((LAID_OUT, JSON, fmt))}
        outputs = [arg for kind, place in places.items() for arg in (f"-T{kind}", "-o", place)]
        _run("dot", [*outputs, *options, *drawing[1:]], dot_text, bound, fmt)
        drawn = {kind: Path(place).read_bytes() for kind, place in places.items()}
    crossing = arrows_through_nodes(read(drawn[JSON]))
    if not crossing:
        return drawn[fmt]
    try:
        mended = _rerouted(drawn[LAID_OUT].decode("utf-8"), crossing, bound, fmt)
        if mended is None:
            return drawn[fmt]
        return mended.encode("utf-8") if fmt == LAID_OUT else _run("neato", ["-n2", *drawing], mended, bound, fmt)
    except LayoutTimeout:  # no time left to mend it: the chart as dot drew it, within the bound
        return drawn[fmt]


def rerouted(laid_out: str, arrows: Iterable[tuple[str, str]], *, timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """``laid_out`` (``-Tdot``'s output) with the ``arrows`` (tail, head) routed again by ``neato -n2``
    with ``splines=true``, which keeps every node where it is and every other arrow as it was, and
    routes an arrow that has no route round all the nodes (``gvpr`` takes those routes away first).

    Repeated while arrows through a text are fewer each round: redrawn from rounded positions, an
    arrow dot ran along a text's very edge can come out a hair inside it. ``None`` when the first
    round leaves as many as before. Raises ``LayoutTimeout`` past ``timeout`` seconds."""
    return _rerouted(laid_out, frozenset(arrows), _Bound(timeout), LAID_OUT)


def _rerouted(laid_out: str, arrows: frozenset[tuple[str, str]], bound: _Bound, fmt: str) -> str | None:
    best, mended = len(arrows), None
    for _ in range(REROUTE_ROUNDS):
        picked = " || ".join(
            f"(tail.name == {_gvpr_string(t)} && head.name == {_gvpr_string(h)})" for t, h in sorted(arrows)
        )
        unrouted = _run("gvpr", ["-c", f'E [{picked}] {{ pos = ""; }}'], laid_out, bound, fmt).decode("utf-8")
        laid_out = _run("neato", ["-n2", "-Gsplines=true", f"-T{LAID_OUT}"], unrouted, bound, fmt).decode("utf-8")
        arrows = arrows_through_nodes(read(_run("neato", ["-n2", f"-T{JSON}"], laid_out, bound, fmt)))
        if len(arrows) >= best:
            break
        best, mended = len(arrows), laid_out
        if not arrows:
            break
    return mended


def _gvpr_string(text: str) -> str:
    """``text`` as a string literal of gvpr's C-like language."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class _Bound:
    """What is left of one drawing's time bound, over the programs it runs one after the other."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return self.ends - time.monotonic()

    def exceeded(self) -> LayoutTimeout:
        return LayoutTimeout(
            f"Graphviz's layout took longer than {self.seconds:g} s and was stopped; "
            f"simplify the diagram or allow more time (--timeout SECONDS)",
            timeout=self.seconds,
        )


def _run(name: str, arguments: list[str], text: str, bound: _Bound, fmt: str) -> bytes:
    program = shutil.which(name)
    if program is None:
        raise RenderError(f"drawing .{fmt} needs Graphviz's `{name}` program, which is not on PATH: {INSTALL_HINT}")
    if bound.left() <= 0:
        raise bound.exceeded()
    try:
        process = subprocess.Popen(
            [program, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills anything it started
        )
    except OSError as exc:
        raise RenderError(f"could not run Graphviz's `{name}` ({program}): {exc.strerror or exc}") from exc
    try:
        output, errors = process.communicate(text.encode("utf-8"), timeout=max(bound.left(), 0.001))
    except subprocess.TimeoutExpired:
        _kill(process)
        raise bound.exceeded() from None
    except BaseException:  # KeyboardInterrupt while waiting: leave no dot behind
        _kill(process)
        raise
    if process.returncode != 0:
        message = errors.decode("utf-8", "replace").strip().splitlines()
        reason = message[0] if message else f"exit status {process.returncode}"
        raise RenderError(f"Graphviz's `{name}` could not draw the diagram: {reason}")
    return output


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()
    if process.stdin is not None:  # left open when the kill broke off writing the DOT text
        process.stdin.close()

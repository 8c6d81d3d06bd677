"""Laying out DOT text with Graphviz's ``dot`` program, within a time bound.

``dot`` runs as a child process in its own process group: a layout that runs past the bound (dot
can take minutes on a large tangled graph) is killed, group and all, and reported as
``LayoutTimeout``. In-process layout (pygraphviz) is faster on small charts but cannot be stopped
once started; the README gives the figures.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

from engine.errors import LayoutTimeout, RenderError

LAYOUT_FORMATS = ("svg", "png", "pdf")
JSON = "json"
"""Graphviz's ``-Tjson``: the laid-out positions and routes, which ``bpmn.py`` turns into BPMN DI."""
LAID_OUT = "dot"
"""Graphviz's ``-Tdot``: the DOT text again with every position, which ``paper.py`` draws page by page."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a layout may take before it is stopped."""
PNG_DPI = 144
"""Twice the screen's 72 dpi, so a PNG stays sharp when an auditor zooms in."""
INSTALL_HINT = "install Graphviz: `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS)"


def layout(
    dot_text: str, fmt: str, *, timeout: float = DEFAULT_TIMEOUT, laid_out: bool = False, options: tuple[str, ...] = ()
) -> bytes:
    """``dot_text`` drawn as ``fmt`` (``svg``, ``png`` or ``pdf``, or laid out as ``json`` or ``dot``) by
    Graphviz's ``dot``; with ``laid_out``, ``dot_text`` already holds every position (``-Tdot``'s output)
    and is drawn as it is (``neato -n2``). ``options``: more ``-G`` attributes for this drawing only.

    Raises ``RenderError`` when ``dot`` is missing or fails, and ``LayoutTimeout`` when it runs past
    ``timeout`` seconds (the process is killed first).
    """
    if fmt not in (*LAYOUT_FORMATS, JSON, LAID_OUT):
        raise RenderError(f"Graphviz cannot draw {fmt!r} here: choose one of {', '.join(LAYOUT_FORMATS)}")
    if not timeout > 0:
        raise RenderError(f"the layout time bound must be a positive number of seconds, got {timeout}")
    name = "neato" if laid_out else "dot"
    program = shutil.which(name)
    if program is None:
        raise RenderError(f"drawing .{fmt} needs Graphviz's `{name}` program, which is not on PATH: {INSTALL_HINT}")
    command = [program, *(["-n2"] if laid_out else []), f"-T{fmt}", *options]
    command += [f"-Gdpi={PNG_DPI}"] if fmt == "png" else []
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills anything it started
        )
    except OSError as exc:
        raise RenderError(f"could not run Graphviz's `{name}` ({program}): {exc.strerror or exc}") from exc
    try:
        output, errors = process.communicate(dot_text.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise LayoutTimeout(
            f"Graphviz's layout took longer than {timeout:g} s and was stopped; "
            f"simplify the diagram or allow more time (--timeout SECONDS)",
            timeout=timeout,
        ) from None
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

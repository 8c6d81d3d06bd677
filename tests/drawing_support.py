"""What the tests that open our drawings in their real clients share: a local web server for a folder
(the client's own files, never a CDN) and the geometry the overlap checks read boxes with."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

Rect = tuple[float, float, float, float]
"""x, y, width, height, in the page's pixels."""
TOLERANCE = 1.0
"""Pixels two boxes may share (anti-aliased edges touching) before they count as overlapping."""


def overlap(a: Rect, b: Rect) -> bool:
    return (
        min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > TOLERANCE
        and min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > TOLERANCE
    )


def inside(inner: Rect, outer: Rect) -> bool:
    return (
        inner[0] >= outer[0] - TOLERANCE
        and inner[1] >= outer[1] - TOLERANCE
        and inner[0] + inner[2] <= outer[0] + outer[2] + TOLERANCE
        and inner[1] + inner[3] <= outer[1] + outer[3] + TOLERANCE
    )


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` on a free port of 127.0.0.1 until the block ends: the address of its index.html."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

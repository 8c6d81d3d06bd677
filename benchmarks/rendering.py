"""Section 5: drawing processes to SVG with Graphviz, and a layout stopped at its time bound."""

from __future__ import annotations

import time

from benchmarks.generated import definition_text
from benchmarks.report import Row, Size, timed
from benchmarks.workload import PROCESSES
from engine import load_process, load_process_text

SECTION = "5 rendering"
SHIPPED_TARGET_S = 0.1
STOPPED_STATES = 500
STOP_AFTER = 0.05
"""Seconds the deliberately stopped layout is given; laying out 500 states takes far longer."""


def rendering(size: Size) -> list[Row]:
    try:
        from engine.render import layout, render_dot
    except ImportError as exc:
        return [Row(SECTION, "not measured", None, "", note=f"render not landed: {exc}")]
    from engine.errors import LayoutTimeout

    rows = []
    for path in sorted(PROCESSES.glob("*.yaml")):
        process = load_process(path)
        seconds = timed(lambda process=process: layout(render_dot(process, lang="both"), "svg"), size, minimum_runs=3)
        text_only = timed(lambda process=process: render_dot(process, lang="both"), size, minimum_runs=3)
        rows.append(
            Row(
                SECTION,
                f"{path.name}: DOT + SVG layout",
                seconds * 1e3,
                "ms",
                target="< 100 ms",
                met=seconds < SHIPPED_TARGET_S,
                note=f"{len(process.states)} states; the DOT text alone {text_only * 1e3:.1f} ms, the rest is `dot`",
            )
        )
    large = load_process_text(definition_text(size.rendered_states), "generated.yaml")
    stopped = load_process_text(definition_text(STOPPED_STATES), "generated.yaml")
    began = time.perf_counter()
    svg = layout(render_dot(large, lang="both"), "svg", timeout=600)
    seconds = time.perf_counter() - began
    rows.append(
        Row(
            SECTION,
            f"generated, {size.rendered_states} states with zh/en labels: DOT + SVG layout",
            seconds,
            "s",
            note=f"{len(svg):,} bytes of SVG",
        )
    )
    dot_text = render_dot(stopped, lang="both")
    began = time.perf_counter()
    try:
        layout(dot_text, "svg", timeout=STOP_AFTER)
    except LayoutTimeout as exc:
        waited = time.perf_counter() - began
        rows.append(
            Row(
                SECTION,
                f"layout of {STOPPED_STATES} states bounded at {STOP_AFTER:g} s",
                waited,
                "s",
                ratio_text="stopped",
                target="stopped with a message",
                met=True,
                note=f"message: {exc}",
            )
        )
    else:
        rows.append(
            Row(
                SECTION,
                f"layout of {STOPPED_STATES} states bounded at {STOP_AFTER:g} s",
                time.perf_counter() - began,
                "s",
                ratio_text="finished within the bound",
                target="stopped with a message",
                met=False,
                note="the layout finished inside the bound, so the stop was not exercised",
            )
        )
    return rows

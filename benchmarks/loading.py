"""Section 4: from a YAML file to a compiled machine, per shipped process and for generated ones."""

from __future__ import annotations

import time

import engine.loader
from benchmarks.generated import definition_text
from benchmarks.report import Row, Size, timed
from benchmarks.workload import PROCESSES
from engine import load_process, load_process_text
from engine.checks import check_process
from engine.compiler import CompiledProcess
from engine.definition import build_process

SECTION = "4 loading"
SHIPPED_TARGET_MS = 20.0
CHECKS_TARGET_S = 0.5


def shipped_files() -> list[str]:
    return sorted(path.name for path in PROCESSES.glob("*.yaml"))


def loading(size: Size) -> list[Row]:
    rows = []
    for name in shipped_files():
        path = PROCESSES / name
        seconds = timed(lambda path=path: CompiledProcess(load_process(path)), size, minimum_runs=5)
        ms = seconds * 1e3
        rows.append(
            Row(
                SECTION,
                f"{name}: YAML + schema + checks + compile",
                ms,
                "ms",
                target="< 20 ms",
                met=ms < SHIPPED_TARGET_MS,
            )
        )
    small, large = size.generated_states
    # A definition file may hold 1 MB; the generated ones are bigger, so the limit is lifted here.
    limit = engine.loader.MAX_FILE_BYTES
    engine.loader.MAX_FILE_BYTES = 1 << 30
    try:
        for count in (small, large):
            text = definition_text(count)
            began = time.perf_counter()
            process = load_process_text(text, f"generated_{count}.yaml")
            CompiledProcess(process)
            seconds = time.perf_counter() - began
            rows.append(
                Row(
                    SECTION,
                    f"generated, {count:,} states: YAML + schema + checks + compile",
                    seconds,
                    "s",
                    note=f"{len(text.encode()):,} bytes of YAML" if count == large else "",
                )
            )
        document = engine.loader.load_text(definition_text(large), f"generated_{large}.yaml")
        process = build_process(document)
        began = time.perf_counter()
        problems = check_process(process)
        seconds = time.perf_counter() - began
        if problems:
            raise RuntimeError(f"the generated definition has problems: {problems[:3]}")
        rows.append(
            Row(
                SECTION,
                f"generated, {large:,} states: static checks alone",
                seconds,
                "s",
                target="< 0.5 s",
                met=seconds < CHECKS_TARGET_S,
            )
        )
    finally:
        engine.loader.MAX_FILE_BYTES = limit
    return rows

"""Section 8: how long ``procflow validate`` takes to start, beside a bare interpreter's start.

Both are new processes of the same interpreter, run in turn (pass, validate, pass, validate, …) with
the bytecode cache written first; the median wall time of each is kept. The ratio, the target, is of
their median CPU times: on a quiet machine the same, on a busy one not inflated by waiting for a core.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import Row, Size

SECTION = "8 start-up"
ROOT = Path(__file__).resolve().parent.parent
VALIDATED = "processes/exchange.yaml"
TARGET_RATIO = 6.0
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    f"procflow validate {VALIDATED}": [sys.executable, "-m", "engine", "validate", VALIDATED],
}


def startup(size: Size) -> list[Row]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    for command in COMMANDS.values():  # writes the bytecode cache, as an installed procflow has one
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(max(3, size.rounds * 3)):
        for name, command in COMMANDS.items():
            used = _children_cpu()
            began = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            wall[name].append(time.perf_counter() - began)
            cpu[name].append(_children_cpu() - used)
    bare, validate = (statistics.median(wall[name]) * 1e3 for name in COMMANDS)
    bare_cpu, validate_cpu = (statistics.median(cpu[name]) * 1e3 for name in COMMANDS)
    ratio = validate_cpu / bare_cpu
    names = list(COMMANDS)
    return [
        Row(SECTION, names[0], bare, "ms", note=f"CPU {bare_cpu:.1f} ms"),
        Row(
            SECTION,
            names[1],
            validate,
            "ms",
            ratio=ratio,
            ratio_text=f"{ratio:.1f}× python -c pass (CPU)",
            target=f"≤ {TARGET_RATIO:g}× python -c pass",
            met=ratio <= TARGET_RATIO,
            note=f"CPU {validate_cpu:.1f} ms",
        ),
    ]


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime

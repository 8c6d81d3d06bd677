"""Name the dependency whose newest release breaks the suite (run by ``make test-latest``).

The suite passed on the lock and failed on the newest versions the ranges allow. This lists every
package whose version differs, then builds a venv from the lock and upgrades one package at a time,
rerunning only what failed (the lint step, or pytest's last failures), until one breaks it.

Usage: python tools/drift.py LOCK LATEST_VENV
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from packaging.markers import Marker

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
SCRATCH = Path(".venv-drift")
LINT = (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy", "--strict"])


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, str]:
    """The version the lock pins for this interpreter and platform (a universal lock pins some
    packages twice, under exclusive environment markers)."""
    pins = (PIN.match(line) for line in lock.read_text(encoding="utf-8").splitlines())
    return {normalise(m.group(1)): m.group(2) for m in pins if m and (not m.group(3) or Marker(m.group(3)).evaluate())}


def installed_versions(venv: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return {
        normalise(p["name"]): p["version"] for p in json.loads(listing.stdout) if normalise(p["name"]) != "procflow"
    }


def passes(bin_dir: Path, lint_failed: bool) -> bool:
    if lint_failed:
        return all(
            subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]], capture_output=True).returncode == 0 for cmd in LINT
        )
    pytest = [str(bin_dir / "python"), "-m", "pytest", "--lf", "-x", "-q", "-p", "no:warnings"]
    return subprocess.run(pytest, capture_output=True).returncode == 0


def pip(*args: str) -> None:
    subprocess.run([str(SCRATCH / "bin" / "python"), "-m", "pip", "install", "--quiet", *args], check=True)


def main(lock: Path, latest: Path) -> int:
    locked, newest = locked_versions(lock), installed_versions(latest)
    changed = sorted(name for name, version in newest.items() if locked.get(name, version) != version)
    if not changed:
        print("drift: every dependency is at its locked version; the failure is not drift", file=sys.stderr)
        return 1
    print("drift: the newest releases differ from the lock in:")
    for name in changed:
        print(f"  {name} {locked[name]} -> {newest[name]}")
    lint_failed = not passes(latest / "bin", lint_failed=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(SCRATCH)], check=True)
    pip("--require-hashes", "-r", str(lock))
    pip("--no-deps", "--no-build-isolation", "-e", ".")
    for name in changed:
        pip("--no-deps", f"{name}=={newest[name]}")
        if not passes(SCRATCH / "bin", lint_failed):
            step = "the lint step" if lint_failed else "the tests that failed"
            print(f"drift: {name} {newest[name]} (locked {locked[name]}) alone breaks {step}", file=sys.stderr)
            return 1
        pip("--no-deps", f"{name}=={locked[name]}")
    print("drift: no single upgrade breaks it alone; it takes several of the packages above", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))

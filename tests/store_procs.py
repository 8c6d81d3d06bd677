"""Programs the store tests run in other processes: ``python tests/store_procs.py COMMAND ...``.

writer URL ID,ID,...           fire `remind` round the instances forever, printing "ID N" once each
                               event N is acknowledged (the crash test kills it mid-stream)
migrator URL PLAN [GO]        (once the file GO exists) migrate as the plan says, printing "ID OUTCOME"
                               as each case is done
noter URL TAG COUNT ID,ID,... GO
                               as firer, with the `note` of tests/fixtures/migrate/claim_v*.yaml, while
                               the cases may be moved onto another revision (a refusal is printed too)
firer URL TAG COUNT ID,ID,... GO
                               wait for the file GO, then fire COUNT `remind`s with unique keys at
                               random instances; one JSON line per event: acknowledged or conflict
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from engine import Actor
from engine.errors import EventConflict, EventRefused
from engine.service import Workflows

CLERK = Actor("li", ["clerk"])


def writer(url: str, ids: list[str]) -> None:
    with Workflows(url) as workflows:
        for n in range(1_000_000):
            instance_id = ids[n % len(ids)]
            workflows.fire(instance_id, "remind", CLERK, {"n": n})
            print(instance_id, n, flush=True)


def migrator(url: str, plan: str, go: Path | None = None) -> None:
    with Workflows(url) as workflows:
        print(json.dumps({"ready": "migrator"}), flush=True)
        while go is not None and not go.exists():
            time.sleep(0.005)
        workflows.migrate(
            plan, Actor("zhou", ["supervisor"]), progress=lambda c: print(c.instance_id, c.outcome, flush=True)
        )


def noter(url: str, tag: str, count: int, ids: list[str], go: Path) -> None:
    chooser = random.Random(tag)
    with Workflows(url) as workflows:
        print(json.dumps({"ready": tag}), flush=True)
        while not go.exists():
            time.sleep(0.005)
        for n in range(count):
            instance_id, key = chooser.choice(ids), f"{tag}-{n}"
            try:
                workflows.fire(instance_id, "note", CLERK, key=key)
            except (EventConflict, EventRefused) as refused:
                print(json.dumps({"refused": key, "instance": instance_id, "message": str(refused)}), flush=True)
                continue
            print(json.dumps({"ack": key, "instance": instance_id}), flush=True)


def firer(url: str, tag: str, count: int, ids: list[str], go: Path) -> None:
    chooser = random.Random(tag)
    with Workflows(url) as workflows:
        print(json.dumps({"ready": tag}), flush=True)
        while not go.exists():
            time.sleep(0.005)
        first: tuple[str, str, object] | None = None
        for n in range(count):
            instance_id, key = chooser.choice(ids), f"{tag}-{n}"
            for attempt in range(20):  # a client retrying with the same key after a reported conflict
                try:
                    entry = workflows.fire(instance_id, "remind", CLERK, {"by": tag, "n": n}, key=key)
                except EventConflict as conflict:
                    print(json.dumps({"conflict": key, "instance": instance_id, "message": str(conflict)}), flush=True)
                    continue
                print(json.dumps({"ack": key, "instance": instance_id, "attempts": attempt + 1}), flush=True)
                first = first or (instance_id, key, entry)
                break
        if first is not None:  # the same key again: the first result, applied once
            instance_id, key, entry = first
            again = workflows.fire(instance_id, "remind", CLERK, {"by": tag, "n": int(key.rsplit("-", 1)[1])}, key=key)
            print(json.dumps({"resent": key, "same": again == entry}), flush=True)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "writer":
        writer(rest[0], rest[1].split(","))
    elif command == "migrator":
        migrator(rest[0], rest[1], Path(rest[2]) if len(rest) > 2 else None)
    elif command == "noter":
        noter(rest[0], rest[1], int(rest[2]), rest[3].split(","), Path(rest[4]))
    elif command == "firer":
        firer(rest[0], rest[1], int(rest[2]), rest[3].split(","), Path(rest[4]))
    else:
        sys.exit(f"unknown command {command!r}")

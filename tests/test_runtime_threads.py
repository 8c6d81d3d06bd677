"""One ``Runtime`` (one compiled definition, its machine and its per-definition tables) serves many
threads at once: ``Workflows`` keeps one per definition for every request it handles."""

from __future__ import annotations

import sys
import threading

import pytest
from conftest import PROCESSES

from engine import Runtime, load_process
from engine.instances import instance_to_json
from engine.scenarios import load_scenario, play

THREADS, ROUNDS = 8, 10


@pytest.mark.parametrize("name", ["return_repair", "complaint", "exchange", "qc_signoff", "sales_service"])
def test_threads_sharing_a_runtime_each_get_the_history_one_thread_alone_gets(name):
    process = load_process(PROCESSES / f"{name}.yaml")
    scenario = load_scenario(PROCESSES / "scenarios" / f"{name}.yaml")
    alone = play(Runtime(process), scenario)
    assert alone.ok
    expected = instance_to_json(alone.instance)
    shared = Runtime(process)  # fresh: what it works out on first use is worked out under the threads
    results: list[dict[str, object]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(ROUNDS):
                played = play(shared, scenario)
                assert played.ok, played.failures
                results.append(instance_to_json(played.instance))
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        threads = [threading.Thread(target=run) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
    assert len(results) == THREADS * ROUNDS
    assert all(result == expected for result in results)

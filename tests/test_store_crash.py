"""A writer killed with SIGKILL in the middle of a stream of events loses no acknowledged event and
leaves no half-written one: every instance's history replays to exactly its stored state and data."""

from __future__ import annotations

import signal

from store_support import CUSTOMER, MINIMAL, finish, on_hold, spawn

from engine.service import Workflows

pytest_plugins = ["store_support"]

ACKNOWLEDGED_BEFORE_THE_KILL = 60


def test_a_killed_writer_loses_no_acknowledged_event(durable_url):
    with Workflows(durable_url) as workflows:
        workflows.register(MINIMAL)
        ids = on_hold(workflows, 3)
    writer = spawn("writer", durable_url, ",".join(ids))
    acknowledged: list[tuple[str, int]] = []
    assert writer.stdout is not None
    try:
        for line in writer.stdout:
            instance_id, n = line.split()
            acknowledged.append((instance_id, int(n)))
            if len(acknowledged) == ACKNOWLEDGED_BEFORE_THE_KILL:
                writer.send_signal(signal.SIGKILL)  # it is writing the next events as this lands
                break
    finally:
        writer.kill()
        _, err = finish(writer)
    assert len(acknowledged) == ACKNOWLEDGED_BEFORE_THE_KILL, err
    assert writer.returncode == -signal.SIGKILL

    with Workflows(durable_url) as workflows:
        markers: dict[str, list[int]] = {}
        for instance_id in ids:
            instance = workflows.get(instance_id)
            workflows.verify(instance_id)  # the history replays to the stored state, data and deadlines
            assert instance.version == len(instance.history)
            markers[instance_id] = [e.payload["n"] for e in instance.history[3:]]
            assert all(e.trigger == "remind" for e in instance.history[3:])
        for instance_id, n in acknowledged:
            assert n in markers[instance_id], f"acknowledged event {n} on {instance_id} is missing"
        for found in markers.values():
            assert len(found) == len(set(found)), "an event was stored twice"
            assert found == sorted(found)
        # the writer may have committed a few events it had no time to acknowledge, never fewer
        assert sum(map(len, markers.values())) >= ACKNOWLEDGED_BEFORE_THE_KILL
        workflows.fire(ids[0], "customer_replied", CUSTOMER)  # and the store takes events again
        assert workflows.get(ids[0]).state == "accept"

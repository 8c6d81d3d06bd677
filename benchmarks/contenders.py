"""The four engines that run the workload: ours with everything on, and the three peers.

Each contender has the same three verbs: ``start()`` a new instance, ``fire(instance, event)``, and
``state(instance)``, so the measurements in ``events.py`` treat them alike. ``data(instance)`` is
what the instance holds as user data, subtracted when memory is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from benchmarks.workload import DECIDE, PYTHON_CONDITIONS, Event, Workload

BPMN_FILE = Path(__file__).resolve().parent / "return_repair.bpmn"


class Contender(Protocol):
    name: str

    def start(self) -> Any: ...

    def fire(self, instance: Any, event: Event) -> None: ...

    def state(self, instance: Any) -> str: ...

    def data(self, instance: Any) -> list[Any]:
        """The user data the instance holds (containers whose size is not the engine's overhead)."""
        ...


# --- ours -----------------------------------------------------------------------------------------


class Procflow:
    """Our runtime with everything on: roles, sign-offs, payload and data schemas, conditions, `set`,
    deadlines and history. Times come from the real clock, as in production."""

    name = "procflow"

    def __init__(self, workload: Workload):
        from engine import Runtime

        self.workload = workload
        self.runtime = Runtime(workload.process)

    def start(self) -> Any:
        return self.runtime.start(self.workload.starter)

    def fire(self, instance: Any, event: Event) -> None:
        self.runtime.fire(instance, event.trigger, event.actor, event.payload)

    def state(self, instance: Any) -> str:
        return str(instance.state)

    def data(self, instance: Any) -> list[Any]:
        return [instance.data, *(entry.payload for entry in instance.history)]


# --- bare transitions -----------------------------------------------------------------------------


class _BareInstance:
    __slots__ = ("state", "data")

    def __init__(self, state: str):
        self.state = state
        self.data: dict[str, Any] = {}


class _BareCursor:
    __slots__ = ("state", "data", "payload")


class BareTransitions:
    """The floor: one ``transitions.Machine`` for the graph, one reusable model object whose state is
    set before each trigger and read back after it; instances are two-field objects."""

    name = "transitions (bare)"

    def __init__(self, workload: Workload):
        from transitions import Machine

        self.initial = workload.start_state
        self.decisions = workload.decisions()
        cursor = self.cursor = _BareCursor()
        self.machine = Machine(
            model=None, states=list(workload.process.states), initial=self.initial, auto_transitions=False
        )
        for edge in workload.edges:
            conditions = []
            if edge.condition is not None:
                check = PYTHON_CONDITIONS[edge.condition]
                conditions.append(lambda check=check: check(cursor.data, cursor.payload))
            self.machine.add_transition(edge.trigger, edge.source, edge.dest, conditions=conditions)
        self.events = self.machine.events

    def start(self) -> Any:
        return _BareInstance(self.initial)

    def fire(self, instance: Any, event: Event) -> None:
        cursor = self.cursor
        instance.data.update(event.payload)
        cursor.state, cursor.data, cursor.payload = instance.state, instance.data, event.payload
        if not self.events[event.trigger].trigger(cursor):
            raise RuntimeError(f"bare transitions refused `{event.trigger}` in `{instance.state}`")
        while cursor.state in self.decisions:
            self.events[DECIDE].trigger(cursor)
        instance.state = cursor.state

    def state(self, instance: Any) -> str:
        return str(instance.state)

    def data(self, instance: Any) -> list[Any]:
        return [instance.data]


# --- python-statemachine --------------------------------------------------------------------------


class _Model:
    """The domain model a python-statemachine instance drives: its data."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


class PythonStatemachine:
    """The graph as a ``StateChart`` class, built once from the model; one machine object per
    instance (the library's way). Decisions are eventless transitions with conditions, so the chart
    moves through them inside the same ``send``."""

    name = "python-statemachine"

    def __init__(self, workload: Workload):
        from statemachine.io import create_machine_class_from_definition

        decisions, finals = workload.decisions(), workload.finals()
        states: dict[str, dict[str, Any]] = {}
        for state_id in workload.process.states:
            states[state_id] = {"initial": state_id == workload.start_state, "final": state_id in finals}
        for edge in workload.edges:
            spec: dict[str, Any] = {"target": edge.dest}
            if edge.condition is not None:
                spec["cond"] = _statemachine_condition(PYTHON_CONDITIONS[edge.condition])
            if edge.source in decisions:
                states[edge.source].setdefault("transitions", []).append(spec)
            else:
                states[edge.source].setdefault("on", {}).setdefault(edge.trigger, []).append(spec)
        self.chart = create_machine_class_from_definition("ReturnRepair", states=states)

    def start(self) -> Any:
        return self.chart(model=_Model())

    def fire(self, instance: Any, event: Event) -> None:
        instance.model.data.update(event.payload)
        instance.send(event.trigger, payload=event.payload)

    def state(self, instance: Any) -> str:
        (state,) = instance.configuration
        return str(state.id)

    def data(self, instance: Any) -> list[Any]:
        return [instance.model.data]


def _statemachine_condition(check: Any) -> Any:
    def condition(model: _Model, payload: Mapping[str, Any] | None = None) -> bool:
        return bool(check(model.data, payload or {}))

    return condition


# --- SpiffWorkflow --------------------------------------------------------------------------------


class Spiff:
    """``return_repair.bpmn`` (written by ``bpmn.py`` from the same graph), parsed once; one
    ``BpmnWorkflow`` per instance; each event completes the ready user task with the payload and the
    chosen trigger in its data, and the engine steps through the exclusive gateways."""

    name = "SpiffWorkflow"

    def __init__(self, workload: Workload):
        from SpiffWorkflow.bpmn.parser import BpmnParser

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN_FILE))
        self.spec = parser.get_spec(workload.process.id)

    def start(self) -> Any:
        from SpiffWorkflow.bpmn import BpmnWorkflow

        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        return workflow

    def fire(self, instance: Any, event: Event) -> None:
        from SpiffWorkflow.util.task import TaskState

        task = instance.get_next_task(state=TaskState.READY, manual=True)
        if task is None:
            raise RuntimeError(f"SpiffWorkflow has no ready task for `{event.trigger}`")
        task.data.update(event.payload)
        task.data["trigger"] = event.trigger
        task.run()
        instance.do_engine_steps()

    def state(self, instance: Any) -> str:
        from SpiffWorkflow.util.task import TaskState

        if instance.is_completed():
            ends = [
                t for t in instance.get_tasks(state=TaskState.COMPLETED) if t.task_spec.__class__.__name__ == "EndEvent"
            ]
            return str(ends[-1].task_spec.bpmn_id) if ends else "completed"
        task = instance.get_next_task(state=TaskState.READY, manual=True)
        return str(task.task_spec.bpmn_id) if task is not None else "?"

    def data(self, instance: Any) -> list[Any]:
        from SpiffWorkflow.util.task import TaskState

        task = instance.get_next_task(state=TaskState.READY, manual=True)
        return [instance.data, task.data if task is not None else {}]

"""Parts of a step and signatures: who does each part, when it is required, what it writes, and
the rules of who may sign after whom.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.checks.support import (
    as_mapping,
    declared_properties,
    error,
    expression_problems,
    object_schema,
    reference_problems,
    schema_types,
    text_at,
    warning,
)
from engine.digraph import Digraph
from engine.errors import ExpressionError, Problem
from engine.expressions import NOW, compile_expression
from engine.model import (
    Part,
    Process,
    StateKind,
)
from engine.schema_errors import did_you_mean


def check_signoff_order(process: Process, graph: Digraph) -> Iterator[Problem]:
    for transition in process.transitions:
        for signoff in transition.signoffs:
            for index, state_id in enumerate(signoff.not_actor_of):
                state = process.states.get(state_id)
                if state is None:
                    continue
                if state.kind is StateKind.DECISION:
                    yield error(
                        process,
                        signoff.path + ("not_actor_of", index),
                        "no-actor",
                        f"`{state_id}` is a decision, which the engine takes itself; name a step someone performs",
                    )
                elif not any(
                    state_id in graph.reach([source], backwards=True)
                    for source in transition.sources
                    if source in graph
                ):
                    yield warning(
                        process,
                        signoff.path + ("not_actor_of", index),
                        "signoff-order",
                        f"`{state_id}` never comes before `{transition.trigger}`, so this rule can never apply",
                    )


def check_parts(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Each part names declared roles, a list field of the data to go over, an item field that exists, a
    condition over declared data; its id is no trigger of its step; and it can be required."""
    data_fields = declared_properties(process, process.data_schema)
    for state in process.states.values():
        seen: set[str] = set()
        for part in state.parts:
            if part.id in seen or part.id in state.triggers:
                yield error(
                    process,
                    part.path + ("id",),
                    "part-id-clash",
                    f"step `{state.id}`: part `{part.id}` is done by the event `{part.id}`, which "
                    + ("another part" if part.id in seen else "a transition of this step")
                    + " already uses; give the part another id",
                )
            seen.add(part.id)
            for index, role in enumerate(part.roles):
                yield from reference_problems(process, part.path + ("roles", index), role, process.roles, "role")
            for binding in part.produces:
                path = binding.path if text_at(process, binding.path) is not None else binding.path + ("record",)
                yield from reference_problems(process, path, binding.record, process.records, "record")
            if part.required_when is not None:
                path = part.path + ("required_when",)
                yield from expression_problems(process, path, part.required_when, ("data",), {"data": data_fields})
                if not part.required:
                    yield error(
                        process,
                        path,
                        "part-never-required",
                        f"part `{part.id}` says `required: false`, so `required_when` never applies; keep one of them",
                        key=True,
                    )
                elif _always_false(part.required_when):
                    yield warning(
                        process,
                        path,
                        "part-never-required",
                        f"part `{part.id}`: `{part.required_when}` never holds, so the part is never required; "
                        "write `required: false` if it is optional",
                    )
            yield from _for_each_problems(process, part, data_fields)


def _always_false(text: str) -> bool:
    """Whether a condition reads nothing and is false (``false``, ``1 > 2``)."""
    try:
        expression = compile_expression(text, ("data", NOW))
        return not expression.paths and not bool(expression.evaluate({"data": {}}))
    except (
        ExpressionError
    ):  # one that does not compile is reported by `expression_problems`; one that reads `now` may hold
        return False


def _for_each_problems(process: Process, part: Part, data_fields: Mapping[str, Any] | None) -> Iterator[Problem]:
    if part.for_each is None:
        if part.key is not None:
            yield error(
                process,
                part.path + ("key",),
                "key-without-for-each",
                f"part `{part.id}` has a `key` but no `for_each`; `key` names the field of each item of the list",
                key=True,
            )
        return
    path = part.path + ("for_each",)
    if data_fields is None:
        return
    if part.for_each not in data_fields:
        yield error(
            process,
            path,
            "unknown-field",
            f"part `{part.id}`: `data.{part.for_each}` is not declared under `data.properties`"
            + did_you_mean(part.for_each, data_fields),
        )
        return
    field = object_schema(process, data_fields[part.for_each])
    kinds = schema_types(field)
    if kinds and "array" not in kinds:
        yield error(
            process,
            path,
            "for-each-not-list",
            f"part `{part.id}`: `data.{part.for_each}` is {' or '.join(sorted(kinds))}, not a list "
            "(`type: array`); a part is done once per item of a list",
        )
        return
    items = as_mapping(object_schema(process, field.get("items")).get("properties"))
    if part.key is not None and items and part.key not in items:
        yield error(
            process,
            part.path + ("key",),
            "unknown-field",
            f"part `{part.id}`: the items of `data.{part.for_each}` have no field `{part.key}`"
            + did_you_mean(part.key, items),
        )


def check_signatures(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A conditional signature's ``when`` reads declared data; ``same_actor_as`` names steps someone does."""
    data_fields = declared_properties(process, process.data_schema)
    for transition in process.transitions:
        for signoff in transition.signoffs:
            if signoff.when is not None:
                yield from expression_problems(
                    process, signoff.path + ("when",), signoff.when, ("data",), {"data": data_fields}
                )
            single = text_at(process, signoff.path + ("same_actor_as",)) is not None
            for index, state_id in enumerate(signoff.same_actor_as):
                path = signoff.path + (("same_actor_as",) if single else ("same_actor_as", index))
                yield from reference_problems(process, path, state_id, process.states, "state")
                state = process.states.get(state_id)
                if state is not None and state.kind is StateKind.DECISION:
                    yield error(
                        process,
                        path,
                        "no-actor",
                        f"`{state_id}` is a decision, which the engine takes itself; name a step someone performs",
                    )
            both = sorted(set(signoff.same_actor_as) & set(signoff.not_actor_of))
            if both:
                yield error(
                    process,
                    signoff.path,
                    "signer-impossible",
                    f"the signature as `{signoff.role}` must come from whoever acted on, and from nobody who acted "
                    f"on, {', '.join(f'`{s}`' for s in both)}; keep one of the two rules",
                )

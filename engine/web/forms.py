# TEMPORARY STUB (not committed): the forms helper delivers the real module.
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Form:
    fields: tuple[str, ...]


def form_for(choice: Any, process: Any, lang: Any) -> Form:
    props = (choice.payload_schema or {}).get("properties", {})
    return Form(tuple(props))


def payload_from(form: Form, posted: Any) -> tuple[dict[str, Any], list[Any]]:
    return {k: posted[k][0] for k in form.fields if posted.get(k) and posted[k][0]}, []


def at_fields(form: Form, problems: Any) -> Any:
    return list(problems)

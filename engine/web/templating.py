"""The Jinja2 environment of the web pages: autoescaping on, templates from ``engine/web/templates``, and
the helpers the form template calls."""

from __future__ import annotations

import datetime
import json
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from engine.model import Text
from engine.pointers import escape

TEMPLATES = Path(__file__).parent / "templates"


def environment(undefined: type[jinja2.Undefined] = jinja2.StrictUndefined) -> jinja2.Environment:
    """Every value is escaped unless a template marks it safe (none of ours does user text)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=undefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(child_name=child_name, html_id=html_id, row_count=row_count, shown=shown)
    env.filters["as_json"] = as_json
    return env


def as_json(value: Any) -> str:
    """A data value as people read it: text as it is, anything else as JSON (``true``, ``[...]``)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def child_name(name: str, key: str) -> str:
    return f"{name}/{escape(key)}"


def html_id(name: str) -> str:
    """An HTML id for the input posted as ``name`` (a JSON pointer), safe whatever the keys hold."""
    return "field" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"-{ord(m.group()):x}-", name)


def row_count(values: Mapping[str, Sequence[str]], name: str) -> int:
    """A list's rows: those holding a value, and one blank row more to add an item."""
    found = {int(m.group(1)) for k in values if (m := re.match(re.escape(name) + r"/(\d+)(?:/|$)", k))}
    return (max(found) + 2) if found else 1


def shown(text: Text | None, lang: str) -> str:
    """A label in one language, or both as ``中文 / English`` (once when they are the same)."""
    if text is None:
        return ""
    if lang == "zh":
        return text.zh
    if lang == "en":
        return text.en
    return text.zh if text.zh == text.en else f"{text.zh} / {text.en}"


def render_form(form: Any, values: Any, problems: Any, csrf_token: str, action: str, lang: str = "both") -> str:
    """The form's HTML (``form.html``'s ``render_form`` macro)."""
    macro = environment().get_template("form.html").module.render_form  # type: ignore[attr-defined]
    return str(macro(form, values, problems, csrf_token, action, lang))


def shown_time(moment: datetime.datetime | None, zone: str) -> str:
    """A moment in the procedure's own time zone, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def span(length: datetime.timedelta, *, days: bool = True) -> str:
    """A length to the minute; working time in hours (a working day is not 24 of them)."""
    minutes = int(length.total_seconds() // 60)
    whole_days, rest = divmod(minutes, 24 * 60) if days else (0, minutes)
    hours, minutes = divmod(rest, 60)
    if whole_days:
        return f"{whole_days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"

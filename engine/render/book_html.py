"""The audit book's HTML building blocks, shared by every section: escaping, labels in the chosen
languages, headings, tables and the page around them. Text from a definition passes through ``esc``;
``label`` is for the book's own headings, already safe."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from engine.model import Process, SourceRef, Text
from engine.render import Lang
from engine.render.book_style import CSS

HTML_LANG = {"zh": "zh-Hans", "en": "en"}
SHORT_HASH = 12
"""How many hex digits of a content hash the index and the document-control block show."""
EXTERNAL_PARTY = Text("外部", "external")


def document(title: str, body: str, lang: Lang) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{HTML_LANG["zh"] if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="procflow">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon request, so no failed fetch when opened from disk
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def table_section(anchor: str, title: str, head: str, rows: Sequence[str]) -> str:
    names = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in _HEAD_CELL.findall(head)]
    return (
        f'<section id="{anchor}"><h2>{title}</h2>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(_labelled(row, names) for row in rows)
        + "\n</tbody>\n</table></section>"
    )


_HEAD_CELL = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
_CELL = re.compile(r"<td\b")


def _labelled(row: str, names: Sequence[str]) -> str:
    """Each cell of ``row`` with its column's heading as ``data-label``, which a phone's stacked rows show."""
    cells = iter(names)

    def named(match: re.Match[str]) -> str:
        name = next(cells, None)
        return match.group(0) if name is None else f'<td data-label="{esc(name)}"'

    return _CELL.sub(named, row)


def heads(lang: Lang, *headings: Text) -> str:
    return "".join(f"<th>{label(heading, lang)}</th>" for heading in headings)


def per_language_heads(heading: Text, lang: Lang) -> str:
    """One column heading per language shown: ``名称 Label (中文)``, ``名称 Label (English)``."""
    return "".join(f"<th>{label(heading, lang)} {code_name(code)}</th>" for code in codes(lang))


def party(process: Process, key: str, lang: Lang) -> str:
    """A role (with its department) or a department, by id."""
    role = process.roles.get(key)
    if role is not None:
        text = texts(role.label, lang, sep=" / ")
        department = process.departments.get(role.department) if role.department else None
        if department is not None:
            text += f'<span class="sub">{texts(department.label, lang, sep=" / ")}</span>'
        elif role.external:
            text += f'<span class="sub">{label(EXTERNAL_PARTY, lang)}</span>'
        return text
    department = process.departments.get(key)
    if department is not None:
        return texts(department.label, lang, sep=" / ")
    return f"<code>{esc(key)}</code>"


def record_label(process: Process, key: str, lang: Lang) -> str:
    record = process.records.get(key)
    return texts(record.label, lang, sep=" / ") if record else f"<code>{esc(key)}</code>"


def source_cell(process: Process, ref: SourceRef | None, lang: Lang) -> str:
    """A cited source: its section, and under it the document's title."""
    if ref is None:
        return none()
    document = process.sources.get(ref.document)
    title = texts(document.title, lang, sep=" / ") if document else esc(ref.document)
    return f'{esc(ref.section)}<span class="sub">{title}</span>'


def html_list(items: Iterable[str]) -> str:
    return '<ul class="plain">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def none() -> str:
    return "—"


def esc(value: str) -> str:
    return html.escape(value, quote=True)


def codes(lang: Lang) -> tuple[Literal["zh", "en"], ...]:
    return ("zh", "en") if lang == "both" else (lang,)


def pick(text: Text, code: str) -> str:
    return text.zh if code == "zh" else text.en


def cells(text: Text, lang: Lang) -> str:
    """A definition's label as one table cell per language shown, each saying its language."""
    return "".join(f"<td{lang_attr(code)}>{esc(pick(text, code))}</td>" for code in codes(lang))


def ident(value: str) -> str:
    """An identifier from a definition, escaped, in code type."""
    return f"<code>{esc(value)}</code>"


def code_name(code: str) -> str:
    return "(中文)" if code == "zh" else "(English)"


def lang_attr(code: str) -> str:
    return f' lang="{HTML_LANG[code]}"'


def texts(text: Text, lang: Lang, *, sep: str) -> str:
    """A definition's label in the chosen language(s), each in an element that says its language."""
    spans = [f'<span class="{code}"{lang_attr(code)}>{esc(pick(text, code))}</span>' for code in codes(lang)]
    return sep.join(spans)


def label(text: Text, lang: Lang) -> str:
    """A heading of the book itself (not from a definition): already safe text."""
    return texts(text, lang, sep=" ")


def plain(text: Text, lang: Lang) -> str:
    return " ".join(pick(text, code) for code in codes(lang))

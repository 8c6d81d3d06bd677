"""Conditions in words beside their expressions in the audit book: what is said for the forms the
shipped procedures use, what is left unsaid (the expression stands alone), and the words escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURE, SHIPPED, mutate
from hypothesis import given
from hypothesis import strategies as st
from test_book import page_of, tables

from engine.model import Text
from engine.processes import load_process, load_process_text
from engine.render.conditions import condition_words

SAID = {
    "data.in_warranty": ("in_warranty 为是", "in warranty"),
    "not data.in_warranty": ("并非(in_warranty 为是)", "not (in warranty)"),
    "data.satisfied == false": ("satisfied 为否", "not satisfied"),
    "data.complexity == 'simple'": ("complexity 等于 “simple”", "complexity is “simple”"),
    "payload.quote <= 500": ("表单中的 quote 不超过 500", "quote on the form is at most 500"),
    "payload.counted_qty != data.returned_qty": (
        "表单中的 counted_qty 不等于 returned_qty",
        "counted qty on the form does not equal returned qty",
    ),
    "data.resolution in ['lens_exchange', 'refund']": (
        "resolution 属于 “lens_exchange”、“refund”",
        "resolution is one of “lens_exchange” or “refund”",
    ),
    "data.consult != null and 'sales' in data.consult": (
        "consult 已填写 且 consult 包含 “sales”",
        "consult is filled in and consult includes “sales”",
    ),
    "data.a or data.b and data.c": ("a 为是 或 (b 为是 且 c 为是)", "a or (b and c)"),
    "days_between(data.purchase_date, data.applied_on) <= 3": (
        "purchase_date 至 applied_on 的天数 不超过 3",
        "the days from purchase date to applied on is at most 3",
    ),
    "len(payload.photos) >= 2": ("表单中的 photos 的项数 不少于 2", "the number of photos on the form is at least 2"),
}


@pytest.mark.parametrize("expression", SAID)
def test_a_condition_is_said_in_both_languages(expression: str) -> None:
    assert condition_words(expression) == Text(*SAID[expression])


@pytest.mark.parametrize(
    "expression",
    [
        "any(data.items, 'ok')",
        "len(data.items)",
        "data.a + 1 > 2",
        "data.parts[0] == 'x'",
        "0 < data.n <= 10",
        "data.a if data.b else 1",
    ],
)
def test_what_it_cannot_say_it_leaves_to_the_expression(expression: str) -> None:
    assert condition_words(expression) is None


@given(st.text(max_size=80))
def test_any_text_gives_words_or_none_and_never_an_error(text: str) -> None:
    assert condition_words(text) is None or isinstance(condition_words(text), Text)


def test_the_transitions_table_shows_the_words_beside_the_expression() -> None:
    rows = tables(page_of(load_process(FIXTURE))).rows["transitions"]
    conditions = {(row[0], row[1]): row[6] for row in rows}
    assert conditions[("check_warranty", "分支 branch 1")] == "data.in_warranty in_warranty 为是 / in warranty"
    assert (
        conditions[("quote", "send_quote")]
        == "payload.quote <= 500 表单中的 quote 不超过 500 / quote on the form is at most 500"
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_condition_is_said(path: Path) -> None:
    process = load_process(path)
    expressions = [c for t in process.transitions for c in t.conditions]
    expressions += [b.condition for s in process.states.values() for b in s.branches if b.condition]
    said = [e for e in expressions if condition_words(e) is not None]
    assert len(said) == len(expressions), set(expressions) - set(said)


def test_the_words_of_a_condition_are_escaped(fixture_text: str) -> None:
    text = mutate(fixture_text, ("conditions: payload.quote <= 500", "conditions: \"data.model == '<b>x</b> & y'\""))
    page = page_of(load_process_text(text, str(FIXTURE)))
    assert "<b>x" not in page
    assert "model 等于 “&lt;b&gt;x&lt;/b&gt; &amp; y”" in page

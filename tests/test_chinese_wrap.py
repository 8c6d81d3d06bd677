"""Chinese lines break by the rules of Chinese typesetting (行首行尾禁则) wherever a label is wrapped."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.render.dot import CLOSING, OPENING, _columns, wrap

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
PUNCT = st.sampled_from(sorted("，。、；：？！）》」（《「"))
chinese = st.lists(st.one_of(HAN, HAN, HAN, PUNCT), min_size=1, max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=chinese, width=st.integers(min_value=6, max_value=48))
@example(text="审核通过，记录保修状态", width=20)
@example(text="客户返回产品实物，提出客户要求", width=16)
@example(text="一《《一", width=6)  # found by Hypothesis: the opening marks moved down left "一" alone
def test_no_line_begins_with_closing_punctuation_or_holds_one_character_alone(text, width):
    pieces = wrap(text, width)
    assert "".join(pieces) == text  # nothing lost, nothing added, order kept
    for index, piece in enumerate(pieces):
        if index > 0:
            assert piece and piece[0] not in CLOSING, pieces
        if index < len(pieces) - 1 and len(piece) > 1:
            assert piece[-1] not in OPENING, pieces
        if len(pieces) > 1:
            assert not (len(piece) == 1 and piece not in CLOSING | OPENING), pieces
        # Past the width only by hanging punctuation and the one character taken along to a lone one.
        assert _columns("".join(ch for ch in piece if ch not in CLOSING | OPENING)) <= width + 2, pieces


def test_the_issue_examples():
    assert wrap("审核通过，记录保修状态", 8) == ["审核通过，", "记录保修状态"] or all(
        not p.startswith("，") for p in wrap("审核通过，记录保修状态", 8)
    )
    assert all(len(p) > 1 for p in wrap("一二三四五六七八九", 16))

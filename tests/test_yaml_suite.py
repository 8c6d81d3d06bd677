"""Cases of the official YAML test suite (github.com/yaml/yaml-test-suite) that libyaml gets wrong.

libyaml accepts each invalid case below; procflow refuses it at its line, in words. The valid cases
beside them are the nearest valid YAML, which must still load. Ids are the suite's (``-NN`` is the
case's index within its file). The texts are the suite's, with its visible tabs (``———»``) as tabs.
"""

from pathlib import Path

import pytest

from engine.errors import DefinitionError
from engine.loader import load_text
from engine.processes import validate_text

INVALID = {
    # id: (text, line of the problem, words of the message)
    "DK95-01": ('foo: "bar\n\tbaz"\n', 2, "tabs cannot indent YAML"),
    "S98Z": ("empty block scalar: >\n \n  \n   \n # comment\n", 3, "more spaces than its first line"),
    "SU5Z": ('key: "value"# invalid comment\n', 1, "a comment needs a space before its `#`"),
    "X4QW": ("block: ># comment\n  scalar\n", 1, "a comment needs a space before its `#`"),
    "Y79Y-03": ("- [\n\tfoo,\n foo\n ]\n", 2, "tabs cannot indent YAML"),
    "YJV2": ("[-]\n", 1, "`-` cannot begin a plain value"),
    "9C9N": ("---\nflow: [a,\nb,\nc]\n", 3, "must be indented further"),
    "9JBA": ("---\n[ a, b, c, ]#invalid\n", 2, "a comment needs a space before its `#`"),
    "CVW2": ("---\n[ a, b, c,#invalid\n]\n", 2, "a comment needs a space before its `#`"),
    "G5U8": ("---\n- [-, -]\n", 2, "`-` cannot begin a plain value"),
    "QB6E": ('---\nquoted: "a\nb\nc"\n', 3, "must be indented further"),
}

VALID = {
    "DK95-02": ('foo: "bar\n  \tbaz"\n', {"foo": "bar baz"}),
    "Y79Y-02": ("- [\n\t\n foo\n ]\n", [["foo"]]),
    "87E4": (
        "'implicit block key' : [\n  'implicit flow key' : value,\n ]\n",
        {"implicit block key": [{"implicit flow key": "value"}]},
    ),
    "9MQT-00": ('--- "a\n...x\nb"\n', "a ...x b"),
    "3RLN-01": ('"2 leading\n    \ttab"\n', "2 leading tab"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_yaml_of_the_suite_is_refused_at_its_line(case):
    text, line, words = INVALID[case]
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "f.yaml")
    (problem,) = caught.value.problems
    assert problem.code == "yaml-syntax"
    assert problem.location.line == line
    assert words in problem.message


@pytest.mark.parametrize("case", sorted(VALID))
def test_valid_yaml_beside_them_still_loads(case):
    text, data = VALID[case]
    assert load_text(text, "f.yaml").data == data


def test_a_flow_list_may_close_at_its_key_column_but_not_hold_values_there():
    # The one leniency, as most YAML tools allow: YAML 1.2 wants the `]` indented past `holidays`.
    assert load_text('calendar:\n  holidays: [\n    "2026-10-01",\n  ]\n', "f").data == {
        "calendar": {"holidays": ["2026-10-01"]}
    }
    with pytest.raises(DefinitionError) as caught:
        load_text('calendar:\n  holidays: [\n    "2026-10-01",\n  "2026-10-02"]\n', "f")
    assert caught.value.problems[0].location.line == 4


def test_invalid_yaml_inside_a_definition_is_refused_by_validate():
    fixture = Path(__file__).parent / "fixtures" / "minimal.yaml"
    text = fixture.read_text(encoding="utf-8")
    edited = text.replace('holidays: ["2026-10-01"]', 'holidays: ["2026-10-01"]# national day')
    assert edited != text
    report = validate_text(edited, "m.yaml")
    (problem,) = report.errors
    assert problem.code == "yaml-syntax" and "space before its `#`" in problem.message
    assert problem.location.line == text[: text.index("holidays:")].count("\n") + 1

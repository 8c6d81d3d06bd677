"""Where the loader says a problem is: lines and columns as an editor counts them, and one line per problem."""

import pytest

from engine.errors import DefinitionError, Problem, printable
from engine.loader import MAX_VALUES, load_bytes, load_text
from engine.processes import validate_text
from engine.source import SourceLocation


def problem_of(text: str) -> Problem:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "f.yaml")
    (problem,) = caught.value.problems
    return problem


@pytest.mark.parametrize("character", ["\x07", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_a_control_character_is_refused_at_its_line_and_column(character):
    problem = problem_of(f"a: 1\nb: 2\ntitle: 维修{character}单\n")
    assert (problem.location.line, problem.location.column) == (3, 10)
    assert f"U+{ord(character):04X}" in problem.message and "not allowed" in problem.message


def test_a_bad_utf8_byte_is_placed_by_characters_not_bytes():
    raw = "a: 1\ntitle: 返厂维修管理流程".encode() + b"\xff\n"
    with pytest.raises(DefinitionError) as caught:
        load_bytes(raw, "f.yaml")
    (problem,) = caught.value.problems
    assert (problem.location.line, problem.location.column) == (2, 16)
    assert "UTF-8" in problem.message


def test_a_bad_utf8_byte_after_carriage_returns_is_on_its_line():
    with pytest.raises(DefinitionError) as caught:
        load_bytes(b"a: 1\rb: 2\rc: \xff\r", "f.yaml")
    assert caught.value.problems[0].location == SourceLocation("f.yaml", 3, 4)


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"])
def test_unicode_line_separators_are_refused_at_their_place(separator):
    # libyaml (YAML 1.1) breaks the line at these, editors and YAML 1.2 do not: refused, so every
    # later line number stays the one the editor shows.
    problem = problem_of(f"a: 1\ntitle: 维修{separator}单\n")
    assert (problem.location.line, problem.location.column) == (2, 10)
    assert "not allowed" in problem.message and "line break" in problem.message


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_lines_count_at_each_kind_of_line_break(newline):
    problem = problem_of(newline.join(["a: 1", "b: 2", "a: 3", ""]))
    assert (problem.location.line, problem.location.column) == (3, 1)
    assert problem_of(newline.join(["a: 1", "b: 2", "c: \x07", ""])).location.line == 3


def test_a_quoted_value_cannot_print_a_forged_problem_line():
    text = 'procflow: 1\n"x\\nforged.yaml:1:1: error: all is well": 1\n'
    report = validate_text(text, "f.yaml")
    shown = [str(problem) for problem in report.problems]
    assert shown and all("\n" not in line for line in shown)
    assert any("`x\\nforged.yaml:1:1: error: all is well`" in line for line in shown)
    with pytest.raises(DefinitionError) as caught:
        load_text('a: 1\na: 2\n"b\\rc": 3\n"b\\rc": 4\n', "f.yaml")
    assert "\r" not in str(caught.value)


def test_printable_escapes_control_and_bidirectional_characters():
    assert printable("a\nb\tc\x07\u202ed\u2028") == "a\\nb\\tc\\x07\\u202ed\\u2028"
    assert printable("维修 ok") == "维修 ok"


def test_a_long_plain_list_is_accepted():
    doc = load_text("items:\n" + "- x\n" * 70_000, "f.yaml")
    assert isinstance(doc.data, dict) and len(doc.data["items"]) == 70_000


def test_too_many_values_without_aliases_is_called_too_large_not_an_alias_problem():
    problem = problem_of("[" + "1," * MAX_VALUES + "1]\n")
    assert f"more than {MAX_VALUES:,} values" in problem.message
    assert "too large" in problem.message and "alias" not in problem.message


def test_aliases_that_expand_past_the_limit_are_blamed():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 7)]
    problem = problem_of("\n".join(lines) + "\n")
    assert "aliases (`*name`) repeat too much" in problem.message and f"{MAX_VALUES:,}" in problem.message


def test_a_file_name_with_a_line_break_prints_on_one_line():
    problem = Problem(SourceLocation("evil\nok.yaml:1:1: error: forged", 2, 3), "duplicate key `a`")
    assert str(problem) == "evil\\nok.yaml:1:1: error: forged:2:3: error: duplicate key `a`"

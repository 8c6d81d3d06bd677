"""The loader: YAML 1.2 core scalars, exact locations, and every kind of hostile YAML refused with a place."""

import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import DefinitionError
from engine.loader import MAX_DEPTH, MAX_FILE_BYTES, load_bytes, load_text
from engine.processes import validate_text
from engine.source import SourceLocation


def problem_of(text: str):
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "f.yaml")
    (problem,) = caught.value.problems
    return problem


def test_scalars_follow_yaml_1_2_core_schema():
    doc = load_text(
        "on: yes\nno: off\ny: Y\nv: 1.0\nn: 7\no: 0o17\nh: 0x1F\nd: 2026-10-01\nz: ~\nt: true\nq: 'true'\n", "f"
    )
    assert doc.data == {
        "on": "yes",
        "no": "off",
        "y": "Y",
        "v": 1.0,
        "n": 7,
        "o": 15,
        "h": 31,
        "d": "2026-10-01",
        "z": None,
        "t": True,
        "q": "true",
    }


def test_core_tags_are_honoured():
    assert load_text("a: !!str 12\nb: !!float 3\nc: !!bool true\n", "f").data == {"a": "12", "b": 3.0, "c": True}


def test_locations_point_at_values_and_keys():
    doc = load_text("states:\n  review:\n    role:   engineer\n", "f.yaml")
    assert doc.locate(("states", "review", "role")) == SourceLocation("f.yaml", 3, 13)
    assert doc.locate(("states", "review", "role"), key=True) == SourceLocation("f.yaml", 3, 5)
    assert doc.locate(("states", "review", "missing", 0)) == SourceLocation("f.yaml", 3, 5)


# Columns are asserted where procflow itself chose the place (the key, the tag, the character);
# where the YAML parser finds the error, where it stops on the line is its own business.
@pytest.mark.parametrize(
    "text, line, column, words",
    [
        pytest.param("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key `a` (first at line 1)", id="duplicate-key"),
        pytest.param(
            "a: !!python/object:os.system x\n", 1, 4, "tag `!!python/object:os.system` is not allowed", id="python-tag"
        ),
        pytest.param("a: !!binary aGVsbG8=\n", 1, 4, "`!!binary` is not allowed", id="binary-tag"),
        pytest.param("a: !custom x\n", 1, 4, "`!custom` is not allowed", id="local-tag"),
        pytest.param("a: !!set {x}\n", 1, 4, "`!!set` is not allowed", id="set-tag"),
        pytest.param("a:\n\t- 1\n", 2, None, "tabs cannot indent YAML", id="tab"),
        pytest.param("a:\n  b: 1\n c: 2\n", 3, None, "indented differently", id="indentation"),
        pytest.param("a: b: c\n", 1, None, "put the value in quotes", id="colon-in-value"),
        pytest.param("a: 1\n---\nb: 2\n", 2, 1, "one YAML document", id="two-documents"),
        pytest.param("a: &x {b: 1}\nc:\n  <<: *x\n", 3, 3, "merge keys", id="merge-key"),
        pytest.param("a: &x [*x]\n", 1, 8, "before its anchor", id="recursive-alias"),
        pytest.param("a: *nowhere\n", 1, 4, "anchor", id="undefined-alias"),
        pytest.param("? [a]\n: 1\n", 1, 3, "key must be plain text", id="complex-key"),
        pytest.param("a: .nan\n", 1, 4, "not a finite number", id="nan"),
        pytest.param("a: -.inf\n", 1, 4, "not a finite number", id="infinity"),
        pytest.param("a: " + "9" * 5000 + "\n", 1, 4, "too many digits", id="huge-integer"),
        # libyaml has a nesting limit of its own, which it may reach while scanning ahead of the
        # events procflow reads: whichever refuses first, the message and the line are procflow's.
        pytest.param("[" * 10_000 + "]" * 10_000, 1, None, f"nests deeper than {MAX_DEPTH} levels", id="deep-nesting"),
        pytest.param("[\n" * 2_000 + "]" * 2_000, MAX_DEPTH + 1, None, f"deeper than {MAX_DEPTH}", id="deep-lines"),
        pytest.param(
            "".join(f"{'  ' * n}k{n}:\n" for n in range(100)), MAX_DEPTH + 1, None, "deeper than", id="deep-block"
        ),
        pytest.param("a: \x07\n", 1, 4, "control characters are not allowed: U+0007", id="control-character"),
    ],
)
def test_bad_yaml_is_refused_with_its_place(text, line, column, words):
    problem = problem_of(text)
    assert problem.location.line == line
    assert column is None or problem.location.column == column
    assert words in problem.message


def test_alias_bomb_is_refused_at_the_alias():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 7):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    problem = problem_of("\n".join(lines) + "\n")
    assert "aliases (`*name`) repeat too much" in problem.message
    assert problem.location.line > 1


def test_oversized_file_is_refused_before_parsing():
    with pytest.raises(DefinitionError, match="at most"):
        load_bytes(b"a: 1\n" * (MAX_FILE_BYTES // 5 + 1), "big.yaml")


def test_non_utf8_is_refused_with_its_line():
    with pytest.raises(DefinitionError) as caught:
        load_bytes("a: 1\nb: 中\n".encode("gb18030"), "gbk.yaml")
    (problem,) = caught.value.problems
    assert problem.location.line == 2 and "UTF-8" in problem.message


def test_byte_order_mark_is_accepted():
    assert load_bytes("\ufeffa: 1\n".encode("utf-8"), "bom.yaml").data == {"a": 1}


def test_a_byte_that_is_not_utf8_is_refused_at_its_place_with_a_byte_order_mark_or_without():
    for raw in (b"a: 1\nb: x\xff\n", b"\xef\xbb\xbfa: 1\nb: x\xff\n"):
        with pytest.raises(DefinitionError) as caught:
            load_bytes(raw, "f.yaml")
        (problem,) = caught.value.problems
        assert (problem.location.line, problem.location.column, problem.code) == (2, 5, "encoding")


def test_bytes_load_as_their_text_does_with_a_byte_order_mark_or_without():
    text = "a: 1\nb: [x, '中文']\nc: \"\ufeff\"\n"
    for raw in (text.encode(), "\ufeff".encode() + text.encode()):
        from_bytes, from_text = load_bytes(raw, "f.yaml"), load_text(text, "f.yaml")
        assert from_bytes.data == from_text.data == {"a": 1, "b": ["x", "中文"], "c": "\ufeff"}
        for path in (("a",), ("b", 1), ("c",)):
            assert from_bytes.locate(path) == from_text.locate(path)


def test_missing_file_is_a_located_problem(tmp_path):
    from engine.loader import load_file

    with pytest.raises(DefinitionError, match="cannot read the file"):
        load_file(tmp_path / "absent.yaml")


# The loader keeps the parser's marks and makes a location only when one is asked for; whatever the
# document, every node must still have one, and the source map must read as an ordinary mapping.
# No digits in text: PyYAML writes YAML 1.1, which leaves `1e3` and `0o7` unquoted, and YAML 1.2 reads them as numbers.
# Nor U+0085, U+2028 or U+2029, which the loader refuses and some PyYAML versions write unescaped.
_words = st.text(st.characters(codec="utf-8", exclude_characters="0123456789\x85\u2028\u2029"), max_size=8)
_scalars = st.none() | st.booleans() | st.integers() | _words
_documents = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text("abcxyz_", min_size=1, max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


@settings(max_examples=60, deadline=None)
@given(data=_documents)
def test_every_node_of_any_document_has_a_location_in_the_file(data):
    text = yaml.safe_dump(data, allow_unicode=True)
    doc = load_text(text, "f.yaml")
    assert doc.data == data
    values = doc.source_map.values
    assert set(values) == set(_paths(data)) and len(values) == len(set(_paths(data)))
    lines = text.split("\n")
    for path in _paths(data):
        place = values[path]
        assert place.file == "f.yaml" and 1 <= place.line <= len(lines) and place.column >= 1
        assert doc.locate(path) == place
    for path, start in doc.source_map.text_starts.items():
        assert start.line == values[path].line and start.column - values[path].column in (0, 1)


def test_text_holding_a_lone_surrogate_is_refused_at_its_place() -> None:
    # A str from an embedding program may hold half of a surrogate pair, which no file can: refused, not a traceback.
    report = validate_text("procflow: 1\nid: x\ud800\n", "draft.yaml")
    assert [(p.location.line, p.location.column, p.code) for p in report.problems] == [(2, 6, "character")]
    assert "U+D800" in report.problems[0].message


_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
"""YAML 1.2's non-printable characters and the three line breaks of YAML 1.1 (the loader's docstring)."""


def test_every_character_yaml_refuses_is_refused_at_its_place_and_every_other_is_read() -> None:
    # The loader tells most texts apart from their UTF-8 bytes before any pattern runs: every code point counts.
    for first in range(0, 0x110000, 0x1000):
        block = [chr(c) for c in range(first, first + 0x1000)]
        allowed = "".join(c for c in block if not _REFUSED.match(c) and c not in '\t\n\r"\\')
        assert load_text(f'a: "{allowed}"\n').data == {"a": allowed}
        for refused in (c for c in block if _REFUSED.match(c)):
            with pytest.raises(DefinitionError) as caught:
                load_text(f"a: 'x{refused}'\n")
            (problem,) = caught.value.problems
            assert (problem.location.line, problem.location.column, problem.code) == (1, 6, "character")


SAMPLE = (
    "id: a\n"
    "list: [1, 'two', {x: &n 3}]\n"
    "again: *n\n"
    "text: |\n  block\n"
    'quoted: "q"\n'
    "nested:\n  - {a: [b, c]}\n  - plain\n"
)


def test_the_pure_python_parser_gives_the_same_document_and_places_as_libyaml() -> None:
    from engine import loader

    ours = loader._parse(loader._Loader, SAMPLE, "f.yaml", record=True)
    pure = loader._parse(yaml.SafeLoader, SAMPLE, "f.yaml", record=True)
    assert loader._Loader is not yaml.SafeLoader  # the shipped wheels hold libyaml
    assert ours.data == pure.data == yaml.load(SAMPLE, Loader=yaml.SafeLoader)
    paths = [(), ("list",), ("list", 1), ("list", 2, "x"), ("again",), ("text",), ("quoted",), ("nested", 0, "a", 1)]
    for path in paths:
        assert ours.locate(path) == pure.locate(path)
        assert ours.locate(path, key=True) == pure.locate(path, key=True)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize(
    ("lines", "line", "column", "words"),
    [
        (["a:", "  b: [1,", " 2]"], 3, 2, "must be indented further"),
        (["a:", '  b: "x', ' y"'], 3, 2, "must be indented further"),
        (["a: |", "    ", "  x"], 2, 1, "blank line at the start of a block text"),
        (["a:", "  b: {c: 1,", "\td: 2}"], 3, 1, "tab character"),
    ],
    ids=["flow", "quoted", "block", "tab"],
)
def test_the_lines_a_value_continues_on_are_read_alike_whatever_ends_them(newline, lines, line, column, words):
    problem = problem_of(newline.join(lines) + newline)
    assert (problem.location.line, problem.location.column) == (line, column)
    assert words in problem.message


@pytest.mark.parametrize(
    ("tag", "text", "value"), [("!!int", "12", 12), ("!!float", "12", 12.0), ("!!null", "~", None)]
)
def test_a_tagged_text_that_ends_in_a_line_break_is_not_what_its_tag_says(tag, text, value):
    loaded = load_text(f'a: {tag} "{text}"\n').data["a"]
    assert (loaded, type(loaded)) == (value, type(value))
    with pytest.raises(DefinitionError) as caught:
        load_text(f'a: {tag} "{text}\\n"\n')
    (problem,) = caught.value.problems
    assert (problem.location.line, problem.location.column, problem.code) == (1, 4, "tag")

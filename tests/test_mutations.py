"""Property: any mutation of a shipped process either validates or yields located errors — never a crash.

Mutations work on the text (broken indentation, duplicated or deleted lines, misspelt keys,
renamed references) and on the data (deleted keys, values of the wrong type), the way a process
owner's slips look.
"""

import re

import yaml
from conftest import SHIPPED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import Severity
from engine.loader import load_text
from engine.processes import validate_text

TEXTS = {path.name: path.read_text(encoding="utf-8") for path in SHIPPED}
NAMES = sorted(TEXTS)
IDENTIFIER = re.compile(r"\b[a-z][a-z0-9_]{2,}\b")
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def assert_located(report, text: str, name: str) -> None:
    lines = text.count("\n") + 2
    for problem in report.problems:
        assert problem.location.file == name
        assert 1 <= problem.location.line <= lines, problem
        assert problem.location.column >= 1, problem
        assert problem.message and "Traceback" not in problem.message
    if report.ok:
        assert report.process is not None
    else:
        assert report.process is None and any(p.severity is Severity.ERROR for p in report.problems)


@st.composite
def text_mutations(draw):
    name = draw(st.sampled_from(NAMES))
    lines = TEXTS[name].split("\n")
    index = draw(st.integers(0, len(lines) - 1))
    operation = draw(st.sampled_from(["indent", "dedent", "delete", "duplicate", "misspell-key", "rename"]))
    line = lines[index]
    if operation == "indent":
        lines[index] = " " * draw(st.integers(1, 3)) + line
    elif operation == "dedent":
        lines[index] = line[draw(st.integers(1, 3)) :]
    elif operation == "delete":
        del lines[index]
    elif operation == "duplicate":
        lines.insert(index, line)
    elif operation == "misspell-key" and ":" in line:
        key, _, rest = line.partition(":")
        lines[index] = key + draw(st.sampled_from(["s", "x", "_"])) + ":" + rest
    elif operation == "rename":
        words = IDENTIFIER.findall(line)
        if words:
            word = draw(st.sampled_from(words))
            lines[index] = line.replace(word, word[:-1] + draw(st.sampled_from("aqz")), 1)
    return name, "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_mutations())
def test_text_mutations_validate_or_give_located_errors(mutation):
    name, text = mutation
    assert_located(validate_text(text, name), text, name)


def paths_of(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths_of(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths_of(inner, prefix + (index,))


@st.composite
def data_mutations(draw):
    name = draw(st.sampled_from(NAMES))
    data = load_text(TEXTS[name], name).data
    candidates = [p for p in paths_of(data) if p]
    path = draw(st.sampled_from(candidates))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(WRONG_VALUES)
    return name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_mutations())
def test_data_mutations_validate_or_give_located_errors(mutation):
    name, text = mutation
    assert_located(validate_text(text, name), text, name)


def test_the_round_trip_used_above_keeps_processes_valid():
    for name in NAMES:
        text = yaml.safe_dump(load_text(TEXTS[name], name).data, allow_unicode=True, sort_keys=False)
        assert validate_text(text, name).errors == ()

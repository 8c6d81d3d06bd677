"""``engine.pyyaml``: PyYAML imported with its patterns compiled at their first use, the reader's in cheaper words."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from engine.pyyaml import NON_PRINTABLE, YAML_NON_PRINTABLE, LazyPattern, yaml


def test_the_pattern_cached_is_the_one_pyyaml_compiles():
    source = Path(sys.modules["yaml.reader"].__file__).read_text(encoding="utf-8")
    (written,) = re.findall(r"NON_PRINTABLE = re\.compile\(('[^']*')\)", source)
    assert ast.literal_eval(written) == YAML_NON_PRINTABLE


def _run(script):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def test_importing_pyyaml_from_here_compiles_none_of_its_patterns():
    script = (
        "import re; from engine.pyyaml import LazyPattern, yaml\n"
        "resolved = [p for rs in yaml.resolver.Resolver.yaml_implicit_resolvers.values() for _, p in rs]\n"
        "held = resolved + [yaml.constructor.SafeConstructor.timestamp_regexp, yaml.reader.Reader.NON_PRINTABLE]\n"
        "unused = all(type(p) is LazyPattern and vars(p).keys() == {'source'} for p in held)\n"
        "cached = any(key[1] == p.source[0] for key in re._cache for p in held)\n"
        "print(len({id(p) for p in held}), unused, re.compile.__module__, cached)"
    )
    assert _run(script) == "10 True re False"


def test_a_lazy_pattern_is_the_pattern_once_used():
    lazy = LazyPattern(r"^(?:yes|no)$ # a comment", re.X)
    assert lazy.match("yes") and not lazy.match("maybe")
    assert (lazy.pattern, lazy.flags, lazy.groups) == (r"^(?:yes|no)$ # a comment", re.X | re.U, 0)
    assert lazy.match == re.compile(r"^(?:yes|no)$ # a comment", re.X).match  # kept: the next use costs no more
    assert "match" in vars(lazy)


def test_pyyaml_resolves_and_writes_as_it_did():
    loaded = yaml.safe_load("[yes, on, 1.5, 0x1f, 017, 1_000, .inf, ~, null, 2002-12-14, 2001-12-14t21:59:43.10Z, x]")
    kinds = "bool bool float int int int float NoneType NoneType date datetime str"
    assert [type(v).__name__ for v in loaded] == kinds.split()
    assert loaded[3:6] == [31, 15, 1000]
    assert yaml.safe_load("{<<: {a: 1}, b: 2}") == {"a": 1, "b": 2}
    assert yaml.safe_dump(["yes", "1.5", "2002-12-14", "null", "plain"]) == (
        "- 'yes'\n- '1.5'\n- '2002-12-14'\n- 'null'\n- plain\n"
    )


def test_pyyaml_imported_from_here_takes_the_cheaper_pattern():
    assert _run("from engine.pyyaml import yaml; print(yaml.reader.Reader.NON_PRINTABLE.pattern)") == NON_PRINTABLE


def test_both_match_the_same_characters_every_one():
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    theirs = [m.start() for m in re.compile(YAML_NON_PRINTABLE).finditer(every)]
    ours = [m.start() for m in re.compile(NON_PRINTABLE).finditer(every)]
    assert ours == theirs and len(ours) == 2111


def test_pyyamls_reader_refuses_what_it_did():
    for text, refused in (("a: b\n", False), ("a: \x07\n", True), ("a: \ufffe\n", True), ("a: 中\U0001f600\n", False)):
        try:
            yaml.load(text, Loader=yaml.SafeLoader)  # the pure-Python reader, which uses the pattern
        except yaml.reader.ReaderError:
            assert refused, text
        else:
            assert not refused, text

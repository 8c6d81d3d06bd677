"""``engine.pyyaml``: the pattern it puts in ``re``'s cache for PyYAML is PyYAML's, in cheaper words."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from engine.pyyaml import NON_PRINTABLE, YAML_NON_PRINTABLE, yaml


def test_the_pattern_cached_is_the_one_pyyaml_compiles():
    source = Path(sys.modules["yaml.reader"].__file__).read_text(encoding="utf-8")
    (written,) = re.findall(r"NON_PRINTABLE = re\.compile\(('[^']*')\)", source)
    assert ast.literal_eval(written) == YAML_NON_PRINTABLE


def test_pyyaml_imported_from_here_takes_the_cheaper_pattern():
    script = "from engine.pyyaml import yaml; print(yaml.reader.Reader.NON_PRINTABLE.pattern)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == NON_PRINTABLE


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

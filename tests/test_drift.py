"""`make test-latest` names the dependency that broke the suite: tools/drift.py reads the lock as pip
would for this interpreter, so it compares the right versions."""

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import drift  # noqa: E402

LOCK = """\
# a universal lock pins some packages twice, under exclusive markers
networkx==3.6.1 ; python_full_version < '3.12' \\
    --hash=sha256:aa
networkx==3.7 ; python_full_version >= '3.12' \\
    --hash=sha256:bb
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:cc
PyYAML==6.0.2 \\
    --hash=sha256:dd
"""


def test_the_lock_is_read_for_this_interpreter(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK, encoding="utf-8")
    versions = drift.locked_versions(lock)
    assert versions["networkx"] == ("3.6.1" if sys.version_info < (3, 12) else "3.7")
    assert versions["pyyaml"] == "6.0.2"  # names compared as pip normalises them
    assert ("colorama" in versions) == (sys.platform == "win32")


def test_the_project_lock_pins_every_installed_dependency_once():
    versions = drift.locked_versions(ROOT / "requirements.lock")
    assert {"pyyaml", "jsonschema", "transitions", "networkx", "graphviz", "psycopg", "google-re2"} <= set(versions)
    assert all(version[0].isdigit() for version in versions.values())

"""The README's promise, held over a corpus: whatever file, argument, store URL or payload a user
gives, every command answers with an error on stderr that names the place and exits 1 (refused) or 2
(usage); never a traceback, never the internal-error status 3.

Commands run in-process through ``engine.cli.run`` (the real parser and handlers); a few run through
the real ``python -m engine`` in a subprocess, where streams, signals and argv bytes are the system's.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from conftest import FIXTURE, ROOT

from engine.cli import EXIT_INVALID, EXIT_USAGE, build_parser, run

GOOD_SCENARIO = "scenario: 1\nstart:\n  as: zhang:customer\n  at: 2026-11-23T09:10:00+08:00\nevents: []\n"
STARTER = ("--as", "zhang:customer")
NOT_UTF8 = os.fsdecode(b"caf\xe9")

# Bad files, each under a name of its own so the error can be checked for naming it.
BAD_FILES = {
    "empty.yaml": b"",
    "binary.yaml": bytes(range(256)) * 8,
    "huge.yaml": b"key: value\n" * 110_000,  # past the 1 MB limit
    "latin1.yaml": "procflow: 1\nid: caf\xe9\n".encode("latin-1"),
    "not_a_definition.yaml": b"- 1\n- 2\n",
    "not_a_mapping.yaml": b"just text\n",
    "deep.yaml": b"[" * 5_000 + b"]" * 5_000,
}
BAD_HISTORIES = {
    "deep.json": b"[" * 10_000 + b"]" * 10_000,
    "huge_number.json": b'{"format": ' + b"9" * 5_000 + b"}",
    "not_a_history.json": b'{"hello": "world"}',
    "latin1.json": '{"id": "caf\xe9"}'.encode("latin-1"),
}
SPECIAL = ("folder", "fifo.yaml", "missing.yaml")  # made by the fixture, or not at all

# Where each command takes a file: {bad} is replaced by the bad file, {out} by a fresh output path.
FILE_SLOTS = {
    "validate": ("validate", "{bad}"),
    "run-process": ("run", "{bad}", "--events", "{scenario}"),
    "run-events": ("run", "{good}", "--events", "{bad}"),
    "simulate": ("simulate", "{bad}", "-n", "2"),
    "book": ("book", "{bad}", "-o", "{out}"),
    "render": ("render", "{bad}", "-o", "{out}.dot"),
    "start": ("start", "{bad}", *STARTER, "--store", "memory:"),
    "diff-old": ("diff", "{bad}", "{good}"),
    "diff-new": ("diff", "{good}", "{bad}", "-o", "{out}.dot"),
    "migrate-plan": ("migrate", "claim", "--plan", "{bad}", "--store", "memory:", "--as", "zhou:supervisor"),
    "worker-addresses": ("worker", "--addresses", "{bad}", "--store", "memory:", "--once"),
}
HISTORY_SLOTS = {
    "render-instance": ("render", "{good}", "-o", "{out}.dot", "--instance", "{bad}"),
    "render-heatmap": ("render", "{good}", "-o", "{out}.dot", "--heatmap", "{history}", "{bad}"),
}


def call(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def assert_answered(code: int, err: str, place: str) -> None:
    """Refused or a usage error, never a crash, with the place named on the first line."""
    assert "Traceback" not in err
    assert "internal error" not in err
    assert code in (EXIT_INVALID, EXIT_USAGE), err
    assert err.strip(), "the refusal says nothing"
    assert place in err.splitlines()[0], err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("corpus")
    paths = {"good": str(FIXTURE)}
    for name, content in {**BAD_FILES, **BAD_HISTORIES}.items():
        (folder / name).write_bytes(content)
        paths[name] = str(folder / name)
    (folder / "folder").mkdir()
    paths["folder"] = str(folder / "folder")
    os.mkfifo(folder / "fifo.yaml")
    paths["fifo.yaml"] = str(folder / "fifo.yaml")
    paths["missing.yaml"] = str(folder / "missing.yaml")
    (folder / "scenario.yaml").write_text(GOOD_SCENARIO, encoding="utf-8")
    paths["scenario"] = str(folder / "scenario.yaml")
    paths["history"] = str(folder / "history.json")
    code, _, err = call("run", str(FIXTURE), "--events", paths["scenario"], "--history", paths["history"])
    assert code == 0, err
    paths["outdir"] = str(folder / "out")
    return paths


def fill(template: tuple[str, ...], corpus: dict[str, str], bad: str, out: str) -> list[str]:
    values = {"bad": bad, "good": corpus["good"], "scenario": corpus["scenario"], "history": corpus["history"]}
    values["out"] = out
    filled = []
    for part in template:
        for key, value in values.items():
            part = part.replace(f"{{{key}}}", value)
        filled.append(part)
    return filled


@pytest.mark.parametrize("name", [*BAD_FILES, *SPECIAL])
@pytest.mark.parametrize("slot", FILE_SLOTS)
def test_every_bad_file_is_refused_by_name(corpus, tmp_path, slot, name):
    bad = corpus[name]
    code, _, err = call(*fill(FILE_SLOTS[slot], corpus, bad, str(tmp_path / "out")))
    # An empty folder given to validate or book is a usage error that names the folder too.
    assert_answered(code, err, bad)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.dot").exists()


@pytest.mark.parametrize("name", [*BAD_HISTORIES, *BAD_FILES, *SPECIAL])
@pytest.mark.parametrize("slot", HISTORY_SLOTS)
def test_every_bad_history_is_refused_by_name(corpus, tmp_path, slot, name):
    bad = corpus[name]
    code, _, err = call(*fill(HISTORY_SLOTS[slot], corpus, bad, str(tmp_path / "out")))
    assert_answered(code, err, bad)
    assert not (tmp_path / "out.dot").exists()


BAD_OUTPUTS = [
    ("run-history", "missing/history.json"),
    ("run-history", "folder.dot"),
    ("run-history", "/dev/full"),
    ("run-history", "fifo.dot"),
    ("render", "missing/chart.dot"),
    ("render", "folder.dot"),
    ("render", "fifo.dot"),
    ("render", "/dev/full"),
    ("book", "fifo.dot"),
    ("book", "/dev/full"),
    ("book", "file.txt"),
]
OUTPUT_SLOTS = {
    "run-history": ("run", "{good}", "--events", "{scenario}", "--history", "{out}"),
    "render": ("render", "{good}", "-o", "{out}"),
    "book": ("book", "{good}", "-o", "{out}"),
}


@pytest.mark.parametrize(("slot", "target"), BAD_OUTPUTS, ids=[f"{s}-{t}" for s, t in BAD_OUTPUTS])
def test_every_bad_output_is_refused_by_name(corpus, tmp_path, slot, target):
    (tmp_path / "folder.dot").mkdir()
    os.mkfifo(tmp_path / "fifo.dot")
    (tmp_path / "file.txt").write_text("keep me")
    before = sorted(os.listdir(tmp_path))
    path = target if target.startswith("/") else str(tmp_path / target)
    code, _, err = call(*fill(OUTPUT_SLOTS[slot], corpus, "", path))
    assert_answered(code, err, path)
    assert sorted(os.listdir(tmp_path)) == before and os.listdir(tmp_path / "folder.dot") == []
    assert (tmp_path / "file.txt").read_text() == "keep me"


BAD_ARGUMENTS = {
    "no-command": ((), "procflow"),
    "unknown-command": (("frobnicate",), "frobnicate"),
    "schema-extra": (("schema", "extra"), "extra"),
    "walks-zero": (("simulate", "{good}", "--walks", "0"), "--walks"),
    "walks-huge": (("simulate", "{good}", "--walks", "1e9"), "--walks"),
    "seed-float": (("simulate", "{good}", "--seed", "1e5"), "--seed"),
    "seed-huge": (("simulate", "{good}", "--seed", "9" * 30), "--seed"),
    "seed-endless": (("simulate", "{good}", "--seed", "9" * 5_000), "--seed"),
    "max-steps-negative": (("simulate", "{good}", "--max-steps", "-1"), "--max-steps"),
    "book-timeout-huge": (("book", "{good}", "-o", "{out}", "--timeout", "1e308"), "--timeout"),
    "book-timeout-nan": (("book", "{good}", "-o", "{out}", "--timeout", "nan"), "--timeout"),
    "book-lang": (("book", "{good}", "-o", "{out}", "--lang", "fr"), "--lang"),
    "render-format": (("render", "{good}", "-o", "{out}.gif"), "{out}.gif"),
    "render-timeout-inf": (("render", "{good}", "-o", "{out}.svg", "--timeout", "inf"), "--timeout"),
    "render-at-bad": (("render", "{good}", "-o", "{out}.dot", "--instance", "{history}", "--at", "2026-13-01"), "--at"),
    "render-at-alone": (("render", "{good}", "-o", "{out}.dot", "--at", "2026-11-01T00:00Z"), "--at"),
    "interval-huge": (("worker", "--interval", "1e308", "--store", "memory:"), "--interval"),
    "batch-huge": (("worker", "--batch", "99999999999999999999999", "--store", "memory:"), "--batch"),
    "as-no-role": (("start", "{good}", "--as", "nobody", "--store", "memory:"), "--as"),
    "as-empty": (("start", "{good}", "--as", ":", "--store", "memory:"), "--as"),
    "data-not-json": (("start", "{good}", *STARTER, "--data", "{nope", "--store", "memory:"), "--data"),
    "data-a-list": (("start", "{good}", *STARTER, "--data", "[1]", "--store", "memory:"), "--data"),
    "data-deep": (("start", "{good}", *STARTER, "--data", "[" * 10_000 + "]" * 10_000, "--store", "memory:"), "--data"),
    "data-deep-inside": (
        ("start", "{good}", *STARTER, "--data", '{"model": ' + "[" * 10_000 + "]" * 10_000 + "}", "--store", "memory:"),
        "--data",
    ),
    "data-endless-number": (
        ("start", "{good}", *STARTER, "--data", '{"quote": ' + "9" * 5_000 + "}", "--store", "memory:"),
        "--data",
    ),
    "fire-unknown": (("fire", "nope", "submit", *STARTER, "--store", "memory:"), "nope"),
    "fire-payload-deep": (
        ("fire", "nope", "submit", *STARTER, "--payload", "[" * 10_000 + "]" * 10_000, "--store", "memory:"),
        "--payload",
    ),
    "move-unknown": (("move", "nope", "--to", "x", "--reason", "r", *STARTER, "--store", "memory:"), "nope"),
    "move-no-reason": (("move", "nope", "--to", "x", *STARTER, "--store", "memory:"), "--reason"),
    "show-unknown": (("show", "nope", "--store", "memory:"), "nope"),
    "outbox-limit-zero": (("outbox", "--limit", "0", "--store", "memory:"), "--limit"),
    "outbox-state": (("outbox", "--state", "lost", "--store", "memory:"), "--state"),
    "inbox-no-role": (("inbox", "--as", "li", "--store", "memory:"), "--as"),
    "inbox-limit-zero": (("inbox", *STARTER, "--limit", "0", "--store", "memory:"), "--limit"),
    "inbox-cursor": (("inbox", *STARTER, "--after", "x" * 5_000, "--store", "memory:"), "not a worklist cursor"),
    "claim-unknown": (("claim", "nope", *STARTER, "--store", "memory:"), "nope"),
    "release-unknown": (("release", "nope", *STARTER, "--store", "memory:"), "nope"),
    "assign-to-no-role": (("assign", "nope", "--to", "chen", *STARTER, "--store", "memory:"), "--to"),
    "verify-unknown": (("verify", "nope", "--store", "memory:"), "nope"),
    "init-into-a-file": (("init", "{good}"), "is a file, not a folder"),
    "init-hook-repo-alone": (("init", "{out}", "--hook-repo", "x"), "--hook-rev"),
    "verify-not-utf8": (("verify", NOT_UTF8, "--store", "memory:"), "ID"),
    "history-unknown": (("history", "nope", "--json", "--store", "memory:"), "nope"),
    "records-unknown": (("records", "nope", "--json", "--store", "memory:"), "nope"),
    "records-not-utf8": (("records", NOT_UTF8, "--store", "memory:"), "ID"),
    "start-unknown-id": (("start", "no_such_process", *STARTER, "--store", "memory:"), "no_such_process"),
    # Arguments holding bytes that are not UTF-8, as Python decodes them from argv (lone surrogates).
    "id-not-utf8": (("start", "{good}", *STARTER, "--id", NOT_UTF8, "--store", "memory:"), "--id"),
    "key-not-utf8": (("start", "{good}", *STARTER, "--key", NOT_UTF8, "--store", "memory:"), "--key"),
    "actor-not-utf8": (("start", "{good}", "--as", f"{NOT_UTF8}:customer", "--store", "memory:"), "--as"),
    "process-id-not-utf8": (("start", NOT_UTF8, *STARTER, "--store", "memory:"), "process id"),
    "data-not-utf8": (
        ("start", "{good}", *STARTER, "--data", f'{{"model": "{NOT_UTF8}"}}', "--store", "memory:"),
        "--data",
    ),
    "show-not-utf8": (("show", NOT_UTF8, "--store", "memory:"), "ID"),
    "trigger-not-utf8": (("fire", "nope", NOT_UTF8, *STARTER, "--store", "memory:"), "TRIGGER"),
    "list-state-not-utf8": (("list", "--state", NOT_UTF8, "--store", "memory:"), "--state"),
    "sources-not-utf8": (("render", "{good}", "-o", "{out}.dot", "--sources", NOT_UTF8), "--sources"),
    "diff-format": (("diff", "{good}", "{good}", "-o", "{out}.gif"), "{out}.gif"),
    "diff-git-bad-rev": (("diff", "git:no_such_rev:processes/complaint.yaml", "{good}"), "no_such_rev"),
    "diff-git-no-path": (("diff", "git:HEAD", "{good}"), "git:HEAD"),
    "diff-lang": (("diff", "{good}", "{good}", "--lang", "fr"), "--lang"),
    "serve-port-huge": (("serve", "--port", "70000", "--users", "{out}"), "--port"),
    "serve-no-users-file": (("serve", "--users", "{out}", "--store", "memory:"), "{out}: no users file"),
    "serve-missing-definition": (("serve", "{out}.yaml", "--users", "{out}"), "{out}.yaml"),
    "users-no-users-file": (("users", "token", "nobody", "--users", "{out}"), "{out}: no users file"),
    "users-no-roles": (("users", "add", "x", "--roles", ",", "--users", "{out}"), "--roles"),
    "users-name-not-utf8": (("users", "add", NOT_UTF8, "--roles", "clerk", "--users", "{out}"), "NAME"),
    "users-name-empty": (("users", "add", " ", "--roles", "clerk", "--users", "{out}"), "user name"),
}


@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_every_bad_argument_is_refused_by_name(corpus, tmp_path, case):
    template, place = BAD_ARGUMENTS[case]
    out = str(tmp_path / "out")
    code, _, err = call(*fill(template, corpus, "", out))
    assert_answered(code, err, place.replace("{out}", out))


# Payloads that are JSON, but not values the runtime keeps: the runtime refuses them.
BAD_VALUES = {
    "huge-integer": '{"model": "X", "quote": ' + "9" * 4_000 + "}",
    "lone-surrogate": '{"model": "\\ud800"}',
    "nested-past-the-runtime-limit": '{"extra": ' + "[" * 900 + "]" * 900 + "}",
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_every_bad_value_is_refused(corpus, tmp_path, case):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, _, err = call("start", corpus["good"], *STARTER, "--data", BAD_VALUES[case], "--store", url)
    assert_answered(code, err, "procflow start")


BAD_STORES = {
    "foo": "foo://x",
    "missing-folder": "sqlite:///{tmp}/missing/store.db",
    "read-only": "sqlite:///{tmp}/read_only.db",
    "a-folder": "sqlite:///{tmp}",
    "postgres-unreachable": "postgresql://nobody@127.0.0.1:1/none",
    "empty": "",
    "postgres-incomplete": "postgresql://",
}
NOT_YET: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.parametrize(
    ("command", "case"),
    [
        pytest.param(command, case, marks=NOT_YET.get(case, ()), id=f"{command}-{case}")
        for command in ("start", "list")
        for case in BAD_STORES
        if (command, case) != ("list", "read-only")  # reading a read-only store is allowed
    ],
)
def test_every_bad_store_url_is_refused_by_name(corpus, tmp_path, monkeypatch, case, command):
    monkeypatch.chdir(tmp_path)  # a default store, if one is wrongly used, lands here
    monkeypatch.setenv("PGHOST", str(tmp_path / "no-server"))  # libpq's defaults reach no real server
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    monkeypatch.delenv("PROCFLOW_STORE", raising=False)
    read_only = tmp_path / "read_only.db"
    read_only.write_bytes(b"")
    read_only.chmod(0o444)
    url = BAD_STORES[case].format(tmp=tmp_path)
    argv = ("start", corpus["good"], *STARTER) if command == "start" else ("list",)
    if case == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes to read-only files")
    code, _, err = call(*argv, "--store", url)
    assert_answered(code, err, url or "store")
    assert not (tmp_path / "procflow.db").exists()


def test_the_corpus_covers_every_command():
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    used = {t[0] for t in FILE_SLOTS.values()} | {t[0] for t in HISTORY_SLOTS.values()}
    used |= {template[0] for template, _ in BAD_ARGUMENTS.values() if template}
    used |= {"start", "list"}
    assert set(commands) <= used, f"no bad input for {set(commands) - used}"


# --- through the real command -------------------------------------------------------------------


def procflow(*argv: str | bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *argv],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", ["fifo.yaml", "folder", "binary.yaml"])
def test_the_real_command_refuses_a_bad_file_without_blocking(corpus, name):
    result = procflow("validate", corpus[name])
    err = result.stderr.decode()
    assert_answered(result.returncode, err, corpus[name])


def test_the_real_command_refuses_a_bad_history_without_blocking(corpus, tmp_path):
    result = procflow("render", corpus["good"], "-o", str(tmp_path / "x.dot"), "--instance", corpus["fifo.yaml"])
    assert_answered(result.returncode, result.stderr.decode(), corpus["fifo.yaml"])


def test_the_real_command_refuses_bad_arguments_in_one_line(corpus):
    result = procflow("worker", "--interval", "1e308", "--store", "memory:")
    assert_answered(result.returncode, result.stderr.decode(), "--interval")

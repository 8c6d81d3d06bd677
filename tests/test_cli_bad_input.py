"""Issue 10's reproducers: bad files, options and outputs get a located one-line error, never a
traceback; files are read bounded and never block; outputs are replaced whole or left alone; a
crash says so in one line with its own exit status."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURE, ROOT

import engine.files
from engine.cli import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_USAGE, run
from engine.cli.options import MAX_BATCH, MAX_INTERVAL, MAX_TIMEOUT, seconds, whole_number
from engine.files import FileTooLarge, NotAFile, read_bounded, write_replacing
from engine.loader import MAX_FILE_BYTES
from engine.render.overlay import MAX_HISTORY_BYTES
from engine.service import Workflows

SCENARIO = """scenario: 1
start:
  as: {starter}
  at: 2026-11-23T09:10:00+08:00
  data: {data}
events: []
"""


def call(*argv: str | Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run([str(a) for a in argv], stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def procflow(
    *argv: str | bytes | Path, stdout: int | None = subprocess.PIPE, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *(str(a) if isinstance(a, Path) else a for a in argv)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
        check=False,
    )


def scenario(tmp_path: Path, starter: str = "zhang:customer", data: str = "{}") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(starter=starter, data=data), encoding="utf-8")
    return path


# --- run: a start the process refuses ------------------------------------------------------------


def test_a_starter_without_the_start_role_is_a_located_refusal(tmp_path):
    path = scenario(tmp_path, starter="li:clerk")
    code, out, err = call("run", FIXTURE, "--events", path)
    assert (code, out) == (EXIT_INVALID, "")
    assert err.count("\n") == 1
    assert err.startswith(f"{path}:3:7: error: the scenario cannot start: `li`")
    assert "needs one of the roles `customer`" in err


def test_starting_data_the_schema_rejects_is_a_located_refusal(tmp_path):
    path = scenario(tmp_path, data="{quote: -5}")
    code, out, err = call("run", FIXTURE, "--events", path)
    assert (code, out) == (EXIT_INVALID, "")
    assert err.count("\n") == 1
    assert err.startswith(f"{path}:5:9: error: the scenario cannot start: the initial data does not fit")
    assert "data.quote: must be at least 0, got `-5`" in err


@pytest.mark.parametrize(
    ("starter", "data", "words"),
    [("li:clerk", "{}", "needs one of the roles `customer`"), ("zhang:customer", '{"quote": -5}', "at least 0")],
)
def test_a_refused_stored_start_registers_nothing(tmp_path, starter, data, words):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, out, err = call("start", FIXTURE, "--as", starter, "--data", data, "--store", url)
    assert (code, out) == (EXIT_INVALID, "")
    assert words in err
    with Workflows(url) as workflows:
        assert list(workflows.store.definitions()) == []


# --- reading: bounded, regular files only --------------------------------------------------------


def test_a_device_is_refused_unread():
    code, out, err = call("validate", "/dev/zero")
    assert code == EXIT_INVALID
    assert err == "/dev/zero:1:1: error: cannot read the file: it is a device, not a regular file\n"
    assert out == "/dev/zero: 1 error(s)\n"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "process.yaml"
    os.mkfifo(fifo)
    result = procflow("validate", fifo)  # nothing writes to the FIFO: an open or read would wait forever
    assert result.returncode == EXIT_INVALID
    assert result.stderr.decode() == f"{fifo}:1:1: error: cannot read the file: it is a FIFO, not a regular file\n"


def test_a_folder_where_a_file_is_expected_is_refused(tmp_path):
    code, _, err = call("run", FIXTURE, "--events", tmp_path)
    assert code == EXIT_INVALID
    assert err == f"{tmp_path}:1:1: error: cannot read the file: it is a folder, not a file\n"


def test_reading_stops_one_byte_past_the_limit(tmp_path, monkeypatch):
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as file:
        file.truncate(8 * 1024**3)  # 8 GB, sparse: reading it whole would not end well
    taken: list[int] = []
    real_read = os.read

    def counting_read(descriptor: int, size: int) -> bytes:
        chunk = real_read(descriptor, size)
        taken.append(len(chunk))
        return chunk

    monkeypatch.setattr(engine.files.os, "read", counting_read)
    code, _, err = call("validate", huge)
    assert code == EXIT_INVALID
    assert f"the file is larger than {MAX_FILE_BYTES:,} bytes" in err
    assert sum(taken) == MAX_FILE_BYTES + 1


def test_the_bounded_reader_takes_a_file_of_exactly_the_limit(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100) == b"x" * 100
    with pytest.raises(FileTooLarge):
        read_bounded(path, 99)
    with pytest.raises(NotAFile):
        read_bounded(tmp_path, 100)


def test_a_history_past_its_limit_is_refused(tmp_path):
    huge = tmp_path / "history.json"
    with huge.open("wb") as file:
        file.truncate(MAX_HISTORY_BYTES + 1)
    code, _, err = call("render", FIXTURE, "-o", tmp_path / "x.dot", "--instance", huge)
    assert code == EXIT_INVALID
    assert err == (
        f"procflow render: {huge}: cannot read the history: the file is larger than {MAX_HISTORY_BYTES:,} bytes\n"
    )
    assert not (tmp_path / "x.dot").exists()


@pytest.mark.parametrize("kind", ["deep", "fifo"])
def test_a_heatmap_refuses_a_bad_history_by_name(tmp_path, kind):
    bad = tmp_path / "bad.json"
    if kind == "fifo":
        os.mkfifo(bad)
    else:
        bad.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = call("render", FIXTURE, "-o", tmp_path / "x.dot", "--heatmap", bad)
    assert code == EXIT_INVALID
    assert err.startswith(f"procflow render: {bad}: ") and err.count("\n") == 1


# --- writing: replaced whole, refused when it is not a file ---------------------------------------


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("missing/history.json", "No such file or directory"),
        ("folder", "it is a folder, not a file"),
        ("/dev/full", "it is a device, not a regular file"),
        ("fifo", "it is a FIFO, not a regular file"),
    ],
)
def test_run_history_to_a_bad_target_is_refused_and_writes_nothing(tmp_path, target, words):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    path = target if target.startswith("/") else str(tmp_path / target)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = call("run", FIXTURE, "--events", scenario(tmp_path), "--history", path)
    assert code == EXIT_INVALID
    assert err == f"procflow run: cannot write the history to {path}: {words}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "scenario.yaml"])
    assert list((tmp_path / "folder").iterdir()) == []


def test_a_failed_write_leaves_the_old_history_whole(tmp_path, monkeypatch):
    history = tmp_path / "history.json"
    history.write_text('{"old": true}\n')

    def full_disk(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(engine.files.os, "fsync", full_disk)
    code, _, err = call("run", FIXTURE, "--events", scenario(tmp_path), "--history", history)
    assert code == EXIT_INVALID
    assert err == f"procflow run: cannot write the history to {history}: No space left on device\n"
    assert history.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json", "scenario.yaml"]


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    path.chmod(0o640)
    write_replacing(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640


def test_render_to_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "chart.dot"
    os.mkfifo(fifo)
    code, _, err = call("render", FIXTURE, "-o", fifo)
    assert code == EXIT_INVALID
    assert err == f"procflow render: {fifo}: cannot write the diagram: it is a FIFO, not a regular file\n"


# --- numeric options: a documented range, a usage error past it -------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ("book", FIXTURE, "-o", "out", "--timeout", "1e308"),
            f"--timeout: must be more than 0 and at most {MAX_TIMEOUT:g}",
        ),
        (("book", FIXTURE, "-o", "out", "--timeout", "nan"), "--timeout: must be more than 0"),
        (("render", FIXTURE, "-o", "x.svg", "--timeout", "1e308"), "--timeout: must be more than 0"),
        (
            ("worker", "--interval", "1e308", "--store", "memory:"),
            f"--interval: must be more than 0 and at most {MAX_INTERVAL:g}",
        ),
        (
            ("worker", "--batch", "99999999999999999999999", "--store", "memory:"),
            f"--batch: must be from 1 to {MAX_BATCH}",
        ),
        (("simulate", FIXTURE, "--walks", "1000000000"), "--walks: must be from 1 to"),
        (("simulate", FIXTURE, "--max-steps", "0"), "--max-steps: must be from 1 to"),
        (("simulate", FIXTURE, "--seed", "9" * 30), "--seed: must be from"),
        (("simulate", FIXTURE, "--seed", "9" * 5_000), "--seed: expected a whole number"),
    ],
    ids=lambda v: v[-1] if isinstance(v, tuple) else None,
)
def test_numeric_options_out_of_range_are_usage_errors(tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)  # whatever a wrongly accepted option wrote would land here
    code, out, err = call(*argv)
    assert (code, out) == (EXIT_USAGE, "")
    assert words in err.splitlines()[0]
    assert list(tmp_path.iterdir()) == []


def test_the_ranges_include_their_ends():
    assert seconds(MAX_TIMEOUT)(str(MAX_TIMEOUT)) == MAX_TIMEOUT
    assert whole_number(1, MAX_BATCH)(str(MAX_BATCH)) == MAX_BATCH
    assert whole_number(1, MAX_BATCH)("1") == 1


# --- output that cannot be written -----------------------------------------------------------------


def started_store(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, out, err = call("start", FIXTURE, "--as", "zhang:customer", "--store", url)
    assert code == EXIT_OK, err
    return url, out.splitlines()[0]


@pytest.mark.parametrize("command", ["schema", "validate", "show"])
def test_output_to_a_full_device_is_one_line_and_exit_one(tmp_path, command):
    argv: tuple[str | Path, ...] = {"schema": ("schema",), "validate": ("validate", FIXTURE)}.get(command, ())
    if command == "show":
        url, instance_id = started_store(tmp_path)
        argv = ("show", instance_id, "--store", url)
    with open("/dev/full", "wb") as full:
        result = procflow(*argv, stdout=full.fileno())
    assert result.returncode == EXIT_INVALID
    assert result.stderr.decode() == f"procflow {command}: cannot write the output: No space left on device\n"


# --- file names that are not UTF-8 ------------------------------------------------------------------


def test_book_and_start_take_file_names_that_are_not_utf8(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.yaml"
    Path(os.fsdecode(name)).write_bytes(FIXTURE.read_bytes())
    book = procflow("book", name, "-o", os.fsencode(tmp_path) + b"/b\xe9")
    assert book.returncode == EXIT_OK, book.stderr
    pages = list(Path(os.fsdecode(os.fsencode(tmp_path) + b"/b\xe9")).glob("procedures/*.html"))
    assert any("<code>caf\\xe9.yaml</code>" in page.read_text(encoding="utf-8") for page in pages)
    start = procflow("start", name, "--as", "zhang:customer", "--store", f"sqlite:///{tmp_path / 's.db'}")
    assert start.returncode == EXIT_OK, start.stderr
    assert b"runs on minimal_repair revision 1" in start.stdout


def test_a_missing_file_name_that_is_not_utf8_is_shown_escaped(tmp_path):
    result = procflow("validate", os.fsencode(tmp_path) + b"/caf\xe9.yaml")
    assert result.returncode == EXIT_USAGE
    assert b"caf\\udce9.yaml" in result.stderr and b"Traceback" not in result.stderr


def test_an_ascii_terminal_gets_escapes_not_an_encoding_error(tmp_path):
    result = procflow("run", FIXTURE, "--events", scenario(tmp_path), PYTHONIOENCODING="ascii")
    assert result.returncode == EXIT_OK, result.stderr
    assert b"\\u5ba2" in result.stdout  # 客, of 客户申请返厂维修


# --- internal errors ---------------------------------------------------------------------------------


def test_a_crash_is_one_line_with_its_own_exit_status(monkeypatch):
    def crash(*_: object) -> int:
        raise KeyError("states")

    monkeypatch.setattr("engine.cli.definitions._schema", crash)
    monkeypatch.delenv("PROCFLOW_DEBUG", raising=False)
    code, out, err = call("schema")
    assert (code, out) == (EXIT_INTERNAL, "")
    assert err == "procflow: internal error: KeyError: 'states' — please report this\n"


def test_procflow_debug_adds_the_traceback(monkeypatch):
    def crash(*_: object) -> int:
        raise KeyError("states")

    monkeypatch.setattr("engine.cli.definitions._schema", crash)
    monkeypatch.setenv("PROCFLOW_DEBUG", "1")
    code, _, err = call("schema")
    assert code == EXIT_INTERNAL
    assert err.startswith("procflow: internal error: KeyError: 'states' — please report this\nTraceback")


def test_the_real_command_reports_a_crash_without_a_traceback():
    crash = (
        "import sys, engine.cli.definitions as d\n"
        "d._schema = lambda *a: [][1]\n"
        "from engine.cli import main\n"
        "sys.exit(main(['schema']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", crash],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in {**os.environ, "PYTHONPATH": str(ROOT)}.items() if k != "PROCFLOW_DEBUG"},
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_INTERNAL
    assert result.stderr == "procflow: internal error: IndexError: list index out of range — please report this\n"


def test_a_history_written_by_run_is_read_back_by_render(tmp_path):
    history = tmp_path / "h.json"
    assert call("run", FIXTURE, "--events", scenario(tmp_path), "--history", history)[0] == EXIT_OK
    assert json.loads(history.read_text(encoding="utf-8"))["state"] == "apply"
    code, _, err = call("render", FIXTURE, "-o", tmp_path / "x.dot", "--instance", history)
    assert code == EXIT_OK, err

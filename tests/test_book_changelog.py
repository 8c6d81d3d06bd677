"""The audit book's document-control block and change log, read from a real git repository made in a
temporary folder: each revision's changes in words, newest first; a revision that does not load
listed with its first error; a file outside git said to be so; every commit's text escaped; the
generation time taken from ``SOURCE_DATE_EPOCH`` so the book is the same bytes each time.
"""

from __future__ import annotations

import datetime
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURE, missing_tool, mutate
from test_book import files_of, tables

from engine.cli import run
from engine.errors import BookError
from engine.processes import load_definitions, load_process
from engine.render.book import write_book
from engine.service import Workflows

THIS_FILE = "此文件(未提交) this file (not committed)"
TEXT = FIXTURE.read_text(encoding="utf-8")
TIME_LIMIT = ("    time_limit: 24h\n    produces", "    time_limit: 12h\n    produces")
NEW_STEP = (
    (
        "        dest: done\n  on_hold:",
        "        dest: done\n      - trigger: inspect\n        zh: 送检\n"
        "        en: Send for inspection\n        dest: inspect\n\n  on_hold:",
    ),
    (
        "  done:\n",
        "  inspect:\n    type: task\n    zh: 检测\n    en: Inspect the product\n    role: supervisor\n"
        "    source: 三.3\n    on:\n      - trigger: inspected\n        zh: 检测完成\n        en: Inspected\n"
        "        dest: done\n\n  done:\n",
    ),
)
HOSTILE_SUBJECT = '<script>alert("x")</script> add inspection'
HOSTILE_AUTHOR = 'Eve & "Mallory" &lt;b&gt; Smith'  # git drops < and > from names; an entity stays text
EPOCH = 1_780_000_000  # 2026-05-28 20:26:40 UTC
GENERATED = "2026-05-28 20:26:40 UTC"


@pytest.fixture(autouse=True)
def _tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        missing_tool("git", "apt-get install git")
    if shutil.which("dot") is None:
        missing_tool("Graphviz's dot", "apt-get install graphviz")
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never the repository around tmp_path
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))


class Repo:
    """A git repository holding ``procs/repair.yaml``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root / "procs" / "repair.yaml"
        self.file.parent.mkdir(parents=True)
        self.git("init", "-q")

    def git(self, *args: str, author: str = "Li Lei") -> str:
        done = subprocess.run(
            ["git", "-c", f"user.name={author}", "-c", "user.email=t@example.com", *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def commit(self, text: str, subject: str, *, author: str = "Li Lei") -> str:
        """Commit ``text`` as the file; the short hash of the commit."""
        self.file.write_text(text, encoding="utf-8")
        self.git("add", "procs/repair.yaml")
        self.git("commit", "-qm", subject, author=author)
        return self.git("rev-parse", "--short", "HEAD")


def book_page(source: Path, out: Path, **options: object) -> str:
    report = write_book(load_definitions(source), out, **options)  # type: ignore[arg-type]
    return report.pages[0].read_text(encoding="utf-8")


def log_rows(page: str, section: str = "change-log") -> list[list[str]]:
    return tables(page).rows[section]


def control(page: str) -> dict[str, str]:
    return {row[0]: row[1] for row in tables(page).rows["document-control"]}


STEP_ADDED = mutate(mutate(TEXT, TIME_LIMIT), *NEW_STEP)
BROKEN = STEP_ADDED.replace("states:\n  apply:\n", "states:\n  apply:\n   - [unclosed\n", 1)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Repo, list[str]]:
    """Four commits: the fixture, a time limit changed, a step added, a revision that does not load;
    the file on disk is the step-added text again, not committed."""
    repo = Repo(tmp_path / "repo")
    hashes = [
        repo.commit(TEXT, "first"),
        repo.commit(mutate(TEXT, TIME_LIMIT), "accept within 12 hours"),
        repo.commit(STEP_ADDED, HOSTILE_SUBJECT, author=HOSTILE_AUTHOR),
        repo.commit(BROKEN, "half-finished edit"),
    ]
    repo.file.write_text(STEP_ADDED, encoding="utf-8")
    return repo, hashes


def test_each_revision_is_listed_newest_first_with_its_changes_in_words(history: tuple[Repo, list[str]]) -> None:
    repo, (first, shorter, added, broken) = history
    rows = log_rows(book_page(repo.file.parent, repo.root / "book"))
    assert [row[0] for row in rows] == [THIS_FILE, broken, added, shorter, first]
    assert rows[0][4] == "流程未变(仅格式或注释不同)。 No change to the procedure (layout or comments only)."
    assert rows[2][2:4] == [HOSTILE_AUTHOR, HOSTILE_SUBJECT]
    assert "step inspect added (task; 检测 / Inspect the product)" in rows[2][4]
    assert "transition accept.inspect added" in rows[2][4]
    assert "time limit" not in rows[2][4]
    assert rows[3][3:] == ["accept within 12 hours", "step accept: time limit 24h → 12h"]
    assert rows[4][4] == "首个修订。 The first revision."
    dates = [row[1] for row in rows[1:]]
    assert all(datetime.datetime.fromisoformat(d).tzinfo is not None for d in dates)
    assert dates == sorted(dates, reverse=True)


def test_a_revision_that_does_not_load_is_listed_with_its_first_error(history: tuple[Repo, list[str]]) -> None:
    repo, (_, _, added, broken) = history
    rows = log_rows(book_page(repo.file.parent, repo.root / "book"))
    assert rows[1][3] == "half-finished edit"
    assert rows[1][4].startswith(f"此修订无法载入 this revision does not load git:{broken}:procs/repair.yaml:")
    assert ": error: " in rows[1][4]
    # The revisions on either side are compared with each other, over the broken one.
    assert "step inspect added" in rows[2][4]


def test_the_changes_since_the_previous_revision_are_those_of_the_committed_file(
    history: tuple[Repo, list[str]],
) -> None:
    repo, (_, _, added, broken) = history
    latest = repo.commit(STEP_ADDED.replace("time_limit: 12h", "time_limit: 8h"), "accept within 8 hours")
    page = book_page(repo.file.parent, repo.root / "book")
    changes = tables(page)
    section = page[page.index('<section id="changes">') : page.index('<section id="change-log">')]
    assert f"<code>{added}</code>" in section  # since the previous revision that loads
    assert "<li>step <code>accept</code>: time limit 12h → 8h</li>" in section
    assert [row[0] for row in changes.rows["change-log"]][:2] == [latest, broken]
    assert "changes not committed" not in control(page)["git 修订 Git revision"]


def test_commit_subjects_and_authors_are_shown_as_text(history: tuple[Repo, list[str]]) -> None:
    repo, _ = history
    page = book_page(repo.file.parent, repo.root / "book")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; add inspection" in page
    assert "Eve &amp; &quot;Mallory&quot; &amp;lt;b&amp;gt; Smith" in page


def test_the_document_control_block_names_the_definition_its_revision_and_the_books_date(
    history: tuple[Repo, list[str]],
) -> None:
    repo, (_, _, _, broken) = history
    page = book_page(repo.file.parent, repo.root / "book")
    process = load_process(repo.file)
    block = control(page)
    assert list(block) == [
        "流程编号 Process id",
        "声明版本 Declared version",
        "内容哈希 Content hash",
        "定义文件 Definition file",
        "git 修订 Git revision",
        "本手册生成于 Book generated",
    ]
    assert block["流程编号 Process id"] == "minimal_repair"
    assert block["声明版本 Declared version"] == "1"
    assert block["内容哈希 Content hash"] == process.content_hash[:12]
    assert block["定义文件 Definition file"] == "repair.yaml"
    date = repo.git("log", "-1", "--format=%cI")
    assert block["git 修订 Git revision"] == (
        f"{broken} · {date} 文件在此修订后有未提交的修改 the file has changes not committed since"
    )
    assert block["本手册生成于 Book generated"] == GENERATED
    assert page.index('id="document-control"') < page.index('id="diagram"')


def test_a_folder_outside_git_says_it_has_no_revisions(tmp_path: Path) -> None:
    folder = tmp_path / "procs"
    folder.mkdir()
    (folder / "repair.yaml").write_text(TEXT, encoding="utf-8")
    page = book_page(folder, tmp_path / "book")
    assert control(page)["git 修订 Git revision"] == "不在 git 中 not in git"
    sentence = "The file is not in a git repository, so it has no recorded revisions."
    section = page[page.index('<section id="change-log">') :]
    assert f'<span class="en" lang="en">{sentence}</span></p></section>' in section[: section.index("</section>") + 10]
    assert "change-log" not in tables(page).rows


def test_a_file_never_committed_says_so(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    (repo.root / "other.txt").write_text("other\n", encoding="utf-8")
    repo.git("add", "other.txt")
    repo.git("commit", "-qm", "unrelated")
    repo.file.write_text(TEXT, encoding="utf-8")
    page = book_page(repo.file, tmp_path / "book")
    assert "The file is in a git repository but has never been committed." in page
    assert control(page)["git 修订 Git revision"] == "不在 git 中 not in git"


def test_at_most_the_asked_number_of_revisions_is_read_and_the_page_says_so(history: tuple[Repo, list[str]]) -> None:
    repo, (_, shorter, added, broken) = history
    rows = log_rows(page := book_page(repo.file.parent, repo.root / "book", revisions=2))
    assert [row[0] for row in rows] == [THIS_FILE, broken, added]
    # The oldest listed is still compared with the one before it, which is read but not listed.
    assert "step inspect added" in rows[2][4]
    assert "Only the newest 2 revisions are read; older ones are left out." in page
    with pytest.raises(BookError, match="1 to 200 revisions"):
        write_book(load_definitions(repo.file.parent), repo.root / "other", revisions=0)


def test_a_renamed_file_keeps_its_history(history: tuple[Repo, list[str]]) -> None:
    repo, (first, *_) = history
    repo.git("mv", "procs/repair.yaml", "procs/renamed.yaml")
    repo.git("commit", "-qm", "rename the file")
    moved = repo.root / "procs" / "renamed.yaml"
    moved.write_text(STEP_ADDED, encoding="utf-8")
    rows = log_rows(book_page(moved, repo.root / "book"))
    assert [row[3] for row in rows][-1] == "first" and rows[-1][0] == first


def test_the_same_history_gives_the_same_bytes_and_the_date_comes_from_source_date_epoch(
    history: tuple[Repo, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = history
    write_book(load_definitions(repo.file.parent), repo.root / "first")
    write_book(load_definitions(repo.file.parent), repo.root / "second")
    assert files_of(repo.root / "first") == files_of(repo.root / "second")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(BookError, match="SOURCE_DATE_EPOCH must be a whole number of seconds"):
        write_book(load_definitions(repo.file.parent), repo.root / "third")
    assert not (repo.root / "third").exists()


def test_the_command_takes_the_number_of_revisions(history: tuple[Repo, list[str]]) -> None:
    repo, _ = history
    out, err = io.StringIO(), io.StringIO()
    code = run(["book", str(repo.file.parent), "-o", str(repo.root / "book"), "--revisions", "1"], out, err)
    assert (code, err.getvalue()) == (0, "")
    rows = log_rows((repo.root / "book" / "procedures" / "minimal_repair.html").read_text(encoding="utf-8"))
    assert len(rows) == 2  # the file itself, and its newest commit
    out, err = io.StringIO(), io.StringIO()
    code = run(["book", str(repo.file.parent), "-o", str(repo.root / "book"), "--revisions", "0"], out, err)
    assert code == 2 and err.getvalue().startswith("procflow book: argument --revisions: must be from 1 to 200")


def test_with_a_store_the_page_lists_the_revisions_it_registered(tmp_path: Path) -> None:
    folder = tmp_path / "procs"
    folder.mkdir()
    file = folder / "repair.yaml"
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Workflows(url) as workflows:
        file.write_text(TEXT, encoding="utf-8")
        workflows.register(file)
        file.write_text(mutate(TEXT, TIME_LIMIT), encoding="utf-8")
        workflows.register(file)
    out, err = io.StringIO(), io.StringIO()
    assert run(["book", str(folder), "-o", str(tmp_path / "book"), "--store", url], out, err) == 0, err.getvalue()
    page = (tmp_path / "book" / "procedures" / "minimal_repair.html").read_text(encoding="utf-8")
    rows = log_rows(page, "store-log")
    assert [row[0] for row in rows] == ["revision 2", "revision 1"]
    assert rows[0][4] == "step accept: time limit 24h → 12h"
    assert rows[1][4] == "首个修订。 The first revision."
    assert all(datetime.datetime.fromisoformat(row[1]).tzinfo is not None for row in rows)
    # The file on disk, changed again and not registered, heads the store's log.
    file.write_text(mutate(TEXT, ("    time_limit: 24h\n    produces", "    time_limit: 8h\n    produces")), "utf-8")
    assert run(["book", str(folder), "-o", str(tmp_path / "book"), "--store", url], out, err) == 0, err.getvalue()
    page = (tmp_path / "book" / "procedures" / "minimal_repair.html").read_text(encoding="utf-8")
    rows = log_rows(page, "store-log")
    assert [row[0] for row in rows] == [THIS_FILE, "revision 2", "revision 1"]
    assert rows[0][4] == "step accept: time limit 12h → 8h"


def test_a_store_url_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "procs"
    folder.mkdir()
    (folder / "repair.yaml").write_text(TEXT, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["book", str(folder), "-o", str(tmp_path / "book"), "--store", "ftp://x"], out, err) == 2
    assert err.getvalue().startswith("procflow book: ")
    assert not (tmp_path / "book").exists()


def test_a_file_name_that_is_not_utf8_keeps_its_history(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    name = os.fsdecode(b"caf\xe9.yaml")
    file = repo.root / "procs" / name
    for text, subject in ((TEXT, "first"), (mutate(TEXT, TIME_LIMIT), "accept within 12 hours")):
        file.write_text(text, encoding="utf-8")
        repo.git("add", "--", f"procs/{name}")
        repo.git("commit", "-qm", subject)
    rows = log_rows(book_page(file, tmp_path / "book"))
    assert [row[3:] for row in rows] == [
        ["accept within 12 hours", "step accept: time limit 24h → 12h"],
        ["first", "首个修订。 The first revision."],
    ]

"""Every fenced code block in README.md, ARCHITECTURE.md and docs/*.md runs, by its info string:

- ```` ```yaml ```` a whole definition: it validates with no error.
  ```` ```yaml fragment ```` part of one: it is YAML procflow reads (YAML 1.2, no duplicate keys).
  ```` ```yaml from PATH ```` part of a shipped file, as it is there: each key and value of the block
  is found, at one place, in PATH (`...` stands for whatever is there, `…` inside a text for any part of it).
  ```` ```yaml invalid CODE ```` a bad example: validating it gives a problem with that code.
  ```` ```yaml addresses ```` a worker's address book: `engine.delivery` reads it.
  ```` ```yaml plan ```` a migration plan: it loads, against the revisions `given=claim-revisions` holds.
- ```` ```python ```` runs, in a fresh folder holding the shipped `processes/`, `examples/` and
  `schemas/`; a ```` ```text output ```` block right after it is what it prints.
  ```` ```python given=NAME ```` first prepares the folder, as a console block's does.
- ```` ```console ```` `$ procflow ...` commands run through the CLI in one fresh folder, and the lines
  after each are its output (`...` matches anything within a line or across lines).
  ```` ```console given=NAME ```` first prepares the folder (`GIVEN` below says how).
- ```` ```text synopsis ```` a command's usage: every option it names is one `procflow CMD --help` lists.
- Any kind with ```` no-run: reason ```` is not run (a server, a build, the network); the reason is
  required, so nothing is skipped silently.

The pages' relative links lead to files and headings that exist, the README stays short, the module
map in ARCHITECTURE.md names every module of engine/, and the generated pages (reference.md,
errors.md) equal what their generators write now.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

from engine.cli import run as cli_run
from engine.loader import load_text
from engine.processes import validate_file

sys.path.insert(0, str(ROOT / "tools"))
import docs_reference  # noqa: E402
import error_codes  # noqa: E402

PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(.*)$")
KINDS = {
    "yaml": {"", "fragment", "from", "invalid", "addresses", "plan"},
    "python": {"", "given"},
    "console": {"", "given"},
    "sh": set(),
    "text": {"output", "synopsis"},
}
"""For each language, the modes a block may have besides ``no-run: reason``."""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    """The line of the opening fence, from 1."""
    lang: str
    mode: str
    argument: str
    """What follows the mode: the expected code of ``invalid``, the set-up of ``given=``, the reason of ``no-run``."""
    text: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def read_blocks(page: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    opened: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line.rstrip("\n"))
        if fence is None:
            if opened is not None:
                body.append(line)
            continue
        if opened is None:
            opened, body = (number, fence.group(1).strip()), []
            continue
        blocks.append(_block(page, opened[0], opened[1], "".join(body)))
        opened = None
    assert opened is None, f"{page.name}:{opened[0]}: a code block is never closed"
    return blocks


def _block(page: Path, line: int, info: str, text: str) -> Block:
    lang, _, rest = info.partition(" ")
    rest = rest.strip()
    if rest.startswith("no-run"):
        return Block(page, line, lang, "no-run", rest.removeprefix("no-run").lstrip(":").strip(), text)
    mode, _, argument = rest.partition(" ")
    if "=" in mode:  # given=NAME
        mode, argument = mode.split("=", 1)
    return Block(page, line, lang, mode, argument.strip(), text)


BLOCKS = [block for page in PAGES for block in read_blocks(page)]
RUN = [block for block in BLOCKS if block.mode not in ("no-run", "output")]


def test_every_block_says_how_it_is_checked() -> None:
    wrong = [
        f"{b.name}: ```{b.lang} {b.mode}"
        for b in BLOCKS
        if b.lang not in KINDS or (b.mode not in KINDS[b.lang] and b.mode != "no-run")
    ]
    unexplained = [b.name for b in BLOCKS if b.mode == "no-run" and len(b.argument.split()) < 2]
    assert (wrong, unexplained) == ([], []), "give each block a kind KINDS knows, and each no-run a reason"
    outputs = [b for b in BLOCKS if b.mode == "output"]
    orphans = [b.name for b in outputs if _before(b) is None or _before(b).lang != "python"]  # type: ignore[union-attr]
    assert orphans == [], "a ```text output block follows the ```python block whose output it is"


def _before(block: Block) -> Block | None:
    same_page = [b for b in BLOCKS if b.page == block.page and b.line < block.line]
    return same_page[-1] if same_page else None


def _after(block: Block) -> Block | None:
    later = [b for b in BLOCKS if b.page == block.page and b.line > block.line]
    return later[0] if later else None


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder as a reader's checkout would look to the examples: the shipped files, a store of its own."""
    for name in ("processes", "examples", "schemas"):
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROCFLOW_STORE", "sqlite:///procflow.db")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764633600")
    return tmp_path


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.name)
def test_block(block: Block, folder: Path) -> None:
    CHECKS[(block.lang, block.mode)](block, folder)


# --- the kinds of block ------------------------------------------------------------------------------


def check_definition(block: Block, folder: Path) -> None:
    report = validate_file(_written(folder, block))
    assert [str(p) for p in report.errors] == []


def check_invalid(block: Block, folder: Path) -> None:
    report = validate_file(_written(folder, block))
    assert block.argument in {p.code for p in report.errors}, [f"{p.code}: {p}" for p in report.problems]


def check_fragment(block: Block, folder: Path) -> None:
    load_text(block.text, block.name)  # raises DefinitionError, located, for YAML procflow does not read


def check_excerpt(block: Block, folder: Path) -> None:
    excerpt = load_text(block.text, block.name).data
    shipped = load_text((ROOT / block.argument).read_text(encoding="utf-8"), block.argument).data
    assert _found_in(excerpt, shipped), f"the block no longer shows what {block.argument} says"


def _found_in(excerpt: object, document: object) -> bool:
    if _matches(excerpt, document):
        return True
    children = document.values() if isinstance(document, dict) else document if isinstance(document, list) else []
    return any(_found_in(excerpt, child) for child in children)


ELLIPSES = ("...", "…")


def _matches(excerpt: object, value: object) -> bool:
    if isinstance(excerpt, str) and excerpt in ELLIPSES:
        return True
    if isinstance(excerpt, str) and "…" in excerpt:
        pattern = ".*".join(re.escape(part) for part in excerpt.split("…"))
        return isinstance(value, str) and re.fullmatch(pattern, value, flags=re.S) is not None
    if isinstance(excerpt, dict):
        return isinstance(value, dict) and all(
            key in ELLIPSES or (key in value and _matches(item, value[key])) for key, item in excerpt.items()
        )
    if isinstance(excerpt, list):
        return isinstance(value, list) and all(
            any(_matches(item, candidate) for candidate in value) for item in excerpt if item not in ELLIPSES
        )
    return excerpt == value


def check_addresses(block: Block, folder: Path) -> None:
    from engine.delivery import load_address_book

    secrets = {name: "not-a-real-secret" for name in re.findall(r"_env: (\w+)", block.text)}
    load_address_book(_written(folder, block), secrets)


def _written(folder: Path, block: Block) -> Path:
    path = folder / "processes" / f"docs_{block.line}.yaml"  # beside the shipped ones, so modelines resolve
    path.write_text(block.text, encoding="utf-8")
    return path


def check_plan(block: Block, folder: Path) -> None:
    from engine.migration import load_plan

    claim_revisions(folder)
    (folder / "plan.yaml").write_text(block.text, encoding="utf-8")
    load_plan(folder / "plan.yaml")


def check_python(block: Block, folder: Path) -> None:
    if block.mode == "given":
        GIVEN[block.argument](folder)
    printed = io.StringIO()
    code = compile(block.text, block.name, "exec")
    with contextlib.redirect_stdout(printed):
        exec(code, {"__name__": "__docs__"})  # noqa: S102 - the page's own example, as a reader runs it
    shown = _after(block)
    if shown is not None and shown.mode == "output":
        assert printed.getvalue() == shown.text


def check_console(block: Block, folder: Path) -> None:
    if block.mode == "given":
        GIVEN[block.argument](folder)
    variables: dict[str, str] = {}
    for command, expected in _commands(block.text):
        status, output = _shell(command, variables)
        if expected:
            checker = doctest.OutputChecker()
            assert checker.check_output(expected, output, doctest.ELLIPSIS), f"$ {command}\n{output}"
        else:
            assert status == 0, f"$ {command}\n{output}"


def _commands(text: str) -> list[tuple[str, str]]:
    """``(command, the output shown after it)`` for each ``$`` line; a command goes on while its quotes are open."""
    found: list[tuple[str, str]] = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("$ "):
            assert not found, f"output before any command: {line!r}"
            continue
        command = line[2:]
        while _open_quotes(command) and index < len(lines):
            command += lines[index]
            index += 1
        output = ""
        while index < len(lines) and not lines[index].startswith("$ "):
            output += lines[index]
            index += 1
        found.append((command.strip(), output))
    return found


def _open_quotes(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return True
    return False


def _shell(command: str, variables: dict[str, str]) -> tuple[int, str]:
    """Run one shown command line: ``procflow`` commands in this process; ``NAME=$(procflow ... | head -1)``,
    ``&&``, ``> FILE`` and ``$NAME`` as a shell reads them. Anything else is a mistake in the page."""
    assignment = re.fullmatch(r"(\w+)=\$\((.*) \| head -1\)", command)
    if assignment is not None:
        status, output = _shell(assignment.group(2), variables)
        variables[assignment.group(1)] = output.splitlines()[0] if output else ""
        return status, ""
    status, output = 0, ""
    for part in command.split(" && "):
        words = [_expand(w, variables) for w in shlex.split(part, comments=True)]
        target = None
        if len(words) > 2 and words[-2] == ">":
            words, target = words[:-2], words[-1]
        assert words[0] == "procflow", f"only procflow commands run here: {part!r}"
        out = io.StringIO()
        err = io.StringIO() if target is not None else out  # on a terminal both streams interleave
        status = cli_run(words[1:], out, err)
        if target is not None:
            Path(target).write_text(out.getvalue(), encoding="utf-8")
            output += err.getvalue()
        else:
            output += out.getvalue()
        if status != 0:
            break
    return status, output


def _expand(word: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], word)


def check_synopsis(block: Block, folder: Path) -> None:
    unknown: list[str] = []
    command: list[str] = []
    for line in block.text.splitlines():
        words = line.split()
        if words[:1] == ["procflow"]:
            command = [w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)][:2]
        helped = _help(command)
        outside_quotes = re.sub(r"`[^`]*`", "", line)  # another command's options, quoted in a description
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", outside_quotes):
            if option not in helped:
                unknown.append(f"procflow {' '.join(command)}: {option}")
    assert unknown == []


def _help(command: list[str]) -> str:
    for length in (len(command), 1):
        out = io.StringIO()  # argparse prints help to sys.stdout, then exits
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            cli_run([*command[:length], "--help"], out, io.StringIO())
        if out.getvalue().startswith("usage:"):
            return out.getvalue()
    raise AssertionError(f"procflow {' '.join(command)} --help gives no help")


CHECKS: dict[tuple[str, str], Callable[[Block, Path], None]] = {
    ("yaml", ""): check_definition,
    ("yaml", "invalid"): check_invalid,
    ("yaml", "fragment"): check_fragment,
    ("yaml", "from"): check_excerpt,
    ("yaml", "addresses"): check_addresses,
    ("yaml", "plan"): check_plan,
    ("python", ""): check_python,
    ("python", "given"): check_python,
    ("console", ""): check_console,
    ("console", "given"): check_console,
    ("text", "synopsis"): check_synopsis,
}


# --- what a console block may start from -------------------------------------------------------------


def three_slips(folder: Path) -> None:
    """processes/exchange.yaml with a misspelt trigger in a clock, a misspelt role and a misspelt field."""
    path = folder / "processes" / "exchange.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in [
        ("stops: {on: [approve, reject, request_info]}", "stops: {on: [aprove, reject, request_info]}"),
        ("    role: cs_agent\n    source: 2.", "    role: cs_agnet\n    source: 2."),
        ("or days_between(data.purchase_date, data.applied_on)", "or days_between(data.purchse_date, data.applied_on)"),
    ]:
        assert old in text, f"processes/exchange.yaml no longer holds {old!r}"
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


def complaint_edited_in_git(folder: Path) -> None:
    """A git repository whose HEAD holds the shipped complaint.yaml, edited since: a step renamed, its
    limit shortened, a form field made required."""
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "processes/complaint.yaml"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "shipped"], cwd=folder, check=True)
    path = folder / "processes" / "complaint.yaml"
    text = path.read_text(encoding="utf-8")
    required = "          required: [progress]\n\n  onsite_service:"
    assert required in text, "processes/complaint.yaml's progress report has changed"
    text = text.replace(required, "          required: [progress, expected_by]\n\n  onsite_service:")
    text = text.replace("onsite_service", "site_visit")
    text = text.replace("    time_limit: 48h", "    time_limit: 24h", 1)
    path.write_text(text, encoding="utf-8")


def claim_revisions(folder: Path) -> None:
    """tests/fixtures/migrate's two revisions of `claim`, and docs/changes.md's plan as plan.yaml."""
    for name in ("claim_v1.yaml", "claim_v2.yaml"):
        shutil.copy(ROOT / "tests" / "fixtures" / "migrate" / name, folder / name)
    (plan,) = [b for b in BLOCKS if b.page.name == "changes.md" and (b.lang, b.mode) == ("yaml", "plan")]
    (folder / "plan.yaml").write_text(plan.text, encoding="utf-8")


def return_repair_history(folder: Path) -> None:
    """rr.json: the history of the shipped return-repair scenario, as `procflow run --history` writes it."""
    scenario = ["run", "processes/return_repair.yaml", "--events", "processes/scenarios/return_repair.yaml"]
    assert cli_run([*scenario, "--history", "rr.json"], io.StringIO(), io.StringIO()) == 0


def withdrawable(folder: Path) -> None:
    """withdrawable.yaml: tests/fixtures/corrections' small procedure with a clerk's review step."""
    shutil.copy(ROOT / "tests" / "fixtures" / "corrections" / "withdrawable.yaml", folder / "withdrawable.yaml")


GIVEN: dict[str, Callable[[Path], None]] = {
    "withdrawable": withdrawable,
    "return-repair-history": return_repair_history,
    "three-slips": three_slips,
    "complaint-edited-in-git": complaint_edited_in_git,
    "claim-revisions": claim_revisions,
}


# --- the pages as a whole ----------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_leads_somewhere() -> None:
    broken: list[str] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in LINK.findall(_without_code(text)):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def _without_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#+ (.*)$", _without_code(page.read_text(encoding="utf-8")), flags=re.M)
    return {docs_reference._anchor(h.strip()) for h in headings}


def test_the_readme_stays_short() -> None:
    assert len((ROOT / "README.md").read_bytes()) < 10_240


def test_the_module_map_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    engine = ROOT / "engine"
    modules = [p for p in engine.iterdir() if (p.suffix == ".py" and not p.name.startswith("__")) or _package(p)]
    inner = [p for package in engine.iterdir() if _package(package) for p in package.glob("*.py")]
    missing = [p.name for p in modules if f"`{p.name}{'/' if p.is_dir() else ''}`" not in text]
    missing += [
        p.relative_to(engine).as_posix() for p in inner if not p.name.startswith("__") and f"`{p.name}`" not in text
    ]
    assert missing == [], "name each module in ARCHITECTURE.md's table, with its one job"
    # The map's rows come in the layer order tests/test_architecture.py holds the imports to.
    from test_architecture import LAYERS

    mapped = text.split("## The module map", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)(?:\.py|/)` \|", mapped, flags=re.M)
    assert rows == LAYERS


def _package(path: Path) -> bool:
    return path.is_dir() and (path / "__init__.py").is_file()


def test_the_reference_is_generated_from_the_schemas() -> None:
    assert (ROOT / "docs" / "reference.md").read_text(encoding="utf-8") == docs_reference.generate(), (
        "run python tools/docs_reference.py"
    )


def test_every_error_code_the_engine_gives_is_catalogued() -> None:
    assert error_codes.differences() == []
    assert (ROOT / "docs" / "errors.md").read_text(encoding="utf-8") == error_codes.generate(), (
        "run python tools/error_codes.py"
    )


def test_the_catalogue_finds_codes_where_the_engine_gives_them() -> None:
    # The scan is the catalogue's completeness: it must see codes given in each way the engine gives them.
    found = error_codes.emitted()
    assert {"yaml-syntax", "unknown-key", "not-a-choice", "unresolvable-ref", "no-source", "wrong-revision"} <= set(
        found["definition"]
    )
    assert found["definition"]["no-source"].severities == {"warning"}
    assert {"permission", "parts-open", "claim"} <= set(found["refusal"])
    assert {"version-mismatch", "invalid-payload", "csrf"} <= set(found["http"])

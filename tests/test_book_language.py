"""The audit book's pages show the language's control across steps as an auditor needs it: every clock
(its promise, when it starts, stops and pauses, its warning, limit and ceiling and what each does),
every loop limit (how often, and what the attempt after the last does) and every step that starts
another procedure (which one, as whom, the data it passes, the ends it waits for, the result it
takes), each with its Chinese and English labels side by side and escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROCESSES, ROOT, SHIPPED, mutate
from test_book import HOSTILE, needs_dot, tables  # noqa: F401  (needs_dot is a fixture)

from engine.model import CLOCK_THRESHOLDS, Process
from engine.processes import load_definitions, load_process, load_process_text
from engine.render.book import write_book
from engine.render.book_pages import diagram_files, procedure_page

LOOPS = ROOT / "tests" / "fixtures" / "loops"
SUBPROCESS = ROOT / "tests" / "fixtures" / "subprocess"
WITH_CONTROLS = [*SHIPPED, *sorted(LOOPS.glob("*.yaml")), *sorted(SUBPROCESS.glob("*.yaml"))]
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"


def page(process: Process, lang: str = "both", book: dict[str, Process] | None = None) -> str:
    return procedure_page(process, "<svg></svg>", diagram_files(process), lang, book)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", WITH_CONTROLS, ids=lambda p: p.stem)
def test_every_clock_has_a_row_with_its_promise_moments_and_points(path: Path) -> None:
    process = load_process(path)
    rows = tables(page(process)).rows.get("clocks", [])
    assert [row[0] for row in rows] == list(process.clocks)
    for row, clock in zip(rows, process.clocks.values(), strict=True):
        _, zh, en, source, starts, stops, pauses, *points, again = row
        assert (zh, en) == (clock.label.zh, clock.label.en)
        if clock.source is not None:
            assert clock.source.section in source
        for moment in (*clock.starts.enter, *clock.starts.leave, *clock.starts.on):
            assert moment in starts
        for moment in (*clock.stops.enter, *clock.stops.leave, *clock.stops.on):
            assert moment in stops
        assert all(state in pauses for state in clock.pauses)
        for name, cell in zip(CLOCK_THRESHOLDS, points, strict=True):
            written = clock.thresholds.get(name)
            if written is None:
                assert cell == "—"
                continue
            duration, action = written
            assert duration is not None and cell.startswith(duration.text)
            assert ("marks the case overdue" in cell) == action.overdue
            assert all(trigger in cell for trigger in action.fire)
            assert all(process.roles[role].label.en in cell for role in action.notify)
        assert again == (
            "从零重新计时 counts from zero" if clock.restart else "接续已用时间 carries on from the time used"
        )


def test_the_complaints_24_and_72_hour_promises_are_on_its_page() -> None:
    read = tables(page(load_process(PROCESSES / "complaint.yaml")))
    by_id = {row[0]: row for row in read.rows["clocks"]}
    first, solved = by_id["first_response"], by_id["resolve_or_progress"]
    assert first[1] == "24小时内初步响应" and first[8].startswith("24h") and "escalate" in first[8]
    assert solved[1] == "72小时内解决问题或反馈最新进展" and solved[8].startswith("72h")
    assert "report_progress 或 or escalate" in solved[8], "the first trigger the state has is fired"
    assert "follow_up" in solved[5] and "progress_reported" in solved[5]
    assert by_id["follow_up"][10] == "从零重新计时 counts from zero"


def test_the_rework_clocks_limit_and_ceiling_are_both_shown() -> None:
    row = tables(page(load_process(PROCESSES / "qc_signoff.yaml"))).rows["clocks"][0]
    assert row[0] == "rework" and row[7] == "—"
    assert row[8].startswith("3d") and row[9].startswith("7d")
    assert "fires overdue" in row[9]


def test_what_clocks_notify_is_in_the_notifications_table() -> None:
    process = load_process(PROCESSES / "return_repair.yaml")
    rows = tables(page(process)).rows["notifications"]
    told = [row for row in rows if row[0].startswith("时钟 clock")]
    assert [row[0].split()[2] for row in told] == ["rework", "rework", "follow_up"]
    assert told[0][2:] == [process.clocks["rework"].label.zh, process.clocks["rework"].label.en]
    assert "3d" in told[0][0] and "7d" in told[1][0]


@pytest.mark.parametrize("path", WITH_CONTROLS, ids=lambda p: p.stem)
def test_every_loop_limit_has_a_row_with_its_times_and_what_follows(path: Path) -> None:
    process = load_process(path)
    rows = tables(page(process, "en")).rows.get("limits", [])
    declared = [(s.id, s.limit) for s in process.states.values() if s.limit is not None]
    declared += [(t.trigger, t.limit) for t in process.transitions if t.limit is not None]
    assert len(rows) == len(declared)
    for row, (name, limit) in zip(rows, declared, strict=True):
        assert name in row[1]
        assert row[3] == ("once" if limit.times == 1 else f"{limit.times} times")
        assert row[4].startswith(f"led to {limit.then}" if limit.then else "refused (limit-reached)")


def test_a_transitions_limit_and_a_steps_limit_are_told_apart() -> None:
    rework = tables(page(load_process(LOOPS / "rework.yaml"))).rows["limits"]
    assert rework[0] == ["转移 transition taken", "qc → repair (failed)", "不合格", "Failed", "2 次 2 times", ANY_TEXT]
    assert rework[0][5] == "转至 led to escalate 升级 / Escalate"
    assert rework[1][4:] == ["1 次 once", "拒绝 refused (limit-reached)"]
    visits = tables(page(load_process(LOOPS / "visits.yaml"))).rows["limits"]
    assert visits == [["进入步骤 step entered", "visit", "上门", "Visit", "2 次 2 times", ANY_TEXT]]
    assert visits[0][5].startswith("转至 led to manager_review")


class _Any:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)


ANY_TEXT = _Any()


def test_shipped_pages_say_when_there_is_no_limit_or_sub_procedure() -> None:
    text = page(load_process(PROCESSES / "exchange.yaml"), "en")
    assert "None: no step or transition is limited in how often it happens." in text
    assert "None: no step starts another procedure." in text


def test_a_step_that_starts_another_procedure_shows_what_it_passes_waits_for_and_takes() -> None:
    intake, workshop = load_process(SUBPROCESS / "intake.yaml"), load_process(SUBPROCESS / "workshop_repair.yaml")
    text = page(intake, book={"intake": intake, "workshop_repair": workshop})
    (row,) = tables(text).rows["sub-procedures"]
    step, zh, en, procedure, role, data, ends, result = row
    assert (step, zh, en) == ("in_workshop", "车间维修", "In the workshop")
    assert procedure == "workshop_repair 车间维修 / Workshop repair"
    assert '<a href="workshop_repair.html"><code>workshop_repair</code></a>' in text
    assert role == "维修工程师 / Repair engineer"
    assert data == "fault ← data.fault"
    assert ends.replace("( ", "(") == (
        "repaired (已修复 / Repaired) → workshop_done → return_goods "
        "scrapped (报废 / Scrapped) → workshop_failed → closed"
    )
    assert result == "cost ← cost"


def test_a_child_procedure_outside_the_book_is_named_and_said_to_be_missing() -> None:
    intake = load_process(SUBPROCESS / "intake.yaml")
    (row,) = tables(page(intake, "en")).rows["sub-procedures"]
    assert row[2] == "workshop_repair not in this book" and row[3] == "engineer"
    assert "workshop_repair.html" not in page(intake, "en")


@pytest.mark.usefixtures("needs_dot")
def test_the_book_links_a_step_to_the_page_of_the_procedure_it_starts(tmp_path: Path) -> None:
    report = write_book(load_definitions(SUBPROCESS), tmp_path / "book")
    intake = (tmp_path / "book" / "procedures" / "intake.html").read_text(encoding="utf-8")
    assert '<a href="workshop_repair.html">' in intake
    assert (tmp_path / "book" / "procedures" / "workshop_repair.html") in report.pages


def test_hostile_text_in_clocks_limits_and_sub_procedures_is_shown_as_text() -> None:
    complaint = mutate(
        (PROCESSES / "complaint.yaml").read_text(encoding="utf-8"),
        ("    zh: 24小时内初步响应\n", f"    zh: '{HOSTILE}'\n"),
    )
    loops = mutate((LOOPS / "rework.yaml").read_text(encoding="utf-8"), ("zh: 不合格\n", f"zh: '{HOSTILE}'\n"))
    intake = mutate(
        (SUBPROCESS / "intake.yaml").read_text(encoding="utf-8"), ("    zh: 车间维修\n", f"    zh: '{HOSTILE}'\n")
    )
    for text, file, section, cell in [
        (complaint, PROCESSES / "complaint.yaml", "clocks", 1),
        (loops, LOOPS / "rework.yaml", "limits", 2),
        (intake, SUBPROCESS / "intake.yaml", "sub-procedures", 1),
    ]:
        shown = page(load_process_text(text, str(file)))
        assert "<script" not in shown and "<img" not in shown
        assert ESCAPED in shown
        assert tables(shown).rows[section][0][cell] == HOSTILE
    clock_told = tables(page(load_process_text(complaint, str(PROCESSES / "complaint.yaml")))).rows["notifications"]
    assert [row[2] for row in clock_told if "first_response" in row[0]] == [HOSTILE]


def test_the_steps_table_marks_a_step_that_starts_a_procedure_or_is_limited() -> None:
    intake = tables(page(load_process(SUBPROCESS / "intake.yaml"), "en")).rows["steps"]
    assert [row[1] for row in intake] == ["start", "task starts workshop_repair", "task", "end"]
    visits = tables(page(load_process(LOOPS / "visits.yaml"), "en")).rows["steps"]
    assert {row[0]: row[1] for row in visits}["visit"] == "task At most 2×"

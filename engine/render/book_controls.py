"""The audit book's sections on control that spans steps: clocks (promises across steps), loop limits
(how often a step may be entered or a transition taken) and steps that start another procedure.

Each is a table in the style of the page's other sections: the definition's labels in Chinese and
English side by side, identifiers in code type linked to their step, every value escaped. A section
with nothing to list says so in a sentence, so an auditor can tell "none" from "not shown".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from engine.model import (
    CLOCK_THRESHOLDS,
    Clock,
    ClockAction,
    ClockPoint,
    DataLimit,
    Duration,
    Limit,
    Notification,
    Process,
    State,
    Text,
)
from engine.render import Lang
from engine.render.book_html import (
    cells,
    esc,
    heads,
    html_list,
    ident,
    label,
    none,
    party,
    per_language_heads,
    source_cell,
    table_section,
    texts,
)

THRESHOLD_NAMES = {
    "warning": Text("预警", "warning"),
    "limit": Text("时限(违约)", "limit (breach)"),
    "ceiling": Text("最长上限", "ceiling"),
}
"""How the book names each point of a clock, in ``CLOCK_THRESHOLDS`` order."""


# --- clocks ----------------------------------------------------------------------------------------


def clocks_section(process: Process, lang: Lang) -> str:
    """Every clock: its promise, source, when it starts, stops and pauses, each point and what it does."""
    title = label(_CLOCKS, lang)
    if not process.clocks:
        return _nothing("clocks", title, _NO_CLOCKS, lang)
    head = (
        heads(lang, _ID)
        + per_language_heads(_PROMISE, lang)
        + heads(lang, _SOURCE, _STARTS, _STOPS, _PAUSES, *THRESHOLD_NAMES.values(), _AGAIN)
    )
    rows = [_clock_row(process, clock, lang) for clock in process.clocks.values()]
    return table_section("clocks", title, head, rows)


def _clock_row(process: Process, clock: Clock, lang: Lang) -> str:
    pauses = " ".join(_step(s) for s in clock.pauses) or none()
    points = "".join(f"<td>{_threshold(process, clock, name, lang)}</td>" for name in CLOCK_THRESHOLDS)
    again = label(_FROM_ZERO if clock.restart else _CARRIES_ON, lang)
    stops = _point(clock.stops, lang) + f'<span class="sub">{label(_OR_AN_END, lang)}</span>'
    return (
        f'<tr id="clock-{esc(clock.id)}"><td>{ident(clock.id)}</td>{cells(clock.label, lang)}'
        f"<td>{source_cell(process, clock.source, lang)}</td><td>{_point(clock.starts, lang)}</td>"
        f"<td>{stops}</td><td>{pauses}</td>{points}<td>{again}</td></tr>"
    )


def _point(point: ClockPoint, lang: Lang) -> str:
    """The moments of a clock point: entering or leaving steps, firing triggers."""
    items = []
    if point.enter:
        items.append(f"{label(_ENTERING, lang)} " + " ".join(_step(s) for s in point.enter))
    if point.leave:
        items.append(f"{label(_LEAVING, lang)} " + " ".join(_step(s) for s in point.leave))
    if point.on:
        items.append(f"{label(_FIRING, lang)} " + " ".join(ident(t) for t in point.on))
    return html_list(items) if items else none()


def _threshold(process: Process, clock: Clock, name: str, lang: Lang) -> str:
    """A point's running time as written, and what reaching it does."""
    written = clock.thresholds.get(name)
    if written is None:
        return none()
    duration, action = written
    return _duration(duration, lang) + "".join(
        f'<span class="sub">{line}</span>' for line in _action(process, action, lang)
    )


def _duration(duration: Duration | DataLimit | None, lang: Lang) -> str:
    if duration is None:
        return "?"
    if isinstance(duration, DataLimit):  # worked out when the clock starts, on the data then
        return f'<strong>{esc(duration.text)}</strong> <span class="sub">{label(_FROM_DATA, lang)}</span>'
    return f"<strong>{esc(duration.text)}</strong>"


_FROM_DATA = Text("由数据算出,于计时开始时", "from the data, when the clock starts")


def _action(process: Process, action: ClockAction, lang: Lang) -> list[str]:
    lines = []
    if action.overdue:
        lines.append(label(_MARKS_OVERDUE, lang))
    if action.fire:
        lines.append(f"{label(_FIRES, lang)} " + f" {label(_OR, lang)} ".join(ident(t) for t in action.fire))
    if action.notify:
        lines.append(f"{label(_NOTIFIES, lang)} " + "、".join(party(process, role, lang) for role in action.notify))
    return lines or [label(_RECORDED_ONLY, lang)]


def clock_notifications(process: Process, lang: Lang) -> Iterator[tuple[str, Notification]]:
    """The notifications clocks make due, as ``(when, notification)``: the text is the clock's promise."""
    for clock in process.clocks.values():
        for name in CLOCK_THRESHOLDS:
            written = clock.thresholds.get(name)
            if written is None or not written[1].notify:
                continue
            duration, action = written
            when = (
                f'{label(_CLOCK, lang)} <a href="#clock-{esc(clock.id)}">{ident(clock.id)}</a> '
                f"{label(THRESHOLD_NAMES[name], lang)} {_duration(duration, lang)}"
            )
            yield when, Notification(action.notify, clock.label, action.path)


# --- loop limits -----------------------------------------------------------------------------------


def limits_section(process: Process, lang: Lang) -> str:
    """Every limit on a step (how often it may be entered) and on a transition (how often it may be
    taken), with what the attempt after the last does: refused, or led to another step."""
    rows = []
    for state in process.states.values():
        if state.limit is not None:
            rows.append(
                _limit_row(process, label(_STEP_ENTERED, lang), _step(state.id), state.label, state.limit, lang)
            )
    for transition in process.transitions:
        if transition.limit is not None:
            where = " ".join(_step(s) for s in transition.sources)
            where += f" → {_step(transition.dest)} ({ident(transition.trigger)})"
            kind = label(_TRANSITION_TAKEN, lang)
            rows.append(_limit_row(process, kind, where, transition.label, transition.limit, lang))
    title = label(_LIMITS, lang)
    if not rows:
        return _nothing("limits", title, _NO_LIMITS, lang)
    head = heads(lang, _WHAT, _WHERE) + per_language_heads(_NAME, lang) + heads(lang, _AT_MOST, _AT_THE_LIMIT)
    return table_section("limits", title, head, rows)


def _limit_row(process: Process, kind: str, where: str, named: Text, limit: Limit, lang: Lang) -> str:
    if limit.times_from is not None:  # worked out each time the limit is checked
        times = f"<code>{esc(limit.times_from)}</code> " + label(Text("次(由数据算出)", "times (from the data)"), lang)
    else:
        times = label(Text(f"{limit.times} 次", "once" if limit.times == 1 else f"{limit.times} times"), lang)
    if limit.then is None:
        then = f"{label(_REFUSED, lang)} (<code>limit-reached</code>)"
    else:
        target = process.states.get(limit.then)
        then = f"{label(_LED_TO, lang)} {_step(limit.then)}"
        if target is not None:
            then += f'<span class="sub">{texts(target.label, lang, sep=" / ")}</span>'
    return f'<tr class="limit"><td>{kind}</td><td>{where}</td>{cells(named, lang)}<td>{times}</td><td>{then}</td></tr>'


# --- sub-procedures --------------------------------------------------------------------------------


def sub_procedures_section(process: Process, lang: Lang, book: Mapping[str, Process]) -> str:
    """Every step that starts another procedure: which one, as whom, the data it passes, the ends it
    waits for and the trigger each fires here, and the result it takes back. ``book`` holds the other
    procedures of the book, by id, to link the child's page and name its roles and ends."""
    rows = []
    for state in process.states.values():
        starts = state.starts
        if starts is None:
            continue
        child = book.get(starts.process)
        procedure = ident(starts.process)
        if child is not None:
            procedure = (
                f'<a href="{esc(child.id)}.html">{procedure}</a>'
                f'<span class="sub">{texts(child.title, lang, sep=" / ")}</span>'
            )
        else:
            procedure += f'<span class="sub">{label(_NOT_IN_BOOK, lang)}</span>'
        if starts.role is None:
            role = label(_ITS_START_ROLE, lang)
        else:
            role = party(child, starts.role, lang) if child is not None else ident(starts.role)
        data = html_list(f"{ident(name)} ← {ident(expr)}" for name, expr in starts.data) if starts.data else none()
        ends = html_list(_end(process, state.id, child, final, trigger, lang) for final, trigger in starts.on_end)
        returns = (
            html_list(f"{ident(name)} ← {ident(field)}" for name, field in starts.returns) if starts.returns else none()
        )
        rows.append(
            f'<tr id="starts-{esc(state.id)}"><td>{_step(state.id)}</td>{cells(state.label, lang)}'
            f"<td>{procedure}</td><td>{role}</td><td>{data}</td><td>{ends}</td><td>{returns}</td></tr>"
        )
    title = label(_SUB_PROCEDURES, lang)
    if not rows:
        return _nothing("sub-procedures", title, _NO_SUB_PROCEDURES, lang)
    head = (
        heads(lang, _STEP)
        + per_language_heads(_NAME, lang)
        + heads(lang, _STARTS_PROCEDURE, _STARTED_AS, _DATA_PASSED, _WAITS_FOR, _RESULT_TAKEN)
    )
    return table_section("sub-procedures", title, head, rows)


def _end(process: Process, step: str, child: Process | None, final: str, trigger: str, lang: Lang) -> str:
    """``child's end → this step's trigger → where it leads``, with the end's label when the child is known."""
    line = ident(final)
    final_state = child.states.get(final) if child is not None else None
    if final_state is not None:
        line += f" ({texts(final_state.label, lang, sep=' / ')})"
    line += f" → {ident(trigger)}"
    dest = next((t.dest for t in process.states[step].transitions if t.trigger == trigger), None)
    if dest is not None:
        line += f" → {_step(dest)}"
    return line


# --- marks in the steps table ----------------------------------------------------------------------


def step_marks(state: State, lang: Lang) -> str:
    """Under a step's kind: that it starts another procedure, or is limited in how often it is entered,
    each linked to its row below."""
    marks = ""
    if state.starts is not None:
        marks += (
            f'<span class="sub"><a href="#starts-{esc(state.id)}">{label(_STARTS_MARK, lang)}</a> '
            f"{ident(state.starts.process)}</span>"
        )
    if state.limit is not None:
        marks += f'<span class="sub"><a href="#limits">{label(_AT_MOST, lang)}</a> {esc(state.limit.text)}×</span>'
    return marks


# --- small pieces ----------------------------------------------------------------------------------


def _step(state_id: str) -> str:
    return f'<a href="#step-{esc(state_id)}">{ident(state_id)}</a>'


def _nothing(anchor: str, title: str, sentence: Text, lang: Lang) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>\n<p>{label(sentence, lang)}</p></section>'


_CLOCKS = Text("跨步骤时限(时钟)", "Promises across steps (clocks)")
_NO_CLOCKS = Text("无跨步骤时限。", "None: no promise spans several steps.")
_ID = Text("编号", "Id")
_PROMISE = Text("承诺", "Promise")
_SOURCE = Text("来源章节", "Source section")
_STARTS = Text("开始计时", "Starts")
_STOPS = Text("停止计时", "Stops")
_PAUSES = Text("暂停(不计时)", "Paused in")
_AGAIN = Text("停止后再次开始", "Started again")
_FROM_ZERO = Text("从零重新计时", "counts from zero")
_CARRIES_ON = Text("接续已用时间", "carries on from the time used")
_OR_AN_END = Text("或到达任一结束步骤", "or on reaching any end")
_ENTERING = Text("进入", "entering")
_LEAVING = Text("离开", "leaving")
_FIRING = Text("触发", "firing")
_MARKS_OVERDUE = Text("标记超期", "marks the case overdue")
_FIRES = Text("触发", "fires")
_OR = Text("或", "or")
_NOTIFIES = Text("通知", "notifies")
_RECORDED_ONLY = Text("仅记入历史", "recorded in the history only")
_CLOCK = Text("时钟", "clock")
_LIMITS = Text("循环次数上限", "Loop limits")
_NO_LIMITS = Text("无:任何步骤与转移均不限次数。", "None: no step or transition is limited in how often it happens.")
_WHAT = Text("类别", "What")
_WHERE = Text("位置", "Where")
_NAME = Text("名称", "Label")
_STEP_ENTERED = Text("进入步骤", "step entered")
_TRANSITION_TAKEN = Text("转移", "transition taken")
_AT_MOST = Text("最多", "At most")
_AT_THE_LIMIT = Text("超过上限的那一次", "The attempt after the last")
_REFUSED = Text("拒绝", "refused")
_LED_TO = Text("转至", "led to")
_SUB_PROCEDURES = Text("子流程", "Sub-procedures")
_NO_SUB_PROCEDURES = Text("无:没有步骤启动其他流程。", "None: no step starts another procedure.")
_STEP = Text("步骤", "Step")
_STARTS_PROCEDURE = Text("启动的流程", "Starts the procedure")
_STARTS_MARK = Text("启动子流程", "starts")
_NOT_IN_BOOK = Text("不在本手册中", "not in this book")
_STARTED_AS = Text("以何角色启动", "Started as")
_ITS_START_ROLE = Text("其开始步骤的角色", "the role of its start step")
_DATA_PASSED = Text("传入数据", "Data passed (its field ← expression)")
_WAITS_FOR = Text("等待其结束 → 触发 → 去向", "Waits for its end → fires → leads to")
_RESULT_TAKEN = Text("取回结果", "Result taken (payload ← its field)")

"""The pages' own words, in Chinese and English, and how a page picks its language.

A page is in ``zh``, ``en`` or ``both`` (Chinese with the English beside it, as the charts are):
the visitor's choice (a cookie the language switch sets), else what their browser asks for first.
"""

from __future__ import annotations

from typing import Literal

from engine.model import Text

PageLang = Literal["zh", "en", "both"]
LANGS: tuple[PageLang, ...] = ("zh", "en", "both")
LANG_COOKIE = "procflow_lang"

WORDS: dict[str, tuple[str, str]] = {
    "app": ("售后流程", "After-sales procedures"),
    "inbox": ("待办", "Inbox"),
    "studio": ("流程编辑", "Studio"),
    "book": ("审计手册", "Audit book"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "user": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "bad_sign_in": ("用户名或密码不正确。", "The user name or password is not right."),
    "throttled": ("失败次数过多，请稍后再试。", "Too many failed sign-ins; try again later."),
    "signed_in_as": ("当前用户", "Signed in as"),
    "roles": ("角色", "Roles"),
    "language": ("语言", "Language"),
    "mine": ("我认领的", "Claimed by me"),
    "for_roles": ("我的角色可处理的", "Waiting for my roles"),
    "nothing_waiting": ("没有待办事项。", "Nothing is waiting."),
    "procedure": ("流程", "Procedure"),
    "case": ("案例", "Case"),
    "step": ("步骤", "Step"),
    "due": ("期限", "Due"),
    "clocks": ("时限", "Clocks"),
    "claimed_by": ("认领人", "Claimed by"),
    "actions": ("可执行的操作", "Actions"),
    "any": ("全部", "Any"),
    "overdue_only": ("仅显示逾期", "Overdue only"),
    "overdue": ("已逾期", "overdue"),
    "filter": ("筛选", "Filter"),
    "next_page": ("下一页", "Next page"),
    "open": ("打开", "Open"),
    "claim": ("认领", "Claim"),
    "release": ("释放", "Release"),
    "data": ("案例数据", "Case data"),
    "records": ("记录与表单", "Records and forms"),
    "parts": ("分项工作", "Parts of the step"),
    "history": ("处理记录", "History"),
    "signatures": ("签字", "Signatures"),
    "chart": ("流程图与路径", "Chart and path taken"),
    "when": ("时间", "When"),
    "who": ("人员", "Who"),
    "what": ("操作", "What"),
    "from_to": ("从 → 到", "From → to"),
    "version": ("版本", "Version"),
    "now_at": ("当前步骤", "Now at"),
    "finished": ("已结束", "Finished"),
    "no_actions": ("您现在无可执行的操作。", "There is nothing you may do here now."),
    "held_by_other": ("此步骤已被他人认领：", "This step is claimed by "),
    "submit": ("提交", "Submit"),
    "working_left": ("剩余工作时间", "working time left"),
    "time_left": ("剩余时间", "time left"),
    "not_found": ("找不到该页面。", "There is no such page."),
    "forbidden": ("您的角色不能打开此页面。", "Your roles do not open this page."),
    "forged": (
        "表单已过期或不是从本站提交的，请重新打开页面再提交。",
        "The form has expired or was not sent from this site: open the page again and resend it.",
    ),
    "refused": ("未能执行", "Not done"),
    "back": ("返回", "Back"),
    "zoom_in": ("放大", "Zoom in"),
    "zoom_out": ("缩小", "Zoom out"),
    "status_idle": ("未开始", "not started"),
    "status_running": ("计时中", "running"),
    "status_paused": ("暂停", "paused"),
    "status_warned": ("即将到期", "due soon"),
    "status_breached": ("已超时", "breached"),
    "status_stopped": ("已完成", "stopped"),
    "book_intro": (
        "每个流程的每个已登记修订，直接读自存储；可查找案例并查看热力图。",
        "Every registered revision of every procedure, read live from the store; find cases and see heat maps.",
    ),
    "revision": ("修订", "Revision"),
    "content_hash": ("内容哈希", "Content hash"),
    "registered_at": ("登记时间", "Registered at"),
    "open_cases": ("未结案例", "Open cases"),
    "book_page": ("审计手册页", "Book page"),
    "runs_on": ("运行于", "Runs on"),
    "find_cases": ("查找案例", "Find cases"),
    "heatmap": ("热力图", "Heat map"),
    "case_id": ("案例编号", "Case id"),
    "id_prefix": ("按编号开头查找", "Ids starting with it"),
    "data_field": ("数据字段", "Data field"),
    "field_value": ("字段值", "Value"),
    "value_kind": ("值的类型", "Value is"),
    "kind_text": ("文本", "text"),
    "kind_number": ("数字", "a number"),
    "kind_boolean": ("是否（true/false）", "true or false"),
    "bad_value": ("该值不是所选类型：", "The value does not read as"),
    "started_from": ("开始于（起）", "Started from"),
    "started_to": ("开始于（止）", "Started until"),
    "overdue_at": ("在此时已逾期", "Overdue at"),
    "overdue_now": ("现在已逾期", "Overdue now"),
    "search": ("查找", "Search"),
    "started": ("开始时间", "Started"),
    "in_step_since": ("进入当前步骤", "In its step since"),
    "no_cases": ("没有符合条件的案例。", "No case matches."),
    "times_utc": ("时间按 UTC 填写（日期指当日 0 点）。", "Times are UTC (a date alone is its midnight)."),
    "bad_time": (
        "时间格式不正确（应为 2026-11-23 或 2026-11-23T09:00）：",
        "Not a time (write 2026-11-23 or 2026-11-23T09:00):",
    ),
    "period": ("期间", "Period"),
    "from": ("自", "From"),
    "to": ("至", "To"),
    "show": ("显示", "Show"),
    "visits": ("进入次数", "Visits"),
    "median_stay": ("停留时间中位数", "Median stay"),
    "stays": ("已结束的停留", "Finished stays"),
    "cases_drawn": ("图中案例数", "Cases drawn"),
    "other_revisions": (
        "开始于期间结束前、运行于其他修订的案例（未绘入）：",
        "Cases started before the period ends that run on other revisions (not drawn):",
    ),
    "no_events": ("此期间内没有该修订的案例有处理记录。", "No case of this revision has events in the period."),
    "too_many": ("案例过多，仅绘入前", "Too many cases: only the first drawn:"),
    "skip": ("跳到正文", "Skip to content"),
    "none": ("无", "none"),
    "status": ("状态", "Status"),
    "edit": ("编辑", "Edit"),
    "new_procedure": ("新建流程", "New procedure"),
    "studio.title": ("流程编辑", "Studio"),
    "studio.definition": ("流程定义（YAML）", "Definition (YAML)"),
    "studio.diff": ("与已发布版本比较", "Compare with the published revision"),
    "studio.publish": ("发布", "Publish"),
    "studio.problems": ("问题", "Problems"),
    "studio.chart": ("流程图", "Chart"),
    "studio.changes": ("变更", "Changes"),
    "studio.valid": ("定义有效", "The definition is valid"),
    "studio.invalid": ("定义有问题", "The definition has problems"),
    "studio.unreachable": ("无法连接服务器", "The server cannot be reached"),
    "studio.against": ("对比版本", "Compared with revision"),
    "studio.same": ("与已发布版本相同", "The same as the published revision"),
    "studio.confirm": ("确认发布为新版本？", "Publish this as a new revision?"),
    "studio.published": ("已发布为版本", "Published as revision"),
    "studio.unchanged": ("内容未变，未新建版本", "Nothing changed; no new revision"),
    "studio.impact": ("对进行中案例的影响", "Impact on open cases"),
    "part_open": ("待完成", "open"),
    "part_done": ("已完成", "done"),
    "start_case": ("新建案例", "Start a case"),
    "start": ("新建", "Start"),
    "assign": ("指派", "Assign"),
    "assign_to": ("指派给（用户名）", "Assign to (user name)"),
    "no_such_user": ("用户不存在：", "There is no such user:"),
}


def word(key: str, lang: PageLang) -> str:
    zh, en = WORDS[key]
    return {"zh": zh, "en": en, "both": f"{zh} {en}"}[lang]


def label(text: Text | tuple[str, str], lang: PageLang) -> str:
    """A definition's label in the page's language; both as ``中文 / English`` when they differ."""
    zh, en = (text.zh, text.en) if isinstance(text, Text) else text
    if lang == "zh":
        return zh or en
    if lang == "en":
        return en or zh
    return zh if zh == en or not en else f"{zh} / {en}" if zh else en


def chosen_lang(cookie: str | None, accept_language: str | None) -> PageLang:
    """The visitor's language: their cookie's, else Chinese when their browser puts Chinese first."""
    for lang in LANGS:
        if cookie == lang:
            return lang
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"

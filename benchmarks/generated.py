"""Generated definitions of any size, for the loading and rendering figures.

A chain of task steps with the shapes real procedures have: two roles, a payload and a `set` on every
fifth step, a decision on its data every tenth, a way back from each step, a shared `cancel` from
every state, and zh/en labels and a cited source everywhere. It loads without errors or warnings.
"""

from __future__ import annotations

HEAD = """\
procflow: 1
id: generated_{count}
version: 1
title: {{zh: 生成的流程 {count}, en: Generated procedure of {count} states}}
owner: service
sources:
  procedure: {{file: generated.txt, title: {{zh: 生成的文件, en: Generated document}}}}
calendar: {{timezone: Asia/Shanghai, working_days: [mon, tue, wed, thu, fri], working_hours: ["09:00-18:00"]}}
departments:
  service: {{zh: 客服部, en: Customer service}}
roles:
  clerk: {{zh: 客服人员, en: Clerk, department: service}}
  engineer: {{zh: 维修工程师, en: Engineer, department: service}}
data:
  type: object
  properties:
    ok: {{type: boolean}}
    amount: {{type: number, minimum: 0}}
states:
"""

TAIL = """\
  done: {type: final, zh: 完成, en: Done, source: "1"}
  cancelled: {type: final, zh: 取消, en: Cancelled, source: "1"}
transitions:
  - {trigger: cancel, zh: 取消, en: Cancel, source: "*", dest: cancelled, roles: [clerk]}
"""


def definition_text(count: int) -> str:
    """A definition of exactly ``count`` states (at least 4)."""
    if count < 4:
        raise ValueError("a generated definition needs at least 4 states")
    steps = count - 2  # the two finals
    lines = [HEAD.format(count=count)]
    for index in range(steps):
        name = _name(index)
        following = _name(index + 1) if index + 1 < steps else "done"
        role = ("clerk", "engineer")[index % 2]
        label = f'zh: 步骤 {index}, en: Step {index}, source: "{index % 12 + 1}"'
        if index % 10 == 9:
            back = _name(index - 2)
            lines.append(
                f"  {name}: {{type: decision, {label}, role: {role},\n"
                f"    branches: [{{when: data.ok, zh: 通过, en: Passed, dest: {following}}}],\n"
                f"    default: {{zh: 返回, en: Back, dest: {back}}}}}\n"
            )
            continue
        kind = "start" if index == 0 else "task"
        moves = [f"{{trigger: next, zh: 下一步, en: Next, dest: {following}"]
        if index % 5 == 4:
            moves[0] += (
                ", payload: {type: object, properties: {ok: {type: boolean}, amount: {type: number, minimum: 0}},"
                " required: [ok, amount]}, set: {ok: payload.ok, amount: payload.amount}"
            )
        moves[0] += "}"
        if index > 0:
            moves.append(f"{{trigger: back, zh: 退回, en: Send back, dest: {_name(index - 1)}}}")
        lines.append(f"  {name}: {{type: {kind}, {label}, role: {role},\n    on: [{', '.join(moves)}]}}\n")
    lines.append(TAIL)
    return "".join(lines)


def _name(index: int) -> str:
    return f"s{index:05d}"

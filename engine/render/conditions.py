"""A condition in words, in Chinese and English, to print beside its expression in the audit book.

``data.in_warranty and payload.quote <= 500`` reads "in warranty and quote on the form is at most
500" / "in_warranty 为是 且 表单中的 quote 不超过 500". The text is parsed with ``ast.parse`` only
(never evaluated; ``engine.expressions`` has already checked and compiled it) and what is read is
said plainly: the ``data.`` of the case's data is left out, ``payload.`` becomes "on the form", the
comparisons are said in words. Anything else (arithmetic, functions, ``a if b else c``) gives
``None``: the book then shows the expression alone rather than words that might mislead.
"""

from __future__ import annotations

import ast

from engine.model import Text

_COMPARISONS: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Eq: ("等于", "is"),
    ast.NotEq: ("不等于", "is not"),
    ast.Lt: ("小于", "is less than"),
    ast.LtE: ("不超过", "is at most"),
    ast.Gt: ("大于", "is more than"),
    ast.GtE: ("不少于", "is at least"),
    ast.In: ("属于", "is one of"),
    ast.NotIn: ("不属于", "is not one of"),
}
_CONSTANTS = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}


class _Unsaid(Exception):
    """The expression uses something this module does not put into words."""


def condition_words(expression: str) -> Text | None:
    """The condition in words, or ``None`` when it is not one this module says (see the docstring)."""
    try:
        tree = ast.parse(" ".join(expression.split()), mode="eval")
        zh, en = _say(tree.body)
    except (SyntaxError, ValueError, RecursionError, _Unsaid):
        return None
    return Text(zh, en)


def _say(node: ast.expr) -> tuple[str, str]:
    if isinstance(node, ast.BoolOp):
        joiner = (" 且 ", " and ") if isinstance(node.op, ast.And) else (" 或 ", " or ")
        parts = [_grouped(value, node.op) for value in node.values]
        return joiner[0].join(p[0] for p in parts), joiner[1].join(p[1] for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        zh, en = _say(node.operand)
        return f"并非({zh})", f"not ({en})"
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return _comparison(node.left, node.ops[0], node.comparators[0])
    if _is_path(node):
        zh, en = _path(node)
        return f"{zh} 为是", en
    raise _Unsaid


def _grouped(node: ast.expr, op: ast.boolop) -> tuple[str, str]:
    zh, en = _say(node)
    if isinstance(node, ast.BoolOp) and type(node.op) is not type(op):
        return f"({zh})", f"({en})"
    return zh, en


def _comparison(left: ast.expr, op: ast.cmpop, right: ast.expr) -> tuple[str, str]:
    if isinstance(op, (ast.In, ast.NotIn)) and _is_path(right) and not _is_path(left):
        zh_list, en_list = _path(right)
        item = _value(_constant(left))
        if isinstance(op, ast.In):
            return f"{zh_list} 包含 {item}", f"{en_list} includes {item}"
        return f"{zh_list} 不包含 {item}", f"{en_list} does not include {item}"
    zh_field, en_field = _term(left)
    if isinstance(op, (ast.Eq, ast.NotEq)) and _is_constant(right):
        value = _constant(right)
        same = isinstance(op, ast.Eq)
        if value is None:
            return (
                (f"{zh_field} 未填写", f"{en_field} is not filled in")
                if same
                else (
                    f"{zh_field} 已填写",
                    f"{en_field} is filled in",
                )
            )
        if isinstance(value, bool):
            yes = value == same
            return (f"{zh_field} 为是", en_field) if yes else (f"{zh_field} 为否", f"not {en_field}")
    zh_op, en_op = _COMPARISONS.get(type(op), ("", ""))
    if not zh_op:
        raise _Unsaid
    if _is_path(right) and isinstance(op, (ast.Eq, ast.NotEq)):
        en_op = "equals" if isinstance(op, ast.Eq) else "does not equal"
    zh_value, en_value = _operand(right, isinstance(op, (ast.In, ast.NotIn)))
    return f"{zh_field} {zh_op} {zh_value}", f"{en_field} {en_op} {en_value}"


def _operand(node: ast.expr, listed: bool) -> tuple[str, str]:
    if _is_path(node) or isinstance(node, ast.Call):
        return _term(node)
    if listed and isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(_constant(item)) for item in node.elts]
        return "、".join(items), ", ".join(items[:-1]) + (" or " if len(items) > 1 else "") + items[-1]
    if listed:
        raise _Unsaid
    shown = _value(_constant(node))
    return shown, shown


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


def _is_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id in _CONSTANTS)


def _constant(node: ast.expr) -> object:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    raise _Unsaid


def _term(node: ast.expr) -> tuple[str, str]:
    """What a comparison compares: a field, or one of the functions said in words."""
    if _is_path(node):
        return _path(node)
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.keywords:
        raise _Unsaid
    name, arguments = node.func.id, [_path(a) if _is_path(a) else _unsaid() for a in node.args]
    if name in ("days_between", "working_days_between") and len(arguments) == 2:
        (zh_a, en_a), (zh_b, en_b) = arguments
        if name == "days_between":
            return f"{zh_a} 至 {zh_b} 的天数", f"the days from {en_a} to {en_b}"
        return f"{zh_a} 至 {zh_b} 的工作日数", f"the working days from {en_a} to {en_b}"
    if name == "len" and len(arguments) == 1:
        return f"{arguments[0][0]} 的项数", f"the number of {arguments[0][1]}"
    raise _Unsaid


def _unsaid() -> tuple[str, str]:
    raise _Unsaid


def _is_path(node: ast.expr) -> bool:
    """``data.a.b`` or ``payload.a``: names only, no indexing."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in ("data", "payload")


def _path(node: ast.expr) -> tuple[str, str]:
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not names or not isinstance(node, ast.Name):
        raise _Unsaid
    field = ".".join(reversed(names))
    if node.id == "payload":
        return f"表单中的 {field}", f"{field.replace('_', ' ')} on the form"
    return field, field.replace("_", " ")

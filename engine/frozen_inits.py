"""The templates of ``__init__`` that ``engine.frozen`` makes ``@frozen`` classes' from, written out so that
they come compiled from Python's bytecode cache rather than being compiled as each module is imported.

Written by ``tools/frozen_inits.py`` from ``engine.frozen.template_source``; do not edit. ``_set``,
``_FACTORY`` and ``_factories`` are what each class's ``__init__`` is given in their place.
"""

from __future__ import annotations

from typing import Any

_set: Any = None
_FACTORY: Any = None
_factories: Any = None


def plain_0(
    self: Any,
) -> None:
    pass


def plain_1(
    self: Any,
    _0: Any,
) -> None:
    _set(self, "_0", _0)


def factories_1(
    self: Any,
    _0: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)


def plain_2(
    self: Any,
    _0: Any,
    _1: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)


def factories_2(
    self: Any,
    _0: Any,
    _1: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)


def plain_3(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)


def factories_3(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)


def plain_4(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)


def factories_4(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)


def plain_5(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)


def factories_5(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)


def plain_6(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)


def factories_6(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)


def plain_7(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)


def factories_7(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)


def plain_8(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)


def factories_8(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)


def plain_9(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)


def factories_9(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)


def plain_10(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)


def factories_10(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)


def plain_11(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)


def factories_11(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)


def plain_12(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)


def factories_12(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)


def plain_13(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)


def factories_13(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)


def plain_14(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)


def factories_14(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)


def plain_15(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)
    _set(self, "_14", _14)


def factories_15(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)
    _set(self, "_14", _factories[14]() if _14 is _FACTORY else _14)


def plain_16(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)
    _set(self, "_14", _14)
    _set(self, "_15", _15)


def factories_16(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)
    _set(self, "_14", _factories[14]() if _14 is _FACTORY else _14)
    _set(self, "_15", _factories[15]() if _15 is _FACTORY else _15)


def plain_17(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)
    _set(self, "_14", _14)
    _set(self, "_15", _15)
    _set(self, "_16", _16)


def factories_17(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)
    _set(self, "_14", _factories[14]() if _14 is _FACTORY else _14)
    _set(self, "_15", _factories[15]() if _15 is _FACTORY else _15)
    _set(self, "_16", _factories[16]() if _16 is _FACTORY else _16)


def plain_18(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
    _17: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)
    _set(self, "_14", _14)
    _set(self, "_15", _15)
    _set(self, "_16", _16)
    _set(self, "_17", _17)


def factories_18(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
    _17: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)
    _set(self, "_14", _factories[14]() if _14 is _FACTORY else _14)
    _set(self, "_15", _factories[15]() if _15 is _FACTORY else _15)
    _set(self, "_16", _factories[16]() if _16 is _FACTORY else _16)
    _set(self, "_17", _factories[17]() if _17 is _FACTORY else _17)


def plain_19(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
    _17: Any,
    _18: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)
    _set(self, "_14", _14)
    _set(self, "_15", _15)
    _set(self, "_16", _16)
    _set(self, "_17", _17)
    _set(self, "_18", _18)


def factories_19(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
    _17: Any,
    _18: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)
    _set(self, "_14", _factories[14]() if _14 is _FACTORY else _14)
    _set(self, "_15", _factories[15]() if _15 is _FACTORY else _15)
    _set(self, "_16", _factories[16]() if _16 is _FACTORY else _16)
    _set(self, "_17", _factories[17]() if _17 is _FACTORY else _17)
    _set(self, "_18", _factories[18]() if _18 is _FACTORY else _18)


def plain_20(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
    _17: Any,
    _18: Any,
    _19: Any,
) -> None:
    _set(self, "_0", _0)
    _set(self, "_1", _1)
    _set(self, "_2", _2)
    _set(self, "_3", _3)
    _set(self, "_4", _4)
    _set(self, "_5", _5)
    _set(self, "_6", _6)
    _set(self, "_7", _7)
    _set(self, "_8", _8)
    _set(self, "_9", _9)
    _set(self, "_10", _10)
    _set(self, "_11", _11)
    _set(self, "_12", _12)
    _set(self, "_13", _13)
    _set(self, "_14", _14)
    _set(self, "_15", _15)
    _set(self, "_16", _16)
    _set(self, "_17", _17)
    _set(self, "_18", _18)
    _set(self, "_19", _19)


def factories_20(
    self: Any,
    _0: Any,
    _1: Any,
    _2: Any,
    _3: Any,
    _4: Any,
    _5: Any,
    _6: Any,
    _7: Any,
    _8: Any,
    _9: Any,
    _10: Any,
    _11: Any,
    _12: Any,
    _13: Any,
    _14: Any,
    _15: Any,
    _16: Any,
    _17: Any,
    _18: Any,
    _19: Any,
) -> None:
    _set(self, "_0", _factories[0]() if _0 is _FACTORY else _0)
    _set(self, "_1", _factories[1]() if _1 is _FACTORY else _1)
    _set(self, "_2", _factories[2]() if _2 is _FACTORY else _2)
    _set(self, "_3", _factories[3]() if _3 is _FACTORY else _3)
    _set(self, "_4", _factories[4]() if _4 is _FACTORY else _4)
    _set(self, "_5", _factories[5]() if _5 is _FACTORY else _5)
    _set(self, "_6", _factories[6]() if _6 is _FACTORY else _6)
    _set(self, "_7", _factories[7]() if _7 is _FACTORY else _7)
    _set(self, "_8", _factories[8]() if _8 is _FACTORY else _8)
    _set(self, "_9", _factories[9]() if _9 is _FACTORY else _9)
    _set(self, "_10", _factories[10]() if _10 is _FACTORY else _10)
    _set(self, "_11", _factories[11]() if _11 is _FACTORY else _11)
    _set(self, "_12", _factories[12]() if _12 is _FACTORY else _12)
    _set(self, "_13", _factories[13]() if _13 is _FACTORY else _13)
    _set(self, "_14", _factories[14]() if _14 is _FACTORY else _14)
    _set(self, "_15", _factories[15]() if _15 is _FACTORY else _15)
    _set(self, "_16", _factories[16]() if _16 is _FACTORY else _16)
    _set(self, "_17", _factories[17]() if _17 is _FACTORY else _17)
    _set(self, "_18", _factories[18]() if _18 is _FACTORY else _18)
    _set(self, "_19", _factories[19]() if _19 is _FACTORY else _19)

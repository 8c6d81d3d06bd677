"""Time limits as written in definitions (``24h``, ``3 working days``, ``P1DT12H``) → ``Duration``."""

from __future__ import annotations

import re

from engine.model import Duration, TimeUnit

_UNITS: dict[str, TimeUnit] = {
    "m": "minute",
    "min": "minute",
    "minute": "minute",
    "minutes": "minute",
    "h": "hour",
    "hour": "hour",
    "hours": "hour",
    "d": "day",
    "day": "day",
    "days": "day",
    "w": "week",
    "week": "week",
    "weeks": "week",
}
_SHORT = re.compile(r"^([1-9][0-9]*)\s*(m|min|h|d|w)$")
_LONG = re.compile(r"^([1-9][0-9]*)\s+(minutes?|hours?|days?|weeks?)$")
_WORKING = re.compile(r"^([1-9][0-9]*)\s+working\s+(days?|hours?)$")
_ISO = re.compile(r"^P(?=[0-9T])(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?=[0-9])(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$")
_SECONDS = {"W": 604800, "D": 86400, "H": 3600, "M": 60, "S": 1}


def parse_duration(text: str) -> Duration | None:
    """The duration ``text`` names, or ``None`` when it is not one (the schema's pattern says why)."""
    stripped = text.strip()
    for pattern, working in ((_SHORT, False), (_LONG, False), (_WORKING, True)):
        match = pattern.match(stripped)
        if match:
            return Duration(text, int(match.group(1)), _UNITS[match.group(2)], working)
    match = _ISO.match(stripped)
    if not match:
        return None
    parts = [(int(v), unit) for v, unit in zip(match.groups(), "WDHMS", strict=True) if v is not None]
    if len(parts) == 1:
        amount, letter = parts[0]
        unit: TimeUnit = {"W": "week", "D": "day", "H": "hour", "M": "minute", "S": "second"}[letter]  # type: ignore[assignment]
        return Duration(text, amount, unit) if amount > 0 else None
    seconds = sum(amount * _SECONDS[letter] for amount, letter in parts)
    return Duration(text, seconds, "second") if seconds > 0 else None

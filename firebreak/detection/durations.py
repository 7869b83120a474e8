"""Durations written as "90s", "15m", "2h", "1d" (the playbook language's spelling).

Kept here until `firebreak.expressions.parse_duration` lands; then this defers to it.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$"


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """A timedelta from "15m"-style text; bare numbers are seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _PATTERN.match(str(value))
    if not match:
        raise ValueError(
            f"not a duration: {value!r} (a number and a unit: ms, s, m, h, d or w, e.g. '15m')"
        )
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[unit])


def format_duration(value: timedelta) -> str:
    """The shortest "15m"-style spelling of `value` (whole seconds)."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = int(_UNITS[unit])
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

"""Durations and the clock, one way for every command: `--ttl` and `--older-than` parse with
`parse`, and every age, time left or time since is shown by `human`."""

from __future__ import annotations

import datetime as dt
import re

from awslab.errors import UsageError

MAX_SECONDS = 366 * 86400  # longer is a typo, and past what datetime arithmetic may hold
HINT = "give a number and a unit: 90s, 30m, 2h, 1d (or 1h30m)"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)\s*([smhd])\s*)+")
_PART = re.compile(r"(\d+)\s*([smhd])")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse(text: str, option: str, *, max_seconds: int = MAX_SECONDS, hint: str = HINT) -> int:
    """'90s', '30m', '4h', '1d', or several at once ('1h30m') -> seconds; a one-line UsageError
    naming `option` for anything else, for zero, or for more than `max_seconds`."""
    cleaned = text.strip().lower()
    if not _DURATION.fullmatch(cleaned):
        raise UsageError(f"{option} {text!r} is not a duration", hint=hint)
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned))
    if not 0 < seconds <= max_seconds:
        raise UsageError(f"{option} {text!r} must be more than 0 and at most {human(max_seconds)}", hint=hint)
    return seconds


def human(seconds: float) -> str:
    """'45s', '10m', '59m 59s', '2h 5m', '3d 4h': the largest unit and the next one (when not
    zero), rounded down."""
    left = max(0, int(seconds))
    units = list(_UNITS.items())
    for i, (unit, size) in enumerate(units):
        if left >= size or unit == "s":
            shown = f"{left // size}{unit}"
            if i + 1 < len(units):
                next_unit, next_size = units[i + 1]
                rest = left % size // next_size
                shown += f" {rest}{next_unit}" if rest else ""
            return shown
    raise AssertionError("unreachable: seconds is the last unit")

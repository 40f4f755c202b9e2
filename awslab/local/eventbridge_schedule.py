"""Schedule expressions of EventBridge rules and EventBridge Scheduler: parsing, and when they fire.

Pure Python (no boto3, no moto): spec validation uses `parse` and the local cloud's ticker asks each
parsed expression for its next time. The syntax is AWS's (EventBridge User Guide, "Schedule
expressions for rules"; EventBridge Scheduler User Guide, "Schedule types"):

- `rate(value unit)`: value a positive whole number, unit minute(s) / hour(s) / day(s), singular
  exactly when the value is 1 (AWS refuses `rate(1 minutes)` and `rate(5 minute)`).
- `cron(minutes hours day-of-month month day-of-week year)`: six fields; `, - * /` everywhere,
  `?` `L` `W` in day-of-month, `?` `L` `#` in day-of-week (1-7 or SUN-SAT, 1 = Sunday), names for
  months (JAN-DEC); exactly one of day-of-month and day-of-week is `?`.
- `at(yyyy-mm-ddThh:mm:ss)`: once (Scheduler only), in the schedule's time zone.

Rules' expressions are evaluated in UTC; Scheduler's in the schedule's time zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)\Z")
_CRON = re.compile(r"^cron\((.*)\)\Z")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)\Z")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}  # JAN=1 (upper-cased below)
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_LAST_YEAR = 2199  # AWS's cron years: 1970-2199


class ExpressionError(ValueError):
    """A schedule expression AWS would refuse; the message says why."""


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, anchor: dt.datetime, after: dt.datetime) -> dt.datetime:
        """The first of anchor, anchor + period, anchor + 2 periods... later than `after`."""
        period = dt.timedelta(seconds=self.seconds)
        if after < anchor:
            return anchor
        steps = (after - anchor) // period + 1
        return anchor + steps * period


@dataclass(frozen=True)
class At:
    when: dt.datetime  # naive: wall-clock time in the schedule's time zone

    def time_in(self, zone: dt.tzinfo) -> dt.datetime:
        return self.when.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: str  # the day-of-month field as written ("?" when day-of-week decides)
    months: frozenset[int]
    dow: str  # the day-of-week field as written ("?" when day-of-month decides)
    years: frozenset[int]

    def next_after(self, after: dt.datetime, zone: dt.tzinfo = UTC) -> dt.datetime | None:
        """The first time later than `after` (aware) that the expression names, in UTC; None when
        it names no later time (a past year)."""
        local = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) + dt.timedelta(minutes=1)
        day = local.date()
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                day = dt.date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = dt.datetime.combine(day, dt.time(hour, minute))
                        if candidate < local:
                            continue
                        at = candidate.replace(tzinfo=zone).astimezone(UTC)
                        if at > after:
                            return at
            day += dt.timedelta(days=1)
        return None

    def _day_matches(self, day: dt.date) -> bool:
        if self.dom != "?":
            return _dom_matches(self.dom, day)
        return _dow_matches(self.dow, day)


Expression = Rate | Cron | At


def parse(expression: str, *, allow_at: bool = False) -> Expression:
    """The parsed expression, or ExpressionError saying what AWS would refuse."""
    text = expression.strip()
    if m := _RATE.match(text):
        value, unit = int(m.group(1)), m.group(2)
        if value < 1:
            raise ExpressionError(f"{expression}: the rate must be a positive number")
        if (value == 1) != (not unit.endswith("s")):
            want = unit.rstrip("s") if value == 1 else unit.rstrip("s") + "s"
            raise ExpressionError(f"{expression}: AWS wants rate({value} {want})")
        return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])
    if m := _CRON.match(text):
        return _cron(expression, m.group(1))
    if m := _AT.match(text):
        if not allow_at:
            raise ExpressionError(
                f"{expression}: at(...) is for EventBridge Scheduler; rules take rate() or cron()"
            )
        try:
            return At(dt.datetime.fromisoformat(m.group(1)))
        except ValueError as exc:
            raise ExpressionError(f"{expression}: {exc}") from None
    kinds = "rate(...), cron(...) or at(...)" if allow_at else "rate(...) or cron(...)"
    raise ExpressionError(
        f"{expression!r} is not a schedule expression: use {kinds}, e.g. rate(5 minutes) or cron(0 12 * * ? *)"
    )


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone `name` (ExpressionError when there is none of that name)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"{name!r} is not a time zone name such as UTC or Europe/Paris") from None


# ---- cron fields --------------------------------------------------------------------------------
def _cron(expression: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ExpressionError(
            f"{expression}: cron takes six fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ExpressionError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
    try:
        cron = Cron(
            minutes=_values(minute, 0, 59),
            hours=_values(hour, 0, 23),
            dom=dom.upper(),
            months=_values(month, 1, 12, _MONTHS),
            dow=dow.upper(),
            years=_values(year, 1970, _LAST_YEAR),
        )
        _check_days(cron.dom if dom != "?" else cron.dow, dom != "?")
    except ValueError as exc:
        raise ExpressionError(f"{expression}: {exc}") from None
    return cron


def _number(text: str, names: dict[str, int] | None = None) -> int:
    key = text.upper()
    if names and key in names:
        return names[key]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """The numbers a field of `, - * /` names, each within [low, high]."""
    names = {k.upper(): v for k, v in (names or {}).items()}
    out: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step_text!r} must be positive")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _number(a, names), _number(b, names)
        else:
            start = _number(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{item!r} is outside {low}-{high}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def _check_days(field: str, of_month: bool) -> None:
    """ValueError unless every item of a day-of-month (or day-of-week) field is one AWS takes."""
    for item in field.split(","):
        if of_month and item in ("L", "LW"):
            continue
        if of_month and item.endswith("W"):
            if not 1 <= _number(item[:-1]) <= 31:
                raise ValueError(f"{item!r} is outside 1-31")
        elif not of_month and item == "L":
            continue
        elif not of_month and "#" in item:
            d, _, nth = item.partition("#")
            _values(d, 1, 7, _DAYS)
            if not 1 <= _number(nth) <= 5:
                raise ValueError(f"{item!r}: the week must be 1-5")
        elif not of_month and item.endswith("L") and len(item) > 1:
            _values(item[:-1], 1, 7, _DAYS)
        else:
            _values(item, 1, 31, None) if of_month else _values(item, 1, 7, _DAYS)


def _weekday(day: dt.date) -> int:
    """AWS's day of week: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _dom_matches(field: str, day: dt.date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for item in field.split(","):
        if item == "L":
            if day.day == last:
                return True
        elif item == "LW":
            if day == _nearest_weekday(day.replace(day=last)):
                return True
        elif item.endswith("W"):
            n = _number(item[:-1])
            if not 1 <= n <= 31:
                raise ValueError(f"{item!r} is outside 1-31")
            if n <= last and day == _nearest_weekday(day.replace(day=n)):
                return True
        elif day.day in _values(item, 1, 31):
            return True
    return False


def _nearest_weekday(day: dt.date) -> dt.date:
    """W: the weekday nearest `day` within its month (Saturday -> Friday, Sunday -> Monday)."""
    last = calendar.monthrange(day.year, day.month)[1]
    if day.weekday() == 5:
        return day - dt.timedelta(days=1) if day.day > 1 else day + dt.timedelta(days=2)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1) if day.day < last else day - dt.timedelta(days=2)
    return day


def _dow_matches(field: str, day: dt.date) -> bool:
    weekday = _weekday(day)
    last = calendar.monthrange(day.year, day.month)[1]
    for item in field.split(","):
        if item == "L":
            if weekday == 7:
                return True
        elif "#" in item:
            d, _, nth = item.partition("#")
            n = _number(nth)
            if not 1 <= n <= 5:
                raise ValueError(f"{item!r}: the week must be 1-5")
            if weekday == _number(d, _DAYS) and (day.day - 1) // 7 + 1 == n:
                return True
        elif item.endswith("L") and len(item) > 1:
            if weekday == _number(item[:-1], _DAYS) and day.day + 7 > last:
                return True
        elif weekday in _values(item, 1, 7, _DAYS):
            return True
    return False

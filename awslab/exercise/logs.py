"""`awslab logs LAB FUNCTION`: the function's CloudWatch Logs (/aws/lambda/<physical name>) since
a moment (`--since 10m`), or followed as they come (`--follow`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from awslab.errors import UsageError
from awslab.exercise.defaults import LOGS_SINCE as DEFAULT_SINCE
from awslab.exercise.labs import DeployedLab, function_record
from awslab.resources.base import is_not_found
from awslab.target import Target

FOLLOW_POLL_SECONDS = 1.0
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SINCE_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)


@dataclass
class LogEvent:
    timestamp: int  # ms since the epoch
    message: str
    stream: str
    event_id: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, UTC)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat(timespec="milliseconds")}


@dataclass
class LogsResult:
    lab: str
    function: str  # logical name
    group: str
    since: datetime
    exists: bool  # False: the group is not there yet (the function never ran)
    events: list[LogEvent] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "function": self.function,
            "group": self.group,
            "since": self.since.isoformat(timespec="seconds"),
            "exists": self.exists,
            "events": [e.to_dict() for e in self.events],
        }


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """'30s', '10m', '2h', '1d', '1w' ago, or an ISO 8601 time (UTC when it has no zone)."""
    now = now or datetime.now(UTC)
    m = _SINCE_RE.match(text)
    if m:
        return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since '{text}' is not a duration or a time",
            hint="use e.g. --since 30s, 10m, 2h, 1d, or 2024-05-01T12:00",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def log_group(lab: DeployedLab, function: str) -> tuple[str, str]:
    """(logical name, log group) of a lab's function."""
    record = function_record(lab, function)
    return record.logical, f"/aws/lambda/{record.attrs.get('name') or record.physical}"


def fetch(target: Target, group: str, start_ms: int) -> tuple[bool, list[LogEvent]]:
    """(group exists, its events from `start_ms` on, oldest first)."""
    logs = target.client("logs")
    events: list[LogEvent] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events += [_event(e) for e in page.get("events", [])]
            token = page.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = token
    except ClientError as exc:
        if is_not_found(exc):
            return False, []
        raise
    events.sort(key=lambda e: e.timestamp)  # stable: same-millisecond lines keep their log order
    return True, events


def _event(e: dict[str, Any]) -> LogEvent:
    ts, stream, message = int(e["timestamp"]), e.get("logStreamName", ""), e.get("message", "")
    # an emulator may leave eventId out; following needs some identity to skip what it showed
    event_id = str(e.get("eventId") or f"{stream}/{ts}/{hash(message)}")
    return LogEvent(ts, message, stream, event_id)


def read_logs(target: Target, lab: DeployedLab, function: str, since: str = DEFAULT_SINCE) -> LogsResult:
    logical, group = log_group(lab, function)
    start = parse_since(since)
    exists, events = fetch(target, group, int(start.timestamp() * 1000))
    return LogsResult(lab.name, logical, group, start, exists, events)


def follow(
    target: Target,
    group: str,
    start_ms: int,
    *,
    seen: set[str] | None = None,
    poll: float = FOLLOW_POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogEvent]:
    """New events as they arrive, until `stop()` (the CLI stops on Ctrl-C). Events already in
    `seen` (event ids) are skipped, so a first page can be printed before following."""
    seen = set() if seen is None else seen
    cursor = start_ms
    while not stop():
        _, events = fetch(target, group, cursor)
        for e in events:
            if e.event_id in seen:
                continue
            seen.add(e.event_id)
            cursor = max(cursor, e.timestamp)  # same-millisecond events are caught by `seen`
            yield e
        if stop():
            return
        sleep(poll)

"""How old a lab is, for `status` and `teardown --older-than`.

A lab's age counts from its first `up` (the state's `created_at`, which `up` records before it
creates anything), or from the `up` that made it again after it was lost: with a local cloud that
lost it (awslab.state.StateStore.ensure_lab), or to its TTL's reaper (awslab.ttl.apply_option).
A state file that lacks it (written by hand, or by a tool that left it out) falls back to the lab's
last change in the state (`updated_at`), then to the state file's time: both are later than the
creation, so the age they give is a lower bound ("at least"), never an overestimate that would make
`--older-than` remove a lab too early.

Every function that needs the time takes `now`: tests pass their own clock instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from awslab import durations
from awslab.state import LabState

Clock = Callable[[], datetime]
# how the creation time is known: the state's `created_at`, else its `updated_at`, else the file's time
Source = Literal["created", "updated", "file"]
MAX_OLDER_THAN = 3660 * 86400  # ten years: past any lab, and far from datetime's limits


def parse_time(text: str) -> datetime | None:
    """An ISO-8601 time as awslab writes it (state, tags); UTC when it names no zone; None when it
    is empty or not a time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def older_than(text: str) -> timedelta:
    """`--older-than AGE`: '90s', '30m', '2h', '1d', '1h30m'; a one-line UsageError otherwise."""
    return timedelta(seconds=durations.parse(text, "--older-than", max_seconds=MAX_OLDER_THAN))


@dataclass(frozen=True)
class LabAge:
    created: datetime
    source: Source

    @property
    def exact(self) -> bool:
        return self.source == "created"

    def age(self, now: datetime) -> timedelta:
        return max(timedelta(0), now - self.created)

    def shown(self, now: datetime) -> str:
        """'2h 5m' or 'at least 2h 5m'."""
        return ("" if self.exact else "at least ") + durations.human(self.age(now).total_seconds())

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "created_at": self.created.isoformat(timespec="seconds"),
            "seconds": int(self.age(now).total_seconds()),
            "exact": self.exact,
            "source": self.source,
        }


def lab_age(state: LabState, state_file: Path | None) -> LabAge:
    """When the lab was created, and how that is known (see the module's docstring)."""
    created = parse_time(state.created_at)
    if created is not None:
        return LabAge(created, "created")
    updated = parse_time(state.updated_at)
    if updated is not None:
        return LabAge(updated, "updated")
    try:
        mtime = state_file.stat().st_mtime if state_file is not None else None
    except OSError:
        mtime = None
    # no time at all: the age is zero, so --older-than never picks the lab
    return LabAge(datetime.fromtimestamp(mtime, UTC) if mtime is not None else durations.utc_now(), "file")


def labs_older_than(
    labs: Mapping[str, LabState], state_file: Path | None, limit: timedelta, now: datetime
) -> list[str]:
    """The labs whose age is more than `limit` (an 'at least' age counts as that age)."""
    return sorted(name for name, state in labs.items() if lab_age(state, state_file).age(now) > limit)

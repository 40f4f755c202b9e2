"""An event source mapping's FilterCriteria, as Lambda applies them: EventBridge pattern syntax
(moto's matcher, the one its rules use) against each record as the function would get it, a record
passing when any filter matches (AWS Lambda Developer Guide, "Control which events Lambda sends to
your function"). For SQS, a `body` that is JSON is matched as JSON, a plain-text one as a string."""

from __future__ import annotations

import contextlib
import functools
import json
from typing import Any


def patterns(criteria: Any) -> list[Any] | None:
    """The mapping's filters, parsed (None: there are none, every record goes)."""
    filters = (criteria or {}).get("Filters") or []
    found = [f["Pattern"] for f in filters if isinstance(f, dict) and f.get("Pattern")]
    if not found:
        return None
    return [parse(p) for p in found]


@functools.lru_cache(maxsize=256)  # pollers ask at every round, for the same few patterns
def parse(text: str) -> Any:
    """One filter's pattern as moto's EventPattern (moto's InvalidEventPatternException, or
    another error, for one its syntax refuses). Only read afterwards, so shared between threads."""
    from moto.events.models import EventPattern

    return EventPattern.load(text)


def passes(filters: list[Any] | None, record: dict[str, Any]) -> bool:
    if filters is None:
        return True
    shown = record
    if isinstance(record.get("body"), str):
        with contextlib.suppress(ValueError):
            shown = {**record, "body": json.loads(record["body"])}
    return any(f.matches_event(shown) for f in filters)

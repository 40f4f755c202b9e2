"""EventBridge's TestEventPattern in the local cloud: moto answers it with nothing; here it
answers {"Result": true | false} with the matcher moto's rules use for PutEvents, after the checks
AWS makes (both documents JSON; the event has AWS's envelope fields)."""

from __future__ import annotations

import json
from typing import Any, cast

# Fields TestEventPattern requires in the event (AWS EventBridge API reference, TestEventPattern's
# Event: id, account, source, time, region, resources, detail-type).
REQUIRED = ("id", "account", "source", "time", "region", "resources", "detail-type")

_originals: dict[tuple[type, str], Any] = {}


def answer(pattern_text: str, event_text: str) -> dict[str, bool]:
    """TestEventPattern's answer; ValueError with AWS's message when a document is invalid."""
    from moto.events.models import EventPattern

    try:
        event = json.loads(event_text)
    except ValueError:
        raise ValueError("Event is not valid JSON") from None
    if not isinstance(event, dict):
        raise ValueError("Event is not a JSON object")
    missing = [f for f in REQUIRED if f not in event]
    if missing:
        raise ValueError(f"Parameter Event is not valid: missing field(s) {', '.join(missing)}")
    matched: bool = EventPattern.load(pattern_text).matches_event(cast(Any, event))
    return {"Result": matched}


def install() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.events.responses import EventsHandler

    def test_event_pattern(self: Any) -> str:
        try:
            return json.dumps(answer(self._get_param("EventPattern"), self._get_param("Event")))
        except ValueError as exc:
            raise JsonRESTError("InvalidEventPatternException", str(exc)) from None

    _originals.setdefault((EventsHandler, "test_event_pattern"), EventsHandler.__dict__["test_event_pattern"])
    setattr(EventsHandler, "test_event_pattern", test_event_pattern)  # noqa: B010 (a method of moto replaced)


def uninstall() -> None:
    for (owner, name), original in _originals.items():
        setattr(owner, name, original)
    _originals.clear()

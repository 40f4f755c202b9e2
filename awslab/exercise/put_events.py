"""`awslab send-event`: one event put on a lab's EventBridge bus (PutEvents), which of the lab's
rules match it (EventBridge's own TestEventPattern), and what their targets' consumers wrote: the
rows in the lab's tables that carry the event's id or its detail's `id`.

The bus is the events.bus named by `bus` (a logical name, or `default`), else the one bus the lab's
pattern rules listen on. Without `source` / `detail_type`, the first literal value a rule's pattern
asks for is used, so that the event reaches a rule as it is; never an `aws.` source, which only AWS
services may put (PutEvents fails the entry with NotAuthorizedForSourceException)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.defaults import EFFECTS_TIMEOUT as DEFAULT_TIMEOUT
from awslab.exercise.effects import Effects, ids_of_body, snapshot, unique, wait_for_effects
from awslab.exercise.events import EventParams, _envelope
from awslab.exercise.labs import DeployedLab, pick_resource
from awslab.exercise.messages import message_text, sample_order
from awslab.resources.base import Record
from awslab.target import Target

DEFAULT_BUS = "default"
DEFAULT_SOURCE = "awslab"
DEFAULT_DETAIL_TYPE = "awslab test event"


@dataclass
class RuleMatch:
    rule: str  # logical name
    matched: bool


@dataclass
class EventResult:
    lab: str
    bus: str  # the bus's name ("default" for the account's default bus)
    event_id: str
    source: str
    detail_type: str
    detail: str
    ids: list[str]
    rules: list[RuleMatch]
    effects: Effects = field(default_factory=Effects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "bus": self.bus,
            "event_id": self.event_id,
            "source": self.source,
            "detail_type": self.detail_type,
            "detail": self.detail,
            "ids": self.ids,
            "rules": [{"rule": r.rule, "matched": r.matched} for r in self.rules],
            "effects": self.effects.to_dict(),
        }


def _bus_name(bus: str) -> str:
    """A bus name or ARN -> its name."""
    return bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus


def pattern_rules(lab: DeployedLab) -> list[Record]:
    return [r for r in lab.records("events.rule") if r.attrs.get("pattern")]


def pick_bus(lab: DeployedLab, bus: str | None) -> str:
    """The name of the bus to put the event on (see module doc)."""
    if bus == DEFAULT_BUS:
        return DEFAULT_BUS
    if bus is not None:
        record = pick_resource(lab, "events.bus", bus, option="--bus")
        return str(record.attrs.get("name") or record.physical)
    buses = list(dict.fromkeys(_bus_name(str(r.attrs.get("bus") or DEFAULT_BUS)) for r in pattern_rules(lab)))
    if len(buses) > 1:
        names = {str(r.attrs.get("name") or r.physical): r.logical for r in lab.records("events.bus")}
        shown = [names.get(b, b) for b in buses]
        raise UsageError(
            f"lab '{lab.name}' has rules on several buses: {', '.join(shown)}",
            hint=f"pick one with --bus, e.g. --bus {shown[0]}",
        )
    if buses:
        return buses[0]
    own = lab.records("events.bus")
    return str(own[0].attrs.get("name") or own[0].physical) if len(own) == 1 else DEFAULT_BUS


AWS_SOURCE = "aws."  # sources of AWS's own services: PutEvents refuses them from anyone else


def _first_literal(pattern: Any, key: str) -> str | None:
    values = pattern.get(key) if isinstance(pattern, dict) else None
    if isinstance(values, list):
        usable = (
            v for v in values if isinstance(v, str) and not (key == "source" and v.startswith(AWS_SOURCE))
        )
        return next(usable, None)
    return None


def _defaults(rules: list[Record]) -> tuple[str, str]:
    """The source and detail-type the first rule asking for literal ones wants."""
    for r in rules:
        pattern = r.attrs.get("pattern")
        source, detail_type = _first_literal(pattern, "source"), _first_literal(pattern, "detail-type")
        if source or detail_type:
            return source or DEFAULT_SOURCE, detail_type or DEFAULT_DETAIL_TYPE
    return DEFAULT_SOURCE, DEFAULT_DETAIL_TYPE


def detail_text(detail: str | None) -> str:
    """The detail as PutEvents takes it: a JSON object (default: a sample order)."""
    text = message_text(sample_order()) if detail is None else detail
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UsageError(
            "the event's detail must be a JSON object", hint='e.g. \'{"id": "o-1", "status": "paid"}\''
        )
    return text


def send_event(
    target: Target,
    lab: DeployedLab,
    detail: str | None = None,
    *,
    bus: str | None = None,
    source: str | None = None,
    detail_type: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] | None = None,
) -> EventResult:
    """Put one event on the lab's bus and wait up to `timeout` seconds for the rows its rules'
    targets write (not waited for when no rule matches)."""
    text = detail_text(detail)
    bus_name = pick_bus(lab, bus)
    rules = [r for r in pattern_rules(lab) if _bus_name(str(r.attrs.get("bus") or DEFAULT_BUS)) == bus_name]
    default_source, default_type = _defaults(rules)
    source, detail_type = source or default_source, detail_type or default_type
    events = target.client("events")
    sample = _sample(target, source, detail_type, text)
    matches = [RuleMatch(r.logical, _matches(events, r, sample)) for r in rules]
    tables = lab.tables()
    baseline = snapshot(target, tables)
    entry = {"Source": source, "DetailType": detail_type, "Detail": text, "EventBusName": bus_name}
    answer = events.put_events(Entries=[entry])
    result = (answer.get("Entries") or [{}])[0]
    if answer.get("FailedEntryCount") or not result.get("EventId"):
        code = result.get("ErrorCode", "?")
        raise ExerciseError(
            f"EventBridge refused the event: {code}: {result.get('ErrorMessage', '')}",
            hint="only AWS services may put events with an 'aws.' source: pick another with --source"
            if code == "NotAuthorizedForSourceException"
            else "'awslab status' shows whether the lab's bus is still there",
        )
    event_id = str(result["EventId"])
    ids = unique([event_id, *ids_of_body(text)])
    effects = Effects(tables=list(tables))
    if tables and (any(m.matched for m in matches) or not rules):
        effects = wait_for_effects(target, tables, [ids], timeout=timeout, baseline=baseline,
                                   sleep=sleep or time.sleep)  # fmt: skip
    return EventResult(lab.name, bus_name, event_id, source, detail_type, text, ids, matches, effects)


def _sample(target: Target, source: str, detail_type: str, detail: str) -> dict[str, Any]:
    """The event as EventBridge builds it, for TestEventPattern (which needs every envelope field)."""
    where = EventParams(region=target.region, account=target.account_id)
    return _envelope(where, detail_type, source, [], json.loads(detail))


def _matches(events: Any, rule: Record, event: dict[str, Any]) -> bool:
    answer = events.test_event_pattern(
        EventPattern=json.dumps(rule.attrs["pattern"]), Event=json.dumps(event)
    )
    return bool(answer.get("Result"))

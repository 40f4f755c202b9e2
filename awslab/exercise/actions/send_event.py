"""`send-event: DETAIL` on the lab's EventBridge bus (`true`: a sample order), then what the
targets' consumers wrote."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register
from awslab.exercise.actions.send_message import effects_seen, message_body


class SendEventOptions(BaseModel):
    bus: str | None = None  # logical name of an events.bus, or `default` (default: the rules' bus)
    source: str | None = None  # default: what the lab's rule asks for
    detail_type: str | None = Field(default=None, alias="detail-type")


@register
class SendEvent(Action):
    key = "send-event"
    order = 45
    Options = SendEventOptions
    observes: ClassVar[frozenset[str]] = frozenset({"record", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        bus = check.options(SendEventOptions).bus
        return [] if bus in (None, "default") else [(str(bus), ("events.bus",))]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import put_events

        o = check.options(SendEventOptions)
        out = put_events.send_event(
            run.target,
            run.lab,
            message_body(run.resolve(check.value)),
            bus=o.bus,
            source=run.resolve(o.source),
            detail_type=run.resolve(o.detail_type),
        )
        return Observation(effects_seen(out.effects.items(), out.effects), out)

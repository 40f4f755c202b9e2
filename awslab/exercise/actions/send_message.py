"""`send-message: BODY` to the lab's queue (`true`: a sample order), then the row its consumer
wrote."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, field_validator

from awslab.exercise import attributes as attrs
from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register


class MessageOptions(BaseModel):
    """Options both message actions take."""

    # SQS / SNS message attributes: {name: text | number | list | {type, value}}
    attributes: dict[str, Any] | None = None

    @field_validator("attributes")
    @classmethod
    def _valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        attrs.from_values(value)  # raises ValueError on what SQS or SNS would refuse
        return value


class SendOptions(MessageOptions):
    queue: str | None = None  # logical name of the queue when the lab has several with a consumer


def message_body(value: Any) -> str | None:
    """`true` sends the sample order; a string goes as is; anything else as JSON."""
    if value is True:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def effects_seen(records: list[dict[str, Any]], waited: Any) -> dict[str, Any]:
    return {"record": records, "body": json.dumps(records, default=str), "waited": waited}


@register
class SendMessage(Action):
    key = "send-message"
    order = 30
    Options = SendOptions
    observes: ClassVar[frozenset[str]] = frozenset({"record", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        queue = check.options(SendOptions).queue
        return [] if queue is None else [(queue, ("sqs.queue",))]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import messages

        o = check.options(SendOptions)
        out = messages.send_message(
            run.target,
            run.lab,
            message_body(run.resolve(check.value)),
            queue=o.queue,
            attributes=attrs.from_values(run.resolve(o.attributes)),
        )
        return Observation(effects_seen(out.effects.items(), out.effects), out)

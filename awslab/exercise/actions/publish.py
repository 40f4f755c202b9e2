"""`publish: MESSAGE` to the lab's topic (`true`: a sample order), then what each subscriber's
consumer wrote."""

from __future__ import annotations

from typing import ClassVar

from awslab.exercise import attributes as attrs
from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register
from awslab.exercise.actions.send_message import MessageOptions, effects_seen, message_body


class PublishOptions(MessageOptions):
    topic: str | None = None  # logical name of the topic when the lab has several
    subject: str | None = None


@register
class Publish(Action):
    key = "publish"
    order = 40
    Options = PublishOptions
    observes: ClassVar[frozenset[str]] = frozenset({"record", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        topic = check.options(PublishOptions).topic
        return [] if topic is None else [(topic, ("sns.topic",))]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import messages

        o = check.options(PublishOptions)
        out = messages.publish(
            run.target,
            run.lab,
            message_body(run.resolve(check.value)),
            run.resolve(o.subject),
            topic=o.topic,
            attributes=attrs.from_values(run.resolve(o.attributes)),
        )
        return Observation(effects_seen(out.effects.items(), out.effects), out)

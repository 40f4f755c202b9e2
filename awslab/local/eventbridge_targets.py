"""What an EventBridge target receives, and its delivery to Lambda, SQS, SNS, Step Functions or
another event bus in the local cloud (moto's backends, in this process).

A rule target gets the event itself, or its `Input` (constant JSON), its `InputPath` (a JSONPath
into the event) or its `InputTransformer` (InputPathsMap + InputTemplate), as in the EventBridge
User Guide ("Transforming target input"): a placeholder inside a JSON string takes the value's
text, outside one the value's JSON; `<aws.events.rule-arn>`, `<aws.events.rule-name>`,
`<aws.events.event.ingestion-time>` and `<aws.events.event>` / `<aws.events.event.json>` are
predefined. An EventBridge Scheduler target gets the schedule's `Input` with its context
attributes (`<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`,
`<aws.scheduler.execution-id>`, `<aws.scheduler.attempt-number>`) filled in.

Lambda targets are invoked asynchronously (Lambda's event queue, with its retries and
destinations: awslab.local.async_invoke); a target that does not exist is logged and dropped
(AWS retries for up to 24 hours, then drops it or sends it to the target's dead-letter queue).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from awslab.local.state_gate import GATE

log = logging.getLogger("awslab.local.eventbridge")

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


# ---- the event ----------------------------------------------------------------------------------
def iso_time(value: Any) -> str:
    """EventBridge's `time`: 2024-05-01T12:00:00Z (seconds, UTC), from epoch seconds or a datetime."""
    if isinstance(value, dt.datetime):
        when = value.astimezone(dt.UTC)
    elif isinstance(value, int | float):
        when = dt.datetime.fromtimestamp(float(value), dt.UTC)
    else:
        return str(value)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_event(moto_event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it, from moto's PutEvents message (epoch `time`, its internal
    `ingestion-time`)."""
    event = {k: v for k, v in moto_event.items() if k != "ingestion-time"}
    event["time"] = iso_time(moto_event.get("time"))
    return event


def scheduled_event(account: str, region: str, rule_arn: str, when: dt.datetime) -> dict[str, Any]:
    """What a scheduled rule sends its targets (detail-type "Scheduled Event", source aws.events)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_time(when),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


# ---- rule targets: Input, InputPath, InputTransformer ----------------------------------------------
def json_path(document: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a JSONPath such as `$.detail.items[0].id` (`$` alone: the document)."""
    from jsonpath_ng.ext.parser import parse  # moto's own dependency: the local cloud always has it

    matches = parse(path).find(document)
    if not matches:
        return False, None
    return True, matches[0].value


def rule_input(target: dict[str, Any], event: dict[str, Any], rule_arn: str, ingestion_time: str) -> str:
    """The text `target` (a PutTargets entry) receives for `event`."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        _, value = json_path(event, str(target["InputPath"]))
        return json.dumps(value)
    transformer = target.get("InputTransformer")
    if transformer:
        values: dict[str, Any] = {}
        for name, path in (transformer.get("InputPathsMap") or {}).items():
            found, value = json_path(event, str(path))
            if found:
                values[name] = value
        values.update(
            {
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_arn.rsplit("/", 1)[-1],
                "aws.events.event.ingestion-time": ingestion_time,
                "aws.events.event": event,
                "aws.events.event.json": event,
            }
        )
        return fill_template(str(transformer.get("InputTemplate", "")), values)
    return json.dumps(event)


def fill_template(template: str, values: dict[str, Any]) -> str:
    """Replace each `<name>` of `values`: inside a JSON string by the value's text (escaped), elsewhere
    by its JSON. A name the paths did not find becomes null (an empty string inside a string)."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "<":
            m = _PLACEHOLDER.match(template, i)
            if m and (m.group(1) in values or not m.group(1).startswith("aws.")):
                value = values.get(m.group(1))
                if in_string:
                    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = m.end()
                continue
        if ch == "\\" and in_string and i + 1 < len(template):
            out.append(template[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


# ---- Scheduler targets ------------------------------------------------------------------------------
def scheduler_input(
    target: dict[str, Any], schedule_arn: str, scheduled: dt.datetime, attempt: int = 1
) -> str:
    """The schedule's Input with Scheduler's context attributes filled in ("{}" when it has none)."""
    text = target.get("Input")
    if text is None:
        return "{}"
    attributes = {
        "aws.scheduler.schedule-arn": schedule_arn,
        "aws.scheduler.scheduled-time": iso_time(scheduled),
        "aws.scheduler.execution-id": str(uuid.uuid4()),
        "aws.scheduler.attempt-number": str(attempt),
    }
    for name, value in attributes.items():
        text = str(text).replace(f"<{name}>", value)
    return str(text)


# ---- delivery ---------------------------------------------------------------------------------------
def service_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def handled(arn: str) -> bool:
    """Whether `deliver` runs this kind of target (others: log groups, archives, API destinations)."""
    service = service_of(arn)
    return service in ("lambda", "sqs", "sns", "states") or (service == "events" and ":event-bus/" in arn)


def deliver(
    arn: str,
    text: str,
    *,
    group_id: str | None = None,
    detail_type: str = "",
    source: str = "",
) -> None:
    """Send `text` to the target `arn` as EventBridge does; a failure is logged, never raised (the
    caller's PutEvents or schedule has long returned). `group_id`: an SQS FIFO target's
    MessageGroupId; `detail_type` / `source`: the entry a Scheduler target on an event bus puts."""
    try:
        _deliver(arn, text, group_id, detail_type, source)
    except Exception as exc:  # AWS retries, then drops it (or dead-letters it): locally, the log says so
        log.warning("EventBridge delivery to %s failed: %s", arn, exc)


def rule_delivery(target: dict[str, Any], text: str) -> Callable[[], None]:
    """The delivery of `text` to a rule's target (a PutTargets entry), to run in the background."""
    arn = str(target["Arn"])
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    return lambda: deliver(arn, text, group_id=group)


@GATE.changing()  # no snapshot of the local cloud in the middle of it (awslab.local.state_gate)
def _deliver(arn: str, text: str, group_id: str | None, detail_type: str, source: str) -> None:
    parts = arn.split(":")
    service, region, account = service_of(arn), parts[3], parts[4]
    if service == "lambda":
        _invoke(account, region, arn, text)
    elif service == "sqs":
        _send_message(account, region, parts[5], text, group_id)
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(text, arn=arn)
    elif service == "states":
        from moto.stepfunctions.responses import get_backend

        get_backend(account, region).start_execution(arn, name="", execution_input=text)
    elif service == "events" and ":event-bus/" in arn:
        from moto.events.models import events_backends

        events_backends[account][region].put_events(
            [{"Source": source, "DetailType": detail_type, "Detail": text, "EventBusName": arn}]
        )
    else:
        log.warning("EventBridge target %s: this kind of target is not run by the local cloud", arn)


def _invoke(account: str, region: str, arn: str, text: str) -> None:
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    from awslab.local.moto_patches import invoke_async

    try:
        fn = get_backend(account, region).get_function(arn)
    except LambdaClientError:
        log.warning("EventBridge target %s: no such function", arn)
        return
    try:
        payload: Any = json.loads(text)
    except ValueError:  # a transformer's plain text: Lambda takes JSON, so it arrives as a JSON string
        payload, text = text, json.dumps(text)
    invoke_async(fn, payload, raw=text)


def _send_message(account: str, region: str, queue: str, text: str, group_id: str | None) -> None:
    import hashlib

    from moto.sqs.models import sqs_backends

    backend = sqs_backends[account][region]
    dedup = None
    if queue.endswith(".fifo"):
        # EventBridge needs content-based deduplication on a FIFO queue; it sends the body's hash
        dedup = hashlib.sha256(text.encode()).hexdigest()
    backend.send_message(queue, text, group_id=group_id, deduplication_id=dedup)

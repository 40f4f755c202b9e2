"""Where an asynchronous invocation ends, as AWS sends it: invocation records to the function's
on-success / on-failure destination, failed events to its dead-letter queue.

- Invocation record (AWS Lambda Developer Guide, "Capturing records of Lambda asynchronous
  invocations"): `version` "1.0", `timestamp`, `requestContext` {requestId, functionArn
  (qualified, `...:$LATEST` for the unpublished function), condition `Success` |
  `RetriesExhausted` | `EventAgeExceeded`, approximateInvokeCount}, `requestPayload` (the event),
  and, when the function ran, `responseContext` {statusCode 200, executedVersion, functionError
  `Unhandled` on a failure} and `responsePayload` (what it returned, or its error). It goes to an
  SQS queue or SNS topic as the message, to a Lambda function as its (asynchronous) event, to an
  EventBridge bus as the `detail` of an event from source `lambda` with detail-type
  "Lambda Function Invocation Result - Success" / "- Failure".
- Dead-letter queue (same guide, "Dead-letter queues"; the function's DeadLetterConfig, an SQS
  queue or SNS topic): the event as received, with the attributes RequestID (String), ErrorCode
  (Number, the invoke's HTTP status: 200 for a function error) and ErrorMessage (String, the first
  1 KB of the error message). When both a DLQ and an on-failure destination are set, both get it.

A delivery that fails (no such queue, a FIFO queue, a rule target moto cannot serve) is logged and
dropped, as AWS drops it (and counts DestinationDeliveryFailures / DeadLetterErrors).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from awslab.local.state_gate import GATE

# The executor's logger: these deliveries are part of an invoke, and the server log shows them there.
log = logging.getLogger("awslab.local.executor")

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
DETAIL_TYPES = {True: "Lambda Function Invocation Result - Success",
                False: "Lambda Function Invocation Result - Failure"}  # fmt: skip
ERROR_MESSAGE_BYTES = 1024

Result = tuple[str, bool, str]  # the executor's (payload, errored, log text)
Submit = Callable[[Any, Any], str]  # queues an asynchronous invoke of (function, event)


@dataclass(frozen=True)
class Outcome:
    """How one asynchronous invocation ended."""

    fn: Any  # the moto LambdaFunction (version) that was invoked
    request_id: str  # the same for every attempt, as on AWS
    event: Any  # the event, decoded
    raw_event: str  # the event as received: a dead-letter message's body
    condition: str  # SUCCESS | RETRIES_EXHAUSTED | EVENT_AGE_EXCEEDED
    attempts: int
    response: Result | None  # the last attempt's, None when the function never ran


def settle(outcome: Outcome, submit: Submit) -> None:
    """Send the outcome where the function's configuration says (nothing configured: nowhere)."""
    succeeded = outcome.condition == SUCCESS
    destinations = invoke_config(outcome.fn).get("DestinationConfig") or {}
    target = (destinations.get("OnSuccess" if succeeded else "OnFailure") or {}).get("Destination")
    if target:
        _deliver(f"{'on-success' if succeeded else 'on-failure'} destination {target}",
                 lambda: _send_record(outcome, target, submit))  # fmt: skip
    dlq = None if succeeded else dead_letter_target(outcome.fn)
    if dlq:
        _deliver(f"dead-letter queue {dlq}", lambda: _send_dead_letter(outcome, dlq))


def _deliver(what: str, send: Callable[[], None]) -> None:
    try:
        send()
    except Exception as exc:  # AWS drops what it cannot deliver; the invoke itself is done
        log.warning("asynchronous invocation: could not send to %s: %s", what, exc)


# ---- AWS's shapes -------------------------------------------------------------------------------
def invocation_record(outcome: Outcome) -> dict[str, Any]:
    fn = outcome.fn
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": outcome.request_id,
            "functionArn": qualified_arn(fn),
            "condition": outcome.condition,
            "approximateInvokeCount": outcome.attempts,
        },
        "requestPayload": outcome.event,
    }
    if outcome.response is not None:
        payload, errored, _ = outcome.response
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": str(fn.version)}
        if errored:
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
        record["responsePayload"] = _decoded(payload)
    return record


def dead_letter_attributes(outcome: Outcome) -> dict[str, tuple[str, str]]:
    """name -> (data type, value) of a dead-letter message."""
    attributes = {"RequestID": ("String", outcome.request_id)}
    if outcome.response is not None:
        attributes["ErrorCode"] = ("Number", "200")
        message = _error_message(outcome.response[0])
        if message:
            attributes["ErrorMessage"] = ("String", message)
    return attributes


def qualified_arn(fn: Any) -> str:
    arn = str(fn.function_arn)
    return arn if str(fn.version) != "$LATEST" or arn.endswith(":$LATEST") else f"{arn}:$LATEST"


def _decoded(payload: str | bytes) -> Any:
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _error_message(payload: str | bytes) -> str:
    decoded = _decoded(payload)
    message = decoded.get("errorMessage") if isinstance(decoded, dict) else decoded
    text = "" if message is None else str(message)
    return text.encode()[:ERROR_MESSAGE_BYTES].decode(errors="ignore")


# ---- sending ------------------------------------------------------------------------------------
def _send_record(outcome: Outcome, target: str, submit: Submit) -> None:
    record = invocation_record(outcome)
    service, region, account = _arn_parts(target)
    if service == "sqs":
        _sqs_send(target, json.dumps(record), {})
    elif service == "sns":
        _sns_publish(target, json.dumps(record), {})
    elif service == "lambda":
        from moto.awslambda.utils import get_backend

        submit(get_backend(account, region).get_function(target), record)  # raises when it is gone
    elif service == "events":
        from moto.events.models import events_backends

        entry = {"Source": "lambda", "DetailType": DETAIL_TYPES[outcome.condition == SUCCESS],
                 "Detail": json.dumps(record), "EventBusName": target,
                 "Resources": [qualified_arn(outcome.fn), target]}  # fmt: skip
        (answer,) = events_backends[account][region].put_events([entry])
        if "ErrorCode" in answer:
            raise RuntimeError(answer.get("ErrorMessage") or answer["ErrorCode"])
    else:
        raise ValueError(f"destinations of type {service} are not supported by the local cloud")


def _send_dead_letter(outcome: Outcome, target: str) -> None:
    attributes = dead_letter_attributes(outcome)
    service = _arn_parts(target)[0]
    if service == "sqs":
        _sqs_send(target, outcome.raw_event,
                  {k: {"DataType": t, "StringValue": v} for k, (t, v) in attributes.items()})  # fmt: skip
    elif service == "sns":
        _sns_publish(target, outcome.raw_event,
                     {k: {"Type": t, "Value": v} for k, (t, v) in attributes.items()})  # fmt: skip
    else:
        raise ValueError("a dead-letter queue is an SQS queue or an SNS topic")


@GATE.changing()  # no snapshot in the middle of it (awslab.local.state_gate)
def _sqs_send(queue_arn: str, body: str, attributes: dict[str, Any]) -> None:
    from moto.sqs.models import sqs_backends

    _, region, account = _arn_parts(queue_arn)
    name = queue_arn.rsplit(":", 1)[1]
    sqs_backends[account][region].send_message(name, body, message_attributes=attributes)


@GATE.changing()
def _sns_publish(topic_arn: str, message: str, attributes: dict[str, Any]) -> None:
    from moto.sns.models import sns_backends

    _, region, account = _arn_parts(topic_arn)
    sns_backends[account][region].publish(message, arn=topic_arn, message_attributes=attributes)


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(service, region, account) of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN")
    return parts[2], parts[3], parts[4]


# ---- moto's data --------------------------------------------------------------------------------
def invoke_config(fn: Any) -> dict[str, Any]:
    """The function's PutFunctionEventInvokeConfig settings (moto keeps them on its unpublished
    function, whatever the qualifier): MaximumRetryAttempts, MaximumEventAgeInSeconds,
    DestinationConfig; {} when none were put."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    try:
        latest = get_backend(fn.account_id, fn.region).get_function(fn.function_name)
    except LambdaClientError:  # deleted meanwhile: what the invoked copy still knows
        latest = fn
    configs = getattr(latest, "event_invoke_config", None) or []
    return dict(configs[0].config) if configs else {}


def dead_letter_target(fn: Any) -> str | None:
    """The ARN of the function's DeadLetterConfig (per version, as on AWS; moto_patches keeps it)."""
    config = getattr(fn, "dead_letter_config", None) or {}
    return config.get("TargetArn") or None

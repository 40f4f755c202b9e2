"""Messaging lab: SQS consumer writing orders to DynamoDB, with partial batch failures.

Environment: TABLE_NAME (orders, key `id`).

The message body is an order JSON object, sent to the queue directly (or by the topic with raw
message delivery), or wrapped in the SNS envelope when the queue is subscribed to the topic
without raw delivery. Any other body (plain text such as "hi", a JSON scalar or list) is
recorded as a text message. A poison message (an object with `"poison": true`) fails: it stays
on the queue, is retried, and reaches the DLQ after the queue's maxReceiveCount.

Failures are reported per record as {"batchItemFailures": [...]} (the event source mapping
needs FunctionResponseTypes=["ReportBatchItemFailures"]). When every record of a batch fails
the handler raises instead, which means the same to Lambda and also makes the failure visible
to pollers that ignore the response body (moto's mapping only looks at the function error).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

dynamodb = boto3.resource("dynamodb")

ORDER_FIELDS = ("item", "quantity", "customer")


class PoisonMessage(Exception):
    """A message that will never succeed; it fails so SQS moves it to the DLQ eventually."""


class BatchFailed(Exception):
    """Every record of the batch failed."""


def _loads(text: str) -> Any:
    # DynamoDB refuses floats: numbers with a fraction become Decimal.
    return json.loads(text, parse_float=Decimal)


def _parse(text: str) -> dict[str, Any]:
    """An order object, or {"text": ...} for any body that is not a JSON object."""
    try:
        data = _loads(text)
    except (TypeError, ValueError):
        return {"text": text}
    return data if isinstance(data, dict) else {"text": text}


def unwrap(body: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return (order or text message, SNS envelope or None). Raises PoisonMessage for a body
    marked poison (it can never be processed)."""
    data: Any = _parse(body)
    envelope = None
    if (
        isinstance(data, dict)
        and data.get("Type") == "Notification"
        and "TopicArn" in data
        and isinstance(data.get("Message"), str)
    ):
        envelope = data
        data = _parse(data["Message"])
    if data.get("poison") is True:
        raise PoisonMessage("message marked poison")
    return data, envelope


def order_item(record: dict[str, Any]) -> dict[str, Any]:
    """The DynamoDB item for one SQS record."""
    order, envelope = unwrap(record.get("body", ""))
    # The order's own id makes redelivery (and the same order via queue and topic) idempotent.
    order_id = order.get("id")
    item: dict[str, Any] = {
        "id": str(order_id) if order_id not in (None, "") else record["messageId"],
        "body": order,
        "kind": "message" if set(order) == {"text"} else "order",
        "status": "received",
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "source": "sqs",
        "message_id": record["messageId"],
    }
    for field in ORDER_FIELDS:
        if field in order:
            item[field] = order[field]
    if envelope is not None:
        item["via"] = "sns"
        item["topic_arn"] = envelope.get("TopicArn")
        item["sns_message_id"] = envelope.get("MessageId")
    receive_count = (record.get("attributes") or {}).get("ApproximateReceiveCount")
    if receive_count:
        item["receive_count"] = int(receive_count)
    return item


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    table = dynamodb.Table(os.environ["TABLE_NAME"])
    records = event.get("Records") or []
    failures: list[dict[str, str]] = []
    errors: list[str] = []
    for record in records:
        try:
            table.put_item(Item=order_item(record))
        except Exception as exc:  # one bad record must not fail the others
            failures.append({"itemIdentifier": record.get("messageId", "")})
            errors.append(f"{record.get('messageId')}: {type(exc).__name__}: {exc}")
    if records and len(failures) == len(records):
        raise BatchFailed("; ".join(errors))
    for line in errors:  # the function's log is where a learner looks for why
        print(f"failed record {line}")
    return {"batchItemFailures": failures}

"""Messaging lab: SNS subscriber that records every notification it receives.

Environment: NOTIFICATIONS_TABLE (key `id` = the SNS MessageId). When it is not set, the
notifications go to TABLE_NAME (the orders table) under the id `notification#<MessageId>`,
marked kind "notification", so one table can serve both (the API's order list skips them).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

dynamodb = boto3.resource("dynamodb")

SHARED_TABLE_PREFIX = "notification#"


def _table_and_prefix() -> tuple[Any, str]:
    own = os.environ.get("NOTIFICATIONS_TABLE", "").strip()
    if own:
        return dynamodb.Table(own), ""
    return dynamodb.Table(os.environ["TABLE_NAME"]), SHARED_TABLE_PREFIX


def _attributes(raw: dict[str, Any] | None) -> dict[str, str]:
    """{"k": {"Type": "String", "Value": "v"}} -> {"k": "v"}."""
    return {name: str((attr or {}).get("Value", "")) for name, attr in (raw or {}).items()}


def notification_item(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    sns = record.get("Sns") or {}
    message = sns.get("Message", "")
    message_id = sns.get("MessageId") or str(uuid.uuid4())  # a key may not be empty
    item: dict[str, Any] = {
        "id": prefix + message_id,
        "kind": "notification",
        "message_id": message_id,
        "topic_arn": sns.get("TopicArn", ""),
        "subject": sns.get("Subject") or "",
        "message": message,
        "attributes": _attributes(sns.get("MessageAttributes")),
        "sns_timestamp": sns.get("Timestamp", ""),
        "subscription_arn": record.get("EventSubscriptionArn", ""),
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    # Orders published by the API are JSON: keep their id so a notification can be matched
    # with the order the consumer wrote.
    try:
        parsed = json.loads(message, parse_float=Decimal)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("id") not in (None, ""):
        item["order_id"] = str(parsed["id"])
    return item


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    table, prefix = _table_and_prefix()
    ids = []
    for record in event.get("Records") or []:
        item = notification_item(record, prefix)
        table.put_item(Item=item)
        ids.append(item["id"])
    return {"recorded": len(ids), "ids": ids}

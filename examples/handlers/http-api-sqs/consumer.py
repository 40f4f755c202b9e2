"""Stores each order the queue delivers (SQS event source mapping, partial batch failures).

Environment: TABLE_NAME (orders, key `id`). A body that is not a JSON object with an `id` fails
alone: the others of the batch are kept, it is retried.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"], parse_float=Decimal)  # DynamoDB takes no floats
            if not isinstance(order, dict) or not order.get("id"):
                raise ValueError("an order is a JSON object with an id")
            table.put_item(Item={**order, "id": str(order["id"]), "message_id": record["messageId"]})
        except (ValueError, TypeError) as exc:
            print(f"message {record['messageId']} refused: {exc}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

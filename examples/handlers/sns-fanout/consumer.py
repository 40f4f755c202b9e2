"""A queue's consumer in the fan-out: records each order it gets as (order_id, CONSUMER).

The topic delivers raw (the message is the SQS body) and SNS's message attributes arrive as SQS
message attributes: the `region` the filter policies read is stored with the order. The queue's
ARN (eventSourceARN) says which subscription brought it. A body that is not a JSON object with an
`id` fails alone (partial batch failures).

Environment: TABLE_NAME, CONSUMER (eu, us, big).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
CONSUMER = os.environ["CONSUMER"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"], parse_float=Decimal)  # DynamoDB takes no floats
            if not isinstance(order, dict) or not order.get("id"):
                raise ValueError("an order is a JSON object with an id")
            region = (record.get("messageAttributes") or {}).get("region", {}).get("stringValue", "")
            order_id = str(order.pop("id"))
            table.put_item(
                Item={
                    **order,
                    "order_id": order_id,
                    "consumer": CONSUMER,
                    "region": region,
                    "queue": record["eventSourceARN"],
                }
            )
        except (ValueError, TypeError) as exc:
            print(f"message {record['messageId']} refused: {exc}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

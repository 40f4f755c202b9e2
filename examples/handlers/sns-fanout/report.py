"""Which consumers got each order: {"order_ids": [...]} -> {order_id: "big,us"} (the consumers'
names, sorted and joined; "" when none got it).

Environment: TABLE_NAME.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def consumers_of(order_id: str) -> list[str]:
    items, kwargs = [], {"KeyConditionExpression": Key("order_id").eq(order_id)}
    while True:
        page = table.query(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return sorted(str(i["consumer"]) for i in items)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {str(o): ",".join(consumers_of(str(o))) for o in event.get("order_ids", [])}

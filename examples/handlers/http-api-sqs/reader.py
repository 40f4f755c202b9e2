"""GET /orders/{id} of the HTTP API (payload format 2.0): the stored order, or 404.

Environment: TABLE_NAME. A 2.0 response may be a bare object (API Gateway answers 200 with it as
JSON); the 404 needs the full form.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def handler(event: dict[str, Any], context: Any) -> Any:
    order_id = event["pathParameters"]["id"]
    item = table.get_item(Key={"id": order_id}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"message": f"no order {order_id}"})}
    return {k: _plain(v) for k, v in item.items()}

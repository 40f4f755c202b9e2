"""Messaging lab: API Gateway (REST, proxy integration) front for orders.

  POST /orders        validate an order, send it to the queue and publish it to the topic -> 202
  GET  /orders        the orders the consumer has written to the table
  GET  /orders/{id}   one order, or 404

Environment: QUEUE_URL, TOPIC_ARN (either may be left out, not both), TABLE_NAME (read by the
GET routes), ALLOW_ORIGIN (CORS, default "*"; a comma-separated list echoes the caller's
Origin when it is in the list).
"""

from __future__ import annotations

import base64
import json
import os
import re
import traceback
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import boto3

sqs = boto3.client("sqs")
sns = boto3.client("sns")
dynamodb = boto3.resource("dynamodb")

ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ORDER_KEYS = {"id", "item", "quantity", "customer"}
MAX_TEXT = 200
# Items the notifier writes when it shares the orders table (see notifier.py).
NOTIFICATION_PREFIX = "notification#"


class BadRequest(Exception):
    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _allow_origin(event: dict[str, Any]) -> str:
    allowed = [o.strip() for o in os.environ.get("ALLOW_ORIGIN", "*").split(",") if o.strip()] or ["*"]
    if len(allowed) == 1:
        return allowed[0]
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = headers.get("origin", "")
    return origin if origin in allowed else allowed[0]


def response(event: dict[str, Any], status: int, body: Any = None) -> dict[str, Any]:
    origin = _allow_origin(event)
    headers = {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token",
    }
    if origin != "*":
        headers["Vary"] = "Origin"
    return {
        "statusCode": status,
        "headers": headers,
        "body": "" if body is None else json.dumps(body, default=_json_default),
        "isBase64Encoded": False,
    }


def parse_order(event: dict[str, Any]) -> dict[str, Any]:
    """The validated order from a POST body; raises BadRequest listing every problem."""
    raw = event.get("body")
    if raw in (None, ""):
        raise BadRequest("request body is required")
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")

    problems = [f"unknown field '{k}'" for k in sorted(set(data) - ORDER_KEYS)]
    item = data.get("item")
    if not isinstance(item, str) or not item.strip():
        problems.append("'item' must be a non-empty string")
    elif len(item) > MAX_TEXT:
        problems.append(f"'item' must be at most {MAX_TEXT} characters")
    quantity = data.get("quantity")
    # bool is an int in Python; JSON true is not a quantity.
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        problems.append("'quantity' must be a positive integer")
    customer = data.get("customer")
    if customer is not None and (not isinstance(customer, str) or len(customer) > MAX_TEXT):
        problems.append(f"'customer' must be a string of at most {MAX_TEXT} characters")
    order_id = data.get("id")
    if order_id is not None and (not isinstance(order_id, str) or not ID_PATTERN.match(order_id)):
        problems.append("'id' must be 1-64 characters of letters, digits, '.', '_', ':' or '-'")
    if problems:
        raise BadRequest("invalid order", problems)

    order: dict[str, Any] = {
        "id": order_id or str(uuid.uuid4()),
        "item": item.strip(),  # type: ignore[union-attr]
        "quantity": quantity,
    }
    if customer is not None:
        order["customer"] = customer
    order["created_at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    return order


def create_order(event: dict[str, Any]) -> dict[str, Any]:
    queue_url = os.environ.get("QUEUE_URL", "").strip()
    topic_arn = os.environ.get("TOPIC_ARN", "").strip()
    if not queue_url and not topic_arn:
        raise RuntimeError("neither QUEUE_URL nor TOPIC_ARN is set")
    order = parse_order(event)
    body = json.dumps(order, default=_json_default)
    result: dict[str, Any] = {"id": order["id"], "order": order}
    if queue_url:
        extra: dict[str, Any] = {}
        if queue_url.endswith(".fifo"):
            extra = {
                "MessageGroupId": order.get("customer") or "orders",
                "MessageDeduplicationId": order["id"],
            }
        sent = sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"source": {"DataType": "String", "StringValue": "api"}},
            **extra,
        )
        result["sqs_message_id"] = sent["MessageId"]
    if topic_arn:
        published = sns.publish(
            TopicArn=topic_arn,
            Message=body,
            Subject=f"New order {order['id']}"[:100],
            # Subscribers may filter on it (a subscription FilterPolicy on event_type).
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": "order_created"}},
        )
        result["sns_message_id"] = published["MessageId"]
    return response(event, 202, result)


def list_orders(event: dict[str, Any]) -> dict[str, Any]:
    params = event.get("queryStringParameters") or {}
    try:
        limit = int(params.get("limit", 100))
    except (TypeError, ValueError):
        raise BadRequest("'limit' must be an integer") from None
    if not 1 <= limit <= 1000:
        raise BadRequest("'limit' must be between 1 and 1000")
    table = dynamodb.Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    orders = [
        i
        for i in items
        if i.get("kind") != "notification" and not str(i["id"]).startswith(NOTIFICATION_PREFIX)
    ]
    orders.sort(key=lambda i: str(i.get("received_at", "")), reverse=True)
    return response(
        event, 200, {"orders": orders[:limit], "count": min(len(orders), limit), "total": len(orders)}
    )


def get_order(event: dict[str, Any], order_id: str) -> dict[str, Any]:
    table = dynamodb.Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": order_id}).get("Item")
    if not item or item.get("kind") == "notification":
        return response(event, 404, {"error": "order not found", "id": order_id})
    return response(event, 200, item)


def route(event: dict[str, Any]) -> tuple[str, str | None]:
    """("collection" | "item" | "", order id) from the proxy event."""
    path_params = event.get("pathParameters") or {}
    if path_params.get("id"):
        return "item", unquote(path_params["id"])
    parts = [p for p in str(event.get("path") or event.get("resource") or "").split("/") if p]
    if parts and parts[-1] == "orders":
        return "collection", None
    if len(parts) >= 2 and parts[-2] == "orders":
        return "item", unquote(parts[-1])
    return "", None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    method = str(event.get("httpMethod", "")).upper()
    if method == "OPTIONS":  # preflight, should API Gateway route it here
        return response(event, 204)
    kind, order_id = route(event)
    try:
        if kind == "collection" and method == "POST":
            return create_order(event)
        if kind == "collection" and method == "GET":
            return list_orders(event)
        if kind == "item" and method == "GET" and order_id:
            return get_order(event, order_id)
        if kind:
            return response(event, 405, {"error": f"method {method} not allowed here"})
        return response(event, 404, {"error": f"no route for {method} {event.get('path')}"})
    except BadRequest as exc:
        return response(event, 400, {"error": str(exc), "details": exc.details})
    except Exception as exc:  # the browser should see a JSON error with CORS, not a bare 502
        traceback.print_exc()
        return response(event, 500, {"error": "internal error", "detail": f"{type(exc).__name__}: {exc}"})

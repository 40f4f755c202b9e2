"""CRUD lab: items in a DynamoDB table behind an API Gateway REST API (Lambda proxy integration).

Routes (event["resource"] + httpMethod; a catch-all resource such as /{proxy+} routes on the path):
  GET    /items        all items -> 200 {"items": [...], "count": n}
                       ?sort=id|name (default id), ?order=asc|desc (default asc)
  POST   /items        {"id"?: str, "name": str, ...string/number/boolean/null fields}
                       -> 201 item (a uuid4 id when none is given); 409 if the id exists
  GET    /items/{id}   -> 200 item; 404
  PUT    /items/{id}   replaces the item's fields (name required, id from the path) -> 200 item; 404
  DELETE /items/{id}   -> 204; 404
  OPTIONS              -> 204 (in case the API sends preflights to the function)
Errors are {"message": ...}. Every response carries CORS headers from env ALLOW_ORIGIN ("*" by
default; several comma-separated origins: the request's Origin is echoed when listed).
Env: TABLE_NAME (required), ALLOW_ORIGIN, SCAN_PAGE_SIZE (items per Scan call; default: 1 MB pages).
"""

from __future__ import annotations

import base64
import binascii
import decimal
import json
import logging
import os
import re
import uuid
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import DYNAMODB_CONTEXT, Binary
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

_dynamodb = boto3.resource("dynamodb")

ALLOW_HEADERS = "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token"
ALLOW_METHODS = "GET,POST,PUT,DELETE,OPTIONS"
ROUTES: dict[str, tuple[str, ...]] = {"/items": ("GET", "POST"), "/items/{id}": ("GET", "PUT", "DELETE")}
MAX_ID_LENGTH = 1024  # DynamoDB allows 2048 bytes for a partition key; leave room for UTF-8
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# --- entry point -------------------------------------------------------------------------------


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        status, body, extra = _dispatch(event)
    except HttpError as err:
        status, body, extra = err.status, {"message": err.message}, err.headers
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        logger.exception("DynamoDB call failed")
        if code in _THROTTLED:
            status, body, extra = 503, {"message": f"the table is busy ({code}); retry"}, {"Retry-After": "1"}
        else:
            status, body, extra = 500, {"message": f"DynamoDB error: {code}"}, {}
    except Exception:
        logger.exception("unhandled error")
        status, body, extra = 500, {"message": "internal error"}, {}
    return _response(event, status, body, extra)


def _dispatch(event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    method = str(event.get("httpMethod") or "").upper()
    resource, params = _route_of(event)
    if resource is None:
        raise HttpError(404, f"no route for {method} {event.get('path') or event.get('resource')}")
    allowed = ROUTES[resource]
    if method == "OPTIONS":
        return 204, None, {}
    if method not in allowed:
        raise HttpError(405, f"{method} is not allowed on {resource}", {"Allow": ",".join(allowed)})
    if resource == "/items":
        return (200, _list_items(event), {}) if method == "GET" else (201, _create_item(event), {})
    item_id = params.get("id") or ""
    if not item_id:
        raise HttpError(400, "the path has no item id")
    if method == "GET":
        return 200, _get_item(item_id), {}
    if method == "PUT":
        return 200, _replace_item(item_id, event), {}
    _delete_item(item_id)
    return 204, None, {}


def _route_of(event: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    params = dict(event.get("pathParameters") or {})
    resource = event.get("resource")
    if resource in ROUTES:
        return resource, params
    # A catch-all resource (/{proxy+}) or a hand-made event: match the path itself.
    path = str(event.get("path") or "").rstrip("/")
    if path == "/items":
        return "/items", params
    match = re.fullmatch(r"/items/([^/]+)", path)
    if match:
        return "/items/{id}", {"id": params.get("id") or match.group(1)}
    return None, params


# --- operations --------------------------------------------------------------------------------


def _table() -> Any:
    name = os.environ.get("TABLE_NAME")
    if not name:
        raise HttpError(500, "the function is misconfigured: TABLE_NAME is not set")
    return _dynamodb.Table(name)


def _list_items(event: dict[str, Any]) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    sort = query.get("sort") or "id"
    order = query.get("order") or "asc"
    if sort not in ("id", "name"):
        raise HttpError(400, f"sort must be 'id' or 'name', not {sort!r}")
    if order not in ("asc", "desc"):
        raise HttpError(400, f"order must be 'asc' or 'desc', not {order!r}")
    items = _scan_all(_table())
    if sort == "name":
        items.sort(key=lambda it: (str(it.get("name", "")).casefold(), _natural(it.get("id"))))
    else:
        items.sort(key=lambda it: _natural(it.get("id")))
    if order == "desc":
        items.reverse()
    return {"items": items, "count": len(items)}


def _scan_all(table: Any) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {}
    page_size = os.environ.get("SCAN_PAGE_SIZE")
    if page_size:
        kwargs["Limit"] = int(page_size)
    items: list[dict[str, Any]] = []
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        last_key = page.get("LastEvaluatedKey")
        if not last_key:
            return items
        kwargs["ExclusiveStartKey"] = last_key


def _natural(value: Any) -> tuple[int, int, str]:
    """Numeric ids in numeric order ("2" before "10"), then the others alphabetically."""
    text = str(value if value is not None else "")
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


def _create_item(event: dict[str, Any]) -> dict[str, Any]:
    body = _json_object(event)
    item = _checked_fields(body)
    if "id" in body:
        item["id"] = _checked_id(body["id"])
    else:
        item["id"] = str(uuid.uuid4())
    try:
        _table().put_item(
            Item=item, ConditionExpression="attribute_not_exists(#id)", ExpressionAttributeNames={"#id": "id"}
        )
    except ClientError as err:
        if _code(err) == "ConditionalCheckFailedException":
            raise HttpError(409, f"item {item['id']!r} already exists") from None
        _raise_if_rejected(err)
        raise
    return item


def _get_item(item_id: str) -> dict[str, Any]:
    item = _table().get_item(Key={"id": item_id}).get("Item")
    if item is None:
        raise HttpError(404, f"item {item_id!r} not found")
    return item


def _replace_item(item_id: str, event: dict[str, Any]) -> dict[str, Any]:
    body = _json_object(event)
    if "id" in body and body["id"] != item_id:
        raise HttpError(400, f"the body's id {body['id']!r} does not match the path's id {item_id!r}")
    item = _checked_fields(body)
    item["id"] = item_id
    try:
        _table().put_item(
            Item=item, ConditionExpression="attribute_exists(#id)", ExpressionAttributeNames={"#id": "id"}
        )
    except ClientError as err:
        if _code(err) == "ConditionalCheckFailedException":
            raise HttpError(404, f"item {item_id!r} not found") from None
        _raise_if_rejected(err)
        raise
    return item


def _delete_item(item_id: str) -> None:
    try:
        _table().delete_item(
            Key={"id": item_id},
            ConditionExpression="attribute_exists(#id)",
            ExpressionAttributeNames={"#id": "id"},
        )
    except ClientError as err:
        if _code(err) == "ConditionalCheckFailedException":
            raise HttpError(404, f"item {item_id!r} not found") from None
        raise


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _raise_if_rejected(err: ClientError) -> None:
    # DynamoDB's own validation (e.g. an item over 400 KB) is the caller's mistake, not ours.
    if _code(err) == "ValidationException":
        message = err.response.get("Error", {}).get("Message", "")
        raise HttpError(400, f"DynamoDB rejected the item: {message}") from None


# --- input -------------------------------------------------------------------------------------


def _json_object(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("body")
    if raw is None or raw == "":
        raise HttpError(400, "the request body is empty; send a JSON object")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise HttpError(400, "the request body is not base64-encoded UTF-8 text") from None
    try:
        # Decimal for fractions: DynamoDB stores numbers exactly and boto3 refuses floats.
        value = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as err:
        raise HttpError(400, f"the request body is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise HttpError(400, f"the request body must be a JSON object, not {_json_type(value)}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _checked_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The item's attributes from a request body (without id): name required, scalars only."""
    name = body.get("name")
    if "name" not in body:
        raise HttpError(400, "name is required")
    if not isinstance(name, str):
        raise HttpError(400, f"name must be a string, not {_json_type(name)}")
    if not name.strip():
        raise HttpError(400, "name must not be empty")
    item: dict[str, Any] = {}
    for key, value in body.items():
        if key == "id":
            continue
        if not key:
            raise HttpError(400, "field names must not be empty")
        if isinstance(value, dict | list):
            raise HttpError(
                400, f"field {key!r} must be a string, number, boolean or null, not {_json_type(value)}"
            )
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            value = _dynamodb_number(key, value)
        item[key] = value
    item["name"] = name.strip()
    return item


def _dynamodb_number(key: str, value: int | Decimal) -> Decimal:
    try:
        return DYNAMODB_CONTEXT.create_decimal(value)
    except decimal.DecimalException:
        raise HttpError(
            400, f"field {key!r}: {value} does not fit DynamoDB numbers (38 digits, 1E-130 to 1E+126)"
        ) from None


def _checked_id(value: Any) -> str:
    if not isinstance(value, str):
        raise HttpError(400, f"id must be a string, not {_json_type(value)}")
    if not value.strip():
        raise HttpError(400, "id must not be empty")
    if "/" in value:
        raise HttpError(400, "id must not contain '/' (it is used in the URL /items/{id})")
    if len(value) > MAX_ID_LENGTH:
        raise HttpError(400, f"id is longer than {MAX_ID_LENGTH} characters")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- output ------------------------------------------------------------------------------------


def _response(event: dict[str, Any], status: int, body: Any, extra: dict[str, str]) -> dict[str, Any]:
    headers = _cors_headers(event)
    headers.update(extra)
    if body is None:
        text = ""
    else:
        headers["Content-Type"] = "application/json; charset=utf-8"
        text = json.dumps(body, default=_json_default, ensure_ascii=False)
    return {"statusCode": status, "headers": headers, "body": text, "isBase64Encoded": False}


def _json_default(value: Any) -> Any:
    """DynamoDB's types: Decimal numbers, sets, Binary."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _cors_headers(event: dict[str, Any]) -> dict[str, str]:
    origins = [o.strip().rstrip("/") for o in os.environ.get("ALLOW_ORIGIN", "*").split(",") if o.strip()]
    headers = {"Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Allow-Methods": ALLOW_METHODS}
    if not origins or "*" in origins:
        headers["Access-Control-Allow-Origin"] = "*"
    elif len(origins) == 1:
        headers["Access-Control-Allow-Origin"] = origins[0]
    else:
        # The header holds one origin: echo the caller's when listed; the answer depends on it.
        origin = _header(event, "Origin")
        listed = origin is not None and origin.rstrip("/") in origins
        headers["Access-Control-Allow-Origin"] = origin if listed and origin else origins[0]
        headers["Vary"] = "Origin"
    return headers


def _header(event: dict[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted and value is not None:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return str(values[0])
    return None

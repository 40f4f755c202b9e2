"""Upload lab: files into S3 through API Gateway (Lambda proxy integration), metadata in DynamoDB.

Routes (event["resource"] + httpMethod; a catch-all resource such as /{proxy+} routes on the path):
  POST /files        either JSON {"filename": str, "content": base64, "content_type"?: str}
                     or the raw file as the body with ?name=FILENAME (Content-Type header = the
                     file's type; binary bodies arrive base64-encoded when the API lists binary
                     media types) -> 201 row; 413 over MAX_UPLOAD_BYTES; 400 on bad input
  GET  /files        -> 200 {"files": [...newest first], "count": n}
  GET  /files/{id}   -> 200 row + download_url (presigned GET, 300 s); 404
  OPTIONS            -> 204 (in case the API sends preflights to the function)
The object goes to uploads/<id>/<filename>; the row holds id, key, filename, size,
content_type, sha256 and uploaded_at (ISO 8601 UTC). Errors are {"message": ...}; every response
carries CORS headers from env ALLOW_ORIGIN ("*" by default; several comma-separated origins:
the request's Origin is echoed when listed).
Env: BUCKET_NAME, TABLE_NAME (required), MAX_UPLOAD_BYTES (default 5 MiB), ALLOW_ORIGIN,
SCAN_PAGE_SIZE (items per Scan call; default: 1 MB pages).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import mimetypes
import os
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

_s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
_dynamodb = boto3.resource("dynamodb")

ALLOW_HEADERS = "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token"
ALLOW_METHODS = "GET,POST,OPTIONS"
ROUTES: dict[str, tuple[str, ...]] = {"/files": ("GET", "POST"), "/files/{id}": ("GET",)}
DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
URL_EXPIRY_SECONDS = 300
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;.*)?")
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
        operation = err.operation_name
        logger.exception("AWS call failed")
        if code in _THROTTLED:
            status, body, extra = (
                503,
                {"message": f"{operation} is throttled ({code}); retry"},
                {"Retry-After": "1"},
            )
        else:
            status, body, extra = 500, {"message": f"{operation} failed: {code}"}, {}
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
    if resource == "/files/{id}":
        return 200, _get_file(params.get("id") or ""), {}
    if method == "GET":
        return 200, _list_files(), {}
    return 201, _upload(event), {}


def _route_of(event: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    params = dict(event.get("pathParameters") or {})
    resource = event.get("resource")
    if resource in ROUTES:
        return resource, params
    # A catch-all resource (/{proxy+}) or a hand-made event: match the path itself.
    path = str(event.get("path") or "").rstrip("/")
    if path == "/files":
        return "/files", params
    match = re.fullmatch(r"/files/([^/]+)", path)
    if match:
        return "/files/{id}", {"id": params.get("id") or match.group(1)}
    return None, params


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise HttpError(500, f"the function is misconfigured: {name} is not set")
    return value


# --- POST /files -------------------------------------------------------------------------------


def _upload(event: dict[str, Any]) -> dict[str, Any]:
    limit = _max_upload_bytes()
    name = (event.get("queryStringParameters") or {}).get("name")
    if name is not None:
        filename = _clean_filename(name, "the name parameter")
        data = _raw_body(event, limit)
        content_type = _header(event, "Content-Type")
    else:
        payload = _json_payload(event)
        if "filename" not in payload:
            raise HttpError(400, "filename is required")
        filename = _clean_filename(payload["filename"], "filename")
        if "content" not in payload:
            raise HttpError(400, "content is required (the file's bytes, base64-encoded)")
        if not isinstance(payload["content"], str):
            raise HttpError(400, "content must be a base64 string")
        data = _decode_base64(payload["content"], limit, "content")
        content_type = payload.get("content_type")
        if content_type is not None and not isinstance(content_type, str):
            raise HttpError(400, "content_type must be a string")
    if not data:
        raise HttpError(400, "the file is empty")
    content_type = _checked_content_type(content_type, filename)

    file_id = str(uuid.uuid4())
    row = {
        "id": file_id,
        "key": f"uploads/{file_id}/{filename}",
        "filename": filename,
        "size": len(data),
        "content_type": content_type,
        "sha256": hashlib.sha256(data).hexdigest(),
        "uploaded_at": _now().isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }
    bucket, table = _env("BUCKET_NAME"), _dynamodb.Table(_env("TABLE_NAME"))
    _s3.put_object(
        Bucket=bucket, Key=row["key"], Body=data, ContentType=content_type, Metadata={"sha256": row["sha256"]}
    )
    try:
        table.put_item(Item=row)
    except Exception:
        # A file without its row is invisible to the API: remove it rather than leak it.
        try:
            _s3.delete_object(Bucket=bucket, Key=row["key"])
        except ClientError:
            logger.exception("could not remove %s after the metadata write failed", row["key"])
        raise
    return row


def _now() -> datetime:
    return datetime.now(UTC)


def _max_upload_bytes() -> int:
    raw = os.environ.get("MAX_UPLOAD_BYTES", "")
    if not raw:
        return DEFAULT_MAX_UPLOAD_BYTES
    if not raw.strip().isdigit() or int(raw) <= 0:
        raise HttpError(
            500, f"the function is misconfigured: MAX_UPLOAD_BYTES={raw!r} is not a positive integer"
        )
    return int(raw)


def _too_large(size: int | str, limit: int) -> HttpError:
    return HttpError(
        413, f"the file is {size} bytes; uploads are limited to {limit} bytes ({limit / 2**20:.2f} MiB)"
    )


def _raw_body(event: dict[str, Any], limit: int) -> bytes:
    body = event.get("body")
    if body is None or body == "":
        raise HttpError(400, "the request body is empty; send the file's bytes")
    if event.get("isBase64Encoded"):
        return _decode_base64(body, limit, "the request body")
    data = body.encode("utf-8")
    if len(data) > limit:
        raise _too_large(len(data), limit)
    return data


def _decode_base64(text: str, limit: int, what: str) -> bytes:
    compact = "".join(text.split())  # `base64` tools wrap lines; the alphabet has no whitespace
    # Refuse before decoding: a base64 text of n characters holds at least 3n/4 - 2 bytes.
    if len(compact) * 3 // 4 - 2 > limit:
        raise _too_large(f"at least {len(compact) * 3 // 4 - 2}", limit)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, f"{what} is not valid base64") from None
    if len(data) > limit:
        raise _too_large(len(data), limit)
    return data


def _json_payload(event: dict[str, Any]) -> dict[str, Any]:
    raw: str | bytes | None = event.get("body")
    if raw is None or raw == "":
        raise HttpError(
            400, 'the request body is empty; send JSON {"filename", "content"} or the raw file with ?name='
        )
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "the request body is not valid base64") from None
    try:
        value = json.loads(raw)
    except ValueError:
        raise HttpError(
            400,
            'the request body is not JSON: send JSON {"filename", "content": base64} '
            "or the raw file with ?name=FILENAME",
        ) from None
    if not isinstance(value, dict):
        raise HttpError(400, 'the request body must be a JSON object {"filename", "content"}')
    return value


def _clean_filename(raw: Any, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise HttpError(400, f"{what} must be a non-empty string")
    # Keep the last path component only: "../../x" or "C:\\dir\\x" must not shape the key.
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", ".."):
        raise HttpError(400, f"{what} {raw!r} does not name a file")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise HttpError(400, f"{what} must not contain control characters")
    if len(name.encode("utf-8")) > 255:
        raise HttpError(400, f"{what} is longer than 255 bytes")
    return name


def _checked_content_type(value: str | None, filename: str) -> str:
    if value is None or not value.strip():
        return mimetypes.guess_type(filename)[0] or "application/octet-stream"
    value = value.strip()
    if len(value) > 255 or not _MIME_TYPE.fullmatch(value):
        raise HttpError(400, f"content_type {value!r} is not a media type like 'image/png'")
    return value


# --- GET /files, GET /files/{id} ---------------------------------------------------------------


def _list_files() -> dict[str, Any]:
    table = _dynamodb.Table(_env("TABLE_NAME"))
    kwargs: dict[str, Any] = {}
    page_size = os.environ.get("SCAN_PAGE_SIZE")
    if page_size:
        kwargs["Limit"] = int(page_size)
    rows: list[dict[str, Any]] = []
    while True:
        page = table.scan(**kwargs)
        rows.extend(page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    rows.sort(key=lambda r: (str(r.get("uploaded_at", "")), str(r.get("id", ""))), reverse=True)
    return {"files": rows, "count": len(rows)}


def _get_file(file_id: str) -> dict[str, Any]:
    if not file_id:
        raise HttpError(400, "the path has no file id")
    row = _dynamodb.Table(_env("TABLE_NAME")).get_item(Key={"id": file_id}).get("Item")
    if row is None:
        raise HttpError(404, f"file {file_id!r} not found")
    url = _s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": _env("BUCKET_NAME"),
            "Key": row["key"],
            "ResponseContentDisposition": _attachment(str(row.get("filename") or "download")),
        },
        ExpiresIn=URL_EXPIRY_SECONDS,
    )
    return {**row, "download_url": url, "download_expires_in": URL_EXPIRY_SECONDS}


def _attachment(filename: str) -> str:
    # RFC 6266: an ASCII fallback for old clients, the exact UTF-8 name for the rest.
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


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
    if isinstance(value, Decimal):  # DynamoDB returns every number as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
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

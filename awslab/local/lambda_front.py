"""Lambda API requests the local cloud refuses itself, as AWS does before any function runs (moto
checks none of them):

- an Invoke payload over Lambda's limits: 6 MB (6,291,456 bytes) for a synchronous invoke, 1 MB
  for an asynchronous (`Event`) one (256 KB until AWS raised it in 2025), 256 KB for the deprecated
  InvokeAsync API; 413 RequestEntityTooLargeException with AWS's messages;
- a CreateFunction or UpdateFunctionConfiguration whose environment sets a variable Lambda
  reserves (AWS_REGION, AWS_SESSION_TOKEN...): 400 InvalidParameterValueException.

The response payload limit is the executor's (awslab.local.executor: Function.ResponseSizeTooLarge).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from awslab.lambda_env import RESERVED_ENV

SYNC_LIMIT = 6291456
EVENT_LIMIT = 1048576
INVOKE_ASYNC_LIMIT = 262144
# Paths of the Lambda API (PATH_INFO is already percent-decoded: an ARN's colons, never a slash).
_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations/?$")
_INVOKE_STREAM = re.compile(r"^/2021-11-15/functions/[^/]+/response-streaming-invocations/?$")
_INVOKE_ASYNC = re.compile(r"^/2014-11-13/functions/[^/]+/invoke-async/?$")
_CREATE = re.compile(r"^/2015-03-31/functions/?$")
_CONFIGURE = re.compile(r"^/2015-03-31/functions/[^/]+/configuration/?$")

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def lambda_front(app: WsgiApp) -> WsgiApp:
    """`app` (moto's dispatcher, or a layer in front of it) behind Lambda's own checks."""

    def front(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        refusal = check(environ)
        if refusal is None:
            return app(environ, start_response)
        status, code, message = refusal
        body = json.dumps({"Type": "User", "message": message}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   ("x-amzn-ErrorType", code), ("x-amzn-RequestId", str(uuid.uuid4()))]  # fmt: skip
        start_response(status, headers)
        return [body]

    return front


def check(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(HTTP status, error code, message) of AWS's refusal of this request, None if it passes."""
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("PATH_INFO", "")
    if method != "POST" and method != "PUT":
        return None
    if method == "POST" and (_INVOKE.match(path) or _INVOKE_STREAM.match(path) or _INVOKE_ASYNC.match(path)):
        return _payload_refusal(environ, path)
    if (method == "POST" and _CREATE.match(path)) or (method == "PUT" and _CONFIGURE.match(path)):
        return _reserved_refusal(environ)
    return None


def _payload_refusal(environ: dict[str, Any], path: str) -> tuple[str, str, str] | None:
    if _INVOKE_ASYNC.match(path):
        limit, operation = INVOKE_ASYNC_LIMIT, "InvokeAsync"
    elif environ.get("HTTP_X_AMZ_INVOCATION_TYPE") == "Event":
        limit, operation = EVENT_LIMIT, ""
    else:
        limit, operation = SYNC_LIMIT, "InvokeFunction"
    size = _content_length(environ)
    if size is None:
        size = _chunked_size(environ, limit)
    if size is None or size <= limit:
        return None
    if operation:
        message = f"Request must be smaller than {limit} bytes for the {operation} operation"
    else:
        message = f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"
    return "413 Request Entity Too Large", "RequestEntityTooLargeException", message


def _chunked_size(environ: dict[str, Any], limit: int) -> int | None:
    """The size of a body sent without Content-Length (chunked), which must not slip past the
    limit: up to `limit` bytes are kept for the app behind; past it the rest is only counted."""
    if not environ.get("wsgi.input_terminated"):  # the server cannot tell where it ends
        return None
    stream = environ["wsgi.input"]
    body = stream.read(limit + 1)
    if len(body) <= limit:
        environ["wsgi.input"] = io.BytesIO(body)  # the app behind reads the same bytes
        environ["CONTENT_LENGTH"] = str(len(body))
        return len(body)
    size = len(body)
    while chunk := stream.read(1 << 20):  # refused: drained, to say how large it was
        size += len(chunk)
    return size


def _reserved_refusal(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    size = _content_length(environ)
    if not size:
        return None
    body = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(body)  # for the app behind: it reads the same bytes
    try:
        variables = (json.loads(body).get("Environment") or {}).get("Variables") or {}
    except (ValueError, AttributeError):  # not this check's business: moto answers it
        return None
    reserved = [key for key in variables if key in RESERVED_ENV]
    if not reserved:
        return None
    message = ("Lambda was unable to configure your environment variables because the environment variables "
               "you have provided contains reserved keys that are currently not supported for modification. "
               f"Reserved keys used in this request: {', '.join(reserved)}")  # fmt: skip
    return "400 Bad Request", "InvalidParameterValueException", message


def _content_length(environ: dict[str, Any]) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:  # absent (chunked): not checked
        return None

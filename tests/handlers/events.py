"""Builders shared by the handler tests: API Gateway REST proxy events (v1) and fresh imports of
handler modules from `handlers/<lab>/`.

    from tests.handlers.events import proxy_event, load_handler, body_json
    app = load_handler("crud")                     # inside the mocked_aws fixture
    resp = app.handler(proxy_event("GET", "/items/1", path_params={"id": "1"}), None)
    assert resp["statusCode"] == 200 and body_json(resp)["id"] == "1"
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"


def proxy_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | bytes | dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
    is_base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (v1) as the Lambda receives it.

    `body`: a dict or list is sent as JSON (and Content-Type application/json is added unless
    given); bytes are base64-encoded when `is_base64`, else decoded as UTF-8; a str is passed
    as is (with `is_base64` it must already be base64). `resource` defaults to `path` with
    each path parameter's value replaced by `{name}` ("/items/1" + {"id": "1"} ->
    "/items/{id}").
    """
    hdrs = dict(headers or {})
    if isinstance(body, dict | list):
        body = json.dumps(body)
        if not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
    elif isinstance(body, bytes):
        body = base64.b64encode(body).decode("ascii") if is_base64 else body.decode("utf-8")
    if resource is None:
        resource = _resource_of(path, path_params or {})
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_params) if path_params else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/test{path}",
            "stage": "test",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "testapi",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": bool(is_base64 and body is not None),
    }


def _resource_of(path: str, params: dict[str, str]) -> str:
    segments = path.split("/")
    for name, value in params.items():
        # Right to left: parameters sit at the end of the path in these labs ("/items/{id}").
        for i in range(len(segments) - 1, 0, -1):
            if unquote(segments[i]) == value:
                segments[i] = "{" + name + "}"
                break
    return "/".join(segments)


def load_handler(lab: str, module: str = "app") -> ModuleType:
    """Import `handlers/<lab>/<module>.py` afresh (module-level boto3 clients are created now, so
    call it inside the `mocked_aws` fixture, after setting the environment). Sibling modules
    of the handler directory import as they would on Lambda; none stays in sys.modules, so
    every lab's `app` is its own."""
    directory = HANDLERS / lab
    if not (directory / f"{module}.py").is_file():
        raise FileNotFoundError(directory / f"{module}.py")
    before = set(sys.modules)
    sys.path.insert(0, str(directory))
    sys.modules.pop(module, None)
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(directory))
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if name == module or Path(origin).resolve().is_relative_to(directory):
                del sys.modules[name]


def body_json(response: dict[str, Any]) -> Any:
    """The JSON body of a proxy response."""
    return json.loads(response["body"])


class LambdaContext:
    """The attributes handlers read from Lambda's context object."""

    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 128
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000

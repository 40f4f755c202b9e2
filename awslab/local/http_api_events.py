"""Payload format 2.0, the pure parts shared by HTTP APIs and Lambda function URLs: no server, no moto.

The event API Gateway (HTTP API) and function URLs send a Lambda, the response they read back
(with the 2.0 format's inference: a function that returns anything but an object with a
`statusCode` answers 200 with that JSON as the body), CORS as both services do it themselves
(preflights answered without the function; their own CORS headers on every answer, the
function's dropped), and their plain JSON errors.

The shapes follow AWS's documentation ("Working with AWS Lambda proxy integrations for HTTP
APIs", "Invoking Lambda function URLs"): header names lowercased, a repeated header or query
parameter one comma-joined value, `cookie` headers moved to `cookies`, absent maps left out,
bodies that are not text base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from awslab.local.apigw_proxy import (
    Headers,
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    header_text,
    header_value,
)

DEFAULT_ROUTE = "$default"
# Media types both services pass as text; anything else is base64 (as AWS does with form posts).
_TEXT_MARKERS = ("json", "xml", "javascript", "yaml")


def is_text(content_type: str | None, body: bytes) -> bool:
    """Whether a request body reaches the function as text (else base64): a text media type and
    UTF-8 content."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not (media.startswith("text/") or any(m in media for m in _TEXT_MARKERS)):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def v2_headers(headers: Headers) -> tuple[dict[str, str], list[str]]:
    """(headers, cookies) of a 2.0 event: names lowercased, repeated headers joined with commas;
    every `cookie` header split into the cookies list instead."""
    out: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        out[key] = f"{out[key]},{value}" if key in out else value
    return out, cookies


def query_parameters(query_string: str) -> dict[str, str]:
    """Decoded query parameters, a repeated one comma-joined (names are case-sensitive)."""
    out: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def request_time(now: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


@dataclass(frozen=True)
class EventContext:
    """Who received the request: an HTTP API stage or a function URL."""

    account_id: str
    api_id: str  # the API id, or the function URL's id
    domain_name: str
    request_id: str
    stage: str = DEFAULT_ROUTE
    authorizer: dict[str, Any] | None = None


def build_v2_event(
    req: HttpRequest,
    ctx: EventContext,
    *,
    route_key: str,
    raw_path: str,
    now: float,
    path_parameters: Mapping[str, str] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The 2.0 event for `req` (its headers are what the service passes on)."""
    headers, cookies = v2_headers(req.headers)
    context: dict[str, Any] = {
        "accountId": ctx.account_id,
        "apiId": ctx.api_id,
        **({"authorizer": ctx.authorizer} if ctx.authorizer is not None else {}),
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.domain_name.split(".", 1)[0],
        "http": {
            "method": req.method,
            "path": raw_path,
            "protocol": req.protocol,
            "sourceIp": req.source_ip,
            "userAgent": header_value(req.headers, "User-Agent") or "",
        },
        "requestId": ctx.request_id,
        "routeKey": route_key,
        "stage": ctx.stage,
        "time": request_time(now),
        "timeEpoch": int(now * 1000),
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": req.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_parameters(req.query_string)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = context
    binary = False
    if req.body:
        if is_text(header_value(req.headers, "Content-Type"), req.body):
            event["body"] = req.body.decode("utf-8")
        else:
            event["body"], binary = base64.b64encode(req.body).decode("ascii"), True
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = binary
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


# ---- the response ------------------------------------------------------------------------
def map_v2_response(payload: bytes | str) -> HttpResponse:
    """The HTTP answer for a function's 2.0 response. An object with `statusCode` is read as
    {statusCode, headers, cookies, body, isBase64Encoded}; anything else valid JSON is inferred:
    200, application/json, the JSON as the body (a string as its text)."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MalformedProxyResponse("the function did not return JSON") from exc
    if not (isinstance(data, dict) and "statusCode" in data):
        inferred = data if isinstance(data, str) else text
        return HttpResponse(200, [("content-type", "application/json")], inferred.encode("utf-8"))
    status = data["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode must be an HTTP status, got {status!r}")
    raw_headers = data.get("headers") or {}
    cookies = data.get("cookies") or []
    if not isinstance(raw_headers, dict) or not isinstance(cookies, list):
        raise MalformedProxyResponse("headers must be an object and cookies a list")
    headers: Headers = [(k, header_text(k, v)) for k, v in raw_headers.items() if v is not None]
    headers += [("set-cookie", header_text("cookies", c)) for c in cookies]
    raw_body = data.get("body")
    if raw_body is not None and not isinstance(raw_body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(raw_body).__name__}")
    body = (raw_body or "").encode("utf-8")
    flag = data.get("isBase64Encoded", False)
    if (flag is True or (isinstance(flag, str) and flag.lower() == "true")) and raw_body:
        try:
            body = base64.b64decode(raw_body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedProxyResponse("isBase64Encoded is true but body is not base64") from exc
    if header_value(headers, "Content-Type") is None:
        headers.append(("content-type", "application/json"))
    return HttpResponse(status, headers, body)


def json_error(
    status: int, message: str | None, *, key: str = "message", extra: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    """The services' own JSON errors: {"message": "Not Found"} (HTTP APIs), {"Message": ...}
    (function URLs)."""
    body = json.dumps({key: message}, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, [("content-type", "application/json"), *extra], body)


# ---- CORS --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cors:
    """A CORS configuration as both services keep it (origins may hold `*` and wildcards)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Cors | None:
        """From API Gateway's corsConfiguration (camelCase) or Lambda's Cors (PascalCase)."""
        if not config:
            return None

        def get(name: str) -> Any:
            return config.get(name[0].lower() + name[1:], config.get(name))

        def strings(name: str) -> tuple[str, ...]:
            return tuple(str(v) for v in get(name) or ())

        age = get("MaxAge")
        return cls(
            allow_origins=strings("AllowOrigins"),
            allow_methods=strings("AllowMethods"),
            allow_headers=strings("AllowHeaders"),
            expose_headers=strings("ExposeHeaders"),
            max_age=int(age) if age is not None else None,
            allow_credentials=bool(get("AllowCredentials")),
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, None if not allowed."""
        if not origin:
            return None
        if "*" in self.allow_origins:
            return "*"
        low = origin.lower()
        return origin if any(fnmatch.fnmatchcase(low, o.lower()) for o in self.allow_origins) else None


def is_preflight(req: HttpRequest) -> bool:
    return (
        req.method == "OPTIONS"
        and header_value(req.headers, "Origin") is not None
        and header_value(req.headers, "Access-Control-Request-Method") is not None
    )


def _join(values: Iterable[str]) -> str:
    return ",".join(values)


def _origin_headers(cors: Cors, req: HttpRequest) -> Headers:
    """The origin (and credentials) headers for an allowed origin; none when it is not allowed."""
    origin = cors.allowed_origin(header_value(req.headers, "Origin"))
    if origin is None:
        return []
    headers: Headers = [("access-control-allow-origin", origin)]
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    return headers


def preflight_response(cors: Cors, req: HttpRequest, extra: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    """The service's own answer to a preflight: 204, the CORS headers when the origin is allowed."""
    headers = _origin_headers(cors, req)
    if headers:
        if cors.allow_methods:
            headers.append(("access-control-allow-methods", _join(cors.allow_methods)))
        if cors.allow_headers:
            headers.append(("access-control-allow-headers", _join(cors.allow_headers)))
        if cors.max_age is not None:
            headers.append(("access-control-max-age", str(cors.max_age)))
    return HttpResponse(204, [*headers, *extra], b"")


def with_cors(cors: Cors | None, req: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A response as the service sends it: the integration's own Access-Control-* headers are
    ignored when CORS is configured, and the configured ones added for an allowed origin."""
    if cors is None:
        return response
    headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
    allowed = _origin_headers(cors, req)
    if allowed:
        headers.extend(allowed)
        if cors.expose_headers:
            headers.append(("access-control-expose-headers", _join(cors.expose_headers)))
    return HttpResponse(response.status, headers, response.body)

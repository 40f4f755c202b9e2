"""The pure parts of the local cloud's API Gateway front (gateway.py): no server, no moto.

Route matching on the (resource, method) pair, the ids API Gateway gives a request, the headers it
passes on, the REST Lambda proxy event (format 1.0), the proxy response mapped back to HTTP, MOCK
integration answers, AWS's error responses customised by the API's gateway responses, and the
Lambda resource-policy check for apigateway.amazonaws.com.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from awslab.local import iam_match

Headers = list[tuple[str, str]]

MISSING_TOKEN = "Missing Authentication Token"
INTERNAL_ERROR = "Internal server error"
# x-amzn-ErrorType of API Gateway's own answers, as its responses carry it.
_ERROR_TYPES = {
    MISSING_TOKEN: "MissingAuthenticationTokenException",
    INTERNAL_ERROR: "InternalServerErrorException",
}
TRACE_HEADER = "X-Amzn-Trace-Id"
# environ key where the local cloud's request handler (http_handler) leaves the request's header
# lines: a list of (name as sent, value).
RAW_HEADERS = "awslab.raw_headers"
_PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
# Caller identity fields an unauthenticated request has, all null.
_IDENTITY_NULLS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


# ---- routing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    resource_path: str  # the matched resource, e.g. "/items/{id}"
    method_key: str  # the method that serves it: the request's verb or "ANY"
    path_parameters: dict[str, str]


def _match_template(template: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match raw (percent-encoded) path segments against a resource path; returns the rank of the
    match (per segment: literal 2, {param} 1, {greedy+} 0) and the decoded parameters."""
    parts = [p for p in template.split("/") if p]
    rank: list[int] = []
    params: dict[str, str] = {}
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[i:]
            if not rest:  # a greedy parameter needs at least one segment
                return None
            params[part[1:-2]] = unquote("/".join(rest))
            rank.append(0)
            return tuple(rank), params
        if i >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[i]:
                return None
            params[part[1:-1]] = unquote(segments[i])
            rank.append(1)
        elif unquote(segments[i]) == part:
            rank.append(2)
        else:
            return None
    if len(parts) != len(segments):
        return None
    return tuple(rank), params


def match_route(resources: Mapping[str, Iterable[str]], path: str, http_method: str) -> Route | None:
    """The resource and method that serve `http_method path` (raw, stage-relative path).

    `resources` maps each resource path to its declared methods. As measured on AWS, routing is
    on the pair: the most specific resource (literal over {param} over {greedy+}) that declares
    the verb or ANY wins; a more specific resource without it does not shadow a less specific one.
    """
    trimmed = path[:-1] if path.endswith("/") and path != "/" else path  # AWS ignores a trailing slash
    segments = [s for s in trimmed.split("/")[1:]] if trimmed != "/" else []
    best: tuple[tuple[int, ...], Route] | None = None
    verb = http_method.upper()
    for template, methods in resources.items():
        declared = set(methods)
        key = verb if verb in declared else "ANY" if "ANY" in declared else None
        if key is None:
            continue
        matched = _match_template(template, segments)
        if matched is None:
            continue
        rank, params = matched
        # Equal ranks only differ by the verb: an explicit verb beats ANY.
        score = (rank, 1 if key == verb else 0)
        if best is None or score > best[0]:
            best = (score, Route(template, key, params))  # type: ignore[assignment]
    return best[1] if best else None


# ---- what API Gateway adds to a request ---------------------------------------------------------
@dataclass(frozen=True)
class RequestIds:
    """The ids API Gateway gives one request."""

    request_id: str  # a UUID: requestContext.requestId, the x-amzn-RequestId response header
    extended_request_id: str  # requestContext.extendedRequestId, the x-amz-apigw-id response header
    trace_id: str  # the X-Amzn-Trace-Id it adds to the request and returns


def new_request_ids(now: float) -> RequestIds:
    """Fresh ids shaped as AWS's: the extended id is 11 random bytes in URL-safe base64 (15 characters
    and "=", like "eIygpHbovHcFc6g="); the trace id is X-Ray's Root=1-<epoch seconds, 8 hex>-<24 hex>."""
    return RequestIds(
        request_id=str(uuid.uuid4()),
        extended_request_id=base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii"),
        trace_id=f"Root=1-{int(now):08x}-{secrets.token_hex(12)}",
    )


def gateway_headers(client: Headers, *, source_ip: str, port: str, proto: str, trace_id: str) -> Headers:
    """The headers API Gateway passes to the integration: the client's, with the names and the
    repetitions as sent, plus X-Forwarded-For (the client's chain with the source IP appended),
    X-Forwarded-Port and -Proto (the gateway's own: a client's are replaced) and X-Amzn-Trace-Id
    (the client's when it sent one, else `trace_id`)."""
    headers = [(k, v) for k, v in client if k.lower() not in ("x-forwarded-port", "x-forwarded-proto")]
    forwarded = [i for i, (k, _) in enumerate(headers) if k.lower() == "x-forwarded-for"]
    if forwarded:
        name, chain = headers[forwarded[-1]]
        headers[forwarded[-1]] = (name, f"{chain}, {source_ip}")
    else:
        headers.append(("X-Forwarded-For", source_ip))
    headers += [("X-Forwarded-Port", port), ("X-Forwarded-Proto", proto)]
    if header_value(headers, TRACE_HEADER) is None:
        headers.append((TRACE_HEADER, trace_id))
    return headers


# ---- the proxy event (REST API, payload format 1.0) -----------------------------------------
@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # stage-relative and still percent-encoded, as AWS puts it in `path`
    query_string: str  # raw, without '?'
    headers: Headers
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class StageInfo:
    account_id: str
    api_id: str
    stage: str
    region: str = "us-east-1"
    stage_variables: dict[str, str] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()

    @property
    def domain_name(self) -> str:
        """The API's host on AWS (a regional endpoint). The event names it rather than the local
        URL (127.0.0.1:PORT/_aws/execute-api/...), whose shape no handler sees on AWS."""
        return f"{self.api_id}.execute-api.{self.region}.amazonaws.com"


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """Whether a media type matches the API's binaryMediaTypes ('image/*', '*/*' allowed)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(media, t.strip().lower()) for t in binary_media_types if t)


def header_value(headers: Headers, name: str) -> str | None:
    """The last value of a header (names are case-insensitive), or None."""
    lname = name.lower()
    found = [v for k, v in headers if k.lower() == lname]
    return found[-1] if found else None


def _grouped(pairs: Iterable[tuple[str, str]], *, fold_case: bool) -> dict[str, list[str]]:
    """name -> every value in order; with `fold_case` names differing only in case are one entry
    under the first spelling seen (header names are case-insensitive, query names are not)."""
    grouped: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower(), name) if fold_case else name
        grouped.setdefault(key, []).append(value)
    return grouped


def build_proxy_event(
    req: HttpRequest, route: Route, stage: StageInfo, *, ids: RequestIds, resource_id: str, now: float
) -> dict[str, Any]:
    """AWS's REST proxy event: header names as the client sent them, one multiValue entry per
    repeated header or query parameter and its last value in the single-value map, absent maps null.
    `req.headers` are what the integration gets (gateway_headers); `resource_id` is the matched
    API resource's id."""
    multi_headers = _grouped(req.headers, fold_case=True)
    multi_query = _grouped(parse_qsl(req.query_string, keep_blank_values=True), fold_case=False)
    body: str | None = None
    binary = False
    if req.body:
        if is_binary(header_value(req.headers, "Content-Type"), stage.binary_media_types):
            body, binary = base64.b64encode(req.body).decode("ascii"), True
        else:
            body = req.body.decode("utf-8", errors="replace")
    millis = int(now * 1000)
    return {
        "resource": route.resource_path,
        "path": req.path,
        "httpMethod": req.method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(route.path_parameters) or None,
        "stageVariables": dict(stage.stage_variables) or None,
        "requestContext": {
            "accountId": stage.account_id,
            "apiId": stage.api_id,
            "domainName": stage.domain_name,
            "domainPrefix": stage.api_id,
            "extendedRequestId": ids.extended_request_id,
            "httpMethod": req.method,
            "identity": {
                **dict.fromkeys(_IDENTITY_NULLS),
                "sourceIp": req.source_ip,
                "userAgent": header_value(req.headers, "User-Agent"),
            },
            "path": f"/{stage.stage}{req.path}",
            "protocol": req.protocol,
            "requestId": ids.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": millis,
            "resourceId": resource_id,
            "resourcePath": route.resource_path,
            "stage": stage.stage,
        },
        "body": body,
        "isBase64Encoded": binary,
    }


def response_ids(ids: RequestIds, *, traced: bool) -> Headers:
    """The headers API Gateway adds to its answers; X-Amzn-Trace-Id once an integration ran."""
    headers = [("x-amzn-RequestId", ids.request_id), ("x-amz-apigw-id", ids.extended_request_id)]
    return [*headers, (TRACE_HEADER, ids.trace_id)] if traced else headers


# ---- the proxy response ---------------------------------------------------------------------
class MalformedProxyResponse(ValueError):
    """The Lambda's answer is not a valid proxy response (AWS: 502 'Internal server error')."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Headers
    body: bytes


def header_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponse(f"header {name!r} has a {type(value).__name__} value")


def map_proxy_response(
    payload: bytes | str, *, binary_media_types: Iterable[str] = (), accept: str | None = None
) -> HttpResponse:
    """The HTTP response for a Lambda proxy response; MalformedProxyResponse as AWS rejects it."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedProxyResponse("the Lambda did not return JSON") from exc
    if not isinstance(data, dict):
        raise MalformedProxyResponse(f"the Lambda returned a {type(data).__name__}, not an object")
    unknown = sorted(set(data) - _PROXY_RESPONSE_KEYS)
    if unknown:
        raise MalformedProxyResponse(f"unexpected fields {unknown}")
    status = data.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode must be an HTTP status, got {status!r}")
    raw_body = data.get("body")
    if raw_body is not None and not isinstance(raw_body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(raw_body).__name__}")
    single = data.get("headers") or {}
    multi = data.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResponse("headers and multiValueHeaders must be objects")
    headers: Headers = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        headers += [(name, header_text(name, v)) for v in values if v is not None]
    seen = {(k.lower(), v) for k, v in headers}
    for name, value in single.items():  # a pair given in both maps appears once (AWS merges them)
        if value is not None and (name.lower(), header_text(name, value)) not in seen:
            headers.append((name, header_text(name, value)))
    flag = data.get("isBase64Encoded", False)
    if isinstance(flag, str):
        flag = flag.lower() == "true"
    body = (raw_body or "").encode("utf-8")
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    media_types = (accept.split(",", 1)[0].strip() if accept else None, content_type)
    if flag is True and raw_body and any(is_binary(t, binary_media_types) for t in media_types):
        try:
            body = base64.b64decode(raw_body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedProxyResponse("isBase64Encoded is true but body is not base64") from exc
    if content_type is None:
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    return HttpResponse(status, headers, body)


def mock_response(integration: Any) -> HttpResponse | None:
    """A MOCK integration's answer: the integration response its request template selects (or the
    default one), with its literal response header parameters ("'value'", quotes stripped)."""
    responses: dict[str, Any] = getattr(integration, "integration_responses", None) or {}
    if not responses:
        return None
    wanted = None
    for template in (getattr(integration, "request_templates", None) or {}).values():
        try:
            wanted = str(json.loads(template).get("statusCode"))
        except (ValueError, AttributeError, TypeError):
            continue
    chosen = responses.get(wanted or "") or next(
        (r for r in responses.values() if not r.selection_pattern), next(iter(responses.values()))
    )
    headers = _literal_headers(chosen.response_parameters, "method.response.header.")
    templates = chosen.response_templates or {}
    body = next(iter(templates.values()), "") or ""
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(int(chosen.status_code), headers, body.encode("utf-8"))


def _literal_headers(parameters: dict[str, Any] | None, prefix: str) -> Headers:
    """Header mappings with a literal value ("'value'"); other sources cannot be served here."""
    return [
        (key[len(prefix) :], value[1:-1])
        for key, value in (parameters or {}).items()
        if key.startswith(prefix)
        and isinstance(value, str)
        and len(value) >= 2
        and value[0] == value[-1] == "'"
    ]


def error_response(
    status: int, message: str, ids: RequestIds, gateway_response: Any = None, *, traced: bool = False
) -> HttpResponse:
    """API Gateway's own error answer: its JSON body (4XX bodies compact, 5XX with a space, as AWS
    sends them), x-amzn-ErrorType, the request's ids; customised by the API's gateway response
    (headers, status, template) if any."""
    headers: Headers = [("Content-Type", "application/json"), *response_ids(ids, traced=traced)]
    headers.append(("x-amzn-ErrorType", _ERROR_TYPES.get(message, "InternalServerErrorException")))
    body = json.dumps({"message": message}, separators=(",", ":") if status < 500 else (", ", ": "))
    if gateway_response is not None:
        status = int(gateway_response.status_code or status)
        headers += _literal_headers(gateway_response.response_parameters, "gatewayresponse.header.")
        template = (gateway_response.response_templates or {}).get("application/json")
        if template:
            body = template.replace("$context.error.messageString", json.dumps(message))
            body = body.replace("$context.error.message", message)
            body = body.replace("$context.extendedRequestId", ids.extended_request_id)
            body = body.replace("$context.requestId", ids.request_id)
    return HttpResponse(status, headers, body.encode("utf-8"))


# ---- Lambda permission (resource policy) --------------------------------------------------------
def invoke_permitted(
    statements: Iterable[dict[str, Any]], source_arns: Iterable[str], account_id: str
) -> bool:
    """Whether a function's resource policy lets API Gateway invoke it for one of `source_arns`
    (the method ARN with the resource path and with the actual path: both forms are in use)."""
    arns = list(source_arns)
    for st in statements:
        if st.get("Effect", "Allow") != "Allow":
            continue
        principal = st.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else principal
        services = iam_match.listed(services)
        if not any(s in ("apigateway.amazonaws.com", "*") for s in services):
            continue
        if not iam_match.names_action(st.get("Action"), "lambda:InvokeFunction"):
            continue
        ok = True
        for conditions in (st.get("Condition") or {}).values():
            for key, expected in conditions.items():
                values = iam_match.listed(expected)
                if key.lower() == "aws:sourcearn":
                    ok = ok and any(iam_match.names_resource(values, a) for a in arns)
                elif key.lower() == "aws:sourceaccount":
                    ok = ok and account_id in values
        if ok:
            return True
    return False

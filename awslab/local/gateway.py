"""API Gateway REST front of the local cloud: execute-api requests -> moto's API data -> Lambda.

moto stores REST APIs but serves no stage URLs in server mode. This WSGI app does what the
execute-api endpoint does for REST APIs: route on the (resource, method) pair, build the Lambda
proxy event (format 1.0), invoke the function through moto's Lambda backend (which reaches the
Docker-free executor) and map the proxy response back, with AWS's error responses.
The routing, event building and response mapping are pure functions, tested without a server.

As on AWS, a Lambda is only invoked if its resource policy lets apigateway.amazonaws.com do it
(else 500, with the reason in the local cloud's log), and the API's gateway responses
(DEFAULT_4XX/5XX...) add their headers to error answers. Differences from AWS, for want of data
in moto or on purpose: a stage serves the API's current resources (moto keeps no deployment
snapshot); authorizers, API keys and request validation are not enforced; only AWS_PROXY
(Lambda) and MOCK integrations are served; no 29 s integration timeout.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from awslab.local.urls import parse_api_path

log = logging.getLogger("awslab.local.gateway")

Headers = list[tuple[str, str]]

MISSING_TOKEN = "Missing Authentication Token"
INTERNAL_ERROR = "Internal server error"
_PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
# Caller identity fields an unauthenticated request has, all null.
_IDENTITY_NULLS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)
_LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<fn>.+?)/invocations$")


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
    domain_name: str = "127.0.0.1"


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """Whether a media type matches the API's binaryMediaTypes ('image/*', '*/*' allowed)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(media, t.strip().lower()) for t in binary_media_types if t)


def _header(headers: Headers, name: str) -> str | None:
    lname = name.lower()
    found = [v for k, v in headers if k.lower() == lname]
    return found[-1] if found else None


def build_proxy_event(
    req: HttpRequest, route: Route, stage: StageInfo, *, request_id: str, now: float
) -> dict[str, Any]:
    """AWS's REST proxy event: single-value maps keep the last value, absent maps are null."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in req.headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(req.query_string, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    body: str | None = None
    binary = False
    if req.body:
        if is_binary(_header(req.headers, "Content-Type"), stage.binary_media_types):
            body, binary = base64.b64encode(req.body).decode("ascii"), True
        else:
            body = req.body.decode("utf-8", errors="replace")
    millis = int(now * 1000)
    return {
        "resource": route.resource_path,
        "path": req.path,
        "httpMethod": req.method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(route.path_parameters) or None,
        "stageVariables": dict(stage.stage_variables) or None,
        "requestContext": {
            "accountId": stage.account_id,
            "apiId": stage.api_id,
            "domainName": stage.domain_name,
            "domainPrefix": stage.api_id,
            "extendedRequestId": request_id,
            "httpMethod": req.method,
            "identity": {
                **dict.fromkeys(_IDENTITY_NULLS),
                "sourceIp": req.source_ip,
                "userAgent": _header(req.headers, "User-Agent"),
            },
            "path": f"/{stage.stage}{req.path}",
            "protocol": req.protocol,
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": millis,
            "resourceId": route.resource_path,
            "resourcePath": route.resource_path,
            "stage": stage.stage,
        },
        "body": body,
        "isBase64Encoded": binary,
    }


# ---- the proxy response ---------------------------------------------------------------------
class MalformedProxyResponse(ValueError):
    """The Lambda's answer is not a valid proxy response (AWS: 502 'Internal server error')."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Headers
    body: bytes


def _header_text(name: str, value: Any) -> str:
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
        headers += [(name, _header_text(name, v)) for v in values if v is not None]
    seen = {(k.lower(), v) for k, v in headers}
    for name, value in single.items():  # a pair given in both maps appears once (AWS merges them)
        if value is not None and (name.lower(), _header_text(name, value)) not in seen:
            headers.append((name, _header_text(name, value)))
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


def error_response(status: int, message: str, request_id: str, gateway_response: Any = None) -> HttpResponse:
    """AWS's JSON error body, customised by the API's gateway response (headers, status) if any."""
    headers: Headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    error_type = (
        "IncompleteSignatureException" if message == MISSING_TOKEN else "InternalServerErrorException"
    )
    headers.append(("x-amzn-ErrorType", error_type))
    body = json.dumps({"message": message}, separators=(",", ":"))
    if gateway_response is not None:
        status = int(gateway_response.status_code or status)
        headers += _literal_headers(gateway_response.response_parameters, "gatewayresponse.header.")
        template = (gateway_response.response_templates or {}).get("application/json")
        if template:
            body = template.replace("$context.error.messageString", json.dumps(message))
            body = body.replace("$context.error.message", message).replace("$context.requestId", request_id)
    return HttpResponse(status, headers, body.encode("utf-8"))


# ---- Lambda permission (resource policy) --------------------------------------------------------
def _iam_match(pattern: str, value: str) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value) is not None


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
        services = services if isinstance(services, list) else [services]
        if not any(s in ("apigateway.amazonaws.com", "*") for s in services):
            continue
        actions = st.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        if not any(isinstance(a, str) and _iam_match(a.lower(), "lambda:invokefunction") for a in actions):
            continue
        ok = True
        for conditions in (st.get("Condition") or {}).values():
            for key, expected in conditions.items():
                values = expected if isinstance(expected, list) else [expected]
                if key.lower() == "aws:sourcearn":
                    ok = ok and any(_iam_match(p, a) for p in values for a in arns)
                elif key.lower() == "aws:sourceaccount":
                    ok = ok and account_id in values
        if ok:
            return True
    return False


# ---- the WSGI app -------------------------------------------------------------------------
def _find_api(api_id: str) -> tuple[str, str, Any] | None:
    from moto.apigateway.models import apigateway_backends

    for _ in range(3):  # another thread may create a backend while we look
        try:
            for account, region, backend in list(apigateway_backends.iter_backends()):
                api = backend.apis.get(api_id)  # type: ignore[attr-defined]
                if api is not None:
                    return account, region, api
            return None
        except RuntimeError:
            continue
    return None


def request_from_environ(environ: dict[str, Any], stage_path: str) -> HttpRequest:
    headers: Headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), value))
    source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
    # What API Gateway's front adds for the integration.
    present = {k.lower() for k, _ in headers}
    for name, value in (("X-Forwarded-For", source_ip), ("X-Forwarded-Port", str(environ.get("SERVER_PORT", ""))),
                        ("X-Forwarded-Proto", environ.get("wsgi.url_scheme", "http"))):  # fmt: skip
        if name.lower() not in present:
            headers.append((name, value))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > 0:
        body = environ["wsgi.input"].read(length)
    else:  # a chunked body: the server marks the input as terminated so it can be read whole
        body = environ["wsgi.input"].read() if environ.get("wsgi.input_terminated") else b""
    return HttpRequest(
        method=environ["REQUEST_METHOD"].upper(),
        path=stage_path,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        source_ip=source_ip,
        protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
    )


class ApiGatewayFront:
    """WSGI app for `urls.API_PREFIX/<api id>/<stage>/<path>`."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(environ)
        headers = [h for h in response.headers if h[0].lower() != "content-length"]
        start_response(
            f"{response.status} {_reason(response.status)}",
            [*headers, ("Content-Length", str(len(response.body)))],
        )
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else response.body]

    def handle(self, environ: dict[str, Any]) -> HttpResponse:
        request_id = str(uuid.uuid4())
        # The raw URI keeps percent-encoding, as AWS does in `path`.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        parsed = parse_api_path(urlsplit(raw).path)
        found = _find_api(parsed[0]) if parsed else None
        if parsed is None or found is None or parsed[1] not in found[2].stages:
            return error_response(403, MISSING_TOKEN, request_id)
        api_id, stage_name, path = parsed
        account, region, api = found
        req = request_from_environ(environ, path)
        table = {res.get_path(): res for res in list(api.resources.values())}
        route = match_route({p: r.resource_methods.keys() for p, r in table.items()}, req.path, req.method)
        if route is None:
            return self._gateway_error(api, "MISSING_AUTHENTICATION_TOKEN", 403, MISSING_TOKEN, request_id)
        stage = StageInfo(
            account_id=account,
            api_id=api_id,
            stage=stage_name,
            region=region,
            stage_variables=dict(api.stages[stage_name].variables or {}),
            binary_media_types=tuple(api.binaryMediaTypes or ()),
            domain_name=environ.get("HTTP_HOST", "127.0.0.1"),
        )
        integration = table[route.resource_path].resource_methods[route.method_key].method_integration
        kind = getattr(integration, "integration_type", None)
        if kind == "MOCK":
            mocked = mock_response(integration)
            if mocked is not None:
                return HttpResponse(
                    mocked.status, [*mocked.headers, ("x-amzn-RequestId", request_id)], mocked.body
                )
            reason = "the MOCK integration has no integration response"
        elif kind == "AWS_PROXY" and _LAMBDA_URI.search(integration.uri or ""):
            return self._invoke(req, route, stage, integration, api, request_id)
        else:
            reason = f"integration type {kind} is not served by the local cloud" if kind else "no integration"
        log.warning("%s %s (%s/%s): 500: %s", req.method, req.path, api_id, stage_name, reason)
        return self._gateway_error(api, "DEFAULT_5XX", 500, INTERNAL_ERROR, request_id)

    def _invoke(
        self, req: HttpRequest, route: Route, stage: StageInfo, integration: Any, api: Any, request_id: str
    ) -> HttpResponse:
        from moto.awslambda.utils import get_backend

        uri = integration.uri
        for name, value in stage.stage_variables.items():
            uri = uri.replace(f"${{stageVariables.{name}}}", value)
        fn_ref = unquote(_LAMBDA_URI.search(uri).group("fn"))  # type: ignore[union-attr]
        parts = fn_ref.split(":")
        account, region = (
            (parts[4], parts[3])
            if fn_ref.startswith("arn:") and len(parts) > 6
            else (stage.account_id, stage.region)
        )
        where = f"{req.method} {req.path} ({stage.api_id}/{stage.stage})"
        backend = get_backend(account, region)
        try:
            fn = backend.get_function(fn_ref)
        except Exception as exc:  # moto's UnknownFunctionException and friends
            log.warning("%s: 500: Lambda %s not found (%s)", where, fn_ref, exc)
            return self._gateway_error(api, "DEFAULT_5XX", 500, INTERNAL_ERROR, request_id)
        method_arn = f"arn:aws:execute-api:{stage.region}:{stage.account_id}:{stage.api_id}/{stage.stage}"
        arns = {
            f"{method_arn}/{verb}{p}"
            for verb in (req.method, route.method_key)
            for p in (route.resource_path, req.path)
        }
        statements = getattr(getattr(fn, "policy", None), "statements", None) or []
        if not integration.credentials and not invoke_permitted(statements, arns, stage.account_id):
            log.warning("%s: 500: Execution failed due to configuration error: Invalid permissions on "
                        "Lambda function %s (no permission for apigateway.amazonaws.com)", where, fn_ref)  # fmt: skip
            return self._gateway_error(api, "DEFAULT_5XX", 500, INTERNAL_ERROR, request_id)
        event = build_proxy_event(req, route, stage, request_id=request_id, now=time.time())
        response_headers: dict[str, str] = {}
        try:
            payload = backend.invoke(fn_ref, None, json.dumps(event), {}, response_headers)
        except Exception:
            log.exception("%s: 502: the invoke of %s failed", where, fn_ref)
            return self._gateway_error(api, "DEFAULT_5XX", 502, INTERNAL_ERROR, request_id)
        if "x-amz-function-error" in response_headers:
            log.warning("%s: 502: Lambda %s raised: %s", where, fn_ref, _short(payload))
            return self._gateway_error(api, "DEFAULT_5XX", 502, INTERNAL_ERROR, request_id)
        try:
            mapped = map_proxy_response(
                payload or b"null",
                binary_media_types=stage.binary_media_types,
                accept=_header(req.headers, "Accept"),
            )
        except MalformedProxyResponse as exc:
            log.warning("%s: 502: Malformed Lambda proxy response: %s", where, exc)
            return self._gateway_error(api, "DEFAULT_5XX", 502, INTERNAL_ERROR, request_id)
        return HttpResponse(mapped.status, [*mapped.headers, ("x-amzn-RequestId", request_id)], mapped.body)

    @staticmethod
    def _gateway_error(api: Any, kind: str, status: int, message: str, request_id: str) -> HttpResponse:
        configured = getattr(api, "gateway_responses", {}) or {}
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        return error_response(status, message, request_id, configured.get(kind) or configured.get(family))


def _short(payload: Any) -> str:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    return text if len(text) < 300 else text[:300] + "..."


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

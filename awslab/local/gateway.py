"""API Gateway REST front of the local cloud: execute-api requests -> moto's API data -> Lambda.
(HTTP APIs and Lambda function URLs arrive here too and are handed to http_api.py and
http_api_function_urls.py.)

moto stores REST APIs but serves no stage URLs in server mode. This WSGI app does what the
execute-api endpoint does for REST APIs: route on the (resource, method) pair, build the Lambda
proxy event (format 1.0), invoke the function through moto's Lambda backend (which reaches the
Docker-free executor) and map the proxy response back, with AWS's error responses and the ids
API Gateway adds to every answer (x-amzn-RequestId, x-amz-apigw-id, X-Amzn-Trace-Id once the
integration ran). The routing, event building and response mapping are pure functions in
apigw_proxy.py. Header names reach the event as the client sent them: WSGI's environ has lost
them, so the local cloud's request handler (awslab.local.http_handler) keeps the raw ones.

As on AWS, a Lambda is only invoked if its resource policy lets apigateway.amazonaws.com do it
(else 500, with the reason in the local cloud's log), and the API's gateway responses
(DEFAULT_4XX/5XX...) add their headers to error answers. Differences from AWS, for want of data
in moto or on purpose: a stage serves the API's current resources (moto keeps no deployment
snapshot); authorizers, API keys and request validation are not enforced; only AWS_PROXY
(Lambda) and MOCK integrations are served; no 29 s integration timeout.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from awslab.local.apigw_proxy import (
    INTERNAL_ERROR,
    MISSING_TOKEN,
    RAW_HEADERS,
    TRACE_HEADER,
    Headers,
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    RequestIds,
    Route,
    StageInfo,
    build_proxy_event,
    error_response,
    gateway_headers,
    header_value,
    invoke_permitted,
    map_proxy_response,
    match_route,
    mock_response,
    new_request_ids,
    response_ids,
)
from awslab.local.http_api import HttpApiFront, find_http_api
from awslab.local.http_api_function_urls import FunctionUrlFront
from awslab.local.urls import API_PREFIX, LAMBDA_URL_PREFIX, parse_api_path

log = logging.getLogger("awslab.local.gateway")

_LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<fn>.+?)/invocations$")


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


def client_headers(environ: dict[str, Any]) -> Headers:
    """The request's headers with their names as sent, one pair per header line.

    The local cloud's request handler records them (http_handler.RAW_HEADERS). Without it (another
    WSGI server) only the environ is left, which has lost both the case and the repetitions: the
    names are rebuilt in Title-Case and a repeated header stays one comma-joined value.
    """
    raw = environ.get(RAW_HEADERS)
    if raw is not None:
        return list(raw)
    headers: Headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), value))
    return headers


def request_from_environ(environ: dict[str, Any], stage_path: str, trace_id: str) -> HttpRequest:
    source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
    headers = gateway_headers(
        client_headers(environ),
        source_ip=source_ip,
        port=str(environ.get("SERVER_PORT", "")),
        proto=environ.get("wsgi.url_scheme", "http"),
        trace_id=trace_id,
    )
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
    """WSGI app for `urls.API_PREFIX/<api id>/<stage>/<path>` (REST APIs here, HTTP APIs in
    http_api.py) and `urls.LAMBDA_URL_PREFIX/<url id>/<path>` (http_api_function_urls.py)."""

    def __init__(self) -> None:
        self.http_apis = HttpApiFront()
        self.function_urls = FunctionUrlFront()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(environ)
        headers = [h for h in response.headers if h[0].lower() != "content-length"]
        start_response(
            f"{response.status} {_reason(response.status)}",
            [*headers, ("Content-Length", str(len(response.body)))],
        )
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else response.body]

    def handle(self, environ: dict[str, Any]) -> HttpResponse:
        now = time.time()
        ids = new_request_ids(now)
        # The raw URI keeps percent-encoding, as AWS does in `path`.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        raw_path = urlsplit(raw).path
        if raw_path.startswith(LAMBDA_URL_PREFIX + "/"):
            url_id, _, rest = raw_path[len(LAMBDA_URL_PREFIX) + 1 :].partition("/")
            return self.function_urls.handle(
                request_from_environ(environ, "/" + rest, ids.trace_id), url_id, ids, now
            )
        parsed = parse_api_path(raw_path)
        found = _find_api(parsed[0]) if parsed else None
        if found is None:  # not a REST API: an HTTP API (whose `$default` stage has no name in the path)?
            api_id, _, rest = raw_path[len(API_PREFIX) + 1 :].partition("/")
            http_api = find_http_api(api_id) if api_id else None
            if http_api is not None:
                req = request_from_environ(environ, "/" + rest, ids.trace_id)
                ids = dataclasses.replace(
                    ids, trace_id=header_value(req.headers, TRACE_HEADER) or ids.trace_id
                )
                port = os.environ.get("MOTO_PORT") or environ.get("SERVER_PORT", "")
                return self.http_apis.handle(req, http_api, ids, now, f"http://127.0.0.1:{port}")
        if parsed is None or found is None or parsed[1] not in found[2].stages:
            return error_response(403, MISSING_TOKEN, ids)
        api_id, stage_name, path = parsed
        account, region, api = found
        req = request_from_environ(environ, path, ids.trace_id)
        # A trace id the client sent is the one API Gateway passes on and returns.
        ids = dataclasses.replace(ids, trace_id=header_value(req.headers, TRACE_HEADER) or ids.trace_id)
        table = {res.get_path(): res for res in list(api.resources.values())}
        route = match_route({p: r.resource_methods.keys() for p, r in table.items()}, req.path, req.method)
        if route is None:
            return self._gateway_error(api, "MISSING_AUTHENTICATION_TOKEN", 403, MISSING_TOKEN, ids)
        stage = StageInfo(
            account_id=account,
            api_id=api_id,
            stage=stage_name,
            region=region,
            stage_variables=dict(api.stages[stage_name].variables or {}),
            binary_media_types=tuple(api.binaryMediaTypes or ()),
        )
        resource = table[route.resource_path]
        integration = resource.resource_methods[route.method_key].method_integration
        kind = getattr(integration, "integration_type", None)
        if kind == "MOCK":
            mocked = mock_response(integration)
            if mocked is not None:
                return HttpResponse(
                    mocked.status, [*mocked.headers, *response_ids(ids, traced=False)], mocked.body
                )
            reason = "the MOCK integration has no integration response"
        elif kind == "AWS_PROXY" and _LAMBDA_URI.search(integration.uri or ""):
            event = build_proxy_event(req, route, stage, ids=ids, resource_id=resource.id, now=now)
            return self._invoke(req, route, stage, integration, api, ids, event)
        else:
            reason = f"integration type {kind} is not served by the local cloud" if kind else "no integration"
        log.warning("%s %s (%s/%s): 500: %s", req.method, req.path, api_id, stage_name, reason)
        return self._gateway_error(api, "DEFAULT_5XX", 500, INTERNAL_ERROR, ids)

    def _invoke(self, req: HttpRequest, route: Route, stage: StageInfo, integration: Any, api: Any,
                ids: RequestIds, event: dict[str, Any]) -> HttpResponse:  # fmt: skip
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.utils import get_backend
        from moto.utilities.utils import get_partition

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
        except LambdaClientError as exc:  # moto's UnknownFunctionException and friends
            log.warning("%s: 500: Lambda %s not found (%s)", where, fn_ref, exc)
            return self._gateway_error(api, "DEFAULT_5XX", 500, INTERNAL_ERROR, ids)
        partition = get_partition(stage.region)
        method_arn = (
            f"arn:{partition}:execute-api:{stage.region}:{stage.account_id}:{stage.api_id}/{stage.stage}"
        )
        arns = {
            f"{method_arn}/{verb}{p}"
            for verb in (req.method, route.method_key)
            for p in (route.resource_path, req.path)
        }
        statements = getattr(getattr(fn, "policy", None), "statements", None) or []
        if not integration.credentials and not invoke_permitted(statements, arns, stage.account_id):
            log.warning("%s: 500: Execution failed due to configuration error: Invalid permissions on "
                        "Lambda function %s (no permission for apigateway.amazonaws.com)", where, fn_ref)  # fmt: skip
            return self._gateway_error(api, "DEFAULT_5XX", 500, INTERNAL_ERROR, ids)
        response_headers: dict[str, str] = {}
        try:
            payload = backend.invoke(fn_ref, None, json.dumps(event), {}, response_headers)
        except Exception:  # API Gateway answers 502 whatever went wrong; the log keeps the traceback
            log.exception("%s: 502: the invoke of %s failed", where, fn_ref)
            return self._gateway_error(api, "DEFAULT_5XX", 502, INTERNAL_ERROR, ids, traced=True)
        if "x-amz-function-error" in response_headers:
            log.warning("%s: 502: Lambda %s raised: %s", where, fn_ref, _short(payload))
            return self._gateway_error(api, "DEFAULT_5XX", 502, INTERNAL_ERROR, ids, traced=True)
        try:
            mapped = map_proxy_response(
                payload or b"null",
                binary_media_types=stage.binary_media_types,
                accept=header_value(req.headers, "Accept"),
            )
        except MalformedProxyResponse as exc:
            log.warning("%s: 502: Malformed Lambda proxy response: %s", where, exc)
            return self._gateway_error(api, "DEFAULT_5XX", 502, INTERNAL_ERROR, ids, traced=True)
        return HttpResponse(mapped.status, [*mapped.headers, *response_ids(ids, traced=True)], mapped.body)

    @staticmethod
    def _gateway_error(
        api: Any, kind: str, status: int, message: str, ids: RequestIds, *, traced: bool = False
    ) -> HttpResponse:
        configured = getattr(api, "gateway_responses", {}) or {}
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        custom = configured.get(kind) or configured.get(family)
        return error_response(status, message, ids, custom, traced=traced)


def _short(payload: Any) -> str:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    return text if len(text) < 300 else text[:300] + "..."


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

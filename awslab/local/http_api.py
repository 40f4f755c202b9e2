"""API Gateway HTTP APIs (v2) in the local cloud: moto keeps the APIs, routes, integrations and
stages; this serves them, as the execute-api endpoint does.

A request to `urls.API_PREFIX/<api id>/<path>` picks the stage (a named stage's name first in the
path, else `$default`, which answers at the API's root), answers CORS preflights itself when the
API has a CORS configuration, routes on the route keys (`GET /items/{id}`, `ANY /{proxy+}`,
`$default`: the most specific path wins, an explicit method over ANY) and runs the integration:

- a Lambda proxy (payload format 2.0 events, http_api_events; 1.0 as the REST front builds them),
  invoked only if the function's policy lets apigateway.amazonaws.com do it for the route;
- a direct service integration (an integration subtype: SQS, Step Functions, EventBridge), made
  for real through the local cloud's own APIs (http_api_services).

Answers carry `apigw-requestid`, and the configured CORS headers (the integration's own are
dropped, as AWS does). Errors are AWS's: 404 {"message":"Not Found"} with no matching route,
500 {"message":"Internal Server Error"} for a function that failed, returned a malformed response
or may not be invoked. Not served: authorizers, throttling, HTTP_PROXY / VPC link integrations,
mutual TLS, custom domains, the 30 s integration timeout, deployments of a stage without
auto-deploy (a stage serves the routes as they are).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from awslab.local import http_api_lambda as lam
from awslab.local.apigw_proxy import (
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    RequestIds,
    Route,
    StageInfo,
    build_proxy_event,
    invoke_permitted,
    map_proxy_response,
    match_route,
)
from awslab.local.http_api_events import (
    DEFAULT_ROUTE,
    Cors,
    EventContext,
    build_v2_event,
    is_preflight,
    json_error,
    map_v2_response,
    preflight_response,
    with_cors,
)
from awslab.local.http_api_services import (
    SUBTYPES,
    LocalCaller,
    MappingSource,
    ServiceCaller,
    ServiceError,
    evaluate,
    response_body,
    service_request,
    trusts_apigateway,
)

log = logging.getLogger("awslab.local.http_api")

NOT_FOUND = "Not Found"
INTERNAL = "Internal Server Error"
_LAMBDA_PATH = re.compile(r":lambda:path/[^/]+/functions/(?P<fn>.+?)/invocations$")


def find_http_api(api_id: str) -> tuple[str, str, Any] | None:
    """(account, region, moto's Api) of an HTTP API, or None."""
    from moto.apigatewayv2.models import apigatewayv2_backends

    for _ in range(3):  # another thread may create a backend while we look
        try:
            backends: list[tuple[str, str, Any]] = list(apigatewayv2_backends.iter_backends())
            for account, region, backend in backends:
                api = backend.apis.get(api_id)
                if api is not None and api.protocol_type == "HTTP":
                    return account, region, api
            return None
        except RuntimeError:
            continue
    return None


def split_stage(api: Any, rest: str) -> tuple[str, str, str] | None:
    """(stage, route path, rawPath) for the path after the API id; None when no stage serves it.
    A named stage's path keeps its name in rawPath, as AWS's events do."""
    first, _, remainder = rest.lstrip("/").partition("/")
    name = unquote(first)
    if first and name != DEFAULT_ROUTE and name in api.stages:
        return name, "/" + remainder, rest
    if DEFAULT_ROUTE in api.stages:
        return DEFAULT_ROUTE, rest or "/", rest or "/"
    return None


def _route_table(api: Any) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """(resource path -> methods, route key -> route) of the API's routes."""
    paths: dict[str, list[str]] = {}
    routes: dict[str, Any] = {}
    for route in list(api.routes.values()):
        routes[route.route_key] = route
        method, _, path = route.route_key.partition(" ")
        if path:
            paths.setdefault(path, []).append(method.upper())
    return paths, routes


class HttpApiFront:
    """Serves one request to an HTTP API (the REST front, gateway.py, hands it over)."""

    def __init__(self, caller: Callable[[str], ServiceCaller] | None = None) -> None:
        # endpoint -> what makes AWS calls for direct integrations; the local cloud's own APIs by default
        self._caller_for = caller or LocalCaller
        self._callers: dict[str, ServiceCaller] = {}

    def handle(self, req: HttpRequest, found: tuple[str, str, Any], ids: RequestIds, now: float,
               endpoint: str) -> HttpResponse:  # fmt: skip
        """`req.path` is the path after the API id (still percent-encoded)."""
        account, region, api = found
        request_id = ids.extended_request_id  # HTTP APIs' request ids look like "JKJaXmPLvHcESHA="
        extra = [("apigw-requestid", request_id)]
        staged = split_stage(api, req.path)
        if staged is None:
            return json_error(404, NOT_FOUND, extra=extra)
        stage_name, path, raw_path = staged
        req = dataclasses.replace(req, path=path)
        cors = Cors.from_config(api.cors_configuration)
        if cors is not None and is_preflight(req):
            return preflight_response(cors, req, extra)
        paths, routes = _route_table(api)
        matched = match_route(paths, path, req.method)
        if matched is not None:
            route_key = f"{matched.method_key} {matched.resource_path}"
        elif DEFAULT_ROUTE in routes:
            route_key, matched = DEFAULT_ROUTE, Route(DEFAULT_ROUTE, DEFAULT_ROUTE, {})
        else:
            return with_cors(cors, req, json_error(404, NOT_FOUND, extra=extra))
        stage = api.stages[stage_name]
        where = f"{req.method} {raw_path} ({api.api_id}/{stage_name}, route {route_key})"
        target = str(routes[route_key].target or "")
        integration = api.integrations.get(target.removeprefix("integrations/"))
        info = StageInfo(account, api.api_id, stage_name, region, dict(stage.stage_variables or {}))
        if integration is None:
            response = self._fail(where, "the route has no integration", extra)
        elif integration.integration_subtype:
            response = self._service(req, integration, matched, info, request_id, endpoint, where, extra)
        elif integration.integration_type == "AWS_PROXY":
            ctx = EventContext(account, api.api_id, info.domain_name, request_id, stage_name)
            response = self._lambda(
                req, integration, matched, route_key, raw_path, info, ctx, ids, now, where
            )
            response = HttpResponse(response.status, [*response.headers, *extra], response.body)
        else:
            kind = integration.integration_type
            response = self._fail(where, f"integration type {kind} is not served by the local cloud", extra)
        return with_cors(cors, req, response)

    @staticmethod
    def _fail(where: str, reason: str, extra: list[tuple[str, str]]) -> HttpResponse:
        log.warning("%s: 500: %s", where, reason)
        return json_error(500, INTERNAL, extra=extra)

    # ---- Lambda proxy --------------------------------------------------------------------
    def _lambda(self, req: HttpRequest, integration: Any, route: Route, route_key: str, raw_path: str,
                info: StageInfo, ctx: EventContext, ids: RequestIds, now: float, where: str) -> HttpResponse:  # fmt: skip
        uri = str(integration.integration_uri or "")
        found = _LAMBDA_PATH.search(uri)
        fn_ref = unquote(found.group("fn")) if found else uri
        try:
            fn = lam.get_function(fn_ref, info.account_id, info.region)
        except lam.FunctionNotFound as exc:
            return self._fail(where, f"Lambda {fn_ref} not found ({exc})", [])
        from moto.utilities.utils import get_partition

        partition = get_partition(info.region)
        base = f"arn:{partition}:execute-api:{info.region}:{info.account_id}:{info.api_id}/{info.stage}"
        if route_key == DEFAULT_ROUTE:
            arns = {f"{base}/{DEFAULT_ROUTE}"}
        else:
            verbs = {req.method, "*" if route.method_key == "ANY" else route.method_key}
            arns = {f"{base}/{verb}{p}" for verb in verbs for p in (route.resource_path, req.path)}
        if not integration.credentials_arn and not invoke_permitted(
            lam.statements(fn), arns, info.account_id
        ):
            return self._fail(where, f"Lambda {fn_ref}: no permission for apigateway.amazonaws.com", [])
        v2 = (integration.payload_format_version or "2.0") == "2.0"
        if v2:
            event = build_v2_event(req, ctx, route_key=route_key, raw_path=raw_path, now=now,
                                   path_parameters=route.path_parameters, stage_variables=info.stage_variables)  # fmt: skip
        else:
            event = build_proxy_event(req, route, info, ids=ids, resource_id=route_key, now=now)
        try:
            invoked = lam.invoke(fn, event)
        except Exception:  # whatever went wrong, API Gateway answers 500; the log keeps the traceback
            log.exception("%s: 500: the invoke of %s failed", where, fn_ref)
            return json_error(500, INTERNAL)
        if invoked.function_error:
            return self._fail(where, f"Lambda {fn_ref} raised: {invoked.payload[:300]!r}", [])
        try:
            return map_v2_response(invoked.payload) if v2 else map_proxy_response(invoked.payload)
        except MalformedProxyResponse as exc:
            return self._fail(where, f"malformed Lambda response: {exc}", [])

    # ---- direct service integrations -----------------------------------------------------
    def _service(self, req: HttpRequest, integration: Any, route: Route, info: StageInfo, request_id: str,
                 endpoint: str, where: str, extra: list[tuple[str, str]]) -> HttpResponse:  # fmt: skip
        subtype = str(integration.integration_subtype)
        if subtype not in SUBTYPES:
            return self._fail(where, f"integration subtype {subtype} is not served by the local cloud", extra)
        caller = self._callers.get(endpoint)
        if caller is None:
            caller = self._callers[endpoint] = self._caller_for(endpoint)
        role = str(integration.credentials_arn or "")
        try:
            found = caller("iam", "GetRole", {"RoleName": role.rsplit("/", 1)[-1]}, info.region)["Role"]
        except ServiceError as exc:
            return self._fail(where, f"API Gateway cannot assume role {role!r}: {exc}", extra)
        if not trusts_apigateway(found):
            return self._fail(where, f"role {role} does not trust apigateway.amazonaws.com", extra)
        context = {"requestId": request_id, "apiId": info.api_id, "stage": info.stage,
                   "accountId": info.account_id, "httpMethod": req.method, "path": req.path}  # fmt: skip
        source = MappingSource(req, route.path_parameters, info.stage_variables, context)
        mapped = {k: evaluate(str(v), source) for k, v in (integration.request_parameters or {}).items()}
        service, operation, params, region = service_request(subtype, mapped)
        try:
            answer = caller(service, operation, params, region or info.region)
        except ServiceError as exc:
            log.warning("%s: %d: %s %s failed: %s", where, exc.status, service, operation, exc)
            body = json.dumps({"__type": exc.code, "message": exc.message}).encode("utf-8")
            return HttpResponse(exc.status, [("content-type", "application/json"), *extra], body)
        body = json.dumps(response_body(subtype, answer), separators=(",", ":")).encode("utf-8")
        return HttpResponse(200, [("content-type", "application/json"), *extra], body)

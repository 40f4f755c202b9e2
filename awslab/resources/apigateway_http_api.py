"""API Gateway HTTP APIs (v2): `apigateway.http_api`, whose routes go to Lambda functions (payload
format 2.0) or straight to an AWS service (SQS, Step Functions, EventBridge) with a role.

    routes:
      GET /items/{id}: items-fn                 # a lambda.function, by its logical name
      POST /orders:                             # a direct service integration
        service: sqs
        action: SendMessage
        parameters: {QueueUrl: "${queue.url}", MessageBody: $request.body}
        role: "${api-role.arn}"                 # an iam.role with service: apigateway
      $default: fallback-fn

CORS is the API's own configuration (API Gateway answers preflights and adds the headers; the
functions need not). The stage (`$default` unless named) deploys every change by itself
(auto-deploy). Each function gets one invoke permission for apigateway.amazonaws.com scoped to
this API (SourceArn execute-api:...:<api id>/*), removed again when no route uses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from awslab.resources.apigateway import METHODS, ApiBuild, cors_methods, parse_route, refreshed_attrs
from awslab.resources.base import (
    NAME_PREFIX,
    ArnRef,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    arn_of,
    missing_ok,
    register,
)
from awslab.resources.idempotent import drop_duplicates, named_here, tag_map
from awslab.resources.invoke_permission import (
    ensure_invoke_permission,
    permission_records,
    permissions_of,
    remove_invoke_permissions,
)
from awslab.resources.tagging import retag_resource
from awslab.target import origin_of

if TYPE_CHECKING:
    from awslab.target import Target

DEFAULT = "$default"
_BARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z")
# service name in a spec -> API Gateway's subtype prefix
SERVICES = {"sqs": "SQS", "stepfunctions": "StepFunctions", "states": "StepFunctions",
            "eventbridge": "EventBridge", "events": "EventBridge"}  # fmt: skip
# subtype -> (required parameters, optional ones); AWS's "Integration subtype reference"
SUBTYPE_PARAMETERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "SQS-SendMessage": (frozenset({"QueueUrl", "MessageBody"}), frozenset({
        "DelaySeconds", "MessageAttributes", "MessageDeduplicationId", "MessageGroupId",
        "MessageSystemAttributes", "Region"})),
    "SQS-ReceiveMessage": (frozenset({"QueueUrl"}), frozenset({
        "AttributeNames", "MaxNumberOfMessages", "MessageAttributeNames", "ReceiveRequestAttemptId",
        "VisibilityTimeout", "WaitTimeSeconds", "Region"})),
    "SQS-DeleteMessage": (frozenset({"QueueUrl", "ReceiptHandle"}), frozenset({"Region"})),
    "SQS-PurgeQueue": (frozenset({"QueueUrl"}), frozenset({"Region"})),
    "StepFunctions-StartExecution": (frozenset({"StateMachineArn"}), frozenset({"Name", "Input", "Region"})),
    "StepFunctions-StopExecution": (frozenset({"ExecutionArn"}), frozenset({"Cause", "Error", "Region"})),
    "EventBridge-PutEvents": (frozenset({"Detail", "DetailType", "Source"}), frozenset({
        "Time", "EventBusName", "Resources", "Region", "TraceHeader"})),
}  # fmt: skip


def parse_route_key(key: str) -> tuple[str, str]:
    """'GET /items/{id}' -> ('GET', '/items/{id}'); '$default' -> ('$default', ''). ValueError otherwise."""
    if key.strip() == DEFAULT:
        return DEFAULT, ""
    return parse_route(key, also=DEFAULT)  # the REST API's routes, the same way


class ServiceIntegration(BaseModel):
    """A route straight to an AWS service: API Gateway calls `action` with `parameters` (mapping
    expressions such as $request.body, $request.header.name, or static text) as `role`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    action: str
    parameters: dict[str, str] = Field(min_length=1)
    role: ArnRef

    @model_validator(mode="after")
    def _known(self) -> ServiceIntegration:
        prefix = SERVICES.get(self.service.lower())
        if prefix is None:
            raise ValueError(f"service '{self.service}': one of {', '.join(sorted(SERVICES))}")
        subtype = f"{prefix}-{self.action}"
        if subtype not in SUBTYPE_PARAMETERS:
            actions = sorted(s.split("-", 1)[1] for s in SUBTYPE_PARAMETERS if s.startswith(prefix + "-"))
            raise ValueError(f"{self.service} action '{self.action}': one of {', '.join(actions)}")
        required, optional = SUBTYPE_PARAMETERS[subtype]
        missing = sorted(required - set(self.parameters))
        unknown = sorted(set(self.parameters) - required - optional)
        if missing:
            raise ValueError(f"{subtype} needs parameters {', '.join(missing)}")
        if unknown:
            raise ValueError(f"{subtype} has no parameters {', '.join(unknown)}; it takes "
                             f"{', '.join(sorted(required | optional))}")  # fmt: skip
        return self

    @property
    def subtype(self) -> str:
        return f"{SERVICES[self.service.lower()]}-{self.action}"


class CorsFields(BaseModel):
    """CORS as API Gateway v2 and Lambda function URLs both spell it; each says which methods it takes
    (`methods`) and how it sends the configuration (`config`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    methods: ClassVar[tuple[str, ...]] = ()
    methods_hint: ClassVar[str] = ""

    allow_origins: list[str] = Field(min_length=1)
    allow_methods: list[str] | None = None
    allow_headers: list[str] | None = None
    expose_headers: list[str] | None = None
    max_age: int | None = Field(default=None, ge=0, le=86400)
    allow_credentials: bool = False

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        # Only URLs are reduced: "*" stays, and so does an unresolved "${site.website_url}".
        out = [origin_of(o.strip()) if "://" in o else o.strip() for o in v]
        if not all(out):
            raise ValueError("an origin is empty")
        return out

    @field_validator("allow_methods")
    @classmethod
    def _methods(cls, v: list[str] | None) -> list[str] | None:
        return cors_methods(v, cls.methods, cls.methods_hint)

    @model_validator(mode="after")
    def _credentials(self) -> CorsFields:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError("allow_credentials needs named origins: browsers refuse credentials with '*'")
        return self


class HttpCors(CorsFields):
    """The API's CORS configuration (API Gateway answers preflights and adds the headers)."""

    methods: ClassVar[tuple[str, ...]] = (*METHODS[:-1], "*")  # every method but ANY, or *
    methods_hint: ClassVar[str] = f"{', '.join(METHODS[:-1])} or *"

    def config(self) -> dict[str, Any]:
        """CorsConfiguration as API Gateway takes it."""
        out: dict[str, Any] = {"AllowOrigins": list(self.allow_origins)}
        if self.allow_methods:
            out["AllowMethods"] = list(self.allow_methods)
        if self.allow_headers:
            out["AllowHeaders"] = list(self.allow_headers)
        if self.expose_headers:
            out["ExposeHeaders"] = list(self.expose_headers)
        if self.max_age is not None:
            out["MaxAge"] = self.max_age
        if self.allow_credentials:
            out["AllowCredentials"] = True
        return out


class HttpApiProps(Props):
    routes: dict[str, str | ServiceIntegration] = Field(min_length=1)
    cors: HttpCors | None = None
    stage: str = Field(default=DEFAULT, pattern=r"^(\$default|[A-Za-z0-9_-]{1,128})$")
    description: str = Field(default="", max_length=1024)

    @field_validator("routes")
    @classmethod
    def _routes(cls, v: dict[str, str | ServiceIntegration]) -> dict[str, str | ServiceIntegration]:
        seen: dict[tuple[str, str], str] = {}
        out: dict[str, str | ServiceIntegration] = {}
        for key, target in v.items():
            method, path = parse_route_key(key)
            # /a/{id} and /a/{name} are the same route to API Gateway
            shape = re.sub(r"\{[^}+]+\}", "{}", path)
            if (method, shape) in seen:
                raise ValueError(f"routes '{seen[method, shape]}' and '{key}' are the same route")
            seen[method, shape] = key
            if isinstance(target, str) and not _BARE_NAME.match(target):
                raise ValueError(f"route '{key}': a target is the bare logical name of a lambda.function "
                                 "or a mapping with service, action, parameters and role")  # fmt: skip
            out[DEFAULT if method == DEFAULT else f"{method} {path}"] = target
        return out


@register
class HttpApi(Resource[HttpApiProps]):
    kind = "apigateway.http_api"
    attributes = ("name", "id", "arn", "url", "stage", "execution_arn", "endpoint")
    sweep_rank = 20  # before the functions, queues, machines and buses it integrates with
    dependency_kind = "lambda.function"  # bare route targets name functions
    name_rule: ClassVar[NameRule] = NameRule(max_len=128)
    drift_keys = ("id", "stage", "routes", "cors")
    drift_shown = frozenset({"stage"})

    @classmethod
    def dependencies(cls, props: HttpApiProps) -> set[str]:
        return {t for t in props.routes.values() if isinstance(t, str)}

    @classmethod
    def link_dependencies(cls, props: HttpApiProps) -> set[str]:
        # the integrations name the functions by their predictable ARNs, sent before the functions
        # exist: API Gateway checks only the URI's form (it takes other accounts' functions and
        # stage variables), untried on a real account; only the invoke permissions (`link`) need
        # them to exist
        return cls.dependencies(props)

    _pending: ApiBuild | None = None  # what `link` does after `create` or `update`

    # ---- create / update -----------------------------------------------------------------
    def create(self) -> dict[str, Any]:
        api = next(iter(self._find(self.ctx, self.physical)), None)  # a create that died half-way
        if api is None:
            apigw = self.ctx.client("apigatewayv2")
            params: dict[str, Any] = {"Name": self.physical, "ProtocolType": "HTTP",
                                      "Description": self.props.description, "Tags": self.ctx.tags(self.logical)}  # fmt: skip
            if self.props.cors:
                params["CorsConfiguration"] = self.props.cors.config()
            api = apigw.create_api(**params)
            # CreateApi makes a new API on every call: a lost answer left one more
            drop_duplicates(api, api["ApiId"], lambda: [a["ApiId"] for a in self._find(self.ctx, self.physical)],
                            lambda api_id: _delete_api(apigw, api_id))  # fmt: skip
        else:
            self._sync_settings(api)
        return self._build(api["ApiId"], previous_permissions=[], previous_stage=None)

    def update(self, record: Record) -> dict[str, Any]:
        previous = list(record.attrs.get("permissions") or [])
        api_id = record.attrs.get("id")
        api = _get_api(self.ctx, str(api_id)) if api_id else None
        if api is None:  # gone behind our back: a new one, and the old permissions go
            remove_invoke_permissions(self.ctx, previous)
            return self.create()
        self._sync_settings(api)
        return self._build(
            api["ApiId"], previous_permissions=previous, previous_stage=record.attrs.get("stage")
        )

    def _sync_settings(self, api: dict[str, Any]) -> None:
        apigw = self.ctx.client("apigatewayv2")
        wanted_cors = self.props.cors.config() if self.props.cors else None
        if (api.get("Description") or "") != self.props.description or _cors_of(api) != _cors_of(
            {"CorsConfiguration": wanted_cors}
        ):
            extra = {"CorsConfiguration": wanted_cors} if wanted_cors else {}
            apigw.update_api(ApiId=api["ApiId"], Description=self.props.description, **extra)
        if not wanted_cors and api.get("CorsConfiguration"):
            with missing_ok():
                apigw.delete_cors_configuration(ApiId=api["ApiId"])
        missing = {
            k: v for k, v in self.ctx.tags(self.logical).items() if (api.get("Tags") or {}).get(k) != v
        }
        if missing:
            apigw.tag_resource(ResourceArn=_api_arn(self.ctx.target, api["ApiId"]), Tags=missing)

    def _build(self, api_id: str, previous_permissions: list[dict[str, str]], previous_stage: str | None
               ) -> dict[str, Any]:  # fmt: skip
        fn_arns = self._fn_arns()
        self._sync_routes(api_id, fn_arns)
        self._sync_stage(api_id, previous_stage)
        self._pending = ApiBuild(api_id, None, fresh=False, permissions=previous_permissions)
        attrs = _attrs(self.ctx, api_id, self.physical, self.props.stage)
        attrs["routes"] = sorted(self.props.routes)
        attrs["cors"] = _cors_of({"CorsConfiguration": self.props.cors.config() if self.props.cors else None})
        # the permissions `link` adds, recorded now with those recorded before (the stale ones it
        # removes): a delete or the next `up` finds them even if `link` never ran (removing one
        # not added is a no-op)
        attrs["permissions"] = permission_records(
            fn_arns.values(), statement_id(api_id), previous_permissions
        )
        return attrs

    def _fn_arns(self) -> dict[str, str]:
        """The functions the routes go to (logical name -> ARN; predicted until they are made)."""
        return {t: str(self.ctx.attrs_of(t)["arn"]) for t in self.props.routes.values() if isinstance(t, str)}

    def link(self) -> bool:
        """Once the functions exist: one invoke permission on each, scoped to this API; stale ones
        are removed. The routes do not wait for it (they name the functions by ARN)."""
        build = self._pending
        if build is None or build.linked:
            return False
        build.linked = True
        self._sync_permissions(build.api_id, set(self._fn_arns().values()), build.permissions)
        return True

    def ready_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Once `link` has run: the permissions it added, on the functions as made."""
        sid = statement_id(str(attrs["id"]))
        return {**attrs, "permissions": permission_records(self._fn_arns().values(), sid)}

    def _integration_of(self, target: str | ServiceIntegration, fn_arns: dict[str, str]) -> dict[str, Any]:
        if isinstance(target, str):
            return {
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": fn_arns[target],
                "PayloadFormatVersion": "2.0",
            }
        return {
            "IntegrationType": "AWS_PROXY",
            "IntegrationSubtype": target.subtype,
            "CredentialsArn": target.role,
            "RequestParameters": dict(target.parameters),
            "PayloadFormatVersion": "1.0",  # the only one direct integrations take
        }

    def _sync_routes(self, api_id: str, fn_arns: dict[str, str]) -> None:
        """Make the API's routes and integrations exactly the spec's: matching ones are kept."""
        apigw = self.ctx.client("apigatewayv2")
        live_routes = {r["RouteKey"]: r for r in _pages(apigw, "get_routes", api_id)}
        live_ints = {i["IntegrationId"]: i for i in _pages(apigw, "get_integrations", api_id)}
        used: set[str] = set()
        chosen: dict[str, str] = {}  # one integration per distinct target, shared by its routes
        for key, target in self.props.routes.items():
            wanted = self._integration_of(target, fn_arns)
            same = json.dumps(wanted, sort_keys=True)
            integration_id = chosen.get(same) or next(
                (i for i, live in live_ints.items() if _same_integration(live, wanted)), None
            )
            if integration_id is None:
                integration_id = apigw.create_integration(ApiId=api_id, **wanted)["IntegrationId"]
            chosen[same] = integration_id
            used.add(integration_id)
            route_target = f"integrations/{integration_id}"
            route = live_routes.pop(key, None)
            if route is None:
                apigw.create_route(ApiId=api_id, RouteKey=key, Target=route_target)
            elif route.get("Target") != route_target:
                apigw.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=route_target)
        for route in live_routes.values():
            with missing_ok():
                apigw.delete_route(ApiId=api_id, RouteId=route["RouteId"])
        for integration_id in set(live_ints) - used:
            with missing_ok():
                apigw.delete_integration(ApiId=api_id, IntegrationId=integration_id)

    def _sync_stage(self, api_id: str, previous_stage: str | None) -> None:
        apigw = self.ctx.client("apigatewayv2")
        stages = {s["StageName"]: s for s in _pages(apigw, "get_stages", api_id)}
        current = stages.get(self.props.stage)
        if current is not None and current.get("AutoDeploy") is not True:
            with missing_ok():  # a stage made elsewhere without auto-deploy: made again with it
                apigw.delete_stage(ApiId=api_id, StageName=self.props.stage)
            current = None
        if current is None:
            apigw.create_stage(ApiId=api_id, StageName=self.props.stage, AutoDeploy=True,
                               Tags=self.ctx.tags(self.logical))  # fmt: skip
        if previous_stage and previous_stage != self.props.stage and previous_stage in stages:
            with missing_ok():
                apigw.delete_stage(ApiId=api_id, StageName=previous_stage)

    def _sync_permissions(self, api_id: str, wanted: set[str], previous: list[dict[str, str]]) -> None:
        """One invoke permission per function, scoped to this API; stale ones are removed."""
        sid, source_arn = statement_id(api_id), _execution_arn(self.ctx.target, api_id) + "/*"
        remove_invoke_permissions(self.ctx, [p for p in previous if p["function"] not in wanted])
        for fn in sorted(wanted):
            ensure_invoke_permission(self.ctx, fn, sid, PRINCIPAL, source_arn)

    # ---- read / delete / find ------------------------------------------------------------
    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        if record.attrs.get("id"):
            api = _get_api(ctx, record.attrs["id"])
        else:
            api = next(iter(cls._find(ctx, record.physical)), None)
        if api is None:
            return None
        apigw = ctx.client("apigatewayv2")
        stages = {s["StageName"] for s in _pages(apigw, "get_stages", api["ApiId"])}
        attrs = refreshed_attrs(record, stages, lambda stage: _attrs(ctx, api["ApiId"], api["Name"], stage))
        attrs["routes"] = sorted(r["RouteKey"] for r in _pages(apigw, "get_routes", api["ApiId"]))
        attrs["cors"] = _cors_of(api)
        return attrs

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        apigw = ctx.client("apigatewayv2")
        ids = [record.attrs["id"]] if record.attrs.get("id") else []
        ids += [a["ApiId"] for a in cls._find(ctx, record.physical) if a["ApiId"] not in ids]
        for api_id in ids:
            remove_invoke_permissions(ctx, permissions_of(ctx, record, api_id, statement_id(api_id)))
            _delete_api(apigw, api_id)

    @classmethod
    def _find(cls, ctx: Context, name: str) -> list[dict[str, Any]]:
        """HTTP APIs of this name (it holds the stack id) not tagged as another stack's."""
        apis = named_here(
            ctx, _pages(ctx.client("apigatewayv2"), "get_apis"), name, name_key="Name", tags_key="Tags"
        )
        return [api for api in apis if api.get("ProtocolType") == "HTTP"]

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        apigw = ctx.client("apigatewayv2")
        arn = str(record.attrs["arn"])  # arn:...:apigateway:<region>::/apis/<id>, what it tags
        retag_resource(apigw, {"ResourceArn": arn}, tags, dropped)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """The HTTP APIs named awslab-... that carry awslab's tags (attrs: the id delete needs)."""
        return [
            Made(
                api["Name"],
                tag_map(api.get("Tags")),
                {"id": api["ApiId"]},
                f"{api['ApiId']} {api.get('ApiEndpoint', '')}",
            )
            for api in _pages(target.client("apigatewayv2"), "get_apis")
            if api.get("Name", "").startswith(f"{NAME_PREFIX}-") and api.get("ProtocolType") == "HTTP"
        ]


# ---- helpers ---------------------------------------------------------------------------------
PRINCIPAL = "apigateway.amazonaws.com"  # who invokes the functions


def statement_id(api_id: str) -> str:
    """The id of this API's statement on each function it invokes."""
    return f"awslab-apigwv2-{api_id}"


def _pages(client: Any, operation: str, api_id: str | None = None) -> Iterator[dict[str, Any]]:
    params = {"ApiId": api_id} if api_id else {}
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get("Items", [])


def _same_integration(live: dict[str, Any], wanted: dict[str, Any]) -> bool:
    keys = ("IntegrationType", "IntegrationUri", "IntegrationSubtype", "CredentialsArn", "RequestParameters",
            "PayloadFormatVersion")  # fmt: skip
    return all((live.get(k) or None) == (wanted.get(k) or None) for k in keys)


def _cors_of(api: dict[str, Any]) -> dict[str, Any] | None:
    """A CORS configuration in a comparable form (lists sorted, API Gateway's lowercasing undone)."""
    config = api.get("CorsConfiguration")
    if not config:
        return None
    out: dict[str, Any] = {}
    for key in ("AllowOrigins", "AllowMethods", "AllowHeaders", "ExposeHeaders"):
        values = config.get(key)
        if values:
            out[key] = sorted(v if key == "AllowOrigins" else v.lower() for v in values)
    if config.get("MaxAge") is not None:
        out["MaxAge"] = int(config["MaxAge"])
    if config.get("AllowCredentials"):
        out["AllowCredentials"] = True
    return out


def _api_arn(target: Target, api_id: str) -> str:
    return arn_of(target, "apigateway", f"/apis/{api_id}", account=False)


def _execution_arn(target: Target, api_id: str) -> str:
    return arn_of(target, "execute-api", api_id)


def api_url(target: Target, api_id: str, stage: str) -> str:
    """The stage's invoke URL: `$default` answers at the API's root."""
    if target.kind == "local":
        from awslab.local.urls import http_api_url

        assert target.endpoint_url
        return http_api_url(target.endpoint_url, api_id, stage)
    suffix = "" if stage == DEFAULT else f"/{stage}"
    if target.kind == "endpoint":  # LocalStack's form: the API's own host name under its domain
        port = urlsplit(target.endpoint_url or "").port or 4566
        return f"http://{api_id}.execute-api.localhost.localstack.cloud:{port}{suffix}"
    return f"https://{api_id}.execute-api.{target.region}.amazonaws.com{suffix}"


def _attrs(ctx: Context, api_id: str, name: str, stage: str) -> dict[str, Any]:
    region = ctx.target.region
    return {
        "name": name,
        "id": api_id,
        "arn": _api_arn(ctx.target, api_id),
        "url": api_url(ctx.target, api_id, stage) if stage else "",
        "stage": stage,
        "execution_arn": _execution_arn(ctx.target, api_id),
        "endpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com",
    }


def _get_api(ctx: Context, api_id: str) -> dict[str, Any] | None:
    with missing_ok():
        return dict(ctx.client("apigatewayv2").get_api(ApiId=api_id))
    return None


def _delete_api(apigw: Any, api_id: str) -> None:
    with missing_ok():  # gone is done: also what botocore's retry of a lost answer meets
        apigw.delete_api(ApiId=api_id)

"""API Gateway REST APIs whose routes are Lambda proxy integrations, with CORS done right.

Preflights are answered by OPTIONS MOCK integrations (never by a Lambda that may reject them),
and 4XX/5XX gateway errors carry CORS headers too, so a browser sees the real error instead of
a CORS failure. The Lambda handlers still put `Access-Control-Allow-Origin` in their own
responses (AWS_PROXY responses are passed through untouched).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import BaseModel, ConfigDict, Field, field_validator

from awslab.resources.base import (
    Candidate,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    arn_of,
    error_code,
    ignore_missing,
    missing_ok,
    pages,
    partition_of,
    register,
    tagged_made,
)
from awslab.resources.fanout import Fanout, together
from awslab.resources.idempotent import adopt_or_raise, already_exists, drop_duplicates, named_here
from awslab.resources.invoke_permission import (
    ensure_invoke_permission,
    permission_records,
    permissions_of,
    remove_invoke_permissions,
)
from awslab.resources.retry import retry_propagation
from awslab.resources.tagging import retag_resource
from awslab.target import Target, origin_of

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
DEFAULT_ALLOW_HEADERS = ("Content-Type", "Authorization", "X-Amz-Date", "X-Api-Key", "X-Amz-Security-Token")
# \Z, not `$`: `$` also matches before a trailing newline
_LITERAL_SEGMENT = re.compile(r"^[A-Za-z0-9._:-]+\Z")
_VARIABLE_SEGMENT = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\+?\}\Z")
_BARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_GATEWAY_RESPONSES = ("DEFAULT_4XX", "DEFAULT_5XX")
_CORS_HEADERS = ("Origin", "Methods", "Headers", "Max-Age")


def parse_route(key: str, *, also: str = "") -> tuple[str, str]:
    """'GET /items/{id}' -> ('GET', '/items/{id}'); ValueError says what is wrong (`also`: the
    other key the caller takes, named in the message)."""
    parts = key.strip().split(" ")
    if len(parts) != 2 or not parts[1]:
        other = f" or '{also}'" if also else ", e.g. 'GET /items/{id}'"
        raise ValueError(f"route '{key}' must be 'METHOD /path' (one space){other}")
    method, path = parts[0].upper(), parts[1]
    if method not in METHODS:
        raise ValueError(f"route '{key}': method must be one of {', '.join(METHODS)}")
    if not path.startswith("/") or (path != "/" and path.endswith("/")):
        raise ValueError(f"route '{key}': path must start with '/' and not end with '/'")
    segments = path_segments(path)
    for i, seg in enumerate(segments):
        if not (_LITERAL_SEGMENT.match(seg) or _VARIABLE_SEGMENT.match(seg)):
            raise ValueError(f"route '{key}': bad path segment '{seg}' (letters, digits, ._:- or {{param}})")
        if seg.endswith("+}") and i != len(segments) - 1:
            raise ValueError(f"route '{key}': a greedy '{seg}' must be the last segment")
    return method, path


def path_segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def cors_methods(v: list[str] | None, allowed: tuple[str, ...], hint: str) -> list[str] | None:
    """A CORS configuration's methods, upper-cased; ValueError naming those not `allowed`."""
    if v is None:
        return None
    out = [m.upper() for m in v]
    bad = [m for m in out if m not in allowed]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; use {hint}")
    return out


def _reduce_origin(value: str) -> str:
    # Only URLs are reduced: "*" stays, and so does an unresolved "${site.website_url}".
    return origin_of(value) if "://" in value else value


class Cors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_origins: list[str] = Field(min_length=1)
    allow_methods: list[str] | None = None
    allow_headers: list[str] | None = None
    max_age: int = Field(default=600, ge=0)

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        out = [_reduce_origin(o.strip()) for o in v]
        if not all(out):  # e.g. "${site.website_origin}" of a bucket that is not a website
            raise ValueError("an origin is empty")
        return out

    @field_validator("allow_origins", "allow_methods", "allow_headers")
    @classmethod
    def _no_quotes(cls, v: list[str] | None) -> list[str] | None:
        # values end up inside '...' mapping expressions of API Gateway
        if v and any("'" in s or "," in s for s in v):
            raise ValueError("values may not contain quotes or commas: give a list")
        return v

    @field_validator("allow_methods")
    @classmethod
    def _methods(cls, v: list[str] | None) -> list[str] | None:
        return cors_methods(v, METHODS[:-1], ", ".join(METHODS[:-1]))  # every method but ANY


class RestApiProps(Props):
    routes: dict[str, str] = Field(min_length=1)
    cors: Cors | None = None
    stage: str = Field(default="dev", pattern=r"^[A-Za-z0-9_-]{1,128}$")
    binary_media_types: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("routes")
    @classmethod
    def _routes(cls, v: dict[str, str]) -> dict[str, str]:
        seen: dict[tuple[str, str], str] = {}
        variables: dict[str, str] = {}  # parent path -> its one variable child
        for key, target in v.items():
            method, path = parse_route(key)
            if (method, path) in seen:
                raise ValueError(f"routes '{seen[method, path]}' and '{key}' are the same route")
            seen[method, path] = key
            if not _BARE_NAME.match(target):
                raise ValueError(f"route '{key}': target must be the bare logical name of a lambda.function")
            parent = ""
            for seg in path_segments(path):
                if seg.startswith("{"):
                    other = variables.setdefault(parent, seg)
                    if other != seg:  # API Gateway allows one variable child per resource
                        raise ValueError(
                            f"route '{key}': '{seg}' conflicts with '{other}' under '{parent or '/'}'"
                        )
                parent += "/" + seg
        return {f"{m} {p}": v[k] for (m, p), k in seen.items()}


@register
class RestApi(Resource[RestApiProps]):
    kind = "apigateway.rest_api"
    attributes = ("name", "id", "arn", "url", "stage", "execution_arn")
    dependency_kind = "lambda.function"  # route targets name functions
    name_rule: ClassVar[NameRule] = NameRule(max_len=128)
    drift_keys = ("id", "stage")
    # its delete takes its permissions off the functions, and skips those that go too
    delete_needs_dependencies = False
    sweep_rank = 20  # after what sweeps first (mappings), before the functions it invokes

    @classmethod
    def dependencies(cls, props: RestApiProps) -> set[str]:
        return set(props.routes.values())

    @classmethod
    def link_dependencies(cls, props: RestApiProps) -> set[str]:
        # the integrations name the functions by their predictable ARNs, sent before the functions
        # exist: API Gateway checks only the URI's form (it takes other accounts' functions and
        # stage variables), untried on a real account; only the invoke permissions (`link`) need
        # them to exist
        return cls.dependencies(props)

    _pending: ApiBuild | None = None  # what `wait_ready` and `link` build after `create` or `update`

    # ---- create / update -----------------------------------------------------------------
    def create(self) -> dict[str, Any]:
        """CreateRestApi: the API's id (hence its URL) is all a dependent needs, so the rest is
        built by `wait_ready` (methods, CORS, the deployment) and `link` (the permissions). The
        state says no API of this name exists (an interrupted create is deleted first, by name)."""
        apigw = self.ctx.client("apigateway")
        api = apigw.create_rest_api(
            name=self.physical,
            description=self.props.description,
            endpointConfiguration={"types": ["REGIONAL"]},
            binaryMediaTypes=list(self.props.binary_media_types),
            tags=self.ctx.tags(self.logical),
        )
        # CreateRestApi makes a new API on every call: a lost answer left one more
        drop_duplicates(
            api,
            api["id"],
            lambda: [a["id"] for a in self._find(self.ctx, self.physical)],
            lambda api_id: _delete_api_throttled(apigw, api_id),
        )
        self._sync_settings(api)  # moto ignores binaryMediaTypes on create
        self._pending = ApiBuild(api["id"], api.get("rootResourceId"), fresh=True)
        return self._planned_attrs(api["id"])

    def update(self, record: Record) -> dict[str, Any]:
        apigw = self.ctx.client("apigateway")
        previous = list(record.attrs.get("permissions") or [])
        api_id = record.attrs.get("id")
        api = None
        with missing_ok():
            api = apigw.get_rest_api(restApiId=api_id) if api_id else None
        if api is None:  # gone behind our back: a new one, and the old permissions go
            remove_invoke_permissions(self.ctx, previous)
            return self.create()
        self._sync_settings(api)
        self._pending = ApiBuild(api["id"], None, fresh=False, permissions=previous,
                                 stage=record.attrs.get("stage"))  # fmt: skip
        return self._planned_attrs(api["id"])

    def _planned_attrs(self, api_id: str) -> dict[str, Any]:
        """The attributes, with the invoke permissions `link` adds (recorded now, so that a delete
        or the next `up` finds them even if the build stops half-way; removing one not added is a
        no-op)."""
        attrs = _attrs(self.ctx, api_id, self.physical, self.props.stage)
        # until `link` has run, those recorded before too: the stale ones it would remove
        previous = self._pending.permissions if self._pending else []
        attrs["permissions"] = permission_records(self._fn_arns().values(), statement_id(api_id), previous)
        return attrs

    def ready_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Once `link` has run: the permissions it added, on the functions as made."""
        sid = statement_id(str(attrs["id"]))
        return {**attrs, "permissions": permission_records(self._fn_arns().values(), sid)}

    def _fn_arns(self) -> dict[str, str]:
        return {target: str(self.ctx.attrs_of(target)["arn"]) for target in self.props.routes.values()}

    def wait_ready(self) -> bool:
        """Build what `create` or `update` left: the resource tree with its methods and CORS
        preflights, the gateway responses, then a deployment. The integrations name the functions
        by ARN: this needs none of them to exist. Requests that do not wait for each other go out
        together."""
        build = self._pending
        if build is None or build.deployed:
            return False
        build.deployed = True
        self._deploy(build, self._fn_arns())
        return True

    def link(self) -> bool:
        """Once the functions exist: one invoke permission on each, scoped to this API (beside
        `wait_ready`: the permissions and the methods do not wait for each other)."""
        build = self._pending
        if build is None or build.linked:
            return False
        build.linked = True
        self._sync_permissions(build.api_id, self._fn_arns(), build.permissions, build.fresh)
        return True

    def _deploy(self, build: ApiBuild, fn_arns: dict[str, str]) -> None:
        apigw = self.ctx.client("apigateway")
        routes = [(*parse_route(k), target) for k, target in self.props.routes.items()]
        with Fanout() as calls:
            for rtype in _GATEWAY_RESPONSES:
                calls.spawn(self._sync_gateway_response, build.api_id, rtype, build.fresh)
            self._sync_tree(calls, build, routes, fn_arns)
        # A deployment snapshots the methods and gateway responses; the stage serves the old one until now.
        apigw.create_deployment(restApiId=build.api_id, stageName=self.props.stage,
                                description=f"awslab {self.ctx.lab}/{self.logical}")  # fmt: skip
        if build.stage and build.stage != self.props.stage:
            with missing_ok():
                apigw.delete_stage(restApiId=build.api_id, stageName=build.stage)

    def _sync_settings(self, api: dict[str, Any]) -> None:
        ops: list[dict[str, str]] = []
        if (api.get("description") or "") != self.props.description:
            ops.append({"op": "replace", "path": "/description", "value": self.props.description})
        live, wanted = set(api.get("binaryMediaTypes") or []), set(self.props.binary_media_types)
        # the path names the item (AWS); moto reads the value: both are sent
        ops += [
            {"op": "remove", "path": "/binaryMediaTypes/" + t.replace("/", "~1"), "value": t}
            for t in sorted(live - wanted)
        ]
        ops += [
            {"op": "add", "path": "/binaryMediaTypes/" + t.replace("/", "~1"), "value": t}
            for t in sorted(wanted - live)
        ]
        if ops:
            self.ctx.client("apigateway").update_rest_api(restApiId=api["id"], patchOperations=ops)

    def _sync_tree(
        self, calls: Fanout, build: ApiBuild, routes: list[tuple[str, str, str]], fn_arns: dict[str, str]
    ) -> None:
        """Make the resource tree and its methods exactly the routes (plus CORS preflights). A new
        API has only its root; an existing one loses what the routes no longer name, and its
        methods are made again. Each resource's methods go out as soon as its id is known, and
        so do its children."""
        apigw = self.ctx.client("apigateway")
        wanted = {"/"}
        for _, path, _ in routes:
            segs = path_segments(path)
            wanted.update("/" + "/".join(segs[: i + 1]) for i in range(len(segs)))
        ids: dict[str, str] = {}
        if build.fresh and build.root_id:
            ids["/"] = build.root_id
        else:
            ids = self._clear_tree(build.api_id, wanted)
        methods: dict[str, list[tuple[str, str]]] = {}
        for method, path, target in routes:
            methods.setdefault(path, []).append((method, target))
        preflights: set[str] = set()
        headers: dict[str, str] = {}
        if self.props.cors:
            headers = self._cors_headers(routes)
            preflights = set(methods) - {path for method, path, _ in routes if method == "OPTIONS"}
        children: dict[str, list[str]] = {}
        for path in wanted - set(ids):
            children.setdefault(_parent(path), []).append(path)

        def known(path: str) -> None:
            for method, target in methods.get(path, []):
                calls.spawn(self._put_route, build.api_id, ids[path], method, fn_arns[target])
            if path in preflights:
                calls.spawn(self._put_preflight, build.api_id, ids[path], headers)
            for child in sorted(children.get(path, [])):
                calls.spawn(make, child)

        def make(path: str) -> None:
            ids[path] = _create_resource(apigw, build.api_id, ids[_parent(path)], path_segments(path)[-1])
            known(path)

        for path in sorted(ids):
            known(path)

    def _clear_tree(self, api_id: str, wanted: set[str]) -> dict[str, str]:
        """An existing API's resources the routes still name (path -> id), their methods deleted;
        the others deleted (only the topmost: a delete takes the children along)."""
        apigw = self.ctx.client("apigateway")
        live = {
            r["path"]: r
            for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
            for r in page["items"]
        }
        stale = set(live) - wanted
        with Fanout() as calls:
            for path in sorted(set(live) & wanted):
                for method in live[path].get("resourceMethods") or {}:
                    calls.spawn(ignore_missing, apigw.delete_method, restApiId=api_id,
                                resourceId=live[path]["id"], httpMethod=method)  # fmt: skip
            # deepest first, a level at a time: moto keeps the children of a deleted resource
            # (AWS deletes them with it, so a child may be gone already)
            for depth in sorted({len(path_segments(p)) for p in stale}, reverse=True):
                together(*(lambda p=p: ignore_missing(apigw.delete_resource, restApiId=api_id,
                                                      resourceId=live[p]["id"])
                           for p in stale if len(path_segments(p)) == depth))  # fmt: skip
        return {p: live[p]["id"] for p in wanted if p in live}

    def _put_route(self, api_id: str, resource_id: str, method: str, fn_arn: str) -> None:
        apigw = self.ctx.client("apigateway")
        region = self.ctx.target.region
        _put_new(apigw.put_method, restApiId=api_id, resourceId=resource_id, httpMethod=method,
                 authorizationType="NONE")  # fmt: skip
        uri = (
            f"arn:{partition_of(region)}:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"{fn_arn}/invocations"
        )
        apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)  # fmt: skip

    def _cors_headers(self, routes: list[tuple[str, str, str]]) -> dict[str, str]:
        cors = self.props.cors
        assert cors is not None
        if cors.allow_methods:
            methods = list(dict.fromkeys([*cors.allow_methods, "OPTIONS"]))
        else:
            used = {m for m, _, _ in routes}
            if "ANY" in used:
                used.update(METHODS[:-1])
            methods = [m for m in METHODS if m != "ANY" and (m in used or m == "OPTIONS")]
        # One value only can be static; with several origins the first is used here and the
        # handlers echo whichever allowed origin the request came from.
        return {
            "Origin": cors.allow_origins[0],
            "Methods": ",".join(methods),
            "Headers": ",".join(cors.allow_headers or DEFAULT_ALLOW_HEADERS),
            "Max-Age": str(cors.max_age),
        }

    def _put_preflight(self, api_id: str, resource_id: str, headers: dict[str, str]) -> None:
        apigw = self.ctx.client("apigateway")
        names = {
            h: f"method.response.header.Access-Control-Allow-{h}"
            if h != "Max-Age"
            else "method.response.header.Access-Control-Max-Age"
            for h in _CORS_HEADERS
        }
        common = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": "OPTIONS"}
        _put_new(apigw.put_method, **common, authorizationType="NONE")
        together(
            lambda: _put_new(
                apigw.put_method_response,
                **common,
                statusCode="200",
                responseModels={"application/json": "Empty"},
                responseParameters={names[h]: False for h in _CORS_HEADERS},
            ),
            lambda: apigw.put_integration(
                **common, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'}
            ),
        )
        apigw.put_integration_response(
            **common,
            statusCode="200",
            responseTemplates={"application/json": ""},
            responseParameters={names[h]: f"'{headers[h]}'" for h in _CORS_HEADERS},
        )

    def _sync_gateway_response(self, api_id: str, rtype: str, fresh: bool) -> None:
        apigw = self.ctx.client("apigateway")
        if self.props.cors:
            h = self._cors_headers([(*parse_route(k), t) for k, t in self.props.routes.items()])
            params = {
                f"gatewayresponse.header.Access-Control-Allow-{k}": f"'{h[k]}'"
                for k in ("Origin", "Methods", "Headers")
            }
            apigw.put_gateway_response(restApiId=api_id, responseType=rtype, responseParameters=params)
        elif not fresh:  # a new API has none
            with missing_ok():
                apigw.delete_gateway_response(restApiId=api_id, responseType=rtype)

    def _sync_permissions(
        self, api_id: str, fn_arns: dict[str, str], previous: list[dict[str, str]], fresh: bool
    ) -> None:
        """One invoke permission per function, scoped to this API; stale ones are removed. A new
        API's statement id is new: no function has it yet (a retried add finds its own)."""
        sid = statement_id(api_id)
        wanted = sorted(set(fn_arns.values()))
        source_arn = _execution_arn(self.ctx, api_id) + "/*"
        stale = [p for p in previous if p["function"] not in wanted]
        together(
            partial(remove_invoke_permissions, self.ctx, stale),
            *(partial(ensure_invoke_permission, self.ctx, fn, sid, PRINCIPAL, source_arn, fresh=fresh)
              for fn in wanted),
        )  # fmt: skip

    # ---- read / delete -------------------------------------------------------------------
    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        apigw = ctx.client("apigateway")
        api = None
        if record.attrs.get("id"):
            with missing_ok():
                api = apigw.get_rest_api(restApiId=record.attrs["id"])
        else:
            found = cls._find(ctx, record.physical)
            api = found[0] if found else None
        if api is None:
            return None
        stages = {s["stageName"] for s in apigw.get_stages(restApiId=api["id"]).get("item", [])}
        return refreshed_attrs(record, stages, partial(_attrs, ctx, api["id"], api["name"]))

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        apigw = ctx.client("apigateway")
        ids = [record.attrs["id"]] if record.attrs.get("id") else []
        if not ids or record.status == "creating":  # a create that died may have left one (or two)
            ids += [a["id"] for a in cls._find(ctx, record.physical) if a["id"] not in ids]
        for api_id in ids:
            permissions = permissions_of(ctx, record, api_id, statement_id(api_id))
            together(
                partial(remove_invoke_permissions, ctx, permissions),
                partial(_delete_api_throttled, apigw, api_id),
            )

    @classmethod
    def _find(cls, ctx: Context, name: str) -> list[dict[str, Any]]:
        """APIs of this name (it holds the stack id) not tagged as another stack's."""
        apis = pages(ctx.client("apigateway"), "get_rest_apis", "items")
        return named_here(ctx, apis, name, name_key="name", tags_key="tags")

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        apigw = ctx.client("apigateway")
        arn = str(record.attrs["arn"])  # arn:...:apigateway:<region>::/restapis/<id>, what it tags
        retag_resource(apigw, {"resourceArn": arn}, tags, dropped, keys="tagKeys", tags_param="tags")

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """REST APIs named awslab-... (the listing carries their tags; attrs: the id delete needs)."""
        apis = pages(target.client("apigateway"), "get_rest_apis", "items")
        candidates: Iterable[Candidate] = (
            (a.get("name", ""), partial(dict, a.get("tags") or {}), {"id": a["id"]}, a["id"]) for a in apis
        )
        return tagged_made(survey or Survey(target), cls.kind, candidates)


PRINCIPAL = "apigateway.amazonaws.com"  # who invokes the functions


def statement_id(api_id: str) -> str:
    """The id of this API's statement on each function it invokes."""
    return f"awslab-apigw-{api_id}"


def _execution_arn(ctx: Context, api_id: str) -> str:
    return arn_of(ctx.target, "execute-api", api_id)


def refreshed_attrs(
    record: Record, stages: Collection[str], attrs_of: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """An API's attrs as `refresh` finds them (REST or HTTP): on the recorded stage while it exists
    (else the first, or none), with the invoke permissions the record keeps."""
    stage = record.attrs.get("stage") or next(iter(sorted(stages)), "")
    attrs = attrs_of(stage if stage in stages else "")
    attrs["permissions"] = list(record.attrs.get("permissions") or [])
    return attrs


def _attrs(ctx: Context, api_id: str, name: str, stage: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": api_id,
        "arn": arn_of(ctx.target, "apigateway", f"/restapis/{api_id}", account=False),
        "url": ctx.target.api_url(api_id, stage) if stage else "",
        "stage": stage,
        "execution_arn": _execution_arn(ctx, api_id),
    }


def _delete_api_throttled(apigw: Any, api_id: str) -> None:
    # AWS allows one DeleteRestApi per 30 s per account: retry the throttle, with a deadline.
    retry_propagation(
        lambda: _delete_api(apigw, api_id),
        deadline=240.0,
        first_delay=2.0,
        max_delay=16.0,
        is_retryable=lambda e: error_code(e) == "TooManyRequestsException",
    )


def _create_resource(apigw: Any, api_id: str, parent_id: str, part: str) -> str:
    """CreateResource, once: AWS refuses a second child of the same name (a retried call whose
    first answer was lost: the one there is adopted); moto makes one per attempt (the answered
    one is kept)."""
    from botocore.exceptions import ClientError

    def same() -> list[str]:
        return [
            r["id"]
            for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id)
            for r in page["items"]
            if r.get("parentId") == parent_id and r.get("pathPart") == part
        ]

    try:
        made = apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)
    except ClientError as exc:
        return adopt_or_raise(
            exc, ("ConflictException",), lambda: next(iter(same()), None), fragment="already has this name"
        )
    drop_duplicates(
        made, made["id"], same, lambda rid: apigw.delete_resource(restApiId=api_id, resourceId=rid)
    )
    return str(made["id"])


def _put_new(call: Callable[..., Any], **params: Any) -> None:
    """PutMethod / PutMethodResponse on a method or response that `_sync_tree` just cleared. AWS
    refuses to overwrite one (ConflictException): a retried call whose first answer was lost
    finds its own, which is done."""
    from botocore.exceptions import ClientError

    try:
        call(**params)
    except ClientError as exc:
        if not already_exists(exc, ("ConflictException",), "already exists"):
            raise


def _delete_api(apigw: Any, api_id: str) -> None:
    # gone is done: also what botocore's retry of a delete whose first answer was lost meets
    with missing_ok():
        apigw.delete_rest_api(restApiId=api_id)


def _parent(path: str) -> str:
    return "/" + "/".join(path_segments(path)[:-1])


@dataclass
class ApiBuild:
    """What `wait_ready` and `link` build after a create or update (an HTTP API's too, which has
    only `link`): the API, its root resource's id when known (a new API), whether it is new, the
    permissions and stage recorded before an update, and which of the two has started."""

    api_id: str
    root_id: str | None
    fresh: bool
    permissions: list[dict[str, str]] = field(default_factory=list)
    stage: str | None = None
    deployed: bool = False
    linked: bool = False

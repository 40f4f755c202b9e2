"""apigateway.rest_api on moto: routes to Lambda proxies, scoped invoke permissions, CORS preflights
as MOCK integrations (checked in moto's own model, which the local cloud serves from), in-place
updates that keep the API id, and teardown from a record alone."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from awslab.resources import apigateway as apimod
from awslab.resources.apigateway import RestApi, RestApiProps, parse_route, statement_id
from awslab.resources.base import TAG_LOGICAL, TAG_STACK, Context, Record, kind_class

DEFAULT_HEADERS = "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token"
ORIGIN_URL = "http://localhost:4580/_aws/s3-website/awslab-test-site-abc123/"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")
    return buf.getvalue()


@pytest.fixture
def lab(ctx: Context) -> Context:
    """Two Lambda functions named like the lab's, and a context that has resolved them."""
    iam = ctx.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="awslab-test-role-abc123", AssumeRolePolicyDocument=json.dumps(trust))
    resolved = {}
    for logical in ("items-fn", "other-fn"):
        fn = ctx.client("lambda").create_function(
            FunctionName=ctx.physical_name(logical),
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )
        resolved[logical] = {"name": fn["FunctionName"], "arn": fn["FunctionArn"], "code_sha256": "x"}
    return replace(ctx, resolved=resolved)


ROUTES = {
    "GET /items": "items-fn",
    "POST /items": "items-fn",
    "GET /items/{id}": "items-fn",
    "ANY /files/{proxy+}": "items-fn",
}


def api(ctx: Context, **props: Any) -> RestApi:
    props.setdefault("routes", ROUTES)
    return RestApi(ctx, "api", RestApiProps(**props))


def made(res: RestApi) -> dict[str, Any]:
    """What the engine does: create (the API's id), then wait_ready (methods, CORS, the
    deployment) and link (the permissions, once the functions exist); the attributes it records
    once both are done."""
    attrs = res.create()
    assert res.wait_ready()
    assert res.link()
    return res.ready_attrs(attrs)


def updated(res: RestApi, record: Record) -> dict[str, Any]:
    attrs = res.update(record)
    res.wait_ready()
    res.link()
    return res.ready_attrs(attrs)


def record_of(res: RestApi, attrs: dict[str, Any] | None = None, status: str = "created") -> Record:
    return Record(
        kind=res.kind,
        logical=res.logical,
        physical=res.physical,
        status=status,  # type: ignore[arg-type]
        attrs=dict(attrs or {}),
    )


def tree(ctx: Context, api_id: str) -> dict[str, dict[str, Any]]:
    """path -> {method: integration} as API Gateway reports it."""
    apigw = ctx.client("apigateway")
    out: dict[str, dict[str, Any]] = {}
    for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]:
        out[r["path"]] = {
            m: apigw.get_integration(restApiId=api_id, resourceId=r["id"], httpMethod=m)
            for m in r.get("resourceMethods") or {}
        }
    return out


def statements(ctx: Context, fn: str) -> list[dict[str, Any]]:
    try:
        return json.loads(ctx.client("lambda").get_policy(FunctionName=fn)["Policy"])["Statement"]
    except ClientError:
        return []


def api_gone(ctx: Context, api_id: str) -> bool:
    try:
        ctx.client("apigateway").get_rest_api(restApiId=api_id)
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "NotFoundException"
    return False


# ---- props -------------------------------------------------------------------------------
def test_registered_and_dependencies() -> None:
    assert kind_class("apigateway.rest_api") is RestApi
    assert RestApi.dependencies(RestApiProps(routes={"GET /a": "a-fn", "POST /b": "b-fn"})) == {
        "a-fn",
        "b-fn",
    }


@pytest.mark.parametrize(
    "key",
    [
        "FETCH /items",
        "GET items",
        "GET /items/",
        "GET  /items",
        "GET /a b",
        "GET /{proxy+}/x",
        "GET /it ems",
        "GET /a/{b",
        "GET",
    ],
)
def test_bad_route_keys(key: str) -> None:
    with pytest.raises(ValidationError):
        RestApiProps(routes={key: "fn"})


def test_route_rules() -> None:
    assert parse_route("get /items/{id}") == ("GET", "/items/{id}")
    assert parse_route("ANY /{proxy+}") == ("ANY", "/{proxy+}")
    assert parse_route("OPTIONS /") == ("OPTIONS", "/")
    with pytest.raises(ValidationError, match="conflicts"):
        RestApiProps(routes={"GET /items/{id}": "fn", "PUT /items/{itemId}": "fn"})
    with pytest.raises(ValidationError, match="same route"):
        RestApiProps(routes={"GET /items": "fn", "get /items": "fn"})
    with pytest.raises(ValidationError, match="empty"):
        RestApiProps(routes={"GET /items": "fn"}, cors={"allow_origins": [""]})
    with pytest.raises(ValidationError, match="quotes"):
        RestApiProps(routes={"GET /items": "fn"}, cors={"allow_origins": ["*"], "allow_headers": ["A,B"]})
    with pytest.raises(ValidationError, match="bare logical name"):
        RestApiProps(routes={"GET /items": "${items-fn.arn}"})
    with pytest.raises(ValidationError):
        RestApiProps(routes={"GET /items": "fn"}, auth="IAM")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RestApiProps(routes={"GET /items": "fn"}, cors={"allow_origins": ["*"], "allow_methods": ["ANY"]})
    p = RestApiProps(
        routes={"GET /a": "fn"}, cors={"allow_origins": [ORIGIN_URL, "*", "${site.website_origin}"]}
    )
    assert p.cors is not None
    assert p.cors.allow_origins == ["http://localhost:4580", "*", "${site.website_origin}"]


# ---- lifecycle ---------------------------------------------------------------------------
def test_create_read_delete_cycle(lab: Context) -> None:
    res = api(
        lab, cors={"allow_origins": [ORIGIN_URL]}, binary_media_types=["image/png"], description="items"
    )
    attrs = made(res)
    api_id = attrs["id"]
    account = lab.target.account_id
    assert attrs["name"] == res.physical == "awslab-test-api-abc123"
    assert attrs["url"] == lab.target.api_url(api_id, "dev")
    assert attrs["stage"] == "dev"
    assert attrs["arn"] == f"arn:aws:apigateway:us-east-1::/restapis/{api_id}"
    assert attrs["execution_arn"] == f"arn:aws:execute-api:us-east-1:{account}:{api_id}"

    apigw = lab.client("apigateway")
    live = apigw.get_rest_api(restApiId=api_id)
    assert live["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert live["tags"][TAG_STACK] == "abc123" and live["tags"][TAG_LOGICAL] == "api"
    assert live["binaryMediaTypes"] == ["image/png"] and live["description"] == "items"
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["deploymentId"]

    t = tree(lab, api_id)
    assert set(t) == {"/", "/items", "/items/{id}", "/files", "/files/{proxy+}"}
    assert set(t["/items"]) == {"GET", "POST", "OPTIONS"}
    assert set(t["/items/{id}"]) == {"GET", "OPTIONS"} and set(t["/files/{proxy+}"]) == {"ANY", "OPTIONS"}
    assert t["/"] == {} and t["/files"] == {}
    fn_arn = lab.resolved["items-fn"]["arn"]
    proxy = t["/items/{id}"]["GET"]
    assert (proxy["type"], proxy["httpMethod"]) == ("AWS_PROXY", "POST")
    assert proxy["uri"] == (
        f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
    )
    method = apigw.get_method(restApiId=api_id, resourceId=_id(lab, api_id, "/items"), httpMethod="POST")
    assert method["authorizationType"] == "NONE"

    [stmt] = statements(lab, fn_arn)
    assert stmt["Sid"] == statement_id(api_id)
    assert stmt["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert stmt["Condition"]["ArnLike"]["AWS:SourceArn"] == f"{attrs['execution_arn']}/*"
    assert attrs["permissions"] == [{"function": fn_arn, "statement_id": statement_id(api_id)}]
    assert statements(lab, lab.resolved["other-fn"]["arn"]) == []

    rec = record_of(res, attrs)
    assert RestApi.read(lab, rec) == attrs
    RestApi.delete(lab, rec)
    assert api_gone(lab, api_id)
    assert statements(lab, fn_arn) == []
    assert RestApi.read(lab, rec) is None
    RestApi.delete(lab, rec)  # already gone: a no-op


def _id(ctx: Context, api_id: str, path: str) -> str:
    items = ctx.client("apigateway").get_resources(restApiId=api_id)["items"]
    return next(r["id"] for r in items if r["path"] == path)


def test_preflight_is_a_mock_with_cors_headers_in_the_moto_model(lab: Context) -> None:
    from moto.apigateway.models import apigateway_backends

    res = api(lab, cors={"allow_origins": [ORIGIN_URL, "https://second.example"], "max_age": 300})
    attrs = made(res)
    expected = {
        "method.response.header.Access-Control-Allow-Origin": "'http://localhost:4580'",  # the first origin
        "method.response.header.Access-Control-Allow-Methods": "'GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS'",
        "method.response.header.Access-Control-Allow-Headers": f"'{DEFAULT_HEADERS}'",
        "method.response.header.Access-Control-Max-Age": "'300'",
    }
    apigw = lab.client("apigateway")
    rid = _id(lab, attrs["id"], "/items/{id}")
    resp = apigw.get_integration_response(
        restApiId=attrs["id"], resourceId=rid, httpMethod="OPTIONS", statusCode="200"
    )
    assert resp["responseParameters"] == expected
    mresp = apigw.get_method_response(
        restApiId=attrs["id"], resourceId=rid, httpMethod="OPTIONS", statusCode="200"
    )
    assert set(mresp["responseParameters"]) == set(expected)

    # what the local cloud reads: moto's in-memory model
    model = apigateway_backends[lab.target.account_id]["us-east-1"].apis[attrs["id"]]
    preflights = {
        r.get_path(): r.resource_methods["OPTIONS"].method_integration
        for r in model.resources.values()
        if "OPTIONS" in r.resource_methods
    }
    assert set(preflights) == {"/items", "/items/{id}", "/files/{proxy+}"}
    for integration in preflights.values():
        assert integration.integration_type == "MOCK"
        assert integration.integration_responses["200"].response_parameters == expected
    assert "dev" in model.stages

    gw = {g["responseType"]: g for g in apigw.get_gateway_responses(restApiId=attrs["id"])["items"]}
    for rtype in ("DEFAULT_4XX", "DEFAULT_5XX"):
        params = gw[rtype]["responseParameters"]
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "'http://localhost:4580'"
        assert "gatewayresponse.header.Access-Control-Allow-Methods" in params
        assert "gatewayresponse.header.Access-Control-Allow-Headers" in params


def test_explicit_cors_methods_and_user_options_route(lab: Context) -> None:
    routes = {"GET /items": "items-fn", "OPTIONS /items": "other-fn", "DELETE /x": "items-fn"}
    attrs = made(
        api(
            lab,
            routes=routes,
            cors={"allow_origins": ["*"], "allow_methods": ["get", "delete"], "allow_headers": ["X-Custom"]},
        )
    )
    t = tree(lab, attrs["id"])
    assert t["/items"]["OPTIONS"]["type"] == "AWS_PROXY"  # the user's own OPTIONS route wins
    assert t["/x"]["OPTIONS"]["type"] == "MOCK"
    resp = lab.client("apigateway").get_integration_response(
        restApiId=attrs["id"], resourceId=_id(lab, attrs["id"], "/x"), httpMethod="OPTIONS", statusCode="200"
    )
    params = resp["responseParameters"]
    assert params["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert params["method.response.header.Access-Control-Allow-Methods"] == "'GET,DELETE,OPTIONS'"
    assert params["method.response.header.Access-Control-Allow-Headers"] == "'X-Custom'"


def test_a_route_dropped_by_an_update_whose_link_never_ran_loses_its_permission_next_time(
    lab: Context,
) -> None:
    """The update records the permissions it may leave as well as those it adds, until its link
    has run: the next `up` still knows to take the dropped function's statement off."""
    items_arn, other_arn = lab.resolved["items-fn"]["arn"], lab.resolved["other-fn"]["arn"]
    first = api(lab, routes={"GET /items": "items-fn", "GET /other": "other-fn"})
    attrs = made(first)
    dropped = api(lab, routes={"GET /items": "items-fn"})
    attrs2 = dropped.update(record_of(first, attrs))  # its link failed or was skipped
    assert {p["function"] for p in attrs2["permissions"]} == {items_arn, other_arn}
    assert [s["Sid"] for s in statements(lab, other_arn)] == [statement_id(attrs["id"])]
    attrs3 = updated(api(lab, routes={"GET /items": "items-fn"}), record_of(dropped, attrs2))
    assert statements(lab, other_arn) == []
    assert attrs3["permissions"] == [{"function": items_arn, "statement_id": statement_id(attrs["id"])}]


def test_no_cors_means_no_preflights_or_gateway_responses(lab: Context) -> None:
    attrs = made(api(lab, routes={"GET /": "items-fn"}, stage="prod"))
    t = tree(lab, attrs["id"])
    assert t == {"/": {"GET": t["/"]["GET"]}}
    assert lab.client("apigateway").get_gateway_responses(restApiId=attrs["id"])["items"] == []
    assert attrs["url"] == lab.target.api_url(attrs["id"], "prod")


def test_update_keeps_the_id_and_rebuilds(lab: Context) -> None:
    res = api(lab, cors={"allow_origins": ["*"]})
    attrs = made(res)
    api_id = attrs["id"]
    apigw = lab.client("apigateway")
    deployments = len(apigw.get_deployments(restApiId=api_id)["items"])
    items_arn, other_arn = lab.resolved["items-fn"]["arn"], lab.resolved["other-fn"]["arn"]

    new = api(
        lab,
        routes={"GET /items": "other-fn", "DELETE /things/{id}": "other-fn"},
        stage="v2",
        description="changed",
        binary_media_types=["application/octet-stream"],
    )
    attrs2 = updated(new, record_of(res, attrs))
    assert attrs2["id"] == api_id
    assert attrs2["url"] == lab.target.api_url(api_id, "v2")
    t = tree(lab, api_id)
    assert set(t) == {"/", "/items", "/things", "/things/{id}"}
    assert set(t["/items"]) == {"GET"} and set(t["/things/{id}"]) == {"DELETE"}
    assert other_arn in t["/items"]["GET"]["uri"]
    assert statements(lab, items_arn) == []  # no route uses it any more
    assert [s["Sid"] for s in statements(lab, other_arn)] == [statement_id(api_id)]
    assert attrs2["permissions"] == [{"function": other_arn, "statement_id": statement_id(api_id)}]
    assert len(apigw.get_deployments(restApiId=api_id)["items"]) > deployments
    stages = {s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]}
    assert stages == {"v2"}
    assert apigw.get_gateway_responses(restApiId=api_id)["items"] == []
    live = apigw.get_rest_api(restApiId=api_id)
    assert live["description"] == "changed" and live["binaryMediaTypes"] == ["application/octet-stream"]
    assert RestApi.read(lab, record_of(new, attrs2)) == attrs2

    # and back: the function used again gets its permission once, however often updated
    again = api(lab, cors={"allow_origins": ["*"]})
    attrs3 = updated(again, record_of(new, attrs2))
    attrs3 = updated(again, record_of(again, attrs3))
    assert [s["Sid"] for s in statements(lab, items_arn)] == [statement_id(api_id)]
    assert statements(lab, other_arn) == []
    assert set(tree(lab, api_id)) == {"/", "/items", "/items/{id}", "/files", "/files/{proxy+}"}


def test_update_of_an_api_deleted_behind_our_back_creates_one(lab: Context) -> None:
    res = api(lab)
    attrs = made(res)
    lab.client("apigateway").delete_rest_api(restApiId=attrs["id"])
    attrs2 = updated(res, record_of(res, attrs))
    assert attrs2["id"] != attrs["id"] and not api_gone(lab, attrs2["id"])
    assert [s["Sid"] for s in statements(lab, lab.resolved["items-fn"]["arn"])] == [
        statement_id(attrs2["id"])
    ]


def test_create_asks_nothing_first_and_its_id_is_enough_for_dependents(lab: Context) -> None:
    """The state says no API exists: CreateRestApi is the one request of create (no listing
    before it, no describe after), and the attributes a dependent reads (URL, permissions to
    record) are known from its answer; methods and permissions come with wait_ready."""
    res = api(lab, cors={"allow_origins": ["*"]})
    calls: list[str] = []
    lab.client("apigateway").meta.events.register(
        "before-call.*.*", lambda model, **_: calls.append(model.name)
    )
    attrs = res.create()
    assert calls == ["CreateRestApi"]
    assert attrs["url"] == lab.target.api_url(attrs["id"], "dev")
    fn_arn = lab.resolved["items-fn"]["arn"]
    assert attrs["permissions"] == [{"function": fn_arn, "statement_id": statement_id(attrs["id"])}]
    assert statements(lab, fn_arn) == []
    assert res.wait_ready()
    assert statements(lab, fn_arn) == []  # the methods need no function: the permissions are link's
    assert res.link()
    assert [s["Sid"] for s in statements(lab, fn_arn)] == [statement_id(attrs["id"])]
    assert "GetRestApis" not in calls and "GetResources" not in calls
    assert not res.wait_ready() and not res.link()  # nothing left to build


def test_a_half_created_api_goes_with_the_replacement(lab: Context) -> None:
    """An `up` that died after CreateRestApi left a "creating" record: the next one replaces it,
    and the delete finds the API by its name."""
    res = api(lab)
    first = res.create()
    RestApi.delete(lab, record_of(res, status="creating"))
    second = made(res)
    assert [a["id"] for a in lab.client("apigateway").get_rest_apis()["items"]] == [second["id"]]
    assert second["id"] != first["id"]
    assert len(statements(lab, lab.resolved["items-fn"]["arn"])) == 1


def test_delete_from_creating_record_without_attrs(lab: Context) -> None:
    res = api(lab, cors={"allow_origins": ["*"]})
    attrs = made(res)
    # another stack's API of another name is not touched
    other = lab.client("apigateway").create_rest_api(name="awslab-test-api-zzz999")
    rec = record_of(res, status="creating")
    read = RestApi.read(lab, rec)
    assert read is not None and read["id"] == attrs["id"] and read["stage"] == "dev"
    RestApi.delete(lab, rec)
    assert api_gone(lab, attrs["id"])
    assert statements(lab, lab.resolved["items-fn"]["arn"]) == []
    assert not api_gone(lab, other["id"])
    assert RestApi.read(lab, rec) is None
    RestApi.delete(lab, rec)


def test_delete_retries_the_delete_throttle(lab: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    attrs = made(api(lab))
    apigw = lab.client("apigateway")
    real = apigw.delete_rest_api
    calls: list[str] = []

    def throttled(**kw: Any) -> Any:
        calls.append(kw["restApiId"])
        if len(calls) < 3:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Too Many Requests"}},
                "DeleteRestApi",
            )
        return real(**kw)

    sleeps: list[float] = []
    original = apimod.retry_propagation
    monkeypatch.setattr(apigw, "delete_rest_api", throttled)
    monkeypatch.setattr(apimod, "retry_propagation", lambda fn, **kw: original(fn, **kw, sleep=sleeps.append))
    RestApi.delete(lab, record_of(api(lab), attrs))
    assert len(calls) == 3 and len(sleeps) == 2
    assert api_gone(lab, attrs["id"])

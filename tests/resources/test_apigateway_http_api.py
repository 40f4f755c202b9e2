"""apigateway.http_api on moto: routes to Lambda (payload 2.0) and to services, the API's CORS, an
auto-deployed stage, invoke permissions scoped to the API, drift, in-place updates, teardown from a
record alone, and what a sweep lists."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from awslab.resources.apigateway_http_api import HttpApi, HttpApiProps, statement_id
from awslab.resources.base import TAG_LOGICAL, TAG_STACK, Context, Record, kind_class

SQS_ROUTE = {
    "service": "sqs",
    "action": "SendMessage",
    "parameters": {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "MessageBody": "$request.body",
    },
    "role": "arn:aws:iam::123456789012:role/apigw",
}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buf.getvalue()


@pytest.fixture
def lab(ctx: Context) -> Context:
    """Two functions named like the lab's, resolved in the context."""
    role = ctx.client("iam").create_role(RoleName="awslab-test-role-abc123", AssumeRolePolicyDocument="{}")
    resolved = {}
    for logical in ("items-fn", "other-fn"):
        fn = ctx.client("lambda").create_function(
            FunctionName=ctx.physical_name(logical),
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )
        resolved[logical] = {"name": fn["FunctionName"], "arn": fn["FunctionArn"]}
    return replace(ctx, resolved=resolved)


def api(ctx: Context, **props: Any) -> HttpApi:
    props.setdefault(
        "routes", {"GET /items/{id}": "items-fn", "POST /orders": SQS_ROUTE, "$default": "other-fn"}
    )
    return HttpApi(ctx, "api", HttpApiProps.model_validate(props))


def record_of(res: HttpApi, attrs: dict[str, Any] | None = None, status: str = "created") -> Record:
    return Record(res.kind, res.logical, res.physical, status, dict(attrs or {}))  # type: ignore[arg-type]


def sids(ctx: Context, fn: str) -> set[str]:
    try:
        return {
            s["Sid"]
            for s in json.loads(ctx.client("lambda").get_policy(FunctionName=fn)["Policy"])["Statement"]
        }
    except ClientError:
        return set()


def routes_of(ctx: Context, api_id: str) -> dict[str, dict[str, Any]]:
    v2 = ctx.client("apigatewayv2")
    integrations = {i["IntegrationId"]: i for i in v2.get_integrations(ApiId=api_id)["Items"]}
    return {
        r["RouteKey"]: integrations[r["Target"].split("/")[1]] for r in v2.get_routes(ApiId=api_id)["Items"]
    }


# ---- props -------------------------------------------------------------------------------
def test_registered_and_dependencies() -> None:
    assert kind_class("apigateway.http_api") is HttpApi
    props = HttpApiProps.model_validate(
        {"routes": {"GET /a": "a-fn", "POST /b": SQS_ROUTE, "$default": "c-fn"}}
    )
    assert HttpApi.dependencies(props) == {"a-fn", "c-fn"}


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"FETCH /a": "fn"}, "method must be one of"),
        ({"GET a": "fn"}, "must start with '/'"),
        ({"GET /a/{p+}/b": "fn"}, "greedy"),
        ({"GET /a/{id}": "fn", "get /a/{name}": "fn"}, "are the same route"),
        ({"GET /a": "${fn.arn}"}, "bare logical name"),
        ({"POST /a": {**SQS_ROUTE, "parameters": {"QueueUrl": "u"}}}, "needs parameters MessageBody"),
        (
            {"POST /a": {**SQS_ROUTE, "parameters": {**SQS_ROUTE["parameters"], "Queue": "x"}}},
            "has no parameters Queue",
        ),
        ({"POST /a": {**SQS_ROUTE, "service": "kinesis"}}, "service 'kinesis'"),
        ({"POST /a": {**SQS_ROUTE, "action": "SendMessageBatch"}}, "one of DeleteMessage, PurgeQueue"),
        ({"POST /a": {**SQS_ROUTE, "role": "apigw"}}, "must be an ARN"),
    ],
)
def test_bad_routes(routes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HttpApiProps.model_validate({"routes": routes})


def test_bad_cors_and_stage() -> None:
    with pytest.raises(ValidationError, match="allow_credentials needs named origins"):
        HttpApiProps.model_validate(
            {"routes": {"$default": "fn"}, "cors": {"allow_origins": ["*"], "allow_credentials": True}}
        )
    with pytest.raises(ValidationError, match="unknown method"):
        HttpApiProps.model_validate(
            {"routes": {"$default": "fn"}, "cors": {"allow_origins": ["*"], "allow_methods": ["ANY"]}}
        )
    with pytest.raises(ValidationError, match="stage"):
        HttpApiProps.model_validate({"routes": {"$default": "fn"}, "stage": "no spaces"})
    origin = HttpApiProps.model_validate(
        {"routes": {"$default": "fn"}, "cors": {"allow_origins": ["http://localhost:3/x/"]}}
    )
    assert origin.cors is not None and origin.cors.allow_origins == ["http://localhost:3"]


# ---- life cycle ----------------------------------------------------------------------------
def test_create_read_delete(lab: Context) -> None:
    res = api(lab, cors={"allow_origins": ["*"], "allow_methods": ["GET"]})
    attrs = res.create()
    api_id = attrs["id"]
    # the routes are made without the functions' permissions: those are `link`'s, once they exist
    assert sids(lab, lab.resolved["items-fn"]["name"]) == set()
    assert res.link() and not res.link()
    assert attrs["url"] == f"https://{api_id}.execute-api.us-east-1.amazonaws.com"  # $default: no stage path
    assert attrs["execution_arn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}"
    routes = routes_of(lab, api_id)
    assert set(routes) == {"GET /items/{id}", "POST /orders", "$default"}
    assert routes["GET /items/{id}"]["IntegrationUri"] == lab.resolved["items-fn"]["arn"]
    assert routes["GET /items/{id}"]["PayloadFormatVersion"] == "2.0"
    sqs = routes["POST /orders"]
    assert (sqs["IntegrationSubtype"], sqs["CredentialsArn"]) == ("SQS-SendMessage", SQS_ROUTE["role"])
    assert sqs["RequestParameters"] == SQS_ROUTE["parameters"]
    v2 = lab.client("apigatewayv2")
    live = v2.get_api(ApiId=api_id)
    assert live["CorsConfiguration"]["AllowOrigins"] == ["*"]
    assert live["Tags"][TAG_STACK] == "abc123" and live["Tags"][TAG_LOGICAL] == "api"
    assert [s["StageName"] for s in v2.get_stages(ApiId=api_id)["Items"]] == ["$default"]
    assert v2.get_stage(ApiId=api_id, StageName="$default")["AutoDeploy"] is True
    # one statement per function, scoped to this API
    for fn in ("items-fn", "other-fn"):
        policy = json.loads(lab.client("lambda").get_policy(FunctionName=lab.resolved[fn]["name"])["Policy"])
        (st,) = policy["Statement"]
        assert st["Principal"] == {"Service": "apigateway.amazonaws.com"} and st["Sid"] == statement_id(
            api_id
        )
        assert st["Condition"]["ArnLike"]["AWS:SourceArn"] == attrs["execution_arn"] + "/*"

    rec = record_of(res, attrs)
    live_attrs = HttpApi.read(lab, rec)
    assert live_attrs is not None and HttpApi.drift(rec, live_attrs) == []
    HttpApi.delete(lab, rec)
    assert HttpApi.read(lab, rec) is None
    assert sids(lab, lab.resolved["items-fn"]["name"]) == set()


def test_drift_outside_awslab_is_seen_and_repaired(lab: Context) -> None:
    res = api(lab)
    rec = record_of(res, res.create())
    v2 = lab.client("apigatewayv2")
    route = next(r for r in v2.get_routes(ApiId=rec.attrs["id"])["Items"] if r["RouteKey"] == "POST /orders")
    v2.delete_route(ApiId=rec.attrs["id"], RouteId=route["RouteId"])
    v2.update_api(ApiId=rec.attrs["id"], CorsConfiguration={"AllowOrigins": ["http://x.example"]})
    live = HttpApi.read(lab, rec)
    assert live is not None
    assert {d.key for d in HttpApi.drift(rec, live)} == {"routes", "cors"}
    repaired = api(lab).update(rec)
    assert repaired["id"] == rec.attrs["id"]
    again = HttpApi.read(lab, record_of(res, repaired))
    assert again is not None and HttpApi.drift(record_of(res, repaired), again) == []


def test_update_in_place(lab: Context) -> None:
    first = api(lab)
    rec = record_of(first, first.create())
    first.link()
    api_id = rec.attrs["id"]
    second = api(lab, routes={"GET /items/{id}": "items-fn", "PUT /items/{id}": "items-fn"}, stage="dev")
    attrs = second.update(rec)
    # until its link has run, the record keeps the permission it takes off too
    assert {p["function"] for p in attrs["permissions"]} == {
        lab.resolved[f]["arn"] for f in ("items-fn", "other-fn")
    }
    second.link()
    attrs = second.ready_attrs(attrs)
    assert attrs["id"] == api_id and attrs["url"].endswith("/dev") and attrs["stage"] == "dev"
    routes = routes_of(lab, api_id)
    assert set(routes) == {"GET /items/{id}", "PUT /items/{id}"}
    # one integration per function is shared by its routes; the unused ones went
    assert len(lab.client("apigatewayv2").get_integrations(ApiId=api_id)["Items"]) == 1
    assert [s["StageName"] for s in lab.client("apigatewayv2").get_stages(ApiId=api_id)["Items"]] == ["dev"]
    # the function no route uses lost its permission; the other kept its one statement
    assert sids(lab, lab.resolved["other-fn"]["name"]) == set()
    assert sids(lab, lab.resolved["items-fn"]["name"]) == {statement_id(api_id)}
    assert attrs["permissions"] == [
        {"function": lab.resolved["items-fn"]["arn"], "statement_id": statement_id(api_id)}
    ]


def test_a_route_dropped_by_an_update_whose_link_never_ran_loses_its_permission_next_time(
    lab: Context,
) -> None:
    first = api(lab)
    rec = record_of(first, first.create())
    first.link()
    other = lab.resolved["other-fn"]["name"]
    dropped = api(lab, routes={"GET /items/{id}": "items-fn"})
    attrs = dropped.update(rec)  # its link failed or was skipped
    assert sids(lab, other) == {statement_id(rec.attrs["id"])}
    again = api(lab, routes={"GET /items/{id}": "items-fn"})
    again.update(record_of(dropped, attrs))
    again.link()
    assert sids(lab, other) == set()


def test_update_recreates_an_api_deleted_outside(lab: Context) -> None:
    res = api(lab)
    rec = record_of(res, res.create())
    lab.client("apigatewayv2").delete_api(ApiId=rec.attrs["id"])
    assert HttpApi.read(lab, rec) is None
    attrs = api(lab).update(rec)
    assert attrs["id"] != rec.attrs["id"] and HttpApi.read(lab, record_of(res, attrs)) is not None


def test_delete_from_a_creating_record(lab: Context) -> None:
    """A create that died before the state was written: found by name, permissions on the lab's
    functions found by statement id."""
    res = api(lab)
    api_id = res.create()["id"]
    res.link()
    HttpApi.delete(lab, record_of(res, {}, status="creating"))
    with pytest.raises(ClientError):
        lab.client("apigatewayv2").get_api(ApiId=api_id)
    assert sids(lab, lab.resolved["items-fn"]["name"]) == set()


def test_create_adopts_its_leftover(lab: Context) -> None:
    res = api(lab)
    api_id = res.create()["id"]
    assert api(lab).create()["id"] == api_id
    assert len(lab.client("apigatewayv2").get_apis()["Items"]) == 1


def test_list_made(lab: Context) -> None:
    api_id = api(lab).create()["id"]
    lab.client("apigatewayv2").create_api(Name="someone-else", ProtocolType="HTTP")
    made = HttpApi.list_made(lab.target)
    assert [(m.physical, m.attrs, m.tags[TAG_STACK]) for m in made] == [
        ("awslab-test-api-abc123", {"id": api_id}, "abc123")
    ]

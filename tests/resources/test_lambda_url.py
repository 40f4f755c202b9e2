"""lambda.url on moto: a function URL with auth NONE (and the two public statements AWS requires) or
AWS_IAM, its CORS, drift, in-place updates, teardown from a record alone, and what a sweep lists."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from awslab.resources.base import Context, Record, kind_class
from awslab.resources.lambda_url import PUBLIC_INVOKE_SID, PUBLIC_URL_SID, FunctionUrl, FunctionUrlProps
from awslab.target import Target


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


@pytest.fixture
def lab(ctx: Context) -> Context:
    role = ctx.client("iam").create_role(RoleName="awslab-test-role-abc123", AssumeRolePolicyDocument="{}")
    fn = ctx.client("lambda").create_function(
        FunctionName=ctx.physical_name("site-fn"),
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Tags=ctx.tags("site-fn"),
    )
    return replace(ctx, resolved={"site-fn": {"name": fn["FunctionName"], "arn": fn["FunctionArn"]}})


def url(ctx: Context, **props: Any) -> FunctionUrl:
    props.setdefault("function", "site-fn")
    return FunctionUrl(ctx, "site-url", FunctionUrlProps.model_validate(props))


def statements(ctx: Context) -> dict[str, dict[str, Any]]:
    try:
        policy = ctx.client("lambda").get_policy(FunctionName="awslab-test-site-fn-abc123")["Policy"]
    except ClientError:
        return {}
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def record_of(res: FunctionUrl, attrs: dict[str, Any], status: str = "created") -> Record:
    return Record(res.kind, res.logical, res.physical, status, attrs)  # type: ignore[arg-type]


def test_props_and_dependencies() -> None:
    assert kind_class("lambda.url") is FunctionUrl
    assert FunctionUrl.dependencies(FunctionUrlProps(function="site-fn")) == {"site-fn"}
    assert (
        FunctionUrl.dependencies(FunctionUrlProps(function="arn:aws:lambda:us-east-1:1:function:x")) == set()
    )
    assert FunctionUrlProps(function="site-fn").auth == "AWS_IAM"  # public only when asked
    with pytest.raises(ValidationError, match="auth"):
        FunctionUrlProps.model_validate({"function": "f", "auth": "PUBLIC"})
    with pytest.raises(ValidationError, match="allow_credentials needs named origins"):
        FunctionUrlProps.model_validate(
            {"function": "f", "cors": {"allow_origins": ["*"], "allow_credentials": True}}
        )


def test_public_url_life_cycle(lab: Context) -> None:
    res = url(lab, auth="NONE", cors={"allow_origins": ["http://localhost:3000/"], "allow_methods": ["GET"]})
    assert res.physical == "awslab-test-site-fn-abc123"  # the URL is its function's
    attrs = res.create()
    assert attrs["url"].startswith("https://") and ".lambda-url.us-east-1.on.aws" in attrs["url"]
    assert attrs["auth"] == "NONE" and attrs["cors"]["AllowOrigins"] == ["http://localhost:3000"]
    public = statements(lab)
    assert (
        public[PUBLIC_URL_SID]["Action"] == "lambda:InvokeFunctionUrl"
        and public[PUBLIC_URL_SID]["Principal"] == "*"
    )
    assert public[PUBLIC_INVOKE_SID]["Action"] == "lambda:InvokeFunction"
    rec = record_of(res, attrs)
    live = FunctionUrl.read(lab, rec)
    assert live is not None and FunctionUrl.drift(rec, live) == []
    # a second up keeps one statement each
    attrs = url(
        lab, auth="NONE", cors={"allow_origins": ["http://localhost:3000"], "allow_methods": ["GET"]}
    ).update(rec)
    assert sorted(statements(lab)) == [PUBLIC_INVOKE_SID, PUBLIC_URL_SID]

    # AWS_IAM: the public statements go; CORS removed by the update
    private = url(lab, auth="AWS_IAM").update(record_of(res, attrs))
    assert private["auth"] == "AWS_IAM" and private["cors"] is None and private["url"] == attrs["url"]
    assert statements(lab) == {}

    lab.client("lambda").update_function_url_config(FunctionName=res.physical, AuthType="NONE")
    rec = record_of(res, private)
    live = FunctionUrl.read(lab, rec)
    assert live is not None and [str(d) for d in FunctionUrl.drift(rec, live)] == ["auth AWS_IAM -> NONE"]

    FunctionUrl.delete(lab, rec)
    assert FunctionUrl.read(lab, rec) is None


def test_delete_from_a_creating_record(lab: Context) -> None:
    res = url(lab, auth="NONE")
    res.create()
    FunctionUrl.delete(lab, record_of(res, {}, status="creating"))  # the physical name is the function's
    assert FunctionUrl.read(lab, record_of(res, {})) is None
    assert statements(lab) == {}


def test_update_recreates_a_url_deleted_outside(lab: Context) -> None:
    res = url(lab)
    rec = record_of(res, res.create())
    lab.client("lambda").delete_function_url_config(FunctionName=res.physical)
    attrs = url(lab).update(rec)
    assert FunctionUrl.read(lab, record_of(res, attrs)) is not None


def test_local_target_url(lab: Context) -> None:
    local = Target(kind="local", endpoint_url="http://127.0.0.1:4999", local_port=4999)
    from awslab.resources import lambda_url

    local_url = lambda_url._url(local, "https://abc123def.lambda-url.us-east-1.on.aws")
    assert local_url == "http://127.0.0.1:4999/_aws/lambda-url/abc123def/"


def test_list_made(lab: Context) -> None:
    url(lab).create()
    made = FunctionUrl.list_made(lab.target)
    assert [(m.physical, m.attrs, m.tags.get("awslab:stack"), "awslab:logical" in m.tags) for m in made] == [
        ("awslab-test-site-fn-abc123", {"function": "awslab-test-site-fn-abc123"}, "abc123", False)
    ]

"""HTTP APIs and Lambda function URLs served by a real local cloud process, built by awslab's own
kinds (apigateway.http_api, lambda.url): payload format 2.0 events judged by Powertools' models,
the 2.0 response handling, CORS answered by the service, a direct SQS integration that really
sends, and function URLs with auth NONE and AWS_IAM."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, LambdaFunctionUrlModel
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from awslab.resources.apigateway_http_api import HttpApi, HttpApiProps
from awslab.resources.base import Context
from awslab.resources.lambda_url import FunctionUrl, FunctionUrlProps
from awslab.target import Target
from tests.local.apis import create_function
from tests.local.conftest import RunningCloud, http

ECHO = """
import base64, json

def handler(event, context):
    path = event["rawPath"]
    if path.endswith("/bare"):
        return {"ok": True, "path": path}
    if path.endswith("/text"):
        return "plain words"
    if path.endswith("/boom"):
        raise ValueError("boom")
    if path.endswith("/cookies"):
        return {"statusCode": 201, "cookies": ["a=1; Path=/", "b=2"], "headers": {"x-one": "1"},
                "body": base64.b64encode(b"\\x00\\x01").decode(), "isBase64Encoded": True}
    return {"statusCode": 200, "headers": {"content-type": "application/json",
                                           "access-control-allow-origin": "http://evil.example"},
            "body": json.dumps(event)}
"""


def _ctx(cloud: RunningCloud, resolved: dict[str, Any]) -> Context:
    target = Target(
        kind="local", endpoint_url=cloud.endpoint, local_port=int(cloud.endpoint.rsplit(":", 1)[1])
    )
    stack = uuid.uuid4().hex[:6]
    return Context(target=target, lab="h7", stack_id=stack, base_dir=Path("."), resolved=resolved)


@pytest.fixture(scope="module")
def echo_fn(running_cloud: RunningCloud) -> dict[str, str]:
    name = f"echo-{uuid.uuid4().hex[:8]}"
    arn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), name, ECHO)
    return {"name": name, "arn": arn}


def _made(api: HttpApi) -> str:
    """The API's URL once it is made as `up` makes it: created, then connected to its functions
    (their invoke permissions: without one API Gateway answers 500, as on AWS)."""
    url = str(api.create()["url"])
    api.link()
    return url


@pytest.fixture(scope="module")
def echo_api(running_cloud: RunningCloud, echo_fn: dict[str, str]) -> str:
    ctx = _ctx(running_cloud, {"echo": echo_fn})
    props = HttpApiProps.model_validate(
        {
            "routes": {"GET /items/{id}": "echo", "ANY /files/{proxy+}": "echo", "$default": "echo"},
            "cors": {
                "allow_origins": ["http://localhost:3000"],
                "allow_methods": ["GET", "POST"],
                "allow_headers": ["content-type"],
                "max_age": 300,
            },
        }
    )
    return _made(HttpApi(ctx, "api", props))


def test_http_api_lambda_event_is_v2(echo_api: str) -> None:
    res = http(echo_api + "/items/42?tag=a&tag=b&q=x%20y", headers={"X-Custom": "One", "Cookie": "s=1; t=2"})
    assert res.status == 200, res.body
    assert res.headers["apigw-requestid"]
    event = json.loads(res.body)
    APIGatewayProxyEventV2Model.model_validate(event)  # AWS's shape, as Powertools parses it
    assert event["version"] == "2.0" and event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42" and event["rawQueryString"] == "tag=a&tag=b&q=x%20y"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "One"  # names lowercased
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["requestId"] == res.headers["apigw-requestid"]
    assert "body" not in event and event["isBase64Encoded"] is False

    greedy = json.loads(http(echo_api + "/files/a/b.txt", method="DELETE", body=b"\x00\xff").body)
    assert greedy["routeKey"] == "ANY /files/{proxy+}" and greedy["pathParameters"] == {"proxy": "a/b.txt"}
    assert greedy["isBase64Encoded"] is True  # not text: base64

    fallback = json.loads(
        http(
            echo_api + "/nothing/here",
            method="POST",
            body=b'{"a": 1}',
            headers={"Content-Type": "application/json"},
        ).body
    )
    APIGatewayProxyEventV2Model.model_validate(fallback)
    assert fallback["routeKey"] == "$default" and fallback["body"] == '{"a": 1}'


def test_http_api_v2_responses(echo_api: str) -> None:
    bare = http(echo_api + "/x/bare")
    assert (bare.status, json.loads(bare.body)) == (200, {"ok": True, "path": "/x/bare"})
    assert bare.headers["content-type"] == "application/json"
    assert http(echo_api + "/x/text").body == b"plain words"
    cookies = http(echo_api + "/x/cookies")
    assert cookies.status == 201 and cookies.body == b"\x00\x01"
    assert cookies.headers.get_all("set-cookie") == ["a=1; Path=/", "b=2"]
    boom = http(echo_api + "/x/boom")
    assert (boom.status, json.loads(boom.body)) == (500, {"message": "Internal Server Error"})


def test_http_api_cors_is_the_apis(echo_api: str) -> None:
    pre = http(
        echo_api + "/items/1",
        method="OPTIONS",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert pre.status == 204  # answered by API Gateway: no route serves OPTIONS /items/1
    assert pre.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert pre.headers["access-control-allow-methods"] == "GET,POST"
    assert pre.headers["access-control-max-age"] == "300"
    got = http(echo_api + "/items/1", headers={"Origin": "http://localhost:3000"})
    assert got.headers.get_all("access-control-allow-origin") == [
        "http://localhost:3000"
    ]  # the function's dropped
    other = http(echo_api + "/items/1", headers={"Origin": "http://elsewhere.example"})
    assert other.status == 200 and "access-control-allow-origin" not in other.headers


def test_http_api_without_permission_or_route(running_cloud: RunningCloud, echo_fn: dict[str, str]) -> None:
    apigw = running_cloud.client("apigatewayv2")
    api = apigw.create_api(Name=f"bare-{uuid.uuid4().hex[:6]}", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo_fn["arn"],
        PayloadFormatVersion="2.0",
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey="GET /a", Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    base = f"{running_cloud.endpoint}/_aws/execute-api/{api['ApiId']}"
    denied = http(base + "/a")  # the function's policy does not let API Gateway invoke it
    assert (denied.status, json.loads(denied.body)) == (500, {"message": "Internal Server Error"})
    missing = http(base + "/b")
    assert (missing.status, json.loads(missing.body)) == (404, {"message": "Not Found"})


def test_http_api_direct_sqs_integration(running_cloud: RunningCloud) -> None:
    sqs, iam = running_cloud.client("sqs"), running_cloud.client("iam")
    queue = sqs.create_queue(QueueName=f"orders-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "apigateway.amazonaws.com"},
            }
        ],
    }
    role = iam.create_role(
        RoleName=f"apigw-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps(trust)
    )
    ctx = _ctx(running_cloud, {})
    props = HttpApiProps.model_validate(
        {
            "routes": {
                "POST /orders/{kind}": {
                    "service": "sqs",
                    "action": "SendMessage",
                    "role": role["Role"]["Arn"],
                    "parameters": {
                        "QueueUrl": queue,
                        "MessageBody": "$request.body",
                        "MessageAttributes": '{"kind": {"DataType": "String", "StringValue": "${request.path.kind}"}}',
                    },
                }
            }
        }
    )
    url = _made(HttpApi(ctx, "sqs-api", props))
    res = http(
        url + "/orders/rush",
        method="POST",
        body=b'{"item": "tea"}',
        headers={"Content-Type": "application/json"},
    )
    assert res.status == 200, res.body
    result = json.loads(res.body)["SendMessageResponse"]["SendMessageResult"]
    got = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert [(m["Body"], m["MessageId"]) for m in got] == [('{"item": "tea"}', result["MessageId"])]
    assert got[0]["MessageAttributes"]["kind"]["StringValue"] == "rush"


def test_http_api_service_role_must_trust_apigateway(running_cloud: RunningCloud) -> None:
    iam = running_cloud.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    role = iam.create_role(
        RoleName=f"wrong-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps(trust)
    )
    props = HttpApiProps.model_validate(
        {
            "routes": {
                "POST /e": {
                    "service": "eventbridge",
                    "action": "PutEvents",
                    "role": role["Role"]["Arn"],
                    "parameters": {"Source": "app", "DetailType": "x", "Detail": "$request.body"},
                }
            }
        }
    )
    url = _made(HttpApi(_ctx(running_cloud, {}), "ev-api", props))
    res = http(url + "/e", method="POST", body=b"{}")
    assert (res.status, json.loads(res.body)) == (500, {"message": "Internal Server Error"})


@pytest.fixture(scope="module")
def url_fn(running_cloud: RunningCloud) -> Callable[[str], tuple[str, dict[str, str]]]:
    def make(auth: str) -> tuple[str, dict[str, str]]:
        name = f"url-{uuid.uuid4().hex[:8]}"
        fn = {
            "name": name,
            "arn": create_function(running_cloud.client("lambda"), running_cloud.client("iam"), name, ECHO),
        }
        props = FunctionUrlProps.model_validate(
            {"function": "fn", "auth": auth, "cors": {"allow_origins": ["*"]}}
        )
        attrs = FunctionUrl(_ctx(running_cloud, {"fn": fn}), "fn-url", props).create()
        return str(attrs["url"]), fn

    return make


def test_function_url_none_is_public(
    url_fn: Callable[[str], tuple[str, dict[str, str]]], running_cloud: RunningCloud
) -> None:
    url, fn = url_fn("NONE")
    res = http(url + "hello?x=1", headers={"Origin": "http://a.example"})
    assert res.status == 200, res.body
    event = json.loads(res.body)
    LambdaFunctionUrlModel.model_validate(event)
    assert event["rawPath"] == "/hello" and event["routeKey"] == "$default"
    assert event["requestContext"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    assert res.headers.get_all("access-control-allow-origin") == ["*"]
    assert json.loads(http(url + "x/bare").body) == {"ok": True, "path": "/x/bare"}
    assert http(url + "x/boom").status == 502
    # without the public statements AWS requires, the URL refuses everyone
    ctx = _ctx(running_cloud, {"fn": fn})
    lam = ctx.client("lambda")
    lam.remove_permission(FunctionName=fn["name"], StatementId="awslab-url-invoke")
    refused = http(url)
    assert (refused.status, json.loads(refused.body)) == (403, {"Message": "Forbidden"})


def test_function_url_aws_iam_needs_a_signature(url_fn: Callable[[str], tuple[str, dict[str, str]]]) -> None:
    url, _ = url_fn("AWS_IAM")
    unsigned = http(url + "data")
    assert (unsigned.status, json.loads(unsigned.body)) == (403, {"Message": "Forbidden"})
    assert unsigned.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    request = AWSRequest(method="GET", url=url + "data")
    SigV4Auth(Credentials("awslab", "awslab-local"), "lambda", "us-east-1").add_auth(request)
    signed = http(url + "data", headers=dict(request.headers))
    assert signed.status == 200, signed.body
    event = json.loads(signed.body)
    LambdaFunctionUrlModel.model_validate(event)
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "awslab"
    preflight = http(
        url, method="OPTIONS", headers={"Origin": "http://a.example", "Access-Control-Request-Method": "GET"}
    )
    assert (
        preflight.status == 204 and preflight.headers["access-control-allow-origin"] == "*"
    )  # no signature needed


def test_unknown_function_url(running_cloud: RunningCloud) -> None:
    res = http(f"{running_cloud.endpoint}/_aws/lambda-url/{uuid.uuid4().hex}/")
    assert (res.status, json.loads(res.body)) == (403, {"Message": None})

"""The pure parts of HTTP APIs and function URLs: the 2.0 response's inference, CORS matching,
parameter mappings of direct integrations and the calls they make, the function URL policy check."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from awslab.local.apigw_proxy import HttpRequest, MalformedProxyResponse
from awslab.local.http_api_events import Cors, is_text, map_v2_response, preflight_response, with_cors
from awslab.local.http_api_lambda import public_url_permitted
from awslab.local.http_api_services import (
    MappingSource,
    evaluate,
    response_body,
    service_request,
    trusts_apigateway,
)


def _req(
    method: str = "GET", headers: list[tuple[str, str]] | None = None, body: bytes = b"", query: str = ""
) -> HttpRequest:
    return HttpRequest(method=method, path="/orders/7", query_string=query, headers=headers or [], body=body)


@pytest.mark.parametrize(
    ("payload", "status", "body"),
    [
        ('{"a": 1}', 200, b'{"a": 1}'),  # an object without statusCode is the body
        ('"hello"', 200, b"hello"),  # a string is its text
        ("[1, 2]", 200, b"[1, 2]"),
        ('{"statusCode": "404", "body": "gone"}', 404, b"gone"),
        ('{"statusCode": 204}', 204, b""),
    ],
)
def test_v2_response_inference(payload: str, status: int, body: bytes) -> None:
    res = map_v2_response(payload)
    assert (res.status, res.body) == (status, body)
    assert ("content-type", "application/json") in res.headers


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        '{"statusCode": 999}',
        '{"statusCode": 200, "body": {"a": 1}}',
        '{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}',
        '{"statusCode": 200, "cookies": "a=1"}',
    ],
)
def test_v2_malformed_responses(payload: str) -> None:
    with pytest.raises(MalformedProxyResponse):
        map_v2_response(payload)


def test_text_bodies() -> None:
    assert is_text("application/json; charset=utf-8", b"{}") and is_text("text/csv", b"a,b")
    assert not is_text("application/x-www-form-urlencoded", b"a=1")  # base64, as AWS sends form posts
    assert not is_text("text/plain", b"\xff\xfe") and not is_text(None, b"x")


def test_cors_origins_and_headers() -> None:
    cors = Cors.from_config(
        {
            "allowOrigins": ["https://*.example.com"],
            "allowMethods": ["GET"],
            "exposeHeaders": ["x-id"],
            "allowCredentials": True,
        }
    )
    assert cors is not None
    assert cors.allowed_origin("https://app.example.com") == "https://app.example.com"
    assert cors.allowed_origin("https://example.org") is None
    pre = preflight_response(cors, _req("OPTIONS", [("Origin", "https://app.example.com")]))
    assert pre.status == 204 and ("access-control-allow-credentials", "true") in pre.headers
    from awslab.local.apigw_proxy import HttpResponse

    answered = with_cors(
        cors,
        _req(headers=[("Origin", "https://app.example.com")]),
        HttpResponse(200, [("Access-Control-Allow-Origin", "*")], b""),
    )
    assert answered.headers == [
        ("access-control-allow-origin", "https://app.example.com"),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "x-id"),
    ]
    assert Cors.from_config({"AllowOrigins": ["*"], "MaxAge": 5}) == Cors(allow_origins=("*",), max_age=5)


def test_parameter_mappings() -> None:
    src = MappingSource(
        _req(
            "POST",
            [("X-Trace", "t-1")],
            b'{"order": {"id": 7, "items": ["tea", {"x": 1}]}}',
            "src=web&src=app",
        ),
        path_parameters={"id": "7"},
        stage_variables={"env": "dev"},
        context={"requestId": "r-1"},
    )
    assert evaluate("$request.body", src) == '{"order": {"id": 7, "items": ["tea", {"x": 1}]}}'
    assert evaluate("$request.body.order.id", src) == "7"
    assert evaluate("$request.body.order.items[1]", src) == '{"x":1}'
    assert evaluate("$request.body.nothing", src) == ""
    assert evaluate("$request.header.x-trace", src) == "t-1"
    assert evaluate("$request.querystring.src", src) == "web,app"
    assert evaluate("$request.path.id", src) == "7"
    assert evaluate("$context.requestId", src) == "r-1"
    assert evaluate("order ${request.path.id} from ${stageVariables.env}", src) == "order 7 from dev"
    assert evaluate("plain text", src) == "plain text"


def test_service_requests_and_answers() -> None:
    assert service_request(
        "SQS-SendMessage",
        {
            "QueueUrl": "q",
            "MessageBody": "b",
            "DelaySeconds": "5",
            "MessageAttributes": '{"k": {"DataType": "String", "StringValue": "v"}}',
            "Region": "eu-west-1",
        },
    ) == (
        "sqs",
        "SendMessage",
        {
            "QueueUrl": "q",
            "MessageBody": "b",
            "DelaySeconds": 5,
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
        },
        "eu-west-1",
    )
    assert service_request(
        "EventBridge-PutEvents", {"Source": "s", "DetailType": "d", "Detail": "{}", "Resources": "a,b"}
    )[2] == {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "Resources": ["a", "b"]}]}
    sent = response_body(
        "SQS-SendMessage", {"MessageId": "m", "MD5OfMessageBody": "d", "ResponseMetadata": {"RequestId": "r"}}
    )
    assert sent == {
        "SendMessageResponse": {
            "ResponseMetadata": {"RequestId": "r"},
            "SendMessageResult": {
                "MD5OfMessageAttributes": None,
                "MD5OfMessageBody": "d",
                "MD5OfMessageSystemAttributes": None,
                "MessageId": "m",
                "SequenceNumber": None,
            },
        }
    }
    started = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert response_body("StepFunctions-StartExecution", {"executionArn": "arn", "startDate": started}) == {
        "executionArn": "arn",
        "startDate": started.timestamp(),
    }


def test_role_trust() -> None:
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "apigateway.amazonaws.com"]},
            }
        ]
    }
    assert trusts_apigateway({"AssumeRolePolicyDocument": json.dumps(doc)})
    assert not trusts_apigateway(
        {"AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": "lambda.amazonaws.com"}}]}}
    )


def test_public_function_url_policy() -> None:
    url = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunctionUrl",
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
    }
    invoke = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunction",
        "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
    }
    assert public_url_permitted([url, invoke])
    assert not public_url_permitted([url])  # AWS requires both since October 2025
    moto_form = [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "FunctionUrlAuthType": "NONE",
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "InvokedViaFunctionUrl": True,
        },
    ]
    assert public_url_permitted(moto_form)
    iam_only = {**url, "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}
    assert not public_url_permitted([iam_only, invoke])
    account_only = {**invoke, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    assert not public_url_permitted([url, account_only])


def test_function_urls_are_open_to_browsers_like_api_stages() -> None:
    """The guard lets unsigned requests (and their preflights) reach function URLs, as it does API
    stages: the URL's own auth type decides, not the control plane's signature rule."""
    from awslab.local import guard

    for method in ("GET", "OPTIONS"):
        environ = {
            "HTTP_HOST": "127.0.0.1:4580",
            "PATH_INFO": "/_aws/lambda-url/abc/x",
            "REQUEST_METHOD": method,
            "HTTP_ORIGIN": "http://page.example",
        }
        assert guard.route(environ, 4580) is guard.Route.API
    rebound = {
        "HTTP_HOST": "evil.example:4580",
        "PATH_INFO": "/_aws/lambda-url/abc/",
        "REQUEST_METHOD": "GET",
    }
    assert isinstance(guard.route(rebound, 4580), guard.Refusal)


def test_signed_function_url_caller_is_in_the_regions_partition() -> None:
    from awslab.local.http_api_function_urls import caller_identity

    auth = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/cn-north-1/lambda/aws4_request, SignedHeaders=host"
    )
    iam = caller_identity(_req(headers=[("Authorization", auth)]), "123456789012", "cn-north-1")
    assert iam is not None and iam["userArn"] == "arn:aws-cn:iam::123456789012:root"
    assert caller_identity(_req(), "123456789012", "us-east-1") is None  # not signed

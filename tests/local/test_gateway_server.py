"""The API Gateway front in a real local cloud process, for what needs no Lambda run: CORS
preflights from MOCK integrations, AWS's 403 for unknown APIs, stages and routes, gateway
responses, and the 500 of a Lambda that API Gateway may not invoke or that is gone."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.local.apis import RestApi, create_function
from tests.local.conftest import RunningCloud, http

MISSING = {"message": "Missing Authentication Token"}


def test_preflight_from_mock_integration(running_cloud: RunningCloud, unique: Callable[[str], str]) -> None:
    api = RestApi(running_cloud.client("apigateway"), unique("api"))
    api.cors_preflight("/items", "http://localhost:4580")
    api.deploy()
    res = http(
        api.url(running_cloud.endpoint) + "/items",
        method="OPTIONS",
        headers={"Origin": "http://localhost:4580", "Access-Control-Request-Method": "POST"},
    )
    assert res.status == 200
    assert res.headers["Access-Control-Allow-Origin"] == "http://localhost:4580"
    assert res.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert res.headers["Access-Control-Allow-Headers"] == "Content-Type"


def test_unknown_api_stage_route_and_method(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    api = RestApi(running_cloud.client("apigateway"), unique("api"))
    api.cors_preflight("/items", "*")
    base = api.url(running_cloud.endpoint)
    assert http(base + "/items", method="OPTIONS").status == 403  # not deployed yet: no stage
    api.deploy()
    for url, method in [
        (base + "/nothing", "GET"),
        (base + "/items", "GET"),  # the resource exists, the method does not
        (api.url(running_cloud.endpoint, "other") + "/items", "OPTIONS"),
        (running_cloud.endpoint + "/_aws/execute-api/nosuchapi/prod/items", "GET"),
    ]:
        res = http(url, method=method)
        assert (res.status, json.loads(res.body)) == (403, MISSING), url
        assert res.headers["Content-Type"] == "application/json"


def test_gateway_response_headers_on_errors(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    apigw = running_cloud.client("apigateway")
    api = RestApi(apigw, unique("api"))
    api.cors_preflight("/items", "*")
    apigw.put_gateway_response(
        restApiId=api.id,
        responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )
    api.deploy()
    res = http(api.url(running_cloud.endpoint) + "/nothing")
    assert res.status == 403 and res.headers["Access-Control-Allow-Origin"] == "*"


def test_lambda_without_invoke_permission_is_a_500(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    name = unique("fn")
    fn_arn = create_function(
        running_cloud.client("lambda"),
        running_cloud.client("iam"),
        name,
        "def handler(event, context):\n    return {'statusCode': 200}\n",
    )
    api = RestApi(running_cloud.client("apigateway"), unique("api"))
    api.lambda_route("GET", "/items", fn_arn)
    api.deploy()
    res = http(api.url(running_cloud.endpoint) + "/items")
    assert (res.status, json.loads(res.body)) == (500, {"message": "Internal server error"})
    assert "Invalid permissions on Lambda function" in running_cloud.cloud.log_tail(200)


def test_a_deleted_lambda_is_a_500(running_cloud: RunningCloud, unique: Callable[[str], str]) -> None:
    """moto's "function not found" is API Gateway's 500 with the reason in the log, nothing worse."""
    lam = running_cloud.client("lambda")
    name = unique("gone")
    fn_arn = create_function(lam, running_cloud.client("iam"), name, "def handler(e, c):\n    return {}\n")
    api = RestApi(running_cloud.client("apigateway"), unique("api"))
    api.lambda_route("GET", "/items", fn_arn)
    api.deploy()
    lam.delete_function(FunctionName=name)
    res = http(api.url(running_cloud.endpoint) + "/items")
    assert (res.status, json.loads(res.body)) == (500, {"message": "Internal server error"})
    assert f"Lambda {fn_arn} not found" in running_cloud.cloud.log_tail(200)

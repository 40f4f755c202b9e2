"""The API Gateway front through real Lambda runs (the Docker-free executor) in a local cloud process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from awslab.local.daemon import LocalCloud
from awslab.local.processes import alive as _alive
from awslab.local.processes import process_tree
from tests.local.apis import RestApi, allow_api, create_function
from tests.local.conftest import RunningCloud, http, make_cloud

ECHO = """
import base64, json, os

def handler(event, context):
    if event["path"].endswith("/boom"):
        raise ValueError("boom")
    if event["path"].endswith("/malformed"):
        return {"statusCode": 200, "body": {"not": "a string"}}
    if event["path"].endswith("/image"):
        data = base64.b64decode(event["body"]) if event["isBase64Encoded"] else b""
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(data[::-1]).decode(), "isBase64Encoded": True}
    return {"statusCode": 201, "headers": {"Access-Control-Allow-Origin": "http://localhost:1"},
            "multiValueHeaders": {"X-Pid": [str(os.getpid())]},
            "body": json.dumps({"event": event, "request_id": context.aws_request_id})}
"""

DYNAMO = """
import json, os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

def handler(event, context):
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    return {"statusCode": 200 if item else 404, "body": json.dumps(item or {"message": "not found"})}
"""


@pytest.fixture(scope="module")
def echo_api(running_cloud: RunningCloud) -> str:
    """A REST API over the echo handler: /items/{id}, /files/{proxy+}, /image, /boom, /malformed."""
    import uuid

    name = f"echo-{uuid.uuid4().hex[:8]}"
    fn_arn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), name, ECHO)
    api = RestApi(running_cloud.client("apigateway"), name, binary_media_types=["image/png"])
    for method, path in [("GET", "/items/{id}"), ("POST", "/items/{id}"), ("ANY", "/files/{proxy+}"),
                         ("POST", "/image"), ("GET", "/boom"), ("GET", "/malformed")]:  # fmt: skip
        api.lambda_route(method, path, fn_arn)
    allow_api(running_cloud.client("lambda"), fn_arn, api.id)
    api.deploy("dev")
    return api.url(running_cloud.endpoint, "dev")


def test_proxy_event_and_response(echo_api: str) -> None:
    res = http(echo_api + "/items/a%20b?tag=x&tag=y&q=1", method="POST", body=b'{"name": "apple"}',
               headers={"Content-Type": "application/json", "X-Custom": "v"})  # fmt: skip
    assert res.status == 201
    assert res.headers["Access-Control-Allow-Origin"] == "http://localhost:1"
    assert res.headers["Content-Type"] == "application/json"
    event = json.loads(res.body)["event"]
    assert event["resource"] == "/items/{id}" and event["httpMethod"] == "POST"
    assert event["path"] == "/items/a%20b" and event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"tag": "y", "q": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"], "q": ["1"]}
    assert event["headers"]["X-Custom"] == "v" and event["multiValueHeaders"]["X-Custom"] == ["v"]
    assert json.loads(event["body"]) == {"name": "apple"} and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["stage"] == "dev" and ctx["resourcePath"] == "/items/{id}" and ctx["httpMethod"] == "POST"
    assert ctx["path"] == "/dev/items/a%20b" and ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["requestId"] == res.headers["x-amzn-RequestId"]


def test_greedy_any_route(echo_api: str) -> None:
    res = http(echo_api + "/files/a/b/c.txt", method="DELETE")
    event = json.loads(res.body)["event"]
    assert res.status == 201 and event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["resource"] == "/files/{proxy+}" and event["queryStringParameters"] is None


def test_binary_both_ways(echo_api: str) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    res = http(echo_api + "/image", method="POST", body=png,
               headers={"Content-Type": "image/png", "Accept": "image/png"})  # fmt: skip
    assert res.status == 200 and res.headers["Content-Type"] == "image/png"
    assert res.body == png[::-1]


def test_warm_worker_is_reused(echo_api: str) -> None:
    pids = {http(echo_api + "/items/1").headers["X-Pid"] for _ in range(3)}
    assert len(pids) == 1


def test_handler_error_and_malformed_response_are_502(echo_api: str) -> None:
    for path in ("/boom", "/malformed"):
        res = http(echo_api + path)
        assert (res.status, json.loads(res.body)) == (502, {"message": "Internal server error"}), path


def test_unknown_route_is_403(echo_api: str) -> None:
    res = http(echo_api + "/items", method="GET")
    assert (res.status, json.loads(res.body)) == (403, {"message": "Missing Authentication Token"})


def test_lambda_reads_dynamodb_through_the_local_cloud(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    table = unique("items")
    ddb = running_cloud.client("dynamodb")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")  # fmt: skip
    ddb.put_item(TableName=table, Item={"id": {"S": "1"}, "name": {"S": "apple"}})
    name = unique("reader")
    fn_arn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), name, DYNAMO,
                             env={"TABLE": table})  # fmt: skip
    api = RestApi(running_cloud.client("apigateway"), name)
    api.lambda_route("GET", "/items/{id}", fn_arn)
    allow_api(running_cloud.client("lambda"), fn_arn, api.id)
    api.deploy()
    res = http(api.url(running_cloud.endpoint) + "/items/1")
    assert (res.status, json.loads(res.body)) == (200, {"id": "1", "name": "apple"})
    assert http(api.url(running_cloud.endpoint) + "/items/2").status == 404


@pytest.fixture
def own_cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    cloud = make_cloud(tmp_path / "state")
    try:
        yield cloud
    finally:
        cloud.stop()


def test_stop_also_stops_the_lambda_workers(own_cloud: LocalCloud) -> None:
    status = own_cloud.start(timeout=60)
    running = RunningCloud(own_cloud, status)
    fn_arn = create_function(running.client("lambda"), running.client("iam"), "worker-fn", ECHO)
    api = RestApi(running.client("apigateway"), "worker-api")
    api.lambda_route("GET", "/items/{id}", fn_arn)
    allow_api(running.client("lambda"), fn_arn, api.id)
    api.deploy()
    res = http(api.url(own_cloud.endpoint) + "/items/1")
    worker = int(res.headers["X-Pid"])
    assert worker in process_tree(status.pid)
    assert own_cloud.status().lambda_workers == 1  # type: ignore[union-attr]
    assert own_cloud.stop() is True
    assert not _alive(worker) and not _alive(status.pid)


def test_reset_frees_the_workers(own_cloud: LocalCloud) -> None:
    status = own_cloud.start(timeout=60)
    running = RunningCloud(own_cloud, status)
    fn_arn = create_function(running.client("lambda"), running.client("iam"), "reset-fn", ECHO)
    worker_payload = running.client("lambda").invoke(
        FunctionName=fn_arn, Payload=json.dumps({"path": "/items/1"}).encode())["Payload"].read()  # fmt: skip
    worker = int(json.loads(worker_payload)["multiValueHeaders"]["X-Pid"][0])
    own_cloud.reset()
    assert own_cloud.status().lambda_workers == 0  # type: ignore[union-attr]
    assert not _alive(worker)

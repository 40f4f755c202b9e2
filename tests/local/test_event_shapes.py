"""Every event a handler gets from the local cloud has AWS's shape, checked by what learners use on
AWS: aws-lambda-powertools' parser models, on events captured by real handlers in a real local cloud
process. And API Gateway answers carry the headers AWS's do (no server banner).

Handlers record the event they got to a file (or return it); the tests wait for the file rather
than assume a delivery is synchronous (on AWS, S3 and SNS deliveries are not)."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    S3Model,
    SnsModel,
    SqsModel,
)

from awslab.local.s3_events import event_key
from tests.local.apis import ACCOUNT, RestApi, allow_api, create_function
from tests.local.conftest import RunningCloud, http
from tests.local.lambda_helpers import wait_for

WAIT_S = 30.0
TRACE_ID = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")
APIGW_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")  # like AWS's "eIygpHbovHcFc6g="
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ECHO = """
import json

def handler(event, context):
    if event["path"].endswith("/boom"):
        raise ValueError("boom")
    return {"statusCode": 200, "body": json.dumps(event)}
"""

RECORDER = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    return event
"""


def recorded(out: Path) -> list[Any]:
    return [json.loads(line) for line in out.read_text().splitlines() if line] if out.exists() else []


def wait_for_events(out: Path, count: int = 1) -> list[Any]:
    assert wait_for(lambda: len(recorded(out)) >= count, WAIT_S), f"no event reached the handler ({out})"
    return recorded(out)


@pytest.fixture
def recorder(running_cloud: RunningCloud, unique: Callable[[str], str], tmp_path: Path) -> tuple[str, Path]:
    """A function that appends each event it gets to a file: (its ARN, the file)."""
    out = tmp_path / "events.jsonl"
    arn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), unique("recorder"),
                          RECORDER, env={"OUT": str(out)})  # fmt: skip
    return arn, out


# ---- API Gateway (REST, Lambda proxy) ------------------------------------------------------------
@dataclass
class EchoApi:
    url: str
    api_id: str
    resource_ids: dict[str, str]


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None


def raw_request(url: str, method: str = "GET", headers: list[tuple[str, str]] | None = None,
                body: bytes = b"") -> RawResponse:  # fmt: skip
    """One request written header line by header line, so the test controls names and repetitions
    (urllib and requests normalise both)."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), skip_accept_encoding=True
        )
        for name, value in headers or []:
            conn.putheader(name, value)
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return RawResponse(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def echo_api(running_cloud: RunningCloud) -> EchoApi:
    """A REST API whose Lambda answers with the event it got: /items/{id}, /image (binary), /boom."""
    name = f"shapes-{uuid.uuid4().hex[:8]}"
    fn_arn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), name, ECHO)
    api = RestApi(running_cloud.client("apigateway"), name, binary_media_types=["image/png"])
    for method, path in [("GET", "/items/{id}"), ("POST", "/image"), ("GET", "/boom")]:
        api.lambda_route(method, path, fn_arn)
    allow_api(running_cloud.client("lambda"), fn_arn, api.id)
    api.deploy("dev")
    return EchoApi(api.url(running_cloud.endpoint, "dev"), api.id, dict(api.resource_ids))


def test_api_gateway_event_validates_with_names_and_repetitions_as_sent(echo_api: EchoApi) -> None:
    before_ms = int(time.time() * 1000)
    res = raw_request(echo_api.url + "/items/7?tag=x&tag=y&q=1", headers=[
        ("x-lower-case", "low"), ("X-Multi", "one"), ("X-Multi", "two"), ("user-agent", "raw/1"),
    ])  # fmt: skip
    assert res.status == 200, res.body
    event = json.loads(res.body)
    parsed = APIGatewayProxyEventModel.model_validate(event)

    headers, multi = event["headers"], event["multiValueHeaders"]
    assert headers["x-lower-case"] == "low" and "X-Lower-Case" not in headers
    assert multi["X-Multi"] == ["one", "two"] and headers["X-Multi"] == "two"
    assert headers["user-agent"] == "raw/1" and event["requestContext"]["identity"]["userAgent"] == "raw/1"
    assert headers["Host"] == urlsplit(echo_api.url).netloc
    assert TRACE_ID.match(headers["X-Amzn-Trace-Id"]), headers
    assert headers["X-Forwarded-For"] == "127.0.0.1" and headers["X-Forwarded-Proto"] == "http"
    assert all(multi[name][-1] == value for name, value in headers.items())
    assert event["queryStringParameters"] == {"tag": "y", "q": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"], "q": ["1"]}
    assert event["pathParameters"] == {"id": "7"} and event["resource"] == "/items/{id}"

    ctx = event["requestContext"]
    assert UUID.match(ctx["requestId"]) and APIGW_ID.match(ctx["extendedRequestId"]), ctx
    assert ctx["resourceId"] == echo_api.resource_ids["/items/{id}"]
    assert re.fullmatch(r"[a-z0-9]{6}", ctx["resourceId"]), ctx  # AWS: 6 characters below the root
    assert ctx["resourcePath"] == "/items/{id}"
    assert before_ms <= ctx["requestTimeEpoch"] <= int(time.time() * 1000)
    assert parsed.requestContext.requestTimeEpoch.timestamp() * 1000 == pytest.approx(ctx["requestTimeEpoch"])
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["apiId"] == echo_api.api_id and ctx["domainPrefix"] == echo_api.api_id
    assert ctx["domainName"] == f"{echo_api.api_id}.execute-api.us-east-1.amazonaws.com"
    assert ctx["stage"] == "dev" and ctx["path"] == "/dev/items/7" and ctx["protocol"] == "HTTP/1.1"
    assert ctx["accountId"] == ACCOUNT and ctx["httpMethod"] == "GET"
    assert event["isBase64Encoded"] is False and event["body"] is None

    # What API Gateway answers with: its ids, the trace id it passed on, no server banner.
    assert res.header("x-amzn-RequestId") == ctx["requestId"]
    assert res.header("x-amz-apigw-id") == ctx["extendedRequestId"]
    assert res.header("X-Amzn-Trace-Id") == headers["X-Amzn-Trace-Id"]
    assert res.header("Server") is None and res.header("x-amzn-ErrorType") is None


def test_api_gateway_binary_body_and_client_trace_id(echo_api: EchoApi) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    trace = "Root=1-65a1b2c3-0123456789abcdef01234567"
    res = raw_request(echo_api.url + "/image", "POST", body=png, headers=[
        ("Content-Type", "image/png"), ("X-Amzn-Trace-Id", trace),
    ])  # fmt: skip
    event = json.loads(res.body)
    APIGatewayProxyEventModel.model_validate(event)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == png
    assert event["multiValueHeaders"]["X-Amzn-Trace-Id"] == [trace]  # the client's, passed on once
    assert res.header("X-Amzn-Trace-Id") == trace


def test_api_gateway_error_answers_are_aws_s(echo_api: EchoApi, running_cloud: RunningCloud) -> None:
    for url in (echo_api.url + "/nothing", f"{running_cloud.endpoint}/_aws/execute-api/nosuchapi/dev/x"):
        res = raw_request(url)
        assert res.status == 403 and res.body == b'{"message":"Missing Authentication Token"}'
        assert res.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        assert UUID.match(res.header("x-amzn-RequestId") or "")
        assert APIGW_ID.match(res.header("x-amz-apigw-id") or "")
        assert res.header("Content-Type") == "application/json" and res.header("Server") is None
    res = raw_request(echo_api.url + "/boom")
    assert res.status == 502 and res.body == b'{"message": "Internal server error"}'
    assert res.header("x-amzn-ErrorType") == "InternalServerErrorException"
    assert APIGW_ID.match(res.header("x-amz-apigw-id") or "") and res.header("Server") is None


def test_no_server_banner_anywhere(running_cloud: RunningCloud) -> None:
    """http.server's `Server: Werkzeug/x Python/y` is gone from every answer, moto's included."""
    health = http(running_cloud.endpoint + "/_awslab/health")
    assert health.status == 200 and health.headers.get("Server") is None
    answer = running_cloud.client("sqs").list_queues()["ResponseMetadata"]["HTTPHeaders"]
    assert "werkzeug" not in answer.get("server", "").lower()


# ---- SQS -> Lambda --------------------------------------------------------------------------------
def test_sqs_event_validates_with_aws_receipt_handles(
    running_cloud: RunningCloud, unique: Callable[[str], str], recorder: tuple[str, Path]
) -> None:
    fn_arn, out = recorder
    sqs, lam = running_cloud.client("sqs"), running_cloud.client("lambda")
    url = sqs.create_queue(QueueName=unique("shapes"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"id": 1}', MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "created"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    })  # fmt: skip
    lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=fn_arn, BatchSize=10)

    (event,) = wait_for_events(out)
    SqsModel.model_validate(event)
    (record,) = event["Records"]
    assert record["messageId"] == sent["MessageId"] and UUID.match(record["messageId"])
    handle = record["receiptHandle"]
    assert handle.startswith("AQEB") and len(handle) > 300 and base64.b64decode(handle, validate=True)
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue_arn
    assert record["awsRegion"] == "us-east-1"
    attrs = record["attributes"]
    assert attrs["ApproximateReceiveCount"] == "1" and attrs["SenderId"]
    assert int(attrs["SentTimestamp"]) <= int(attrs["ApproximateFirstReceiveTimestamp"])
    assert record["messageAttributes"]["kind"] == {"stringValue": "created", "stringListValues": [],
                                                   "binaryListValues": [], "dataType": "String"}  # fmt: skip
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


def test_receive_message_hands_out_the_same_kind_of_handle(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    sqs = running_cloud.client("sqs")
    url = sqs.create_queue(QueueName=unique("handles"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["ReceiptHandle"].startswith("AQEB") and len(message["ReceiptHandle"]) > 300
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # it still works as a handle
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


# ---- SNS -> Lambda --------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [None, "2"])
def test_sns_event_validates_with_the_topic_s_signature_version(
    running_cloud: RunningCloud, unique: Callable[[str], str], recorder: tuple[str, Path], version: str | None
) -> None:
    fn_arn, out = recorder
    sns = running_cloud.client("sns")
    attributes = {"SignatureVersion": version} if version else {}
    topic = sns.create_topic(Name=unique("shapes"), Attributes=attributes)["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn_arn)["SubscriptionArn"]
    published = sns.publish(TopicArn=topic, Message='{"id": 1}', Subject="New order", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "created"},
        "count": {"DataType": "Number", "StringValue": "42"},
    })  # fmt: skip

    (event,) = wait_for_events(out)
    SnsModel.model_validate(event)
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == sub
    msg = record["Sns"]
    assert msg["SignatureVersion"] == (version or "1")
    assert len(base64.b64decode(msg["Signature"], validate=True)) == 256  # RSA 2048, as SNS signs
    assert re.fullmatch(r"https://sns\.us-east-1\.amazonaws\.com/SimpleNotificationService-[0-9a-f]{32}\.pem",
                        msg["SigningCertUrl"])  # fmt: skip
    assert msg["UnsubscribeUrl"] == (
        f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub}"
    )
    assert msg["TopicArn"] == topic and msg["Type"] == "Notification"
    assert msg["MessageId"] == published["MessageId"] and UUID.match(msg["MessageId"])
    assert ISO_MS.match(msg["Timestamp"]) and msg["Subject"] == "New order"
    assert msg["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "created"},
        "count": {"Type": "Number", "Value": "42"},
    }


# ---- S3 -> Lambda ---------------------------------------------------------------------------------
def test_s3_event_validates_with_complete_records_and_aws_key_encoding(
    running_cloud: RunningCloud, unique: Callable[[str], str], recorder: tuple[str, Path]
) -> None:
    fn_arn, out = recorder
    s3 = running_cloud.client("s3")
    bucket = unique("shapes")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "on-change", "LambdaFunctionArn": fn_arn,
                                          "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}],
    })  # fmt: skip
    key = "uploads/my photo (1).jpg"
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"12345")
    wait_for_events(out)
    s3.delete_object(Bucket=bucket, Key=key)

    created, removed = wait_for_events(out, 2)
    S3Model.model_validate(created)
    S3Model.model_validate(removed)
    (record,) = created["Records"]
    assert record["eventVersion"] == "2.1" and record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put" and record["awsRegion"] == "us-east-1"
    assert ISO_MS.match(record["eventTime"])
    assert re.fullmatch(r"AWS:AIDA[A-Z2-7]{17}", record["userIdentity"]["principalId"])
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])
    assert len(base64.b64decode(record["responseElements"]["x-amz-id-2"], validate=True)) == 56
    s3_part = record["s3"]
    assert s3_part["s3SchemaVersion"] == "1.0" and s3_part["configurationId"] == "on-change"
    assert s3_part["bucket"]["name"] == bucket and s3_part["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert re.fullmatch(r"A[A-Z2-7]{13}", s3_part["bucket"]["ownerIdentity"]["principalId"])
    obj = s3_part["object"]
    assert obj["key"] == "uploads/my+photo+%281%29.jpg" and unquote_plus(obj["key"]) == key
    assert obj["size"] == 5 and obj["eTag"] == put["ETag"].strip('"')
    assert re.fullmatch(r"[0-9A-F]{18}", obj["sequencer"])

    (gone,) = removed["Records"]
    assert gone["eventName"] == "ObjectRemoved:Delete"
    assert gone["s3"]["object"]["key"] == obj["key"] and "size" not in gone["s3"]["object"]
    assert int(gone["s3"]["object"]["sequencer"], 16) > int(obj["sequencer"], 16)  # S3's ordering of a key


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("a/b/c.txt", "a/b/c.txt"),
        ("my photo.jpg", "my+photo.jpg"),
        ("x+y=z&w.txt", "x%2By%3Dz%26w.txt"),
        ("café/ü.png", "caf%C3%A9/%C3%BC.png"),
    ],
)
def test_s3_event_key_encoding(key: str, encoded: str) -> None:
    assert event_key(key) == encoded and unquote_plus(encoded) == key


# ---- Step Functions -> Lambda ---------------------------------------------------------------------
def test_step_functions_task_input_arrives_unchanged(
    running_cloud: RunningCloud, unique: Callable[[str], str], recorder: tuple[str, Path]
) -> None:
    fn_arn, out = recorder
    sfn = running_cloud.client("stepfunctions")
    definition = {
        "StartAt": "Record",
        "States": {"Record": {"Type": "Task", "Resource": fn_arn, "End": True}},
    }
    machine = sfn.create_state_machine(name=unique("shapes"), definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]  # fmt: skip
    payload = {
        "order": {"id": 7, "items": [{"sku": "a-1", "qty": 2, "price": 1.5}], "note": None, "gift": True},
        "customer": {"name": "Zoë", "tags": [], "address": {"lines": ["1 Main St", ""]}},
        "empty": {},
    }
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    (event,) = wait_for_events(out)
    assert event == payload
    assert wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING", WAIT_S)
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == payload

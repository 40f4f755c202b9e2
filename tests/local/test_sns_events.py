"""SNS -> Lambda: the handler gets the event AWS sends (real topic and subscription ARNs, the
published MessageId, Subject and attributes, a current Timestamp), not moto's fixed example."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from awslab.local.executor import LambdaExecutor
from awslab.local.sns_events import string_to_sign
from tests.local.lambda_helpers import wait_for

# Fixtures: lambda_executor, lambda_client, make_lambda, lambda_role.
pytest_plugins = ["tests.local.lambda_fixtures"]

RECORDER = """
import json, os
def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""


@pytest.fixture
def subscribed(
    lambda_executor: LambdaExecutor, make_lambda: Callable[..., str], tmp_path: Path
) -> tuple[Any, str, str, Path]:
    """A topic with the recorder Lambda subscribed: (sns client, topic arn, subscription arn, events file)."""
    out = tmp_path / "events.jsonl"
    fn_arn = make_lambda("recorder", RECORDER, Environment={"Variables": {"OUT": str(out)}})
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn_arn)["SubscriptionArn"]
    return sns, topic, sub, out


def events(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_published_message_reaches_the_handler_as_aws_sends_it(
    subscribed: tuple[Any, str, str, Path],
) -> None:
    sns, topic, sub, out = subscribed
    before = datetime.now(UTC) - timedelta(seconds=1)
    attributes = {
        "kind": {"DataType": "String", "StringValue": "created"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    first = sns.publish(
        TopicArn=topic, Message='{"id": 1}', Subject="New order", MessageAttributes=attributes
    )
    second = sns.publish(TopicArn=topic, Message="plain")

    assert wait_for(lambda: len(events(out)) == 2)  # delivered asynchronously, in either order
    one, two = sorted(events(out), key=lambda e: e["Records"][0]["Sns"]["MessageId"] != first["MessageId"])
    (record,) = one["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == sub
    msg = record["Sns"]
    assert msg["Type"] == "Notification"
    assert msg["TopicArn"] == topic
    assert msg["MessageId"] == first["MessageId"]
    assert msg["Message"] == '{"id": 1}'
    assert msg["Subject"] == "New order"
    assert msg["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "created"},
        "count": {"Type": "Number", "Value": "42"},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }
    stamp = datetime.strptime(msg["Timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC)
    assert sub in msg["UnsubscribeUrl"] and msg["SigningCertUrl"].startswith(
        "https://sns.us-east-1.amazonaws.com/"
    )
    assert msg["Signature"] and msg["SignatureVersion"] == "1"  # SNS's default: SHA1withRSA

    other = two["Records"][0]["Sns"]
    assert other["MessageId"] == second["MessageId"] != msg["MessageId"]
    assert other["Subject"] is None and other["MessageAttributes"] == {}
    assert other["Message"] == "plain"


def test_the_signature_is_sns_s_with_the_topic_s_algorithm(
    subscribed: tuple[Any, str, str, Path],
) -> None:
    """Signed as SNS signs (SignatureVersion 1: SHA1withRSA over its string to sign, Subject
    included) with the key of the certificate SigningCertUrl names: a handler that verifies it
    with that certificate succeeds."""
    from moto.sns.models import sns_backends

    sns, topic, sub_arn, out = subscribed
    sns.publish(TopicArn=topic, Message="signed", Subject="Hello")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=topic, Message="signed with SHA256")
    sub = sns_backends["123456789012"]["us-east-1"].subscriptions[sub_arn]
    assert wait_for(lambda: len(events(out)) == 2)  # deliveries may run after Publish returns
    in_order = sorted(events(out), key=lambda e: e["Records"][0]["Sns"]["Message"])  # run in either order
    for event, algorithm in zip(in_order, (hashes.SHA1(), hashes.SHA256()), strict=True):
        msg = event["Records"][0]["Sns"]
        assert msg["SignatureVersion"] == ("1" if isinstance(algorithm, hashes.SHA1) else "2")
        signature = base64.b64decode(msg["Signature"])
        # raises InvalidSignature when the signature does not match
        sub.private_key().public_key().verify(
            signature, string_to_sign(msg).encode(), padding.PKCS1v15(), algorithm
        )
    assert "Subject\nHello\n" in string_to_sign(in_order[0]["Records"][0]["Sns"])


def test_filter_policy_and_message_structure_apply(
    lambda_executor: LambdaExecutor, make_lambda: Callable[..., str], tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    fn_arn = make_lambda("filtered", RECORDER, Environment={"Variables": {"OUT": str(out)}})
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="filtered")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=fn_arn,
        Attributes={"FilterPolicy": json.dumps({"kind": ["created"]})},
    )
    sns.publish(
        TopicArn=topic,
        Message="skip me",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "deleted"}},
    )
    sns.publish(
        TopicArn=topic,
        Message=json.dumps({"default": "for everyone", "lambda": "for lambda"}),
        MessageStructure="json",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "created"}},
    )
    assert wait_for(lambda: len(events(out)) == 1)  # the filtered one is never queued
    (only,) = events(out)
    assert only["Records"][0]["Sns"]["Message"] == "for lambda"


def test_a_deleted_subscriber_does_not_fail_the_publish(
    subscribed: tuple[Any, str, str, Path], lambda_client: Any
) -> None:
    sns, topic, _, out = subscribed
    lambda_client.delete_function(FunctionName="recorder")
    assert sns.publish(TopicArn=topic, Message="nobody home")["MessageId"]
    assert events(out) == []


def test_sqs_subscriptions_still_get_moto_s_delivery(subscribed: tuple[Any, str, str, Path]) -> None:
    sns, topic, _, _ = subscribed
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="copy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    published = sns.publish(TopicArn=topic, Message="to both")
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["MessageId"] == published["MessageId"] and envelope["TopicArn"] == topic

"""The messaging lab's consumer, notifier and API handlers against moto's in-process SQS, SNS
and DynamoDB. SNS envelopes come from moto's real topic -> queue delivery, not hand-written."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.handlers.events import body_json, load_handler, proxy_event

ORDERS, NOTIFICATIONS = "lab-orders", "lab-notifications"


def make_table(name: str) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def lab(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Tables, a queue with a DLQ (maxReceiveCount 2), a topic; the environment the lab sets."""
    make_table(ORDERS)
    make_table(NOTIFICATIONS)
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="orders",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})},
    )["QueueUrl"]
    topic = boto3.client("sns").create_topic(Name="orders")["TopicArn"]
    monkeypatch.setenv("TABLE_NAME", ORDERS)
    monkeypatch.setenv("NOTIFICATIONS_TABLE", NOTIFICATIONS)
    monkeypatch.setenv("QUEUE_URL", queue)
    monkeypatch.setenv("TOPIC_ARN", topic)
    return {"queue": queue, "dlq": dlq, "topic": topic}


def subscribed_queue(topic: str, raw: bool) -> str:
    """A fresh queue subscribed to the topic, with or without raw message delivery."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"sub-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true" if raw else "false"},
    )
    return url


def sqs_event(url: str, expect: int = 1) -> dict[str, Any]:
    """Receive messages and shape them as the SQS event source mapping delivers them."""
    msgs = (
        boto3.client("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0)
        .get("Messages", [])
    )
    assert len(msgs) == expect
    return {"Records": [record(m["Body"], m["MessageId"], m["ReceiptHandle"], m["Attributes"]) for m in msgs]}


def record(
    body: str, message_id: str | None = None, receipt: str = "rh", attrs: Any = None
) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt,
        "body": body,
        "attributes": attrs or {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
        "awsRegion": "us-east-1",
    }


def order(order_id: str) -> dict[str, Any] | None:
    return boto3.resource("dynamodb").Table(ORDERS).get_item(Key={"id": order_id}).get("Item")


# --- consumer ---------------------------------------------------------------------------------


def test_consumer_writes_order(lab: dict[str, Any]) -> None:
    consumer = load_handler("messaging", "consumer")
    body = {"id": "o-1", "item": "tea", "quantity": 3, "customer": "An", "price": 2.5}
    assert consumer.handler({"Records": [record(json.dumps(body), "m-1")]}, None) == {"batchItemFailures": []}
    item = order("o-1")
    assert item is not None
    assert (item["item"], item["quantity"], item["customer"]) == ("tea", 3, "An")
    assert item["body"]["price"] == Decimal("2.5")  # floats are stored as Decimal, not refused
    assert (item["status"], item["source"], item["message_id"]) == ("received", "sqs", "m-1")
    assert item["received_at"]


def test_consumer_uses_message_id_when_order_has_none(lab: dict[str, Any]) -> None:
    consumer = load_handler("messaging", "consumer")
    consumer.handler({"Records": [record(json.dumps({"item": "rice", "quantity": 1}), "m-9")]}, None)
    assert order("m-9")["item"] == "rice"  # type: ignore[index]


def test_partial_batch_failure_reports_only_poison(lab: dict[str, Any]) -> None:
    consumer = load_handler("messaging", "consumer")
    batch = [
        record(json.dumps({"id": "good-1", "item": "a", "quantity": 1}), "ok-1"),
        record(json.dumps({"id": "p", "item": "b", "quantity": 1, "poison": True}), "bad-2"),
        record(json.dumps({"id": "good-2", "item": "c", "quantity": 2}), "ok-2"),
        record(json.dumps({"poison": True}), "bad-3"),
    ]
    result = consumer.handler({"Records": batch}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in ("bad-2", "bad-3")]}
    assert order("good-1") and order("good-2")
    assert order("p") is None


@pytest.mark.parametrize("body", ["hi", "this is not json", '["a", "list"]', "42"])
def test_a_plain_text_message_is_recorded_not_rejected(lab: dict[str, Any], body: str) -> None:
    """`awslab send-message "hi"` must be consumed: any body that is not an order object is a
    text message, recorded with its content."""
    consumer = load_handler("messaging", "consumer")
    assert consumer.handler({"Records": [record(body, "txt-1")]}, None) == {"batchItemFailures": []}
    item = order("txt-1")
    assert item is not None
    assert (item["kind"], item["body"], item["message_id"]) == ("message", {"text": body}, "txt-1")


def test_batch_of_only_poison_raises(lab: dict[str, Any]) -> None:
    consumer = load_handler("messaging", "consumer")
    with pytest.raises(consumer.BatchFailed, match="poison"):
        consumer.handler({"Records": [record(json.dumps({"poison": True}), "bad")]}, None)


@pytest.mark.parametrize("raw", [False, True], ids=["sns-envelope", "raw-delivery"])
def test_consumer_unwraps_sns_delivery(lab: dict[str, Any], raw: bool) -> None:
    consumer = load_handler("messaging", "consumer")
    queue = subscribed_queue(lab["topic"], raw)
    boto3.client("sns").publish(
        TopicArn=lab["topic"], Message=json.dumps({"id": "o-7", "item": "pho", "quantity": 2})
    )
    event = sqs_event(queue)
    is_envelope = json.loads(event["Records"][0]["body"]).get("Type") == "Notification"
    assert is_envelope is not raw
    assert consumer.handler(event, None) == {"batchItemFailures": []}
    item = order("o-7")
    assert item is not None and (item["item"], item["quantity"]) == ("pho", 2)
    assert item["body"] == {"id": "o-7", "item": "pho", "quantity": 2}
    assert (item.get("via"), item.get("topic_arn")) == (("sns", lab["topic"]) if not raw else (None, None))


def test_poison_inside_sns_envelope_fails(lab: dict[str, Any]) -> None:
    consumer = load_handler("messaging", "consumer")
    queue = subscribed_queue(lab["topic"], raw=False)
    sns = boto3.client("sns")
    sns.publish(TopicArn=lab["topic"], Message=json.dumps({"id": "bad", "poison": True}))
    sns.publish(TopicArn=lab["topic"], Message=json.dumps({"id": "fine", "item": "x", "quantity": 1}))
    event = sqs_event(queue, expect=2)
    bad = [r["messageId"] for r in event["Records"] if "poison" in r["body"]]
    assert consumer.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": bad[0]}]}
    assert order("fine")


def test_poison_ends_in_dlq_after_max_receive_count(lab: dict[str, Any]) -> None:
    """What the Lambda poller does, by hand: delete what succeeded, leave what failed."""
    consumer = load_handler("messaging", "consumer")
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=lab["queue"], MessageBody=json.dumps({"id": "g", "item": "x", "quantity": 1}))
    sqs.send_message(QueueUrl=lab["queue"], MessageBody=json.dumps({"id": "x", "poison": True}))
    for _ in range(3):  # maxReceiveCount is 2: the third receive finds the poison gone to the DLQ
        msgs = sqs.receive_message(QueueUrl=lab["queue"], MaxNumberOfMessages=10, VisibilityTimeout=0)
        msgs = msgs.get("Messages", [])
        if not msgs:
            break
        event = {"Records": [record(m["Body"], m["MessageId"], m["ReceiptHandle"]) for m in msgs]}
        try:
            failed = {f["itemIdentifier"] for f in consumer.handler(event, None)["batchItemFailures"]}
        except consumer.BatchFailed:
            failed = {m["MessageId"] for m in msgs}
        for m in msgs:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=lab["queue"], ReceiptHandle=m["ReceiptHandle"])
    assert order("g")
    dead = sqs.receive_message(QueueUrl=lab["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"]) for m in dead] == [{"id": "x", "poison": True}]


# --- notifier ---------------------------------------------------------------------------------


def sns_event(message: str, subject: str | None = "New order", message_id: str = "n-1") -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:orders:sub-1",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2025-08-15T10:00:00.000Z",
                    "MessageAttributes": {"event_type": {"Type": "String", "Value": "order_created"}},
                },
            }
        ]
    }


def test_notifier_records_notification(lab: dict[str, Any]) -> None:
    notifier = load_handler("messaging", "notifier")
    message = json.dumps({"id": "o-3", "item": "tea", "quantity": 1})
    assert notifier.handler(sns_event(message), None) == {"recorded": 1, "ids": ["n-1"]}
    item = boto3.resource("dynamodb").Table(NOTIFICATIONS).get_item(Key={"id": "n-1"})["Item"]
    assert item["topic_arn"] == "arn:aws:sns:us-east-1:123456789012:orders"
    assert (item["subject"], item["message"], item["message_id"]) == ("New order", message, "n-1")
    assert item["attributes"] == {"event_type": "order_created"}
    assert item["order_id"] == "o-3" and item["received_at"]


def test_notifier_shares_orders_table_when_no_own_table(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOTIFICATIONS_TABLE")
    notifier = load_handler("messaging", "notifier")
    notifier.handler(sns_event("hello", subject=None, message_id="n-2"), None)
    item = order("notification#n-2")
    assert item is not None and item["message"] == "hello" and item["subject"] == ""
    load_handler("messaging", "consumer").handler(
        {"Records": [record(json.dumps({"id": "o-1", "item": "a", "quantity": 1}))]}, None
    )
    listed = body_json(load_handler("messaging", "api").handler(proxy_event("GET", "/orders"), None))
    assert [o["id"] for o in listed["orders"]] == ["o-1"]  # notifications are not orders


# --- API --------------------------------------------------------------------------------------


def test_post_order_sends_and_publishes(lab: dict[str, Any]) -> None:
    api = load_handler("messaging", "api")
    watcher = subscribed_queue(lab["topic"], raw=False)
    resp = api.handler(
        proxy_event("POST", "/orders", body={"item": "tea", "quantity": 2, "customer": "Binh"}), None
    )
    assert resp["statusCode"] == 202
    assert resp["headers"]["Access-Control-Allow-Origin"] == "*"
    out = body_json(resp)
    uuid.UUID(out["id"])  # generated when not given
    assert out["sqs_message_id"] and out["sns_message_id"]
    queued = sqs_event(lab["queue"])["Records"][0]
    assert queued["messageId"] == out["sqs_message_id"]
    assert json.loads(queued["body"]) == out["order"]
    envelope = json.loads(sqs_event(watcher)["Records"][0]["body"])
    assert envelope["MessageId"] == out["sns_message_id"]
    assert json.loads(envelope["Message"])["id"] == out["id"]
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "order_created"


def test_order_flows_from_api_through_consumer_to_get(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_ORIGIN", "http://site.example")
    api = load_handler("messaging", "api")
    consumer = load_handler("messaging", "consumer")
    created = api.handler(
        proxy_event("POST", "/orders", body={"id": "o-42", "item": "banh mi", "quantity": 4}), None
    )
    assert body_json(created)["id"] == "o-42"
    missing = api.handler(proxy_event("GET", "/orders/o-42", path_params={"id": "o-42"}), None)
    assert missing["statusCode"] == 404  # not consumed yet
    assert missing["headers"]["Access-Control-Allow-Origin"] == "http://site.example"
    assert consumer.handler(sqs_event(lab["queue"]), None) == {"batchItemFailures": []}
    got = api.handler(proxy_event("GET", "/orders/o-42", path_params={"id": "o-42"}), None)
    assert got["statusCode"] == 200
    assert body_json(got)["item"] == "banh mi" and body_json(got)["status"] == "received"
    listed = api.handler(proxy_event("GET", "/orders"), None)
    assert [o["id"] for o in body_json(listed)["orders"]] == ["o-42"]
    assert body_json(listed)["orders"][0]["quantity"] == 4  # Decimal back to a JSON int


def test_base64_body_and_preflight(lab: dict[str, Any]) -> None:
    api = load_handler("messaging", "api")
    raw = json.dumps({"item": "cà phê", "quantity": 1}).encode()
    resp = api.handler(proxy_event("POST", "/orders", body=raw, is_base64=True), None)
    assert resp["statusCode"] == 202 and body_json(resp)["order"]["item"] == "cà phê"
    pre = api.handler(proxy_event("OPTIONS", "/orders"), None)
    assert pre["statusCode"] == 204 and "POST" in pre["headers"]["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (None, "body is required"),
        ("{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"quantity": 1}, "'item'"),
        ({"item": "  ", "quantity": 1}, "'item'"),
        ({"item": "x", "quantity": 0}, "'quantity'"),
        ({"item": "x", "quantity": -3}, "'quantity'"),
        ({"item": "x", "quantity": "2"}, "'quantity'"),
        ({"item": "x", "quantity": 1.5}, "'quantity'"),
        ({"item": "x", "quantity": True}, "'quantity'"),
        ({"item": "x", "quantity": 1, "customer": 5}, "'customer'"),
        ({"item": "x", "quantity": 1, "id": "has space"}, "'id'"),
        ({"item": "x", "quantity": 1, "qty": 2}, "unknown field 'qty'"),
    ],
)
def test_post_rejects_bad_orders(lab: dict[str, Any], body: Any, fragment: str) -> None:
    api = load_handler("messaging", "api")
    resp = api.handler(proxy_event("POST", "/orders", body=body), None)
    assert resp["statusCode"] == 400
    assert resp["headers"]["Access-Control-Allow-Origin"] == "*"
    out = body_json(resp)
    assert fragment in out["error"] + " ".join(out["details"])
    # Nothing was sent.
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=lab["queue"])


def test_unknown_routes_and_methods(lab: dict[str, Any]) -> None:
    api = load_handler("messaging", "api")
    assert api.handler(proxy_event("GET", "/nothing"), None)["statusCode"] == 404
    assert api.handler(proxy_event("DELETE", "/orders/1", path_params={"id": "1"}), None)["statusCode"] == 405
    assert api.handler(proxy_event("GET", "/orders", query={"limit": "zero"}), None)["statusCode"] == 400

"""send-message and publish on moto, with consumers played by threads that do what the
messaging lab's Lambdas do (moto's in-process mock runs no Lambda code)."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from typing import Any

import pytest

from awslab.errors import UsageError
from awslab.exercise.effects import Found
from awslab.exercise.messages import (
    Subscriber,
    attribute,
    main_queue,
    publish,
    sample_order,
    send_message,
    subscriptions,
)
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, background, event_source_rec, fn_rec, make_queue, make_table, put_item, rec


def sqs_consumer(target: Target, queue_url: str, table: str, *, poison: bool = True):  # type: ignore[no-untyped-def]
    """What handlers/messaging/consumer.py does: one row per message, keyed by the order's id;
    a body that is not a JSON object is left on the queue."""

    def run(stop: threading.Event) -> None:
        sqs = target.client("sqs")
        while not stop.is_set():
            for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                try:
                    data = json.loads(m["Body"])
                except ValueError:
                    continue  # poison: stays on the queue
                envelope = None
                if isinstance(data, dict) and data.get("Type") == "Notification":
                    envelope, data = data, json.loads(data["Message"])
                item: dict[str, Any] = {
                    "id": str(data.get("id") or m["MessageId"]),
                    "body": data,
                    "source": "sqs",
                    "message_id": m["MessageId"],
                    "status": "received",
                }
                if envelope:
                    item["sns_message_id"] = envelope["MessageId"]
                put_item(target, table, item)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            stop.wait(0.02)

    return run


@pytest.fixture
def messaging(target: Target, store: StateStore):  # type: ignore[no-untyped-def]
    dlq = make_queue(target, "orders-dlq")
    queue = make_queue(target, "orders", dlq_arn=dlq.attrs["arn"])
    table = make_table(target, "orders-table")
    consumer = fn_rec("consumer")
    lab = add_lab(
        store, "lab", dlq, queue, table, consumer, event_source_rec("orders-source", consumer, queue)
    )
    return lab, queue, table


def test_send_sample_order_and_find_the_row(target: Target, messaging) -> None:  # type: ignore[no-untyped-def]
    lab, queue, table = messaging
    with background(sqs_consumer(target, queue.attrs["url"], table.physical)):
        res = send_message(target, lab, None, timeout=10)
    assert res.queue == "orders" and res.consumer == "consumer" and res.effects.complete
    [m] = res.messages
    body = json.loads(m.body)
    assert set(body) == {"id", "item", "quantity", "customer"}
    assert (body["item"], body["quantity"], body["customer"]) == ("book", 1, "awslab")
    uuid.UUID(body["id"])
    assert m.ids == [m.message_id, body["id"]]
    [effect] = m.effects
    assert effect["table"] == "orders-table"
    assert effect["item"]["body"] == body  # the row holds the body's content
    assert effect["item"]["message_id"] == m.message_id
    assert res.to_dict()["messages"][0]["effects"][0]["item"]["id"] == body["id"]


def test_count_sends_distinct_sample_orders(target: Target, messaging) -> None:  # type: ignore[no-untyped-def]
    lab, queue, table = messaging
    with background(sqs_consumer(target, queue.attrs["url"], table.physical)):
        res = send_message(target, lab, None, count=3, timeout=10)
    ids = {json.loads(m.body)["id"] for m in res.messages}
    assert len(ids) == 3 and len({m.message_id for m in res.messages}) == 3
    assert all(len(m.effects) == 1 for m in res.messages)
    assert {m.effects[0]["item"]["id"] for m in res.messages} == ids


def test_plain_text_is_sent_as_is_and_no_row_is_an_incomplete_result(target: Target, messaging) -> None:  # type: ignore[no-untyped-def]
    lab, queue, table = messaging
    with background(sqs_consumer(target, queue.attrs["url"], table.physical)):
        res = send_message(target, lab, "hi", timeout=0.3)
    [m] = res.messages
    assert m.body == "hi" and m.ids == [m.message_id] and m.effects == []
    assert not res.effects.complete


def test_json_body_with_own_id(target: Target, messaging) -> None:  # type: ignore[no-untyped-def]
    lab, queue, table = messaging
    with background(sqs_consumer(target, queue.attrs["url"], table.physical)):
        res = send_message(target, lab, '{"id": "o-42", "item": "pen", "quantity": 2}', timeout=10)
    assert res.messages[0].ids[1] == "o-42"
    assert res.messages[0].effects[0]["item"]["body"]["item"] == "pen"


def test_count_is_bounded(target: Target, messaging) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="--count"):
        send_message(target, messaging[0], None, count=0)


def test_main_queue_is_the_one_a_consumer_reads(store: StateStore) -> None:
    dlq = rec("sqs.queue", "dlq", arn="arn:aws:sqs:r:1:dlq", url="u-dlq")
    main = rec(
        "sqs.queue",
        "main",
        arn="arn:aws:sqs:r:1:main",
        url="u-main",
        dead_letter_target="arn:aws:sqs:r:1:dlq",
    )
    fn = fn_rec("consumer")
    # listed first alphabetically, the DLQ must still not be chosen
    assert (
        main_queue(add_lab(store, "a", dlq, main, fn, event_source_rec("es", fn, main)))[0].logical == "main"
    )
    # no event source: any queue that is not a dead-letter queue
    assert main_queue(add_lab(store, "b", dlq, main)) == (main, None)
    other = rec("sqs.queue", "other", arn="arn:aws:sqs:r:1:other", url="u-o")
    lab = add_lab(
        store, "c", main, other, fn, event_source_rec("es1", fn, main), event_source_rec("es2", fn, other)
    )
    with pytest.raises(UsageError, match="several queues with a consumer: main, other") as e:
        main_queue(lab)
    assert e.value.hint == "pick one with --queue, e.g. --queue main"
    assert main_queue(lab, "other") == (other, "consumer")  # --queue picks one
    with pytest.raises(UsageError, match=r"lab 'c' has no sqs\.queue named 'nope'"):
        main_queue(lab, "nope")


def test_fifo_queue_gets_a_group(target: Target, store: StateStore) -> None:
    sqs = target.client("sqs")
    url = sqs.create_queue(
        QueueName="awslab-f-q-abc123.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    lab = add_lab(store, "f", rec("sqs.queue", "q", arn="arn:aws:sqs:us-east-1:1:q.fifo", url=url))
    res = send_message(target, lab, "same", count=2, timeout=0)
    assert len(res.messages) == 2
    # content-based deduplication would drop the repeat without a fresh deduplication id
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]
    assert attrs["ApproximateNumberOfMessages"] == "2"
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["MessageGroupId"])["Messages"]
    assert got[0]["Attributes"]["MessageGroupId"] == "awslab"


# ---- publish ----------------------------------------------------------------------------
def _function(target: Target, name: str, env: dict[str, str]) -> None:
    iam = target.client("iam")
    try:
        role = iam.get_role(RoleName="fn-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                }
            ],
        }
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return e\n")
    target.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": env},
    )


def test_publish_finds_each_subscribers_row(target: Target, store: StateStore) -> None:
    """The messaging lab's shape: topic -> queue -> consumer, and topic -> notifier Lambda, both
    writing to one table (the notifier under its own id, as on the local cloud where the SNS
    MessageId a Lambda sees is a constant)."""
    queue = make_queue(target, "orders")
    table = make_table(target, "orders-table")
    consumer, notifier = fn_rec("consumer"), fn_rec("notifier")
    _function(target, consumer.physical, {"TABLE_NAME": table.physical})
    _function(target, notifier.physical, {"TABLE_NAME": table.physical, "OTHER": "x"})
    sns = target.client("sns")
    topic_arn = sns.create_topic(Name="awslab-lab-events-abc123")["TopicArn"]
    sub_arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.attrs["arn"])[
        "SubscriptionArn"
    ]
    topic = rec(
        "sns.topic",
        "events",
        arn=topic_arn,
        name="awslab-lab-events-abc123",
        subscriptions=[
            {"protocol": "sqs", "endpoint": queue.attrs["arn"], "arn": sub_arn},
            {"protocol": "lambda", "endpoint": notifier.attrs["arn"], "arn": f"{topic_arn}:n-1"},
        ],
    )
    lab = add_lab(
        store, "lab", queue, table, consumer, notifier, topic, event_source_rec("src", consumer, queue)
    )

    def fake_notifier(stop: threading.Event) -> None:
        # the notifier stores the order's id it finds in the message
        while not stop.is_set():
            rows = target.client("dynamodb").scan(TableName=table.physical)["Items"]
            orders = [r for r in rows if r.get("source", {}).get("S") == "sqs"]
            if orders:
                put_item(
                    target,
                    table.physical,
                    {
                        "id": "notification#95df01b4",
                        "kind": "notification",
                        "order_id": orders[0]["id"]["S"],
                        "message": "...",
                    },
                )
                return
            stop.wait(0.02)

    with background(sqs_consumer(target, queue.attrs["url"], table.physical)), background(fake_notifier):
        res = publish(target, lab, None, subject="New order", timeout=10)
    order = json.loads(res.body)
    assert res.ids == [res.message_id, order["id"]] and res.subject == "New order"
    assert res.effects.complete and len(res.effects.found) == 2
    sqs_sub, lambda_sub = res.subscribers
    assert (sqs_sub.protocol, sqs_sub.resource, sqs_sub.writers, sqs_sub.tables) == (
        "sqs",
        "orders",
        ["consumer"],
        ["orders-table"],
    )
    assert (lambda_sub.protocol, lambda_sub.resource, lambda_sub.writers) == (
        "lambda",
        "notifier",
        ["notifier"],
    )
    [row] = sqs_sub.effects
    assert row["item"]["id"] == order["id"] and row["item"]["sns_message_id"] == res.message_id
    assert row["item"]["body"] == order
    [note] = lambda_sub.effects
    assert note["item"]["kind"] == "notification" and note["matched_on"] == "order_id"


def test_subscriptions_come_from_sns_when_the_attrs_have_none(target: Target) -> None:
    sns = target.client("sns")
    arn = sns.create_topic(Name="t")["TopicArn"]
    target.client("sqs").create_queue(QueueName="q")
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:q")
    got = subscriptions(target, rec("sns.topic", "t", arn=arn))
    assert [(s["protocol"], s["endpoint"]) for s in got] == [("sqs", "arn:aws:sqs:us-east-1:123456789012:q")]
    assert got[0]["arn"].startswith(arn)


def _found(table: str, **item: Any) -> Found:
    return Found(table, f"phys-{table}", item, "id", str(item.get("id")))


def _sub(protocol: str, tables: list[str], arn: str = "") -> Subscriber:
    return Subscriber(protocol, f"arn:{protocol}", arn, None, ["w"], tables)


def test_attribution_rules() -> None:
    # separate tables: by table
    a, b = _sub("sqs", ["orders"]), _sub("lambda", ["notes"])
    attribute([_found("orders", id="1"), _found("notes", id="2")], [a, b])
    assert [e["item"]["id"] for e in a.effects] == ["1"] and [e["item"]["id"] for e in b.effects] == ["2"]
    # shared table: a row naming a subscription goes to it; the rest to those with none yet
    a, b = _sub("sqs", ["t"], "arn:sub:a"), _sub("lambda", ["t"], "arn:sub:b")
    attribute([_found("t", id="n", subscription_arn="arn:sub:b"), _found("t", id="o")], [a, b])
    assert [e["item"]["id"] for e in a.effects] == ["o"] and [e["item"]["id"] for e in b.effects] == ["n"]
    # nothing tells them apart: every subscriber writing there shows it
    a, b = _sub("sqs", ["t"]), _sub("lambda", ["t"])
    attribute([_found("t", id="x")], [a, b])
    assert len(a.effects) == len(b.effects) == 1
    # a row in a table no subscriber writes goes nowhere
    a = _sub("sqs", ["t"])
    attribute([_found("elsewhere", id="x")], [a])
    assert a.effects == []


def test_sample_order_shape() -> None:
    one, two = sample_order(), sample_order()
    assert one["id"] != two["id"]
    assert {k: v for k, v in one.items() if k != "id"} == {
        "item": "book",
        "quantity": 1,
        "customer": "awslab",
    }


def test_publish_needs_a_topic(target: Target, store: StateStore) -> None:
    with pytest.raises(UsageError, match=r"has no sns\.topic"):
        publish(target, add_lab(store, "x", rec("sqs.queue", "q")), "hi", timeout=0)

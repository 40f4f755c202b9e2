"""sqs.queue on moto, and the queue-policy helpers other kinds use."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from awslab.resources.base import REGISTRY, Context
from awslab.resources.sqs import (
    Queue,
    QueueProps,
    put_queue_policy_statement,
    remove_queue_policy_statement,
)
from tests.resources.wiring_helpers import created_record, creating_record, make_queue, queue_policy


def make(ctx: Context, logical: str, **props: object) -> Queue:
    return Queue(ctx, logical, QueueProps.model_validate(props))


def live_attributes(ctx: Context, url: str) -> dict[str, str]:
    return ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_registered() -> None:
    assert REGISTRY["sqs.queue"] is Queue


def test_create_read_delete_cycle(ctx: Context) -> None:
    q = make(ctx, "orders")
    attrs = q.create()
    assert attrs["name"] == "awslab-test-orders-abc123" == q.physical
    assert attrs["arn"] == "arn:aws:sqs:us-east-1:123456789012:awslab-test-orders-abc123"
    assert attrs["url"].endswith("/awslab-test-orders-abc123")
    live = live_attributes(ctx, attrs["url"])
    assert live["VisibilityTimeout"] == "30"
    assert live["MessageRetentionPeriod"] == "345600"
    assert "RedrivePolicy" not in live
    tags = ctx.client("sqs").list_queue_tags(QueueUrl=attrs["url"])["Tags"]
    assert tags == {"awslab:lab": "test", "awslab:stack": "abc123", "awslab:logical": "orders"}

    record = created_record(Queue.kind, "orders", q.physical, attrs)
    assert Queue.read(ctx, record) == attrs  # nothing drifted
    Queue.delete(ctx, record)
    assert Queue.read(ctx, record) is None
    Queue.delete(ctx, record)  # already gone: a no-op


def test_create_twice_is_idempotent(ctx: Context) -> None:
    first = make(ctx, "orders", visibility_timeout=45).create()
    # a create that died before its state was written, then the spec changed
    again = make(ctx, "orders", visibility_timeout=90).create()
    assert again["url"] == first["url"]
    assert live_attributes(ctx, first["url"])["VisibilityTimeout"] == "90"


def test_fifo_name_and_attributes(ctx: Context) -> None:
    q = make(ctx, "a-rather-long-logical-name-for-a-first-in-first-out-queue-of-orders", fifo=True)
    attrs = q.create()
    assert attrs["name"].endswith(".fifo")
    assert len(attrs["name"]) <= 80
    live = live_attributes(ctx, attrs["url"])
    assert live["FifoQueue"] == "true"
    assert live["ContentBasedDeduplication"] == "true"
    # content-based deduplication: sending needs no deduplication id
    ctx.client("sqs").send_message(QueueUrl=attrs["url"], MessageBody="x", MessageGroupId="g")


def test_dead_letter_redrive_policy(ctx: Context) -> None:
    dlq = make(ctx, "orders-dlq").create()
    q = make(ctx, "orders", visibility_timeout=0, dead_letter={"target": dlq["arn"]})
    attrs = q.create()
    redrive = json.loads(live_attributes(ctx, attrs["url"])["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["arn"]
    assert int(redrive["maxReceiveCount"]) == 3
    assert attrs["dead_letter_target"] == dlq["arn"] and attrs["max_receive_count"] == 3

    # a message received 3 times without being deleted moves to the dead-letter queue
    sqs = ctx.client("sqs")
    sqs.send_message(QueueUrl=attrs["url"], MessageBody="poison")
    for _ in range(3):
        assert len(sqs.receive_message(QueueUrl=attrs["url"]).get("Messages", [])) == 1
    assert sqs.receive_message(QueueUrl=attrs["url"]).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=dlq["url"])["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]


def test_update_changes_the_live_queue_and_keeps_its_policy(ctx: Context) -> None:
    dlq = make(ctx, "dlq").create()
    q = make(ctx, "orders", dead_letter={"target": dlq["arn"], "max_receive_count": 5})
    attrs = q.create()
    statement = {
        "Sid": "someone-else",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": attrs["arn"],
    }
    put_queue_policy_statement(ctx, attrs["arn"], statement)

    changed = make(ctx, "orders", visibility_timeout=120, retention_seconds=3600)
    record = created_record(Queue.kind, "orders", changed.physical, attrs)
    assert changed.fingerprint() != q.fingerprint()
    new_attrs = changed.update(record)
    live = live_attributes(ctx, attrs["url"])
    assert live["VisibilityTimeout"] == "120"
    assert live["MessageRetentionPeriod"] == "3600"
    assert "RedrivePolicy" not in live  # dead_letter removed from the spec
    assert new_attrs["dead_letter_target"] is None and new_attrs["visibility_timeout"] == 120
    policy = queue_policy(ctx, attrs["url"])
    assert policy is not None and [s["Sid"] for s in policy["Statement"]] == ["someone-else"]


def test_update_refuses_fifo_change(ctx: Context) -> None:
    from awslab.resources.base import UpdateNotSupported

    attrs = make(ctx, "orders").create()
    record = created_record(Queue.kind, "orders", attrs["name"], attrs)
    with pytest.raises(UpdateNotSupported):
        make(ctx, "orders", fifo=True).update(record)


def test_delete_from_a_creating_record_finds_it_by_name(ctx: Context) -> None:
    q = make(ctx, "orders")
    attrs = q.create()
    record = creating_record(Queue.kind, "orders", q.physical)
    assert Queue.read(ctx, record) == attrs
    Queue.delete(ctx, record)
    assert Queue.read(ctx, created_record(Queue.kind, "orders", q.physical, attrs)) is None
    Queue.delete(ctx, record)


def test_props_are_strict() -> None:
    with pytest.raises(ValidationError):
        QueueProps.model_validate({"visiblity_timeout": 10})  # typo: unknown field
    with pytest.raises(ValidationError):
        QueueProps.model_validate({"dead_letter": {"target": "orders-dlq"}})  # not an ARN
    with pytest.raises(ValidationError):
        QueueProps.model_validate({"retention_seconds": 10})
    props = QueueProps.model_validate({"dead_letter": {"target": "${dlq.arn}"}})
    assert props.dead_letter is not None and props.dead_letter.max_receive_count == 3


def test_queue_policy_statements_merge_and_clean(ctx: Context) -> None:
    url, arn = make_queue(ctx, "plain")

    def stmt(sid: str, source: str) -> dict[str, object]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": source}},
        }

    put_queue_policy_statement(ctx, arn, stmt("a", "arn:aws:sns:us-east-1:123456789012:one"))
    put_queue_policy_statement(ctx, arn, stmt("b", "arn:aws:sns:us-east-1:123456789012:two"))
    put_queue_policy_statement(ctx, arn, stmt("a", "arn:aws:sns:us-east-1:123456789012:three"))  # replaces a
    policy = queue_policy(ctx, url)
    assert policy is not None
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert sorted(by_sid) == ["a", "b"]
    assert by_sid["a"]["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":three")

    assert remove_queue_policy_statement(ctx, arn, "a") is True
    assert remove_queue_policy_statement(ctx, arn, "a") is False
    policy = queue_policy(ctx, url)
    assert policy is not None and [s["Sid"] for s in policy["Statement"]] == ["b"]
    assert remove_queue_policy_statement(ctx, arn, "b") is True
    assert queue_policy(ctx, url) is None

    ctx.client("sqs").delete_queue(QueueUrl=url)
    assert remove_queue_policy_statement(ctx, arn, "b") is False  # queue gone: done

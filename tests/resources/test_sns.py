"""sns.topic with subscriptions on moto: grants before subscriptions, reconciliation, cleanup."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from awslab.resources.base import REGISTRY, Context
from awslab.resources.sns import Topic, TopicProps, grant_id
from tests.resources.wiring_helpers import (
    created_record,
    creating_record,
    function_policy,
    make_function,
    make_queue,
    queue_policy,
    record_calls,
)

OTHER_STATEMENT = {
    "Sid": "kept-by-someone-else",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "sqs:ReceiveMessage",
    "Resource": "*",
}


def make(ctx: Context, logical: str, subscriptions: list[dict[str, object]]) -> Topic:
    return Topic(ctx, logical, TopicProps.model_validate({"subscriptions": subscriptions}))


def subscriptions_of(ctx: Context, topic_arn: str) -> dict[tuple[str, str], dict[str, str]]:
    sns = ctx.client("sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return {
        (s["Protocol"], s["Endpoint"]): sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])[
            "Attributes"
        ]
        for s in subs
    }


def sids(statements: list[dict[str, object]] | None) -> list[object]:
    return sorted(s["Sid"] for s in statements or [])


def test_registered() -> None:
    assert REGISTRY["sns.topic"] is Topic


def test_create_read_delete_with_queue_and_lambda(ctx: Context) -> None:
    url, queue_arn = make_queue(ctx, "orders")
    ctx.client("sqs").set_queue_attributes(
        QueueUrl=url,
        Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [OTHER_STATEMENT]})},
    )
    fn = make_function(ctx, "notifier")
    calls = record_calls(ctx, "lambda", "sns", "sqs")
    topic = make(
        ctx,
        "events",
        [
            {"protocol": "sqs", "endpoint": queue_arn, "raw": True, "filter_policy": {"kind": ["order"]}},
            {"protocol": "lambda", "endpoint": fn},
        ],
    )
    attrs = topic.create()
    arn = attrs["arn"]
    assert arn == "arn:aws:sns:us-east-1:123456789012:awslab-test-events-abc123"
    assert attrs["name"] == topic.physical
    assert len(attrs["subscription_arns"]) == 2

    subs = subscriptions_of(ctx, arn)
    assert subs[("sqs", queue_arn)]["RawMessageDelivery"] == "true"
    assert json.loads(subs[("sqs", queue_arn)]["FilterPolicy"]) == {"kind": ["order"]}
    assert ("lambda", fn) in subs

    # the queue policy gained a statement for this topic; the existing one is kept
    policy = queue_policy(ctx, url)
    assert policy is not None
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"kept-by-someone-else", grant_id(arn)}
    ours = by_sid[grant_id(arn)]
    assert ours["Principal"] == {"Service": "sns.amazonaws.com"}
    assert ours["Action"] == "sqs:SendMessage"
    assert ours["Resource"] == queue_arn
    assert ours["Condition"] == {"ArnEquals": {"aws:SourceArn": arn}}

    # the function may be invoked by SNS for this topic only, granted before subscribing
    (stmt,) = function_policy(ctx, fn)
    assert stmt["Principal"] == {"Service": "sns.amazonaws.com"}
    assert stmt["Condition"]["ArnLike"]["AWS:SourceArn"] == arn
    assert calls.index("lambda.AddPermission") < max(i for i, c in enumerate(calls) if c == "sns.Subscribe")
    # subscriptions are made in parallel, each after its own grant
    assert calls.index("sqs.SetQueueAttributes") < max(i for i, c in enumerate(calls) if c == "sns.Subscribe")

    tags = ctx.client("sns").list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags}["awslab:logical"] == "events"

    record = created_record(Topic.kind, "events", topic.physical, attrs)
    assert Topic.read(ctx, record) == attrs

    Topic.delete(ctx, record)
    assert Topic.read(ctx, record) is None
    assert ctx.client("sns").list_subscriptions()["Subscriptions"] == []
    assert function_policy(ctx, fn) == []
    assert sids(queue_policy(ctx, url)["Statement"]) == ["kept-by-someone-else"]  # type: ignore[index]
    Topic.delete(ctx, record)  # a no-op


def test_messages_reach_the_queue(ctx: Context) -> None:
    url, queue_arn = make_queue(ctx, "orders")
    attrs = make(ctx, "events", [{"protocol": "sqs", "endpoint": queue_arn, "raw": True}]).create()
    ctx.client("sns").publish(TopicArn=attrs["arn"], Message="hello")
    (msg,) = ctx.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert msg["Body"] == "hello"  # raw delivery: no SNS envelope


def test_update_reconciles_subscriptions(ctx: Context) -> None:
    url1, q1 = make_queue(ctx, "one")
    url2, q2 = make_queue(ctx, "two")
    fn = make_function(ctx, "notifier")
    topic = make(
        ctx,
        "events",
        [
            {"protocol": "sqs", "endpoint": q1, "filter_policy": {"kind": ["a"]}},
            {"protocol": "lambda", "endpoint": fn},
        ],
    )
    attrs = topic.create()
    arn = attrs["arn"]
    record = created_record(Topic.kind, "events", topic.physical, attrs)

    # q1: raw on, filter policy removed; lambda dropped; q2 added
    changed = make(
        ctx, "events", [{"protocol": "sqs", "endpoint": q1, "raw": True}, {"protocol": "sqs", "endpoint": q2}]
    )
    assert changed.fingerprint() != topic.fingerprint()
    new_attrs = changed.update(record)

    subs = subscriptions_of(ctx, arn)
    assert set(subs) == {("sqs", q1), ("sqs", q2)}
    assert subs[("sqs", q1)]["RawMessageDelivery"] == "true"
    assert json.loads(subs[("sqs", q1)].get("FilterPolicy") or "{}") == {}
    assert subs[("sqs", q2)]["RawMessageDelivery"] == "false"
    assert function_policy(ctx, fn) == []  # the dropped lambda's permission is revoked
    assert sids(queue_policy(ctx, url2)["Statement"]) == [grant_id(arn)]  # type: ignore[index]
    # the kept subscription kept its ARN
    kept = next(s["arn"] for s in attrs["subscriptions"] if s["endpoint"] == q1)
    assert kept in new_attrs["subscription_arns"]
    assert len(new_attrs["subscription_arns"]) == 2

    # unchanged spec: update again changes nothing
    again = changed.update(created_record(Topic.kind, "events", topic.physical, new_attrs))
    assert again == new_attrs
    ctx.client("sns").publish(TopicArn=arn, Message="m")
    assert ctx.client("sqs").receive_message(QueueUrl=url1)["Messages"][0]["Body"] == "m"


def test_update_recreates_a_topic_deleted_behind_our_back(ctx: Context) -> None:
    _, q = make_queue(ctx, "one")
    topic = make(ctx, "events", [{"protocol": "sqs", "endpoint": q}])
    attrs = topic.create()
    ctx.client("sns").delete_topic(TopicArn=attrs["arn"])
    record = created_record(Topic.kind, "events", topic.physical, attrs)
    assert Topic.read(ctx, record) is None
    new_attrs = topic.update(record)
    assert set(subscriptions_of(ctx, new_attrs["arn"])) == {("sqs", q)}


def test_delete_tolerates_targets_already_gone(ctx: Context) -> None:
    url, q = make_queue(ctx, "one")
    fn = make_function(ctx, "notifier")
    topic = make(ctx, "events", [{"protocol": "sqs", "endpoint": q}, {"protocol": "lambda", "endpoint": fn}])
    attrs = topic.create()
    ctx.client("sqs").delete_queue(QueueUrl=url)
    ctx.client("lambda").delete_function(FunctionName=fn)
    record = created_record(Topic.kind, "events", topic.physical, attrs)
    Topic.delete(ctx, record)
    assert Topic.read(ctx, record) is None


def test_delete_from_a_creating_record(ctx: Context) -> None:
    url, q = make_queue(ctx, "one")
    fn = make_function(ctx, "notifier")
    topic = make(ctx, "events", [{"protocol": "sqs", "endpoint": q}, {"protocol": "lambda", "endpoint": fn}])
    attrs = topic.create()
    record = creating_record(Topic.kind, "events", topic.physical)
    assert Topic.read(ctx, record) == {**attrs}
    Topic.delete(ctx, record)
    assert Topic.read(ctx, record) is None
    assert ctx.client("sns").list_topics()["Topics"] == []
    assert function_policy(ctx, fn) == []
    assert queue_policy(ctx, url) is None
    Topic.delete(ctx, record)


def test_props_are_strict() -> None:
    with pytest.raises(ValidationError):
        TopicProps.model_validate(
            {"subscriptions": [{"protocol": "lambda", "endpoint": "arn:aws:x", "raw": True}]}
        )
    with pytest.raises(ValidationError):
        TopicProps.model_validate({"subscriptions": [{"protocol": "email", "endpoint": "a@b.c"}]})
    with pytest.raises(ValidationError):
        TopicProps.model_validate({"subscriptions": [{"protocol": "sqs", "endpoint": "orders"}]})
    with pytest.raises(ValidationError):
        TopicProps.model_validate({"subscription": []})
    twice = {"protocol": "sqs", "endpoint": "${q.arn}"}
    with pytest.raises(ValidationError):
        TopicProps.model_validate({"subscriptions": [twice, twice]})


def test_grant_ids_are_valid_lambda_statement_ids() -> None:
    long_arn = "arn:aws:sns:us-east-1:123456789012:" + "t" * 256
    gid = grant_id(long_arn)
    assert len(gid) <= 100
    assert gid != grant_id("arn:aws:sns:eu-west-1:123456789012:" + "t" * 256)
    assert all(c.isalnum() or c in "-_" for c in gid)

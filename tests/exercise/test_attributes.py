"""Message attributes and picking one of several queues or topics: `--attribute` / `attributes:`
reach SQS and SNS as AWS takes them, SNS filter policies route on them, and `publish` waits only
for the subscribers whose filter policy lets the message through (moto's in-process mock: its SNS
delivers to SQS with filter policies, as the local cloud does)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from awslab.errors import UsageError
from awslab.exercise.attributes import MessageAttribute, api_form, from_values, parse_options
from awslab.exercise.messages import publish, send_message
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, background, event_source_rec, fn_rec, make_queue, make_table, put_item, rec


def test_attributes_from_the_command_line_and_from_yaml() -> None:
    parsed = parse_options(["colour=red", "size:Number=5", 'tags:String.Array=["a", "b"]', "raw:Binary=AAE=",
                            "eq=a=b"])  # fmt: skip
    assert parsed == {
        "colour": MessageAttribute("String", "red"),
        "size": MessageAttribute("Number", "5"),
        "tags": MessageAttribute("String.Array", '["a", "b"]'),
        "raw": MessageAttribute("Binary", "AAE="),
        "eq": MessageAttribute("String", "a=b"),
    }
    assert from_values({"colour": "red", "size": 5, "tags": ["a", "b"], "ok": True}) == {
        "colour": MessageAttribute("String", "red"),
        "size": MessageAttribute("Number", "5"),
        "tags": MessageAttribute("String.Array", '["a", "b"]'),
        "ok": MessageAttribute("String", "true"),
    }
    assert api_form(parsed, service="sns")["raw"] == {"DataType": "Binary", "BinaryValue": b"\x00\x01"}
    for bad, why in [("colour", "expected NAME=VALUE"), ("size:Number=five", "'five' is not a number"),
                     ("x:Float=1", "unknown attribute type 'Float'"), ("AWS.x=1", "invalid attribute name")]:  # fmt: skip
        with pytest.raises(UsageError, match=why) as e:
            parse_options([bad])
        assert (
            e.value.exit_code == 2 and e.value.hint is not None and "--attribute colour=red" in e.value.hint
        )
    with pytest.raises(UsageError, match=r"String\.Array is an SNS type"):
        api_form(parsed, service="sqs")
    with pytest.raises(UsageError, match="at most 10"):
        parse_options([f"a{i}=1" for i in range(11)])


def test_send_message_with_attributes_to_the_queue_picked(target: Target, store: StateStore) -> None:
    a, b = make_queue(target, "a"), make_queue(target, "b")
    table = make_table(target, "rows")
    fn = fn_rec("consumer")
    lab = add_lab(store, "lab", a, b, table, fn, event_source_rec("ea", fn, a), event_source_rec("eb", fn, b))
    with pytest.raises(UsageError, match="several queues with a consumer: a, b"):
        send_message(target, lab, "hi", timeout=0)
    attributes = parse_options(["colour=red", "size:Number=5"])
    res = send_message(target, lab, "hi", queue="b", attributes=attributes, timeout=0)
    assert res.queue == "b" and res.to_dict()["attributes"]["size"] == {"type": "Number", "value": "5"}
    sqs = target.client("sqs")
    [m] = sqs.receive_message(QueueUrl=b.attrs["url"], MessageAttributeNames=["All"])["Messages"]
    assert m["MessageAttributes"] == {
        "colour": {"StringValue": "red", "DataType": "String"},
        "size": {"StringValue": "5", "DataType": "Number"},
    }
    assert "Messages" not in sqs.receive_message(QueueUrl=a.attrs["url"])


def _fan_out(target: Target, store: StateStore) -> tuple[Any, dict[str, Any], Any]:
    """topic -> red queue (filter colour=red) and blue queue (filter colour=blue), each read by a
    consumer writing to the one table; a second topic makes --topic necessary."""
    sns = target.client("sns")
    queues = {c: make_queue(target, c) for c in ("red", "blue")}
    table = make_table(target, "rows")
    arn = sns.create_topic(Name="awslab-lab-orders-abc123")["TopicArn"]
    other = sns.create_topic(Name="awslab-lab-audit-abc123")["TopicArn"]
    subs = []
    for colour, q in queues.items():
        sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=q.attrs["arn"], ReturnSubscriptionArn=True,
                            Attributes={"FilterPolicy": json.dumps({"colour": [colour]})})["SubscriptionArn"]  # fmt: skip
        subs.append({"protocol": "sqs", "endpoint": q.attrs["arn"], "arn": sub})
    fn = fn_rec("consumer")
    lab = add_lab(
        store, "lab", *queues.values(), table, fn,
        rec("sns.topic", "orders", arn=arn, subscriptions=subs), rec("sns.topic", "audit", arn=other),
        *(event_source_rec(f"from-{c}", fn, q) for c, q in queues.items()),
    )  # fmt: skip
    return lab, queues, table


def consumer(target: Target, queues: dict[str, Any], table: str):  # type: ignore[no-untyped-def]
    """Writes one row per delivery: the SNS message id, the queue, and the attributes SNS put in
    its envelope."""

    def run(stop: threading.Event) -> None:
        sqs = target.client("sqs")
        while not stop.is_set():
            for colour, q in queues.items():
                for m in sqs.receive_message(QueueUrl=q.attrs["url"]).get("Messages", []):
                    envelope = json.loads(m["Body"])
                    put_item(target, table, {"id": f"{colour}-{envelope['MessageId']}", "queue": colour,
                                             "sns_id": envelope["MessageId"],
                                             "attributes": envelope.get("MessageAttributes", {})})  # fmt: skip
                    sqs.delete_message(QueueUrl=q.attrs["url"], ReceiptHandle=m["ReceiptHandle"])
            stop.wait(0.02)

    return run


def test_publish_routes_on_attributes_through_filter_policies(target: Target, store: StateStore) -> None:
    lab, queues, table = _fan_out(target, store)
    with pytest.raises(UsageError, match=r"several sns\.topic resources: audit, orders") as e:
        publish(target, lab, "hi", timeout=0)
    assert e.value.hint == "pick one with --topic, e.g. --topic audit"
    with background(consumer(target, queues, table.physical)):
        res = publish(target, lab, '{"id": "o-1"}', topic="orders", attributes=parse_options(["colour=red"]),
                      timeout=10)  # fmt: skip
    by_queue = {lab.logical_of(s.endpoint): s for s in res.subscribers}
    assert by_queue["red"].delivered and not by_queue["blue"].delivered
    assert by_queue["blue"].filter_policy == {"colour": ["blue"]}
    rows = [f.item for f in res.effects.found]
    assert [r["queue"] for r in rows] == ["red"] and by_queue["red"].effects and not by_queue["blue"].effects
    assert rows[0]["attributes"] == {"colour": {"Type": "String", "Value": "red"}}
    assert res.effects.complete  # the blue queue's row was not waited for: it cannot come
    data = res.to_dict()
    assert data["attributes"] == {"colour": {"type": "String", "value": "red"}}
    assert sorted(s["delivered"] for s in data["subscribers"]) == [False, True]

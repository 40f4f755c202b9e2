"""`awslab send-message` (SQS) and `awslab publish` (SNS), each followed by what the consumers
wrote: the rows in the lab's tables that carry the message's id or its body's `id`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.attributes import MessageAttribute, api_form, sns_form, to_dict
from awslab.exercise.defaults import EFFECTS_TIMEOUT as DEFAULT_TIMEOUT
from awslab.exercise.effects import (
    Effects,
    Found,
    ids_of_body,
    snapshot,
    unique,
    wait_for_effects,
)
from awslab.exercise.labs import DeployedLab, pick_resource, ready
from awslab.resources.base import Record
from awslab.target import Target

MAX_COUNT = 100


def sample_order() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "item": "book", "quantity": 1, "customer": "awslab"}


def message_text(body: Any) -> str:
    """What goes on the wire: a string as is, anything else as JSON."""
    return body if isinstance(body, str) else json.dumps(body)


# ---- SQS --------------------------------------------------------------------------------
@dataclass
class SentMessage:
    message_id: str
    body: str
    ids: list[str]  # what its effects are searched by: the MessageId, the body's id
    effects: list[dict[str, Any]] = field(default_factory=list)  # Found.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "body": self.body, "ids": self.ids, "effects": self.effects}


@dataclass
class SendResult:
    lab: str
    queue: str  # logical name
    queue_url: str
    consumer: str | None  # logical name of the function reading the queue
    messages: list[SentMessage]
    effects: Effects
    attributes: dict[str, MessageAttribute] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "queue": self.queue,
            "queue_url": self.queue_url,
            "consumer": self.consumer,
            "attributes": to_dict(self.attributes),
            "messages": [m.to_dict() for m in self.messages],
            "effects": self.effects.to_dict(),
        }


def _readers(lab: DeployedLab) -> dict[str, str | None]:
    """Queue logical name -> the logical name of the function a lambda.event_source feeds from it."""
    readers: dict[str, str | None] = {}
    for es in lab.records("lambda.event_source"):
        queue = lab.logical_of(str(es.attrs.get("source", "")))
        if queue is not None:
            readers.setdefault(queue, lab.logical_of(str(es.attrs.get("function", ""))))
    return readers


def main_queue(lab: DeployedLab, queue: str | None = None) -> tuple[Record, str | None]:
    """The queue named `queue` (logical), else the one a lambda.event_source reads (not its
    dead-letter queue); and the logical name of the function that reads it."""
    readers = _readers(lab)
    if queue is not None:
        chosen = pick_resource(lab, "sqs.queue", queue, option="--queue")
        return chosen, readers.get(chosen.logical)
    queues = lab.records("sqs.queue")
    if not queues:
        raise UsageError(f"lab '{lab.name}' has no sqs.queue")
    read = [q for q in queues if q.logical in readers]
    if not read:  # no consumer: any queue that is not another one's dead-letter queue
        dlqs = {q.attrs.get("dead_letter_target") for q in queues}
        read = [q for q in queues if q.attrs.get("arn") not in dlqs] or queues
    if len(read) > 1:
        names = [q.logical for q in read]
        raise UsageError(
            f"lab '{lab.name}' has several queues with a consumer: {', '.join(names)}",
            hint=f"pick one with --queue, e.g. --queue {names[0]}",
        )
    chosen = ready(lab, read[0])
    return chosen, readers.get(chosen.logical)


def send_message(
    target: Target,
    lab: DeployedLab,
    body: str | None = None,
    count: int = 1,
    *,
    queue: str | None = None,
    attributes: Mapping[str, MessageAttribute] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] | None = None,
) -> SendResult:
    """Send `count` messages (no body: a sample order each, with its own id) with `attributes` to
    the queue named `queue`, or the lab's main queue, and wait up to `timeout` seconds for the
    rows the consumer writes for them."""
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"--count must be between 1 and {MAX_COUNT}")
    attributes = dict(attributes or {})
    wire_attributes = api_form(attributes, service="sqs")
    record, consumer = main_queue(lab, queue)
    url = record.attrs.get("url") or ""
    if not url:
        raise ExerciseError(
            f"queue '{record.logical}' of lab '{lab.name}' has no URL in the state",
            hint=f"run 'awslab up {lab.name}'",
        )
    tables = lab.tables()
    baseline = snapshot(target, tables)
    sqs = target.client("sqs")
    messages: list[SentMessage] = []
    for _ in range(count):
        text = message_text(sample_order()) if body is None else body
        extra: dict[str, Any] = {"MessageAttributes": wire_attributes} if wire_attributes else {}
        if url.endswith(".fifo"):  # a group is required; a fresh dedup id lets --count repeat a body
            extra |= {"MessageGroupId": "awslab", "MessageDeduplicationId": uuid.uuid4().hex}
        sent = sqs.send_message(QueueUrl=url, MessageBody=text, **extra)
        ids = unique([sent["MessageId"], *ids_of_body(text)])
        messages.append(SentMessage(sent["MessageId"], text, ids))
    effects = wait_for_effects(
        target,
        tables,
        [m.ids for m in messages],
        timeout=timeout,
        baseline=baseline,
        sleep=sleep or time.sleep,
    )
    for m in messages:
        m.effects = [f.to_dict() for f in effects.for_ids(m.ids)]
    return SendResult(lab.name, record.logical, url, consumer, messages, effects, attributes)


# ---- SNS --------------------------------------------------------------------------------
@dataclass
class Subscriber:
    protocol: str
    endpoint: str
    subscription_arn: str
    resource: str | None  # logical name of the endpoint in the lab (queue, function)
    writers: list[str]  # logical names of the functions that act on its deliveries
    tables: list[str]  # logical names of the tables those functions write to
    effects: list[dict[str, Any]] = field(default_factory=list)  # Found.to_dict()
    filter_policy: dict[str, Any] | None = None
    filter_scope: str = "MessageAttributes"
    # False when its filter policy drops the message: SNS does not deliver it there
    delivered: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "endpoint": self.endpoint,
            "subscription_arn": self.subscription_arn,
            "resource": self.resource,
            "writers": self.writers,
            "tables": self.tables,
            "filter_policy": self.filter_policy,
            "delivered": self.delivered,
            "effects": self.effects,
        }


@dataclass
class PublishResult:
    lab: str
    topic: str  # logical name
    topic_arn: str
    message_id: str
    subject: str | None
    body: str
    ids: list[str]
    subscribers: list[Subscriber]
    effects: Effects
    attributes: dict[str, MessageAttribute] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "topic": self.topic,
            "topic_arn": self.topic_arn,
            "message_id": self.message_id,
            "subject": self.subject,
            "attributes": to_dict(self.attributes),
            "body": self.body,
            "ids": self.ids,
            "subscribers": [s.to_dict() for s in self.subscribers],
            "effects": self.effects.to_dict(),
        }


def subscriptions(target: Target, topic: Record) -> list[dict[str, str]]:
    """[{protocol, endpoint, arn}] from the topic's attrs, else asked of SNS."""
    out = []
    for s in topic.attrs.get("subscriptions") or []:
        if isinstance(s, Mapping):
            out.append(
                {
                    "protocol": str(s.get("protocol") or s.get("Protocol") or ""),
                    "endpoint": str(s.get("endpoint") or s.get("Endpoint") or ""),
                    "arn": str(s.get("arn") or s.get("subscription_arn") or s.get("SubscriptionArn") or ""),
                }
            )
    if out:
        return out
    pages = (
        target.client("sns")
        .get_paginator("list_subscriptions_by_topic")
        .paginate(TopicArn=topic.attrs["arn"])
    )
    return [
        {"protocol": s["Protocol"], "endpoint": s["Endpoint"], "arn": s["SubscriptionArn"]}
        for page in pages
        for s in page.get("Subscriptions", [])
    ]


def _writer_tables(target: Target, lab: DeployedLab, function: str) -> list[str]:
    """The lab's tables a function is configured with (its environment names them)."""
    tables = lab.tables()
    record = lab.record(function)
    name = (record.attrs.get("name") or record.physical) if record else function
    try:
        conf = target.client("lambda").get_function_configuration(FunctionName=name)
    except ClientError:
        return list(tables)  # cannot tell: any of them
    values = set(((conf.get("Environment") or {}).get("Variables") or {}).values())
    return [logical for logical, physical in tables.items() if physical in values]


def subscribers_of(target: Target, lab: DeployedLab, topic: Record) -> list[Subscriber]:
    out = []
    for s in subscriptions(target, topic):
        resource = lab.logical_of(s["endpoint"])
        if s["protocol"] == "lambda":
            writers = [resource] if resource else []
        elif s["protocol"] == "sqs":
            writers = unique(
                lab.logical_of(str(es.attrs.get("function", ""))) or ""
                for es in lab.records("lambda.event_source")
                if es.attrs.get("source") == s["endpoint"]
            )
        else:
            writers = []
        tables = unique(t for w in writers for t in _writer_tables(target, lab, w))
        policy, scope = _filter_policy(target, s["arn"])
        out.append(
            Subscriber(s["protocol"], s["endpoint"], s["arn"], resource, writers, tables, [], policy, scope)
        )
    return out


def _filter_policy(target: Target, subscription_arn: str) -> tuple[dict[str, Any] | None, str]:
    """A subscription's filter policy and its scope (MessageAttributes unless MessageBody)."""
    try:
        attrs = target.client("sns").get_subscription_attributes(SubscriptionArn=subscription_arn)[
            "Attributes"
        ]
    except ClientError:  # cannot tell: assume it takes every message
        return None, "MessageAttributes"
    policy = json.loads(attrs["FilterPolicy"]) if attrs.get("FilterPolicy") else None
    return policy, attrs.get("FilterPolicyScope") or "MessageAttributes"


def passes_filter(sub: Subscriber, message: str, attributes: Mapping[str, MessageAttribute]) -> bool:
    """Whether SNS delivers the message to `sub`: its filter policy, evaluated as SNS does (by
    moto's implementation of AWS's matching rules, which the local cloud uses too)."""
    if not sub.filter_policy:
        return True
    from moto.sns.utils import FilterPolicyMatcher

    return bool(
        FilterPolicyMatcher(sub.filter_policy, sub.filter_scope).matches(sns_form(attributes), message)
    )


def attribute(found: list[Found], subscribers: list[Subscriber]) -> None:
    """Give each found row to the subscriber whose consumer wrote it. A row in a table that only
    one subscriber's consumer writes is that one's; in a shared table, a row that names one of
    them (its subscription, endpoint or protocol) is that one's, and the others go to the
    subscribers that have no row yet (or, failing that, to all that write there)."""
    unclear: list[tuple[Found, list[Subscriber]]] = []
    for f in found:
        claimants = [s for s in subscribers if f.table in s.tables]
        values = {v for v in f.item.values() if isinstance(v, str)}
        named = [s for s in claimants if values & {s.subscription_arn, s.endpoint, s.protocol} - {""}]
        if len(claimants) == 1 or len(named) == 1:
            (named or claimants)[0].effects.append(f.to_dict())
        elif claimants:
            unclear.append((f, claimants))
    for f, claimants in unclear:
        empty = [s for s in claimants if not s.effects] or claimants
        for s in empty:
            s.effects.append(f.to_dict())


def publish(
    target: Target,
    lab: DeployedLab,
    body: str | None = None,
    subject: str | None = None,
    *,
    topic: str | None = None,
    attributes: Mapping[str, MessageAttribute] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] | None = None,
) -> PublishResult:
    """Publish to the topic named `topic`, or the lab's only one (no body: a sample order), with
    `attributes`, and wait up to `timeout` seconds for the rows its subscribers' consumers write,
    one entry per subscriber. A subscriber whose filter policy drops the message is not waited for."""
    record = pick_resource(lab, "sns.topic", topic, option="--topic")
    arn = record.attrs.get("arn") or ""
    attributes = dict(attributes or {})
    text = message_text(sample_order()) if body is None else body
    subscribers = subscribers_of(target, lab, record)
    for s in subscribers:
        s.delivered = passes_filter(s, text, attributes)
    tables = lab.tables()
    baseline = snapshot(target, tables)
    params: dict[str, Any] = {"TopicArn": arn, "Message": text}
    if subject:
        params["Subject"] = subject[:100]
    if attributes:
        params["MessageAttributes"] = api_form(attributes, service="sns")
    if arn.endswith(".fifo"):
        params |= {"MessageGroupId": "awslab", "MessageDeduplicationId": uuid.uuid4().hex}
    message_id = target.client("sns").publish(**params)["MessageId"]
    body_ids = ids_of_body(text)
    # A notifier keeps the text it got; with no id in the body that text is what identifies it.
    ids = unique([message_id, *(body_ids or [text])])
    expected = max(1, sum(1 for s in subscribers if s.tables and s.delivered))
    effects = wait_for_effects(
        target,
        tables,
        [ids],
        timeout=timeout,
        min_items=expected,
        baseline=baseline,
        sleep=sleep or time.sleep,
    )
    attribute(effects.found, [s for s in subscribers if s.delivered])
    return PublishResult(
        lab.name, record.logical, arn, message_id, subject, text, ids, subscribers, effects, attributes
    )

"""sns.topic: a topic and its subscriptions to SQS queues and Lambda functions.

Each subscription comes with the grant that lets SNS deliver: a statement in the queue's policy
(merged by Sid, never replacing the policy) or an invoke permission on the function, added
before subscribing. Grant ids derive from the topic ARN, so a teardown can find and remove them
from the topic alone, even when the state lost the subscription list.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, model_validator

from awslab.resources.base import (
    ArnRef,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    arn_of,
    ignore_missing,
    missing_ok,
    or_none,
    pages,
    register,
    tagged_made,
)
from awslab.resources.fanout import together
from awslab.resources.idempotent import tag_map
from awslab.resources.invoke_permission import ensure_invoke_permission, remove_invoke_permission
from awslab.resources.sqs import put_queue_policy_statement, remove_queue_policy_statement
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

MANAGED_PROTOCOLS = ("sqs", "lambda")  # others (an email someone added by hand) are left alone
SNS_PRINCIPAL = "sns.amazonaws.com"


class Subscription(Props):
    protocol: Literal["sqs", "lambda"]
    endpoint: ArnRef  # the queue's or the function's ARN
    raw: bool = False  # raw message delivery: the queue gets the message body, not SNS's envelope
    filter_policy: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _raw_only_for_queues(self) -> Subscription:
        if self.raw and self.protocol != "sqs":
            raise ValueError("raw delivery applies to sqs subscriptions only")
        return self


class TopicProps(Props):
    subscriptions: list[Subscription] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_subscription_per_endpoint(self) -> TopicProps:
        seen: set[tuple[str, str]] = set()
        for s in self.subscriptions:
            if (s.protocol, s.endpoint) in seen:
                raise ValueError(f"{s.protocol} endpoint {s.endpoint} is subscribed twice")
            seen.add((s.protocol, s.endpoint))
        return self


def grant_id(topic_arn: str) -> str:
    """The Sid / StatementId of the grants this topic adds (Lambda allows [A-Za-z0-9_-], <= 100)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", topic_arn.rsplit(":", 1)[-1])[:70]
    digest = hashlib.sha256(topic_arn.encode()).hexdigest()[:8]
    return f"awslab-sns-{name}-{digest}"


def _queue_statement(topic_arn: str, queue_arn: str) -> dict[str, Any]:
    return {
        "Sid": grant_id(topic_arn),
        "Effect": "Allow",
        "Principal": {"Service": SNS_PRINCIPAL},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
    }


def _grant(ctx: Context, topic_arn: str, protocol: str, endpoint: str) -> None:
    if protocol == "sqs":
        put_queue_policy_statement(ctx, endpoint, _queue_statement(topic_arn, endpoint))
    else:
        ensure_invoke_permission(ctx, endpoint, grant_id(topic_arn), SNS_PRINCIPAL, topic_arn)


def _revoke(ctx: Context, topic_arn: str, protocol: str, endpoint: str) -> None:
    """Remove the grant; its queue or function being gone is fine."""
    if protocol == "sqs":
        remove_queue_policy_statement(ctx, endpoint, grant_id(topic_arn))
    elif protocol == "lambda":
        remove_invoke_permission(ctx, endpoint, grant_id(topic_arn))


def _live_subscriptions(sns: Any, topic_arn: str) -> list[dict[str, Any]]:
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
    return [
        s for page in pages for s in page.get("Subscriptions", []) if s.get("Protocol") in MANAGED_PROTOCOLS
    ]


def _find_topic(sns: Any, name: str) -> str | None:
    for page in sns.get_paginator("list_topics").paginate():
        for t in page.get("Topics", []):
            if t["TopicArn"].rsplit(":", 1)[-1] == name:
                return str(t["TopicArn"])
    return None


def _unsubscribe(sns: Any, subscription_arn: str) -> None:
    ignore_missing(sns.unsubscribe, SubscriptionArn=subscription_arn)


def _topic_attrs(arn: str, subscriptions: list[dict[str, Any]]) -> dict[str, Any]:
    subscriptions = sorted(subscriptions, key=lambda s: (s["protocol"], s["endpoint"]))
    return {
        "name": arn.rsplit(":", 1)[-1],
        "arn": arn,
        # sorted, so that a read compares equal to what create recorded
        "subscription_arns": sorted(s["arn"] for s in subscriptions),
        "subscriptions": subscriptions,
    }


@register
class Topic(Resource[TopicProps]):
    """An SNS topic. Subscriptions are reconciled on update: new ones granted and subscribed,
    changed ones (raw delivery, filter policy) adjusted, removed ones unsubscribed and their
    grants revoked. Only sqs and lambda subscriptions are managed."""

    kind = "sns.topic"
    attributes = ("name", "arn", "subscription_arns")
    name_rule = NameRule(max_len=256)
    drift_keys = ("subscription_arns",)
    predictable = frozenset({"name", "arn"})
    delete_needs_dependencies = False  # the queues and functions it delivers to may go at the same time
    sweep_rank = 30  # after the rules and APIs that publish to it, before what it delivers to

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "sns", physical)}

    def _ensure_topic(self) -> str:
        # CreateTopic is idempotent: it returns the existing topic's ARN (and recreates one
        # deleted behind awslab's back).
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()]
        return str(self.ctx.client("sns").create_topic(Name=self.physical, Tags=tags)["TopicArn"])

    def create(self) -> dict[str, Any]:
        arn = self._ensure_topic()
        return _topic_attrs(arn, self._reconcile(arn, previous=[], fresh=True))

    def update(self, record: Record) -> dict[str, Any]:
        arn = self._ensure_topic()
        previous = record.attrs.get("subscriptions") or []
        return _topic_attrs(arn, self._reconcile(arn, previous=previous, fresh=False))

    def _reconcile(self, topic_arn: str, previous: list[dict[str, Any]], fresh: bool) -> list[dict[str, Any]]:
        """Each subscription with its grant, all at once; a new topic has none to list."""
        sns = self.ctx.client("sns")
        live = {} if fresh else {
            (s["Protocol"], s["Endpoint"]): s["SubscriptionArn"] for s in _live_subscriptions(sns, topic_arn)
        }  # fmt: skip
        wanted = {(s.protocol, s.endpoint): s for s in self.props.subscriptions}
        stale = {*live, *((p["protocol"], p["endpoint"]) for p in previous)} - set(wanted)
        made: dict[tuple[str, str], str] = {}

        def subscribe(key: tuple[str, str], sub: Subscription) -> None:
            # grant first: SNS may deliver as soon as the subscription exists
            _grant(self.ctx, topic_arn, sub.protocol, sub.endpoint)
            if key in live:
                _adjust(sns, live[key], sub)
                made[key] = live[key]
                return
            attributes: dict[str, str] = {}
            if sub.raw:
                attributes["RawMessageDelivery"] = "true"
            if sub.filter_policy:
                attributes["FilterPolicy"] = json.dumps(sub.filter_policy)
            made[key] = sns.subscribe(
                TopicArn=topic_arn,
                Protocol=sub.protocol,
                Endpoint=sub.endpoint,
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]

        together(
            *(lambda a=sub_arn: _unsubscribe(sns, a) for key, sub_arn in live.items() if key not in wanted),
            *(lambda k=key: _revoke(self.ctx, topic_arn, *k) for key in sorted(stale)),
            *(lambda k=key, s=sub: subscribe(k, s) for key, sub in wanted.items()),
        )
        return [
            {"protocol": sub.protocol, "endpoint": sub.endpoint, "arn": made[key]}
            for key, sub in wanted.items()
        ]

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        sns = ctx.client("sns")
        arn = record.attrs.get("arn") or _find_topic(sns, record.physical)
        if not arn:
            return None
        live = or_none(
            lambda: _live_subscriptions(sns, arn)
        )  # a missing topic answers NotFound to the listing too
        if live is None:
            return None
        subs = [
            {"protocol": s["Protocol"], "endpoint": s["Endpoint"], "arn": s["SubscriptionArn"]} for s in live
        ]
        return _topic_attrs(arn, subs)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """DeleteTopic takes its subscriptions along; the grants on queues and functions are
        revoked, except on those the same run deletes. Only a record without its subscriptions
        (a create that died) lists them."""
        sns = ctx.client("sns")
        arn = record.attrs.get("arn") or _find_topic(sns, record.physical)
        if not arn:
            return
        endpoints = {(p["protocol"], p["endpoint"]) for p in record.attrs.get("subscriptions") or []}
        if "subscriptions" not in record.attrs:
            with missing_ok():
                endpoints |= {(s["Protocol"], s["Endpoint"]) for s in _live_subscriptions(sns, arn)}
        together(
            partial(ignore_missing, sns.delete_topic, TopicArn=arn),
            *(lambda e=e: _revoke(ctx, arn, *e) for e in sorted(endpoints) if not ctx.goes_too(e[1])),
        )

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        sns = ctx.client("sns")
        arn = str(record.attrs.get("arn") or arn_of(ctx.target, "sns", record.physical))
        retag_resource(sns, {"ResourceArn": arn}, tags, dropped, pairs=("Key", "Value"))

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Topics named awslab-... with their tags (attrs: the ARN delete needs)."""
        sns = target.client("sns")

        def tags(arn: str) -> dict[str, str]:
            return tag_map(sns.list_tags_for_resource(ResourceArn=arn)["Tags"])

        arns = (str(t["TopicArn"]) for t in pages(sns, "list_topics", "Topics"))
        candidates = ((a.rsplit(":", 1)[-1], partial(tags, a), {"arn": a}, a) for a in arns)
        return tagged_made(survey or Survey(target), cls.kind, candidates)


def _adjust(sns: Any, subscription_arn: str, sub: Subscription) -> None:
    """Bring an existing subscription's delivery settings in line with the spec."""
    current = sns.get_subscription_attributes(SubscriptionArn=subscription_arn).get("Attributes", {})
    if sub.protocol == "sqs" and current.get("RawMessageDelivery", "false").lower() != str(sub.raw).lower():
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arn,
            AttributeName="RawMessageDelivery",
            AttributeValue=str(sub.raw).lower(),
        )
    if json.loads(current.get("FilterPolicy") or "{}") != (sub.filter_policy or {}):
        # "{}" is how a filter policy is removed
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arn,
            AttributeName="FilterPolicy",
            AttributeValue=json.dumps(sub.filter_policy or {}),
        )

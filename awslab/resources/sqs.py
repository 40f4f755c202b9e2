"""sqs.queue: a standard or FIFO queue, optionally with a dead-letter queue.

Also the queue-policy helpers other kinds use to let a service send to a queue (sns.topic
subscriptions): statements are merged by Sid, so whatever else is in the policy stays.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field

from awslab.resources.base import (
    NAME_PREFIX,
    ArnRef,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    UpdateNotSupported,
    arn_of,
    error_code,
    is_not_found,
    missing_ok,
    pages,
    register,
    tagged_made,
)
from awslab.resources.idempotent import adopt_or_raise, is_ours
from awslab.resources.retry import retry_propagation
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

DEFAULT_RETENTION = 345_600  # SQS's default: 4 days
_EXISTS = ("QueueAlreadyExists", "QueueNameExists")
# AWS refuses a queue name for 60 s after a queue of that name was deleted (teardown, then up).
_DELETED_RECENTLY = ("AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently")


ArnRef = ArnRef


class DeadLetter(Props):
    target: ArnRef  # the dead-letter queue's ARN
    max_receive_count: int = Field(3, ge=1, le=1000)


class QueueProps(Props):
    fifo: bool = False
    visibility_timeout: int = Field(30, ge=0, le=43_200)
    retention_seconds: int | None = Field(None, ge=60, le=1_209_600)
    dead_letter: DeadLetter | None = None


@register
class Queue(Resource[QueueProps]):
    """An SQS queue. FIFO queues get the `.fifo` suffix and content-based deduplication, so a
    plain `send-message` works without a deduplication id."""

    kind = "sqs.queue"
    attributes = ("name", "arn", "url")
    replace_fields = frozenset({"fifo"})
    name_rule = NameRule(max_len=80)
    drift_keys = ("visibility_timeout", "retention_seconds", "dead_letter_target", "max_receive_count")
    drift_labels = {"retention_seconds": "retention", "dead_letter_target": "dead-letter queue"}
    drift_shown = frozenset({"visibility_timeout", "retention_seconds", "max_receive_count"})
    predictable = frozenset({"name", "arn"})  # not the URL: its form differs between endpoints
    delete_needs_dependencies = False  # its dead-letter queue may go at the same time
    sweep_rank = 50  # after the functions, mappings, topics and rules that use it

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "sqs", physical)}

    @property
    def physical(self) -> str:
        rule = NameRule(max_len=80, suffix=".fifo" if self.props.fifo else "")
        return self.ctx.physical_name(self.logical, rule)

    def _settable_attributes(self) -> dict[str, str]:
        cfg = self.props
        attrs = {
            "VisibilityTimeout": str(cfg.visibility_timeout),
            "MessageRetentionPeriod": str(cfg.retention_seconds or DEFAULT_RETENTION),
        }
        if cfg.dead_letter:
            attrs["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": cfg.dead_letter.target,
                    "maxReceiveCount": cfg.dead_letter.max_receive_count,
                }
            )
        return attrs

    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        sqs = self.ctx.client("sqs")
        attrs = self._settable_attributes()
        if self.props.fifo:
            attrs |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        tags = self.ctx.tags(self.logical)
        try:
            url = retry_propagation(
                lambda: sqs.create_queue(QueueName=self.physical, Attributes=attrs, tags=tags)["QueueUrl"],
                deadline=90.0,
                is_retryable=lambda exc: error_code(exc) in _DELETED_RECENTLY,
            )
        except ClientError as exc:
            # CreateQueue of the same name and settings answers with the queue (a retry whose
            # first answer was lost is fine); other settings are a create that died before its
            # state was written, then the spec changed: adopted if its tags say it is this queue
            return describe_queue(sqs, adopt_or_raise(exc, _EXISTS, self._adopt))
        # the queue has the settings just sent: no describe after the create
        cfg = self.props
        return {
            "name": self.physical,
            "arn": arn_of(self.ctx.target, "sqs", self.physical),
            "url": url,
            "visibility_timeout": cfg.visibility_timeout,
            "retention_seconds": cfg.retention_seconds or DEFAULT_RETENTION,
            "dead_letter_target": cfg.dead_letter.target if cfg.dead_letter else None,
            "max_receive_count": cfg.dead_letter.max_receive_count if cfg.dead_letter else None,
        }

    def _adopt(self) -> str | None:
        sqs = self.ctx.client("sqs")
        url = str(sqs.get_queue_url(QueueName=self.physical)["QueueUrl"])
        if not is_ours(sqs.list_queue_tags(QueueUrl=url).get("Tags"), self.ctx, self.logical):
            return None
        self._apply(url)  # bring it in line
        return url

    def update(self, record: Record) -> dict[str, Any]:
        if record.physical != self.physical:
            raise UpdateNotSupported(f"{self.kind}: changing `fifo` renames the queue")
        sqs = self.ctx.client("sqs")
        url = record.attrs.get("url") or sqs.get_queue_url(QueueName=self.physical)["QueueUrl"]
        self._apply(url)
        return describe_queue(sqs, url)

    def _apply(self, url: str) -> None:
        sqs = self.ctx.client("sqs")
        attrs = self._settable_attributes()
        if not self.props.dead_letter:
            attrs["RedrivePolicy"] = ""  # removes a dead-letter queue set before
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        with _lock_for(arn):
            # Re-send the current policy: moto drops a queue's policy when SetQueueAttributes
            # omits it (AWS keeps it), and the lock keeps a concurrent statement merge intact.
            policy = _queue_policy_text(sqs, url)
            if policy:
                attrs["Policy"] = policy
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        sqs.tag_queue(QueueUrl=url, Tags=self.ctx.tags(self.logical))

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        sqs = ctx.client("sqs")
        try:
            url = record.attrs.get("url") or sqs.get_queue_url(QueueName=record.physical)["QueueUrl"]
            return describe_queue(sqs, url)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        sqs = ctx.client("sqs")
        with missing_ok():
            url = record.attrs.get("url") or sqs.get_queue_url(QueueName=record.physical)["QueueUrl"]
            sqs.delete_queue(QueueUrl=url)

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        sqs = ctx.client("sqs")
        url = record.attrs.get("url") or sqs.get_queue_url(QueueName=record.physical)["QueueUrl"]
        retag_resource(sqs, {"QueueUrl": url}, tags, dropped, untag="untag_queue", tag="tag_queue")

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Queues named awslab-... with their tags (attrs: the URL delete needs)."""
        sqs = target.client("sqs")
        page = {"PageSize": 1000}  # without it SQS returns at most 1000 and no next token
        urls = pages(
            sqs, "list_queues", "QueueUrls", QueueNamePrefix=f"{NAME_PREFIX}-", PaginationConfig=page
        )

        def tags(url: str) -> dict[str, str]:
            return dict(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))

        candidates = ((u.rsplit("/", 1)[-1], partial(tags, u), {"url": u}, u) for u in urls)
        return tagged_made(survey or Survey(target), cls.kind, candidates)


def describe_queue(sqs: Any, url: str) -> dict[str, Any]:
    """The attributes awslab records for a queue (and compares for drift)."""
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(a["RedrivePolicy"]) if a.get("RedrivePolicy") else {}
    arn = a["QueueArn"]
    return {
        "name": arn.rsplit(":", 1)[1],
        "arn": arn,
        "url": url,
        "visibility_timeout": int(a["VisibilityTimeout"]),
        "retention_seconds": int(a["MessageRetentionPeriod"]),
        "dead_letter_target": redrive.get("deadLetterTargetArn"),
        "max_receive_count": int(redrive["maxReceiveCount"]) if redrive else None,
    }


# ---- queue policies shared by the kinds that deliver to queues ------------------------------
_policy_locks: dict[str, threading.Lock] = {}
_policy_locks_guard = threading.Lock()


def _lock_for(queue_arn: str) -> threading.Lock:
    """Policies are read-modify-write: resources built in parallel must not interleave."""
    with _policy_locks_guard:
        return _policy_locks.setdefault(queue_arn, threading.Lock())


def queue_url_of(ctx: Context, queue_arn: str) -> str:
    """arn:aws:sqs:<region>:<account>:<name> -> the queue's URL (QueueDoesNotExist if gone)."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {queue_arn}")
    url = ctx.client("sqs").get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])
    return str(url["QueueUrl"])


def _queue_policy_text(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    return str(attrs.get("Policy") or "")


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    stmts = policy.get("Statement", [])
    return [stmts] if isinstance(stmts, dict) else list(stmts)


def put_queue_policy_statement(ctx: Context, queue_arn: str, statement: dict[str, Any]) -> None:
    """Add `statement` to the queue's policy, replacing one with the same Sid, keeping the rest."""
    sqs = ctx.client("sqs")
    with _lock_for(queue_arn):
        url = queue_url_of(ctx, queue_arn)
        text = _queue_policy_text(sqs, url)
        policy: dict[str, Any] = json.loads(text) if text else {"Version": "2012-10-17"}
        kept = [s for s in _statements(policy) if s.get("Sid") != statement["Sid"]]
        policy["Statement"] = [*kept, statement]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def remove_queue_policy_statement(ctx: Context, queue_arn: str, sid: str) -> bool:
    """Remove the statement `sid` from the queue's policy. A queue that is gone, or a statement
    that is not there, counts as done (False); True when a statement was removed."""
    from botocore.exceptions import ClientError

    sqs = ctx.client("sqs")
    try:
        with _lock_for(queue_arn):
            url = queue_url_of(ctx, queue_arn)
            text = _queue_policy_text(sqs, url)
            if not text:
                return False
            policy = json.loads(text)
            stmts = _statements(policy)
            kept = [s for s in stmts if s.get("Sid") != sid]
            if len(kept) == len(stmts):
                return False
            policy["Statement"] = kept
            # an empty string removes the policy: a policy without statements is rejected
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy) if kept else ""})
            return True
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise

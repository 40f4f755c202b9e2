"""s3.notification: a bucket's event notification to a Lambda function.

S3 checks, when the configuration is written, that it may invoke the function; so the invoke
permission is added first, and the write is retried while the permission propagates ("Unable to
validate the following destination configurations"). A bucket has one notification
configuration: this kind owns one entry of it (by Id) and keeps the others.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, field_validator

from awslab.resources.base import (
    NAME_PREFIX,
    NOT_OURS,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    ArnRef,
    Context,
    Made,
    Props,
    Record,
    Resource,
    Survey,
    UpdateNotSupported,
    arn_of,
    error_code,
    is_not_found,
    logical_from_name,
    missing_ok,
    or_none,
    register,
)
from awslab.resources.invoke_permission import ensure_invoke_permission, remove_invoke_permission
from awslab.resources.retry import retry_propagation
from awslab.resources.s3_bucket import awslab_buckets

if TYPE_CHECKING:
    from awslab.target import Target

S3_PRINCIPAL = "s3.amazonaws.com"
_KINDS = ("LambdaFunctionConfigurations", "QueueConfigurations", "TopicConfigurations")


class NotificationProps(Props):
    bucket: str  # the bucket's name
    function: ArnRef
    events: list[str] = Field(default_factory=lambda: ["s3:ObjectCreated:*"], min_length=1)
    prefix: str | None = None
    suffix: str | None = None

    @field_validator("events")
    @classmethod
    def _s3_events(cls, events: list[str]) -> list[str]:
        bad = [e for e in events if not e.startswith("s3:")]
        if bad:
            raise ValueError(f"S3 event types look like s3:ObjectCreated:*, not {', '.join(bad)}")
        return events


# ---- the bucket's configuration, shared by every notification on it --------------------------
_bucket_locks: dict[str, threading.Lock] = {}
_bucket_locks_guard = threading.Lock()


def _lock_for(bucket: str) -> threading.Lock:
    """The configuration is read-modify-write: notifications built in parallel must not interleave."""
    with _bucket_locks_guard:
        return _bucket_locks.setdefault(bucket, threading.Lock())


def _configuration(s3: Any, bucket: str) -> dict[str, Any]:
    conf: dict[str, Any] = s3.get_bucket_notification_configuration(Bucket=bucket)
    conf.pop("ResponseMetadata", None)
    return conf


def _entry(conf: dict[str, Any], notification_id: str) -> dict[str, Any] | None:
    for entry in conf.get("LambdaFunctionConfigurations", []):
        if entry.get("Id") == notification_id:
            return dict(entry)
    return None


def _put_entry(
    ctx: Context, bucket: str, notification_id: str, entry: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Replace (or with None remove) the Lambda entry `notification_id` in the bucket's
    configuration, keeping every other entry. Returns the entry that was there before."""
    s3 = ctx.client("s3")
    with _lock_for(bucket):
        conf = _configuration(s3, bucket)
        previous = _entry(conf, notification_id)
        if previous is None and entry is None:
            return None
        others = [e for e in conf.get("LambdaFunctionConfigurations", []) if e.get("Id") != notification_id]
        conf["LambdaFunctionConfigurations"] = [*others, entry] if entry else others
        conf = {k: v for k, v in conf.items() if v or k not in _KINDS}
        # S3 validates every destination on write: retried while the new permission propagates
        retry_propagation(
            lambda: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=conf)
        )
        return previous


@register
class BucketNotification(Resource[NotificationProps]):
    kind = "s3.notification"
    attributes = ("id", "bucket")
    sweep_rank = 10  # before its bucket and its function
    replace_fields = frozenset({"bucket"})
    drift_keys = ("function", "events")
    # its delete takes its entry off the bucket and its grant off the function, and skips each
    # that goes in the same run: nothing of it is left to wait for
    delete_needs_dependencies = False

    def _entry(self) -> dict[str, Any]:
        cfg = self.props
        entry: dict[str, Any] = {
            "Id": self.physical,
            "LambdaFunctionArn": cfg.function,
            "Events": list(cfg.events),
        }
        rules = [{"Name": n, "Value": v} for n, v in (("prefix", cfg.prefix), ("suffix", cfg.suffix)) if v]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        return entry

    def _grant(self) -> None:
        cfg = self.props
        bucket_arn = arn_of(self.ctx.target, "s3", cfg.bucket, regional=False, account=False)
        ensure_invoke_permission(
            self.ctx,
            cfg.function,
            self.physical,
            S3_PRINCIPAL,
            bucket_arn,
            source_account=self.ctx.target.account_id,
        )

    def _attrs(self) -> dict[str, Any]:
        return {
            "id": self.physical,
            "bucket": self.props.bucket,
            "function": self.props.function,
            "events": sorted(self.props.events),
        }

    def create(self) -> dict[str, Any]:
        self._grant()  # before the configuration: S3 validates the destination when it is written
        _put_entry(self.ctx, self.props.bucket, self.physical, self._entry())
        return self._attrs()

    def update(self, record: Record) -> dict[str, Any]:
        if record.attrs.get("bucket") and record.attrs["bucket"] != self.props.bucket:
            raise UpdateNotSupported(f"{self.kind}: moving a notification to another bucket")
        self._grant()
        _put_entry(self.ctx, self.props.bucket, self.physical, self._entry())
        old_function = record.attrs.get("function")
        if old_function and old_function != self.props.function:
            remove_invoke_permission(self.ctx, old_function, self.physical)
        return self._attrs()

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        notification_id = record.attrs.get("id") or record.physical
        bucket = record.attrs.get("bucket") or _find_bucket(ctx, notification_id)
        if not bucket:
            return None
        entry = or_none(lambda: _entry(_configuration(ctx.client("s3"), bucket), notification_id))
        if entry is None:
            return None
        if entry is None:
            return None
        return {
            "id": notification_id,
            "bucket": bucket,
            "function": entry.get("LambdaFunctionArn"),
            "events": sorted(entry.get("Events", [])),
        }

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        notification_id = record.attrs.get("id") or record.physical
        bucket = record.attrs.get("bucket") or _find_bucket(ctx, notification_id)
        function = record.attrs.get("function")
        if bucket and not ctx.goes_too(bucket):  # else the configuration goes with the bucket
            previous = None
            with missing_ok():
                previous = _put_entry(ctx, bucket, notification_id, None)
            function = function or (previous or {}).get("LambdaFunctionArn")
        if function and not ctx.goes_too(function):  # else its policy goes with it
            remove_invoke_permission(ctx, function, notification_id)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Lambda notifications named `awslab-...` on awslab buckets (known or not): they have no
        tags, so each gets its bucket's owner, and the logical name its id holds (none when it is
        another lab's notification on this bucket)."""
        from botocore.exceptions import ClientError

        survey = survey or Survey(target)
        s3 = target.client("s3")
        out: list[Made] = []
        for bucket, tags in sorted(awslab_buckets(survey).items()):
            try:
                conf = _configuration(s3, bucket)
            except ClientError as exc:
                if is_not_found(exc) or error_code(exc) in NOT_OURS:
                    continue
                raise
            for entry in conf.get("LambdaFunctionConfigurations", []):
                nid = str(entry.get("Id", ""))
                if not nid.startswith(f"{NAME_PREFIX}-") or survey.known(cls.kind, nid):
                    continue
                lab, stack = tags[TAG_LAB], tags[TAG_STACK]
                own = {TAG_LAB: lab, TAG_STACK: stack, TAG_LOGICAL: logical_from_name(nid, lab, stack)}
                detail = f"on bucket {bucket} -> {entry.get('LambdaFunctionArn', '')}"
                out.append(Made(nid, own, {"id": nid, "bucket": bucket}, detail))
        return out


def _find_bucket(ctx: Context, notification_id: str) -> str | None:
    """A record with empty attrs (the process died during create): look for the entry in this
    lab's buckets (awslab-<lab>-...), the only ones a lab's notification can be on unless the
    spec named an outside bucket."""
    from botocore.exceptions import ClientError

    s3 = ctx.client("s3")
    prefix = f"{NAME_PREFIX}-{ctx.lab}-".lower()
    for b in s3.list_buckets().get("Buckets", []):
        name = b["Name"]
        if not name.startswith(prefix):
            continue
        try:
            if _entry(_configuration(s3, name), notification_id) is not None:
                return str(name)
        except ClientError:
            continue  # gone meanwhile, another region, no access: not the one
    return None

"""s3.notification on moto: the invoke permission first, merging with the bucket's other
notifications, retries while the permission propagates, cleanup."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from pydantic import ValidationError

from awslab.resources.base import REGISTRY, Context, UpdateNotSupported
from awslab.resources.s3_notification import BucketNotification, NotificationProps
from tests.resources.wiring_helpers import (
    ACCOUNT,
    created_record,
    creating_record,
    function_policy,
    make_function,
    make_queue,
    record_calls,
)

BUCKET = "awslab-test-photos-abc123"


def make(ctx: Context, logical: str, **props: Any) -> BucketNotification:
    return BucketNotification(ctx, logical, NotificationProps.model_validate(props))


def configuration(ctx: Context, bucket: str = BUCKET) -> dict[str, Any]:
    conf = ctx.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    conf.pop("ResponseMetadata", None)
    return conf


def lambda_entries(ctx: Context, bucket: str = BUCKET) -> dict[str, dict[str, Any]]:
    return {e["Id"]: e for e in configuration(ctx, bucket).get("LambdaFunctionConfigurations", [])}


@pytest.fixture
def bucket(ctx: Context) -> str:
    ctx.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def test_registered() -> None:
    assert REGISTRY["s3.notification"] is BucketNotification


def test_permission_first_then_configuration(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    calls = record_calls(ctx, "lambda", "s3")
    n = make(ctx, "on-upload", bucket=bucket, function=fn, prefix="incoming/", suffix=".jpg")
    attrs = n.create()
    assert attrs["id"] == "awslab-test-on-upload-abc123" == n.physical
    assert attrs["bucket"] == bucket

    assert calls.index("lambda.AddPermission") < calls.index("s3.PutBucketNotificationConfiguration")
    (stmt,) = function_policy(ctx, fn)
    assert stmt["Sid"] == n.physical
    assert stmt["Principal"] == {"Service": "s3.amazonaws.com"}
    assert stmt["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{bucket}"
    assert stmt["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT

    entry = lambda_entries(ctx)[n.physical]
    assert entry["LambdaFunctionArn"] == fn
    assert entry["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"].lower(): r["Value"] for r in entry["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "incoming/", "suffix": ".jpg"}


def test_configuration_retried_while_the_permission_propagates(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    n = make(ctx, "on-upload", bucket=bucket, function=fn)
    seen: list[bool] = []

    def not_yet_valid(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        # what S3 sees at each attempt: is the permission already in the function's policy?
        seen.append(any(s["Sid"] == n.physical for s in function_policy(ctx, fn)))
        if len(seen) > 1:
            return None
        error = {
            "Code": "InvalidArgument",
            "Message": "Unable to validate the following destination configurations",
        }
        return AWSResponse("https://example.invalid", 400, {}, None), {"Error": error}

    ctx.client("s3").meta.events.register("before-call.s3.PutBucketNotificationConfiguration", not_yet_valid)
    n.create()
    assert seen == [True, True]  # two attempts, both after the permission was added
    assert n.physical in lambda_entries(ctx)


def test_merges_with_the_buckets_other_notifications(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    other_fn = make_function(ctx, "audit")
    _, queue = make_queue(ctx, "uploads")
    s3 = ctx.client("s3")
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"Id": "to-queue", "QueueArn": queue, "Events": ["s3:ObjectRemoved:*"]}],
            "LambdaFunctionConfigurations": [
                {"Id": "audit", "LambdaFunctionArn": other_fn, "Events": ["s3:ObjectRemoved:*"]}
            ],
        },
    )
    n = make(ctx, "on-upload", bucket=bucket, function=fn)
    attrs = n.create()
    assert set(lambda_entries(ctx)) == {"audit", n.physical}
    assert [q["Id"] for q in configuration(ctx)["QueueConfigurations"]] == ["to-queue"]

    record = created_record(BucketNotification.kind, "on-upload", n.physical, attrs)
    BucketNotification.delete(ctx, record)
    assert set(lambda_entries(ctx)) == {"audit"}
    assert [q["Id"] for q in configuration(ctx)["QueueConfigurations"]] == ["to-queue"]


def test_create_read_delete_cycle(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    n = make(ctx, "on-upload", bucket=bucket, function=fn, events=["s3:ObjectCreated:Put"])
    attrs = n.create()
    record = created_record(BucketNotification.kind, "on-upload", n.physical, attrs)
    assert BucketNotification.read(ctx, record) == attrs
    BucketNotification.delete(ctx, record)
    assert BucketNotification.read(ctx, record) is None
    assert lambda_entries(ctx) == {}
    assert function_policy(ctx, fn) == []
    BucketNotification.delete(ctx, record)


def test_update_changes_the_live_configuration(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    n = make(ctx, "on-upload", bucket=bucket, function=fn)
    attrs = n.create()
    record = created_record(BucketNotification.kind, "on-upload", n.physical, attrs)

    changed = make(
        ctx, "on-upload", bucket=bucket, function=fn, events=["s3:ObjectCreated:Put"], suffix=".png"
    )
    assert changed.fingerprint() != n.fingerprint()
    changed.update(record)
    entry = lambda_entries(ctx)[n.physical]
    assert entry["Events"] == ["s3:ObjectCreated:Put"]
    assert entry["Filter"]["Key"]["FilterRules"][0]["Value"] == ".png"
    assert len(function_policy(ctx, fn)) == 1

    # another function: the permission moves with it
    fn2 = make_function(ctx, "resize-v2")
    new_attrs = make(ctx, "on-upload", bucket=bucket, function=fn2).update(record)
    assert lambda_entries(ctx)[n.physical]["LambdaFunctionArn"] == fn2
    assert function_policy(ctx, fn) == []
    assert [s["Sid"] for s in function_policy(ctx, fn2)] == [n.physical]
    assert new_attrs["function"] == fn2

    ctx.client("s3").create_bucket(Bucket="awslab-test-other-abc123")
    with pytest.raises(UpdateNotSupported):
        make(ctx, "on-upload", bucket="awslab-test-other-abc123", function=fn2).update(
            created_record(BucketNotification.kind, "on-upload", n.physical, new_attrs)
        )


def test_delete_when_bucket_or_function_is_gone(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    n = make(ctx, "on-upload", bucket=bucket, function=fn)
    attrs = n.create()
    record = created_record(BucketNotification.kind, "on-upload", n.physical, attrs)
    ctx.client("lambda").delete_function(FunctionName=fn)
    ctx.client("s3").delete_bucket(Bucket=bucket)
    BucketNotification.delete(ctx, record)
    assert BucketNotification.read(ctx, record) is None


def test_delete_from_a_creating_record(ctx: Context, bucket: str) -> None:
    fn = make_function(ctx, "resize")
    ctx.client("s3").create_bucket(Bucket="awslab-test-unrelated-abc123")
    ctx.client("s3").create_bucket(Bucket="someone-elses-bucket")
    n = make(ctx, "on-upload", bucket=bucket, function=fn)
    attrs = n.create()
    record = creating_record(BucketNotification.kind, "on-upload", n.physical)
    assert BucketNotification.read(ctx, record) == attrs
    BucketNotification.delete(ctx, record)
    assert lambda_entries(ctx) == {}
    assert function_policy(ctx, fn) == []
    assert BucketNotification.read(ctx, record) is None
    BucketNotification.delete(ctx, record)


def test_props_are_strict() -> None:
    with pytest.raises(ValidationError):
        NotificationProps.model_validate({"bucket": "b", "function": "resize"})  # not an ARN
    with pytest.raises(ValidationError):
        NotificationProps.model_validate({"bucket": "b", "function": "${f.arn}", "events": ["ObjectCreated"]})
    with pytest.raises(ValidationError):
        NotificationProps.model_validate({"bucket": "b", "function": "${f.arn}", "events": []})
    with pytest.raises(ValidationError):
        NotificationProps.model_validate({"bucket": "b", "function": "${f.arn}", "filter": {}})
    p = NotificationProps.model_validate({"bucket": "${in.name}", "function": "${f.arn}"})
    assert p.events == ["s3:ObjectCreated:*"]

"""lambda.event_source (SQS -> Lambda) on moto, and the invoke-permission helpers."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from awslab.resources.base import REGISTRY, Context, UpdateNotSupported
from awslab.resources.invoke_permission import ensure_invoke_permission, remove_invoke_permission
from awslab.resources.lambda_event_source import EventSource, EventSourceProps
from tests.resources.wiring_helpers import (
    created_record,
    creating_record,
    fail_first,
    function_policy,
    make_function,
    make_queue,
    record_calls,
)


def make(ctx: Context, logical: str, **props: Any) -> EventSource:
    return EventSource(ctx, logical, EventSourceProps.model_validate(props))


def mapping(ctx: Context, uuid: str) -> dict[str, Any]:
    return ctx.client("lambda").get_event_source_mapping(UUID=uuid)


def test_registered() -> None:
    assert REGISTRY["lambda.event_source"] is EventSource


def test_create_read_delete_cycle(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    es = make(ctx, "consume", function=fn, source=queue)
    attrs = es.create()
    assert set(attrs) >= {"uuid", "arn", "function", "source"}
    assert attrs["arn"].endswith(f":event-source-mapping:{attrs['uuid']}")
    assert attrs["function"] == fn and attrs["source"] == queue
    m = mapping(ctx, attrs["uuid"])
    assert m["BatchSize"] == 10
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["State"] == "Enabled"
    tags = ctx.client("lambda").list_tags(Resource=attrs["arn"])["Tags"]
    assert tags == {"awslab:lab": "test", "awslab:stack": "abc123", "awslab:logical": "consume"}

    record = created_record(EventSource.kind, "consume", es.physical, attrs)
    assert EventSource.read(ctx, record) == attrs
    EventSource.delete(ctx, record)
    assert EventSource.read(ctx, record) is None
    assert ctx.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    EventSource.delete(ctx, record)


def test_function_given_by_name(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    attrs = make(ctx, "consume", function="consumer", source=queue, report_batch_item_failures=False).create()
    assert attrs["function"] == fn
    assert not mapping(ctx, attrs["uuid"]).get("FunctionResponseTypes")


def test_update_changes_the_live_mapping(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    es = make(ctx, "consume", function=fn, source=queue)
    attrs = es.create()
    record = created_record(EventSource.kind, "consume", es.physical, attrs)

    changed = make(
        ctx,
        "consume",
        function=fn,
        source=queue,
        batch_size=5,
        report_batch_item_failures=False,
        enabled=False,
        maximum_batching_window=3,
    )
    assert changed.fingerprint() != es.fingerprint()
    new_attrs = changed.update(record)
    m = mapping(ctx, attrs["uuid"])
    assert m["BatchSize"] == 5
    assert m.get("FunctionResponseTypes", []) == []
    assert m["MaximumBatchingWindowInSeconds"] == 3
    assert m["State"] == "Disabled"
    assert new_attrs["uuid"] == attrs["uuid"] and new_attrs["enabled"] is False

    # another function: updated in place
    fn2 = make_function(ctx, "consumer-v2")
    make(ctx, "consume", function=fn2, source=queue).update(record)
    assert mapping(ctx, attrs["uuid"])["FunctionArn"] == fn2

    # another queue: a new mapping is needed
    _, queue2 = make_queue(ctx, "orders-2")
    with pytest.raises(UpdateNotSupported):
        make(ctx, "consume", function=fn, source=queue2).update(record)


def test_update_recreates_a_mapping_deleted_behind_our_back(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    es = make(ctx, "consume", function=fn, source=queue)
    attrs = es.create()
    ctx.client("lambda").delete_event_source_mapping(UUID=attrs["uuid"])
    record = created_record(EventSource.kind, "consume", es.physical, attrs)
    assert EventSource.read(ctx, record) is None
    new_attrs = es.update(record)
    assert new_attrs["uuid"] != attrs["uuid"]
    assert mapping(ctx, new_attrs["uuid"])["EventSourceArn"] == queue


def test_create_retries_while_the_role_propagates(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    calls = record_calls(ctx, "lambda")
    failed = fail_first(
        ctx,
        "lambda",
        "CreateEventSourceMapping",
        "InvalidParameterValueException",
        "The provided execution role does not have permissions to call ReceiveMessage on SQS",
    )
    attrs = make(ctx, "consume", function=fn, source=queue).create()
    assert failed == [1]  # the first attempt failed...
    assert calls.count("lambda.CreateEventSourceMapping") == 1  # ...the retry reached the service
    assert mapping(ctx, attrs["uuid"])["EventSourceArn"] == queue


def test_create_adopts_an_existing_mapping_on_conflict(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    first = make(ctx, "consume", function=fn, source=queue).create()
    # AWS refuses a second mapping of the same queue to the same function (moto does not)
    fail_first(
        ctx,
        "lambda",
        "CreateEventSourceMapping",
        "ResourceConflictException",
        "An event source mapping with SQS arn and function already exists.",
    )
    again = make(ctx, "consume", function=fn, source=queue, batch_size=7).create()
    assert again["uuid"] == first["uuid"]
    assert mapping(ctx, first["uuid"])["BatchSize"] == 7


def test_delete_from_a_creating_record_finds_it_by_tags(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    _, other_queue = make_queue(ctx, "other")
    ours = make(ctx, "consume", function=fn, source=queue).create()
    other = make(ctx, "other-consume", function=fn, source=other_queue).create()
    record = creating_record(EventSource.kind, "consume", "awslab-test-consume-abc123")
    assert EventSource.read(ctx, record) == ours
    EventSource.delete(ctx, record)
    left = ctx.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert [m["UUID"] for m in left] == [other["uuid"]]
    assert EventSource.read(ctx, record) is None
    EventSource.delete(ctx, record)


def test_delete_from_function_and_source_only(ctx: Context) -> None:
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    attrs = make(ctx, "consume", function="consumer", source=queue).create()
    record = created_record(EventSource.kind, "consume", "x", {"function": "consumer", "source": queue})
    assert EventSource.read(ctx, record)["uuid"] == attrs["uuid"]  # type: ignore[index]
    EventSource.delete(ctx, record)
    assert EventSource.read(ctx, created_record(EventSource.kind, "consume", "x", attrs)) is None
    assert fn


def test_props_are_strict() -> None:
    with pytest.raises(ValidationError):
        EventSourceProps.model_validate({"function": "f", "source": "orders"})  # source must be an ARN
    with pytest.raises(ValidationError):
        EventSourceProps.model_validate({"function": "f", "source": "${q.arn}", "batch_size": 0})
    with pytest.raises(ValidationError):
        EventSourceProps.model_validate({"function": "f", "source": "${q.arn}", "batchsize": 5})
    p = EventSourceProps.model_validate({"function": "${fn.arn}", "source": "${q.arn}"})
    assert (p.effective_batch_size, p.report_batch_item_failures, p.enabled) == (10, True, True)


def test_invoke_permission_helpers(ctx: Context) -> None:
    fn = make_function(ctx, "target")
    src = "arn:aws:s3:::bucket-one"
    ensure_invoke_permission(ctx, fn, "sid-1", "s3.amazonaws.com", src, "123456789012")
    ensure_invoke_permission(ctx, fn, "sid-1", "s3.amazonaws.com", src, "123456789012")  # idempotent
    (stmt,) = function_policy(ctx, fn)
    assert stmt["Sid"] == "sid-1"
    assert stmt["Condition"]["ArnLike"]["AWS:SourceArn"] == src
    assert stmt["Condition"]["StringEquals"]["AWS:SourceAccount"] == "123456789012"

    ensure_invoke_permission(ctx, fn, "sid-1", "s3.amazonaws.com", "arn:aws:s3:::bucket-two")  # replaced
    (stmt,) = function_policy(ctx, fn)
    assert stmt["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::bucket-two"

    remove_invoke_permission(ctx, fn, "sid-1")
    assert function_policy(ctx, fn) == []
    remove_invoke_permission(ctx, fn, "sid-1")  # not there: done
    remove_invoke_permission(ctx, "arn:aws:lambda:us-east-1:123456789012:function:gone", "sid-1")

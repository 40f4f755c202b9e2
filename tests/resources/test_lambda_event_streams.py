"""lambda.event_source from a DynamoDB stream on moto: the stream options reach the mapping, are
read back (drift) and updated, and each option is accepted only for the sources AWS takes it for."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from awslab.resources.base import Context, UpdateNotSupported
from awslab.resources.lambda_event_source import EventSource, EventSourceProps
from awslab.resources.retry import is_propagation_error
from tests.resources.wiring_helpers import (
    created_record,
    grant_stream_read,
    make_function,
    make_queue,
    make_role,
)

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"


def props(**fields: Any) -> EventSourceProps:
    return EventSourceProps.model_validate({"function": "f", **fields})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"source": QUEUE, "starting_position": "LATEST"}, "starting_position: only stream sources"),
        ({"source": "${q.arn}", "bisect_batch_on_function_error": True}, "only stream sources"),
        ({"source": QUEUE, "maximum_retry_attempts": 2}, "maximum_retry_attempts: only stream sources"),
        ({"source": QUEUE, "on_failure": QUEUE + "-dlq"}, "on_failure: only stream sources"),
        ({"source": STREAM}, "starting_position: required"),
        ({"source": "${t.stream_arn}"}, "starting_position: required"),
        ({"source": STREAM, "starting_position": "AT_TIMESTAMP"}, "AT_TIMESTAMP is for Kinesis"),
        ({"source": QUEUE, "batch_size": 20}, "needs maximum_batching_window"),
        ({"source": QUEUE + ".fifo", "batch_size": 11}, "at most 10 for a FIFO queue"),
        ({"source": QUEUE + ".fifo", "maximum_batching_window": 1}, "FIFO queues have no batching window"),
        ({"source": STREAM, "starting_position": "LATEST", "maximum_record_age": 30}, "60 to 604800"),
        ({"source": STREAM, "starting_position": "LATEST", "on_failure": QUEUE + ".fifo"}, "standard SQS"),
        ({"source": STREAM, "starting_position": "LATEST", "filter_criteria": [{}] * 6}, "1 to 5 patterns"),
        ({"source": "arn:aws:s3:::bucket"}, "not an event source Lambda reads"),
        ({"source": QUEUE, "maximum_retry_attempts": 0}, "maximum_retry_attempts: only stream sources"),
        (
            {"source": STREAM, "starting_position": "LATEST", "on_failure": "arn:aws:s3:::failures"},
            "S3 buckets are not supported",
        ),
        (
            {"source": STREAM, "starting_position": "LATEST", "filter_criteria": [{"eventName": "INSERT"}]},
            r"filter_criteria\[0\]: not a valid filter pattern \('eventName' must be an object or an array",
        ),
        ({"source": QUEUE, "filter_criteria": [{"body": {"status": []}}]}, "'body.status' is an empty array"),
        (
            {"source": QUEUE, "filter_criteria": [{"body": [{"startswith": "a"}]}]},
            "not a comparison operator",
        ),
    ],
)
def test_options_are_checked_per_source_type(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        props(**fields)


def test_options_each_source_takes() -> None:
    queue = props(source=QUEUE, batch_size=100, maximum_batching_window=1, filter_criteria=[{"body": ["x"]}])
    assert queue.effective_batch_size == 100 and not queue.is_stream
    stream = props(
        source="${t.stream_arn}", starting_position="TRIM_HORIZON", maximum_retry_attempts=0,
        maximum_record_age=-1, bisect_batch_on_function_error=True, on_failure="${dlq.arn}",
    )  # fmt: skip
    assert stream.effective_batch_size == 100 and stream.is_stream
    kinesis = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    assert props(
        source=kinesis, starting_position="AT_TIMESTAMP", starting_position_timestamp="2026-01-01T00:00:00Z"
    )


def _stream(ctx: Context) -> str:
    ddb = ctx.client("dynamodb")
    table = ddb.create_table(
        TableName="orders", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )  # fmt: skip
    return str(table["TableDescription"]["LatestStreamArn"])


def test_stream_mapping_created_read_updated(ctx: Context) -> None:
    role = make_role(ctx, "auditor-role")
    fn = make_function(ctx, "auditor", role)
    stream = _stream(ctx)
    grant_stream_read(ctx, role, stream)
    _, dlq = make_queue(ctx, "failed")
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["new"]}}}}
    es = EventSource(ctx, "audit", props(
        function=fn, source=stream, starting_position="TRIM_HORIZON", batch_size=5, filter_criteria=[pattern],
        maximum_retry_attempts=2, maximum_record_age=3600, bisect_batch_on_function_error=True, on_failure=dlq,
    ))  # fmt: skip
    attrs = es.create()
    live = ctx.client("lambda").get_event_source_mapping(UUID=attrs["uuid"])
    assert live["StartingPosition"] == "TRIM_HORIZON" and live["BatchSize"] == 5
    assert live["MaximumRetryAttempts"] == 2 and live["MaximumRecordAgeInSeconds"] == 3600
    assert live["BisectBatchOnFunctionError"] is True
    assert live["DestinationConfig"] == {"OnFailure": {"Destination": dlq}}
    assert attrs["filter_criteria"] == [pattern] and attrs["on_failure"] == dlq
    record = created_record(EventSource.kind, "audit", es.physical, attrs)
    assert EventSource.read(ctx, record) == attrs  # what drift compares with

    # options removed from the spec go back to AWS's defaults
    plain = EventSource(ctx, "audit", props(function=fn, source=stream, starting_position="TRIM_HORIZON"))
    updated = plain.update(record)
    assert updated["uuid"] == attrs["uuid"]
    assert updated["filter_criteria"] is None and updated["on_failure"] is None
    assert (updated["maximum_retry_attempts"], updated["maximum_record_age"]) == (-1, -1)
    assert updated["bisect_batch_on_function_error"] is False and updated["batch_size"] == 100

    moved = EventSource(ctx, "audit", props(function=fn, source=stream, starting_position="LATEST"))
    with pytest.raises(UpdateNotSupported, match="starting position"):
        moved.update(created_record(EventSource.kind, "audit", es.physical, updated))
    assert "starting_position" in EventSource.replace_fields


def test_local_lambda_refuses_a_stream_mapping_whose_role_cannot_read_the_stream(ctx: Context) -> None:
    role = make_role(ctx, "auditor-role")
    fn = make_function(ctx, "auditor", role)
    stream = _stream(ctx)
    lam = ctx.client("lambda")
    grant_stream_read(ctx, role, "arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/*")
    with pytest.raises(ClientError) as refused:
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=fn, StartingPosition="LATEST")
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == (
        f"Cannot access stream {stream}. Please ensure the role can perform the GetRecords, "
        "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
    )
    assert is_propagation_error(refused.value)  # AWS: new permissions reach this check late
    grant_stream_read(ctx, role, "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/*")
    assert lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=fn, StartingPosition="LATEST")


def test_local_lambda_refuses_an_invalid_filter_pattern(ctx: Context) -> None:
    role = make_role(ctx, "auditor-role")
    fn = make_function(ctx, "auditor", role)
    stream = _stream(ctx)
    grant_stream_read(ctx, role)
    lam = ctx.client("lambda")
    bad = {"Filters": [{"Pattern": '{"eventName": "INSERT"}'}]}
    with pytest.raises(ClientError, match="Invalid filter pattern definition"):
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=fn, StartingPosition="LATEST",
                                        FilterCriteria=bad)  # fmt: skip
    uuid = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=fn, StartingPosition="LATEST")[
        "UUID"
    ]
    with pytest.raises(ClientError, match="Invalid filter pattern definition"):
        lam.update_event_source_mapping(UUID=uuid, FilterCriteria=bad)

"""Which `lambda.event_source` options each kind of source takes, as Lambda's
CreateEventSourceMapping checks them (AWS Lambda API reference and the developer guide's
"Lambda parameters for ... event source mappings" pages):

- SQS: BatchSize 1-10,000 (default 10), above 10 only with MaximumBatchingWindowInSeconds >= 1;
  FIFO queues 1-10 and no batching window. No StartingPosition, no retry, record age, bisect or
  on-failure destination (a queue's failures go to its own dead-letter queue).
- DynamoDB Streams and Kinesis: StartingPosition required (TRIM_HORIZON | LATEST; AT_TIMESTAMP,
  with a timestamp, for Kinesis only), BatchSize 1-10,000 (default 100), MaximumRetryAttempts
  -1 (until the record expires) or 0-10,000, MaximumRecordAgeInSeconds -1 or 60-604,800,
  BisectBatchOnFunctionError, an on-failure destination: a standard SQS queue or SNS topic (Lambda
  also takes an S3 bucket; the local cloud does not deliver there, so awslab does not offer it).
- Every source: FilterCriteria, up to 5 filters (Lambda's default quota), each a valid EventBridge
  pattern: an object whose every field holds an object or a non-empty array of values or
  comparison operators; Lambda refuses any other ("Invalid filter pattern definition").

The source is an ARN, or a reference: `${table.stream_arn}` is a DynamoDB stream, any other
attribute (`${queue.arn}`) a queue, the only other source awslab's kinds give.
"""

from __future__ import annotations

import json
from typing import Any, Literal

SourceType = Literal["sqs", "sqs-fifo", "dynamodb", "kinesis"]
STREAMS = frozenset({"dynamodb", "kinesis"})
MAX_FILTERS = 5
DEFAULT_BATCH = {"sqs": 10, "sqs-fifo": 10, "dynamodb": 100, "kinesis": 100}
MAX_BATCH = {"sqs": 10_000, "sqs-fifo": 10, "dynamodb": 10_000, "kinesis": 10_000}
STREAM_ONLY = (
    "starting_position",
    "maximum_retry_attempts",
    "maximum_record_age",
    "bisect_batch_on_function_error",
    "on_failure",
)


def source_type(source: str) -> SourceType | None:
    """The kind of source an ARN or reference names; None when it cannot be told (yet)."""
    if "${" in source:
        return "dynamodb" if source.rstrip().endswith(".stream_arn}") else "sqs"
    parts = source.split(":")
    if len(parts) < 6:
        return None
    service = parts[2]
    if service == "sqs":
        return "sqs-fifo" if source.endswith(".fifo") else "sqs"
    if service == "dynamodb" and "/stream/" in parts[5]:
        return "dynamodb"
    if service == "kinesis":
        return "kinesis"
    return None


def problems(fields: dict[str, Any]) -> list[str]:
    """What Lambda would refuse in these settings (the props' values, None for unset)."""
    kind = source_type(str(fields["source"]))
    if kind is None:
        return [
            "source: not an event source Lambda reads (an SQS queue's ARN, a DynamoDB stream's "
            "ARN such as ${table.stream_arn}, or a Kinesis stream's ARN)"
        ]
    found: list[str] = []
    stream = kind in STREAMS
    what = "a DynamoDB or Kinesis stream" if stream else "an SQS queue"
    if not stream:
        given = [name for name in STREAM_ONLY if not (fields.get(name) is None or fields.get(name) is False)]
        found += [f"{name}: only stream sources take it (the source is {what})" for name in given]
    elif fields.get("starting_position") is None:
        found.append(f"starting_position: required for {what} (TRIM_HORIZON or LATEST)")
    position = fields.get("starting_position")
    if position == "AT_TIMESTAMP" and kind != "kinesis":
        found.append(
            "starting_position: AT_TIMESTAMP is for Kinesis streams only (use TRIM_HORIZON or LATEST)"
        )
    if (position == "AT_TIMESTAMP") != (fields.get("starting_position_timestamp") is not None):
        found.append("starting_position_timestamp: given with starting_position AT_TIMESTAMP, and only then")
    batch = fields.get("batch_size")
    if batch is not None and batch > MAX_BATCH[kind]:
        found.append(
            f"batch_size: at most {MAX_BATCH[kind]} for {'a FIFO queue' if kind == 'sqs-fifo' else what}"
        )
    window = fields.get("maximum_batching_window")
    if kind == "sqs-fifo" and window is not None:
        found.append("maximum_batching_window: FIFO queues have no batching window")
    if kind == "sqs" and batch is not None and batch > 10 and not window:
        found.append("batch_size: above 10 for an SQS queue needs maximum_batching_window of 1 or more")
    age = fields.get("maximum_record_age")
    if age is not None and age != -1 and not 60 <= age <= 604_800:
        found.append("maximum_record_age: -1 (until the record expires) or 60 to 604800 seconds")
    destination = fields.get("on_failure")
    if isinstance(destination, str) and destination.startswith("arn:"):
        service = destination.split(":")[2]
        if service == "s3":
            found.append(
                "on_failure: S3 buckets are not supported by awslab (the local cloud cannot deliver "
                "there); use a standard SQS queue's or SNS topic's ARN"
            )
        elif service not in ("sqs", "sns") or destination.endswith(".fifo"):
            found.append("on_failure: a standard SQS queue's or SNS topic's ARN")
    filters = fields.get("filter_criteria")
    if filters is not None and not 1 <= len(filters) <= MAX_FILTERS:
        found.append(f"filter_criteria: 1 to {MAX_FILTERS} patterns")
    for index, pattern in enumerate(filters or []):
        reason = pattern_problem(pattern)
        if reason is not None:
            found.append(f"filter_criteria[{index}]: not a valid filter pattern ({reason})")
    return found


# EventBridge's comparison operators (EventBridge User Guide, "Event patterns")
OPERATORS = frozenset({
    "prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case", "wildcard",
})  # fmt: skip


def pattern_problem(pattern: Any, path: str = "") -> str | None:
    """Why Lambda (EventBridge's pattern syntax) refuses this pattern; None when it is valid."""
    if not isinstance(pattern, dict):
        return f"{path or 'the pattern'} must be an object"
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            reason = pattern_problem(value, where)
            if reason is not None:
                return reason
        elif not isinstance(value, list):
            return f"'{where}' must be an object or an array, e.g. {{\"{key}\": [{json.dumps(value)}]}}"
        elif not value:
            return f"'{where}' is an empty array"
        else:
            for item in value:
                if isinstance(item, dict) and (len(item) != 1 or next(iter(item)) not in OPERATORS):
                    return f"'{where}' holds {json.dumps(item)}, not a comparison operator"
                if isinstance(item, list):
                    return f"'{where}' holds an array inside the array"
    return None


def default_batch_size(source: str) -> int:
    kind = source_type(source)
    return DEFAULT_BATCH[kind] if kind is not None else 10

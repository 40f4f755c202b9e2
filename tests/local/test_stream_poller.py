"""DynamoDB stream -> Lambda on the local cloud's moto, through the StreamPoller: the write does
not wait for the function, starting positions, batch size and window, filters, retries, bisection,
partial batch responses and the on-failure destination's record, events valid for Powertools.

The poller runs in the test's thread (`pool_size=0`, `poll_once`) with a recording function in
place of the executor, and injected clocks, so nothing depends on real time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel
from moto.core.base_backend import BackendDict

from awslab.local import snapshot_state, stream_poller
from awslab.local.stream_poller import StreamPoller, first_failed
from tests.resources.wiring_helpers import grant_stream_read, make_role

REGION = "us-east-1"


@dataclass
class Function:
    """Stands in for the executor: records each event; `fails(records)` says whether it errors,
    `answer(records)` what it returns."""

    events: list[dict[str, Any]] = field(default_factory=list)
    fails: Callable[[list[dict[str, Any]]], bool] = lambda records: False
    answer: Callable[[list[dict[str, Any]]], Any] = lambda records: None

    def __call__(self, fn: Any, event: dict[str, Any]) -> tuple[Any, bool]:
        self.events.append(json.loads(json.dumps(event)))
        records = event["Records"]
        if self.fails(records):
            return b'{"errorMessage": "boom"}', True
        return json.dumps(self.answer(records)).encode(), False

    def ids(self) -> list[list[str]]:
        return [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]] for e in self.events]


@dataclass
class Lab:
    ddb: Any
    lam: Any
    sqs: Any
    stream: str
    function: str
    dlq_url: str
    dlq_arn: str
    fn: Function
    clock: list[float]
    now: list[float]
    poller: StreamPoller

    def put(self, *ids: str, **attrs: str) -> None:
        for i in ids:
            item = {"id": {"S": i}, **{k: {"S": v} for k, v in attrs.items()}}
            self.ddb.put_item(TableName="orders", Item=item)

    def connect(self, **options: Any) -> str:
        options.setdefault("StartingPosition", "TRIM_HORIZON")
        return str(self.lam.create_event_source_mapping(
            EventSourceArn=self.stream, FunctionName=self.function, **options)["UUID"])  # fmt: skip

    def drain(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            self.poller.poll_once()

    def failures(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]


@pytest.fixture
def lab(ctx: Any) -> Iterator[Lab]:
    fn = Function()
    clock, now = [1000.0], [0.0]
    poller = stream_poller.install(start=False, pool_size=0, invoke=fn, clock=lambda: clock[0],
                                   now=lambda: now[0] or time.time())  # fmt: skip
    try:
        ddb, lam, sqs = (boto3.client(s, region_name=REGION) for s in ("dynamodb", "lambda", "sqs"))
        stream = ddb.create_table(
            TableName="orders", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]  # fmt: skip
        role = make_role(ctx, "r")
        grant_stream_read(ctx, role, stream)
        lam.create_function(FunctionName="auditor", Runtime="python3.12", Role=role,
                            Handler="app.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})  # fmt: skip
        url = sqs.create_queue(QueueName="failed")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield Lab(ddb, lam, sqs, stream, "auditor", url, arn, fn, clock, now, poller)
    finally:
        stream_poller.uninstall()


def test_writes_do_not_wait_and_records_arrive_aws_shaped(lab: Lab) -> None:
    lab.connect()
    lab.put("a")  # moto would have invoked the function here, inside PutItem
    lab.ddb.update_item(TableName="orders", Key={"id": {"S": "a"}}, UpdateExpression="SET s = :v",
                        ExpressionAttributeValues={":v": {"S": "paid"}})  # fmt: skip
    lab.ddb.delete_item(TableName="orders", Key={"id": {"S": "a"}})
    assert lab.fn.events == []
    lab.drain()
    (event,) = lab.fn.events
    parsed = DynamoDBStreamModel.model_validate(event)
    assert [r.eventName for r in parsed.Records] == ["INSERT", "MODIFY", "REMOVE"]
    record = event["Records"][1]
    assert record["eventSourceARN"] == lab.stream and record["awsRegion"] == REGION
    assert record["dynamodb"]["NewImage"]["s"] == {"S": "paid"} and "OldImage" in record["dynamodb"]
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    # the records stay in the stream for its other readers (moto dropped them once delivered)
    assert len(stream_poller._shard_of("123456789012", lab.stream).items) == 3


def test_starting_position_latest_skips_what_was_written_before(lab: Lab) -> None:
    lab.put("old")
    lab.connect(StartingPosition="LATEST")
    lab.put("new")
    lab.drain()
    assert lab.fn.ids() == [["new"]]


def test_trim_horizon_reads_from_the_oldest_record(lab: Lab) -> None:
    lab.put("old")
    lab.connect(StartingPosition="TRIM_HORIZON")
    lab.put("new")
    lab.drain()
    assert lab.fn.ids() == [["old", "new"]]


def test_batch_size_and_batching_window(lab: Lab) -> None:
    lab.connect(BatchSize=2, MaximumBatchingWindowInSeconds=5)
    lab.put("a", "b", "c")
    lab.drain()
    assert lab.fn.ids() == [["a", "b"]]  # full batches go at once; "c" waits for the window
    lab.clock[0] += 4
    lab.drain()
    assert lab.fn.ids() == [["a", "b"]]
    lab.clock[0] += 1.5
    lab.drain()
    assert lab.fn.ids() == [["a", "b"], ["c"]]


def test_filters_drop_records_no_pattern_matches(lab: Lab) -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["new"]}}}}
    lab.connect(FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    lab.put("a", status="new")
    lab.put("b", status="old")
    lab.put("a", status="new")  # a MODIFY
    lab.drain()
    assert lab.fn.ids() == [["a"]]


def test_retries_then_on_failure_destination(lab: Lab) -> None:
    lab.fn.fails = lambda records: any(r["dynamodb"]["Keys"]["id"]["S"] == "poison" for r in records)
    lab.connect(MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": lab.dlq_arn}})
    lab.put("poison", "after")
    lab.drain()
    # one invoke and two retries of the same batch, nothing after it meanwhile; then it is skipped
    assert lab.fn.ids() == [["poison", "after"]] * 3
    lab.put("later")
    lab.drain()
    assert lab.fn.ids()[-1] == ["later"]
    (failure,) = lab.failures()
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"].endswith(":function:auditor")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    first, second = lab.fn.events[0]["Records"]
    assert info["batchSize"] == 2 and info["streamArn"] == lab.stream
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (
        first["dynamodb"]["SequenceNumber"], second["dynamodb"]["SequenceNumber"])  # fmt: skip
    assert info["shardId"] and info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_bisect_isolates_the_failing_record(lab: Lab) -> None:
    lab.fn.fails = lambda records: any(r["dynamodb"]["Keys"]["id"]["S"] == "poison" for r in records)
    lab.connect(MaximumRetryAttempts=1, BisectBatchOnFunctionError=True,
                DestinationConfig={"OnFailure": {"Destination": lab.dlq_arn}})  # fmt: skip
    lab.put("a", "b", "poison", "d")
    lab.drain()
    ids = lab.fn.ids()
    # halved down to the one record that fails, which is retried once, then skipped
    assert ids == [["a", "b", "poison", "d"], ["a", "b"], ["poison", "d"], ["poison"], ["poison"], ["d"]]
    (failure,) = lab.failures()
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


def test_record_age_exceeded(lab: Lab) -> None:
    lab.fn.fails = lambda records: True
    lab.connect(MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": lab.dlq_arn}})
    lab.put("a")
    lab.poller.poll_once()
    assert len(lab.fn.events) == 1
    lab.now[0] = time.time() + 120  # the record is two minutes old at the retry
    lab.drain()
    assert len(lab.fn.events) == 1
    (failure,) = lab.failures()
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"


def test_partial_batch_response_resumes_from_the_first_failed_record(lab: Lab) -> None:
    seen: set[str] = set()

    def answer(records: list[dict[str, Any]]) -> Any:
        failed = [r for r in records if r["dynamodb"]["Keys"]["id"]["S"] == "b" and "b" not in seen]
        seen.update(r["dynamodb"]["Keys"]["id"]["S"] for r in records)
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}

    lab.fn.answer = answer
    lab.connect(FunctionResponseTypes=["ReportBatchItemFailures"])
    lab.put("a", "b", "c")
    lab.drain()
    assert lab.fn.ids() == [["a", "b", "c"], ["b", "c"]]


def test_partial_batch_response_with_bisect_retries_from_the_checkpoint_unhalved(lab: Lab) -> None:
    seen: set[str] = set()

    def answer(records: list[dict[str, Any]]) -> Any:
        failed = [r for r in records if r["dynamodb"]["Keys"]["id"]["S"] == "c" and "c" not in seen]
        seen.update(r["dynamodb"]["Keys"]["id"]["S"] for r in records)
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}

    lab.fn.answer = answer
    lab.connect(FunctionResponseTypes=["ReportBatchItemFailures"], BisectBatchOnFunctionError=True)
    lab.put("a", "b", "c", "d", "e")
    lab.drain()
    assert lab.fn.ids() == [["a", "b", "c", "d", "e"], ["c", "d", "e"]]


def test_a_poller_started_again_goes_on_from_the_checkpoint(lab: Lab) -> None:
    lab.fn.fails = lambda records: any(r["dynamodb"]["Keys"]["id"]["S"] == "c" for r in records)
    lab.connect(BatchSize=2)
    lab.put("a", "b", "c", "d")
    lab.drain(rounds=3)  # [a, b] done; [c, d] failed and waiting for its retry
    assert lab.fn.ids()[0] == ["a", "b"] and lab.fn.ids()[1] == ["c", "d"]
    lab.fn.fails = lambda records: False
    lab.fn.events.clear()
    # the local cloud restarted: its snapshot taken and put back, a new poller
    payload, _ = snapshot_state.capture()
    BackendDict.reset()
    snapshot_state.restore(payload)
    again = StreamPoller(pool_size=0, invoke=lab.fn, clock=lambda: lab.clock[0])
    for _ in range(5):
        again.poll_once()
    assert lab.fn.ids() == [["c", "d"]]
    lab.put("e")
    for _ in range(5):
        again.poll_once()
    assert lab.fn.ids() == [["c", "d"], ["e"]]


def test_first_failed_reads_answers_as_lambda_does() -> None:
    seqs = ["10", "11", "12"]
    assert first_failed(b"", seqs) is None and first_failed(b"null", seqs) is None
    assert first_failed(b'{"batchItemFailures": []}', seqs) is None
    assert (
        first_failed(b'{"batchItemFailures": [{"itemIdentifier": "12"}, {"itemIdentifier": "11"}]}', seqs)
        == 1
    )
    assert first_failed(b'{"batchItemFailures": [{"itemIdentifier": "99"}]}', seqs) == 0
    assert first_failed(b"not json", seqs) == 0

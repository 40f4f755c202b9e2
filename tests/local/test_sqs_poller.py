"""SQS -> Lambda in a real local cloud process behaves like AWS's poller: batches, messages that
wait on the queue, partial batch failures, redrive to the DLQ, disabled and deleted mappings.

The handler appends one JSON line per invoke (its start time and the records) to a file the test
reads; the body of a message says how the handler treats it."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from awslab.local.sqs_poller import failed_message_ids, lambda_message_attribute
from tests.local.apis import create_function
from tests.local.conftest import RunningCloud
from tests.local.lambda_helpers import wait_for

RECORDER = """
import json, os, time

def handler(event, context):
    started = time.time()
    records = event["Records"]
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps({"started": started, "records": records}) + "\\n")
    first = {r["body"]: r["attributes"]["ApproximateReceiveCount"] == "1" for r in records}
    if "poison" in first:
        raise ValueError("poison message")
    if first.get("bad-response-once"):
        return {"batchItemFailures": [{"itemIdentifier": "not-a-message-of-this-batch"}]}
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                                  if r["body"] == "fail-once" and first[r["body"]]]}
"""

WAIT_S = 30.0


@dataclass
class Wiring:
    """A queue and the recorder function, and once `connect` ran, the mapping between them."""

    sqs: Any
    lam: Any
    queue_url: str
    queue_arn: str
    function: str
    out: Path
    uuid: str = ""

    def connect(self, **options: Any) -> str:
        self.uuid = self.lam.create_event_source_mapping(
            EventSourceArn=self.queue_arn, FunctionName=self.function, **options
        )["UUID"]
        return self.uuid

    def send(self, *bodies: str) -> list[str]:
        return [self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=b)["MessageId"] for b in bodies]

    def invocations(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        return [r for inv in self.invocations() for r in inv["records"]]

    def seen(self) -> Counter[str]:
        """How many times each body reached the handler."""
        return Counter(r["body"] for r in self.records())

    def receive_counts(self, body: str) -> list[str]:
        return [r["attributes"]["ApproximateReceiveCount"] for r in self.records() if r["body"] == body]

    def queue_empty(self, url: str | None = None) -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=url or self.queue_url, AttributeNames=names)
        return all(attrs["Attributes"][n] == "0" for n in names)


@pytest.fixture
def wiring(
    running_cloud: RunningCloud, unique: Callable[[str], str], tmp_path: Path
) -> Callable[..., Wiring]:
    """wiring(**queue_attributes): a fresh queue and recorder function (no mapping yet)."""

    def make(**queue_attributes: str) -> Wiring:
        sqs, lam = running_cloud.client("sqs"), running_cloud.client("lambda")
        name = unique("orders")
        url = sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        out = tmp_path / f"{name}.jsonl"
        function = unique("consumer")
        create_function(lam, running_cloud.client("iam"), function, RECORDER, env={"OUT": str(out)})
        return Wiring(sqs, lam, url, arn, function, out)

    return make


def test_messages_sent_before_the_mapping_arrive_as_one_aws_shaped_batch(
    wiring: Callable[..., Wiring],
) -> None:
    w = wiring()
    before_ms = int(time.time() * 1000)
    attributes = {
        "kind": {"DataType": "String", "StringValue": "created"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = w.sqs.send_message(QueueUrl=w.queue_url, MessageBody='{"id": 1}', MessageAttributes=attributes)
    ids = [sent["MessageId"], *w.send("two", "three", "four", "five")]
    w.connect(BatchSize=10)  # no SendMessage after this: the poller alone must find them

    assert wait_for(lambda: len(w.records()) >= 5, WAIT_S), w.invocations()
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    (invocation,) = w.invocations()  # five visible messages, BatchSize 10: one invoke
    records = invocation["records"]
    assert sorted(r["messageId"] for r in records) == sorted(ids)
    first = next(r for r in records if r["messageId"] == sent["MessageId"])
    assert first["body"] == '{"id": 1}'
    assert first["md5OfBody"] == sent["MD5OfMessageBody"]
    assert first["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert first["eventSource"] == "aws:sqs" and first["eventSourceARN"] == w.queue_arn
    assert first["awsRegion"] == "us-east-1" and first["receiptHandle"]
    attrs = first["attributes"]
    assert set(attrs) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert attrs["ApproximateReceiveCount"] == "1" and attrs["SenderId"]
    assert before_ms <= int(attrs["SentTimestamp"]) <= int(attrs["ApproximateFirstReceiveTimestamp"])
    assert first["messageAttributes"] == {
        "kind": {
            "stringValue": "created",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "count": {"stringValue": "42", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    plain = next(r for r in records if r["body"] == "two")
    assert plain["messageAttributes"] == {} and "md5OfMessageAttributes" not in plain


def test_a_burst_within_the_batching_window_is_one_batch(wiring: Callable[..., Wiring]) -> None:
    w = wiring()
    w.connect(BatchSize=10, MaximumBatchingWindowInSeconds=1)
    entries = [{"Id": f"m{i}", "MessageBody": f"burst-{i}"} for i in range(5)]
    assert len(w.sqs.send_message_batch(QueueUrl=w.queue_url, Entries=entries)["Successful"]) == 5

    assert wait_for(lambda: len(w.records()) >= 5, WAIT_S)
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    assert w.seen() == Counter(f"burst-{i}" for i in range(5))
    assert len(w.invocations()) <= 2, [len(i["records"]) for i in w.invocations()]


def test_partial_batch_failure_retries_only_the_failed_message(wiring: Callable[..., Wiring]) -> None:
    w = wiring(VisibilityTimeout="1")
    w.send("ok-1", "fail-once", "ok-2", "ok-3")
    w.connect(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])

    assert wait_for(lambda: w.seen()["fail-once"] >= 2, WAIT_S), w.seen()
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    assert w.seen() == Counter({"fail-once": 2, "ok-1": 1, "ok-2": 1, "ok-3": 1})
    assert w.receive_counts("fail-once") == ["1", "2"]


def test_an_invalid_batch_response_fails_the_whole_batch(wiring: Callable[..., Wiring]) -> None:
    w = wiring(VisibilityTimeout="1")
    w.send("bad-response-once", "innocent")
    w.connect(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])

    assert wait_for(lambda: w.seen()["innocent"] >= 2, WAIT_S), w.seen()
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    assert w.seen() == Counter({"bad-response-once": 2, "innocent": 2})
    assert w.receive_counts("innocent") == ["1", "2"]


def test_a_poison_message_ends_in_the_dead_letter_queue(
    wiring: Callable[..., Wiring], unique: Callable[[str], str]
) -> None:
    probe = wiring()
    dlq_url = probe.sqs.create_queue(QueueName=unique("dead"))["QueueUrl"]
    dlq_arn = probe.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    w = wiring(VisibilityTimeout="1", RedrivePolicy=redrive)
    w.send("good-1", "poison", "good-2")
    w.connect(BatchSize=1)  # a function error fails the whole batch: one message per batch

    def in_dlq() -> list[dict[str, Any]]:
        got = w.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        return list(got.get("Messages", []))

    dead: list[dict[str, Any]] = []
    assert wait_for(lambda: bool(dead.extend(in_dlq()) or dead), WAIT_S), w.seen()
    assert [m["Body"] for m in dead] == ["poison"]
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    assert w.seen() == Counter({"poison": 2, "good-1": 1, "good-2": 1})
    assert w.receive_counts("poison") == ["1", "2"]


def test_a_disabled_or_deleted_mapping_delivers_nothing(wiring: Callable[..., Wiring]) -> None:
    w = wiring()
    uuid = w.connect(BatchSize=10)
    w.send("while-enabled")
    assert wait_for(lambda: w.seen()["while-enabled"] == 1, WAIT_S)

    w.lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert w.lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    w.send("while-disabled")
    left = w.sqs.receive_message(QueueUrl=w.queue_url, WaitTimeSeconds=5, AttributeNames=["All"])
    (message,) = left["Messages"]  # still on the queue, never received by the poller
    assert message["Body"] == "while-disabled" and message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "while-disabled" not in w.seen()

    w.sqs.change_message_visibility(
        QueueUrl=w.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    w.lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert wait_for(lambda: w.seen()["while-disabled"] == 1, WAIT_S)
    assert w.receive_counts("while-disabled") == ["2"]

    w.lam.delete_event_source_mapping(UUID=uuid)
    w.send("after-delete")
    left = w.sqs.receive_message(QueueUrl=w.queue_url, WaitTimeSeconds=5, AttributeNames=["All"])
    (message,) = left["Messages"]
    assert message["Body"] == "after-delete" and message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "after-delete" not in w.seen()


def test_no_message_is_processed_twice_when_the_handler_succeeds(wiring: Callable[..., Wiring]) -> None:
    # A short visibility timeout: a message the poller failed to delete would come back quickly.
    w = wiring(VisibilityTimeout="1")
    w.send(*(f"early-{i}" for i in range(12)))
    w.connect(BatchSize=5)
    for start in range(0, 24, 8):  # more arrive while batches run
        entries = [{"Id": f"m{i}", "MessageBody": f"late-{i}"} for i in range(start, start + 8)]
        w.sqs.send_message_batch(QueueUrl=w.queue_url, Entries=entries)
    expected = Counter([*(f"early-{i}" for i in range(12)), *(f"late-{i}" for i in range(24))])

    assert wait_for(lambda: len(w.records()) >= len(expected), WAIT_S), len(w.records())
    assert wait_for(lambda: w.queue_empty(), WAIT_S)  # all deleted: nothing can come back
    assert w.seen() == expected
    assert max(len(inv["records"]) for inv in w.invocations()) <= 5


# ---- the response and attribute rules, without a server ----------------------------------------
@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (b"null", set()),
        (b"", set()),
        (b"{}", set()),
        (b'{"batchItemFailures": []}', set()),
        (b'{"batchItemFailures": null}', set()),
        (b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', {"b"}),
        (b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', {"a", "b"}),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', {"a", "b"}),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', {"a", "b"}),
        (b'{"batchItemFailures": [{"id": "b"}]}', {"a", "b"}),
        (b'{"batchItemFailures": "b"}', {"a", "b"}),
        (b"not json", {"a", "b"}),
        (b'"ok"', {"a", "b"}),
    ],
)
def test_batch_item_failures_follow_aws_rules(payload: bytes, failed: set[str]) -> None:
    assert failed_message_ids(payload, ["a", "b"]) == failed


def test_binary_message_attributes_are_base64_for_lambda() -> None:
    shown = lambda_message_attribute({"DataType": "Binary.png", "BinaryValue": b"\xff"})
    assert shown == {
        "binaryValue": "/w==",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary.png",
    }

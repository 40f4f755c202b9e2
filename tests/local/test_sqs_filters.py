"""FilterCriteria on an SQS event source mapping in a real local cloud process: as on AWS, the
function gets only the messages a filter matches (a JSON body matched as JSON), and the others are
deleted from the queue unseen."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from awslab.local.sqs_poller import SqsPoller
from awslab.local.state_gate import GATE
from tests.local.lambda_helpers import wait_for
from tests.local.test_sqs_poller import WAIT_S, Wiring, wiring  # noqa: F401  # the fixture
from tests.resources.wiring_helpers import make_role

PATTERN = {"body": {"kind": ["keep"]}}


def test_only_matching_messages_reach_the_function(wiring: Callable[..., Wiring]) -> None:  # noqa: F811
    w = wiring()
    w.connect(BatchSize=10, FilterCriteria={"Filters": [{"Pattern": json.dumps(PATTERN)}]})
    w.send(json.dumps({"kind": "drop", "n": 1}), "plain text", json.dumps({"kind": "keep", "n": 2}))
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    assert wait_for(lambda: len(w.records()) >= 1, WAIT_S)
    assert [json.loads(r["body"])["n"] for r in w.records()] == [2]


def test_a_round_deletes_what_no_filter_matches_without_passing_the_gate_again(
    ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The round already holds the snapshot gate (PollLoop._loop): passing it again per deleted
    message would let a waiting snapshot stall the round each time."""
    from moto.sqs.models import Queue

    sqs, lam = (boto3.client(s, region_name="us-east-1") for s in ("sqs", "lambda"))
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_function(FunctionName="consumer", Runtime="python3.12", Role=make_role(ctx, "r"),
                        Handler="app.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "drop"}))
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer",
                                    FilterCriteria={"Filters": [{"Pattern": json.dumps(PATTERN)}]})  # fmt: skip
    gates_at_delete: list[int] = []
    delete = Queue.delete_message

    def recording(queue: Any, receipt_handle: str) -> None:
        gates_at_delete.append(GATE.active)
        delete(queue, receipt_handle)

    monkeypatch.setattr(Queue, "delete_message", recording)
    poller = SqsPoller(pool_size=1)  # not started: the round runs here
    try:
        with GATE.changing():  # as PollLoop._loop runs a round
            assert poller.poll_once() == 0
    finally:
        poller.stop()
    assert gates_at_delete == [1]  # the round's own pass only
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"]
        == attributes["ApproximateNumberOfMessagesNotVisible"]
        == "0"
    )


def test_filters_are_parsed_once_for_the_check_and_every_round(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.models import EventPattern

    from awslab.local import esm_filters, request_checks

    loads: list[str] = []
    load = EventPattern.load.__func__  # type: ignore[attr-defined]

    def counting(cls: type[EventPattern], raw: str | None) -> EventPattern:
        loads.append(str(raw))
        return load(cls, raw)  # type: ignore[no-any-return]

    monkeypatch.setattr(EventPattern, "load", classmethod(counting))
    esm_filters.parse.cache_clear()
    criteria = {"Filters": [{"Pattern": json.dumps(PATTERN)}]}
    request_checks.check_filters(criteria)  # CreateEventSourceMapping
    rounds = [esm_filters.patterns(criteria) for _ in range(3)]  # the poller's rounds
    assert loads == [json.dumps(PATTERN)]
    assert all(r is not None and esm_filters.passes(r, {"body": '{"kind": "keep"}'}) for r in rounds)
    assert esm_filters.patterns({"Filters": []}) is None

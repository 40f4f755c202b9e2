"""EventBridge in a real local cloud process: PutEvents matching a rule reaches a Lambda and an SQS
queue, and an EventBridge Scheduler schedule fires (a rate schedule without StartDate invokes its
target at once, as on AWS), each with the event or input AWS sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from tests.local.apis import ACCOUNT, create_function
from tests.local.conftest import RunningCloud
from tests.local.lambda_helpers import wait_for

WAIT_S = 30.0
RECORDER = """
import json, os
def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""


@pytest.fixture
def recorder(running_cloud: RunningCloud, unique: Callable[[str], str], tmp_path: Path) -> tuple[str, Path]:
    out = tmp_path / "events.jsonl"
    arn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), unique("recorder"),
                          RECORDER, env={"OUT": str(out)})  # fmt: skip
    return arn, out


def recorded(out: Path) -> list[Any]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_put_events_reaches_a_lambda_and_a_queue(
    running_cloud: RunningCloud, unique: Callable[[str], str], recorder: tuple[str, Path]
) -> None:
    fn, out = recorder
    events, sqs = running_cloud.client("events"), running_cloud.client("sqs")
    url = sqs.create_queue(QueueName=unique("inbox"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus, rule, source = unique("bus"), unique("rule"), unique("shop")
    events.create_event_bus(Name=bus)
    pattern = {"source": [source], "detail": {"total": [{"numeric": [">", 100]}]}}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus,
                       Targets=[{"Id": "fn", "Arn": fn}, {"Id": "q", "Arn": queue_arn, "InputPath": "$.detail"}])  # fmt: skip

    entries = [
        {"EventBusName": bus, "Source": source, "DetailType": "OrderPlaced", "Detail": '{"total": 250}'},
        {"EventBusName": bus, "Source": source, "DetailType": "OrderPlaced", "Detail": '{"total": 5}'},
    ]
    answer = events.put_events(Entries=entries)
    assert answer["FailedEntryCount"] == 0

    assert wait_for(lambda: len(recorded(out)) >= 1, WAIT_S)
    [event] = recorded(out)  # only the order over 100 matched
    EventBridgeModel.model_validate(event)
    assert event["id"] == answer["Entries"][0]["EventId"] and event["detail"] == {"total": 250}
    assert event["account"] == ACCOUNT and event["detail-type"] == "OrderPlaced"
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in messages] == ['{"total": 250}']


def test_a_schedule_fires_with_its_input(
    running_cloud: RunningCloud, unique: Callable[[str], str], recorder: tuple[str, Path]
) -> None:
    fn, out = recorder
    scheduler = running_cloud.client("scheduler")
    name = unique("every-hour")
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": fn,
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler",
            "Input": '{"task": "report"}',
        },
    )
    try:
        assert wait_for(lambda: len(recorded(out)) >= 1, WAIT_S)
        assert recorded(out) == [{"task": "report"}]  # Scheduler sends the input as the payload
    finally:
        scheduler.delete_schedule(Name=name)

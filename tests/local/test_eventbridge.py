"""EventBridge in the local cloud, in-process (moto's mock, awslab's Lambda executor, the ticker
driven by the test's own clock): PutEvents reaches the targets of matching rules with AWS's event
and each target's input; scheduled rules and Scheduler schedules fire on time; nothing runs inside
the API call."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from awslab.local import eventbridge
from awslab.local.eventbridge import EventBridge
from awslab.local.executor import LambdaExecutor
from tests.local.lambda_helpers import wait_for

pytest_plugins = ["tests.local.lambda_fixtures"]

ACCOUNT = "123456789012"
T0 = dt.datetime(2030, 1, 7, 8, 0, 30, tzinfo=dt.UTC)  # a Monday
RECORDER = """
import json, os
def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def bridge(lambda_executor: LambdaExecutor, clock: FakeClock) -> Iterator[EventBridge]:
    """EventBridge installed in moto's mock, its ticker driven by the test (no thread)."""
    active = eventbridge.install(clock=clock, run_ticker=False)
    try:
        yield active
    finally:
        eventbridge.uninstall()


@pytest.fixture
def recorder(make_lambda: Callable[..., str], tmp_path: Path) -> tuple[str, Path]:
    out = tmp_path / "events.jsonl"
    return make_lambda("recorder", RECORDER, Environment={"Variables": {"OUT": str(out)}}), out


def recorded(out: Path) -> list[Any]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def queue(name: str = "inbox") -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [m["Body"] for m in messages]


def test_put_events_reaches_matching_lambda_and_queue_targets(
    bridge: EventBridge, recorder: tuple[str, Path]
) -> None:
    fn, out = recorder
    sqs, url, queue_arn = queue()
    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name="shop")
    events.put_rule(
        Name="placed", EventBusName="shop", EventPattern=json.dumps({"detail-type": ["OrderPlaced"]})
    )
    events.put_targets(
        Rule="placed",
        EventBusName="shop",
        Targets=[
            {"Id": "fn", "Arn": fn},
            {"Id": "q", "Arn": queue_arn, "InputPath": "$.detail"},
        ],
    )
    events.put_rule(Name="other", EventBusName="shop", EventPattern=json.dumps({"detail-type": ["Refund"]}))
    events.put_targets(Rule="other", EventBusName="shop", Targets=[{"Id": "q", "Arn": queue_arn}])

    answer = events.put_events(
        Entries=[
            {
                "EventBusName": "shop",
                "Source": "shop.orders",
                "DetailType": "OrderPlaced",
                "Detail": '{"id": 7}',
            },
            {"EventBusName": "shop", "Source": "shop.orders", "DetailType": "Unrelated", "Detail": "{}"},
        ]
    )
    assert answer["FailedEntryCount"] == 0
    bridge.drain()
    assert bodies(sqs, url) == ['{"id": 7}']  # InputPath: the detail only; no other rule matched
    assert wait_for(lambda: len(recorded(out)) == 1)
    [event] = recorded(out)
    parsed = EventBridgeModel.model_validate(event)  # what Powertools users parse it with
    assert parsed.detail_type == "OrderPlaced" and parsed.source == "shop.orders"
    assert event["id"] == answer["Entries"][0]["EventId"]
    assert event["account"] == ACCOUNT and event["region"] == "us-east-1" and event["detail"] == {"id": 7}
    assert event["time"].endswith("Z") and "ingestion-time" not in event


def test_delivery_happens_after_put_events_answers(bridge: EventBridge) -> None:
    sqs, url, queue_arn = queue()
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["x"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": queue_arn}])
    held = []
    original = bridge.dispatcher.submit
    bridge.dispatcher.submit = held.append  # type: ignore[method-assign]  # hold every delivery
    try:
        events.put_events(Entries=[{"Source": "x", "DetailType": "d", "Detail": "{}"}])
    finally:
        bridge.dispatcher.submit = original  # type: ignore[method-assign]
    assert bodies(sqs, url) == []  # PutEvents answered; nothing was delivered inside it
    assert len(held) == 1
    held[0]()
    assert len(bodies(sqs, url)) == 1


def test_disabled_rules_and_scheduled_rules_get_no_events(bridge: EventBridge) -> None:
    sqs, url, queue_arn = queue()
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["x"]}), State="DISABLED")
    events.put_rule(Name="cron", ScheduleExpression="rate(5 minutes)")
    for name in ("off", "cron"):
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    events.put_events(Entries=[{"Source": "x", "DetailType": "d", "Detail": "{}"}])
    bridge.drain()
    assert bodies(sqs, url) == []


def test_input_transformer_and_constant_input(bridge: EventBridge) -> None:
    sqs, url, queue_arn = queue()
    sns_sqs, sns_url, sns_queue = queue("from-topic")
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=sns_queue, Attributes={"RawMessageDelivery": "true"}
    )
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="shaped", EventPattern=json.dumps({"source": ["shop"]}))
    template = '{"order": <id>, "text": "order <id> from <src>", "rule": "<aws.events.rule-name>"}'
    events.put_targets(
        Rule="shaped",
        Targets=[
            {
                "Id": "q",
                "Arn": queue_arn,
                "InputTransformer": {
                    "InputPathsMap": {"id": "$.detail.id", "src": "$.source"},
                    "InputTemplate": template,
                },
            },
            {"Id": "t", "Arn": topic, "Input": '{"fixed": true}'},
        ],
    )
    events.put_events(Entries=[{"Source": "shop", "DetailType": "d", "Detail": '{"id": 42}'}])
    bridge.drain()
    [body] = bodies(sqs, url)
    assert json.loads(body) == {"order": 42, "text": "order 42 from shop", "rule": "shaped"}
    assert bodies(sns_sqs, sns_url) == ['{"fixed": true}']


def test_a_rate_rule_fires_every_period_from_its_creation(
    bridge: EventBridge, clock: FakeClock, recorder: tuple[str, Path]
) -> None:
    fn, out = recorder
    events = boto3.client("events", region_name="us-east-1")
    arn = events.put_rule(Name="tick", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="tick", Targets=[{"Id": "fn", "Arn": fn}])
    ticker = bridge.ticker
    assert ticker.tick() == T0 + dt.timedelta(minutes=5)  # seen now; first firing one period later
    ticker.tick(clock.advance(minutes=4, seconds=59))
    assert ticker.fired == 0
    ticker.tick(clock.advance(seconds=1))
    ticker.tick(clock.advance(minutes=5))
    assert ticker.fired == 2
    bridge.drain()
    assert wait_for(lambda: len(recorded(out)) == 2)
    first = min(recorded(out), key=lambda e: e["time"])
    EventBridgeModel.model_validate(first)
    assert first["detail-type"] == "Scheduled Event" and first["source"] == "aws.events"
    assert first["resources"] == [arn] and first["detail"] == {}
    assert first["time"] == "2030-01-07T08:05:30Z"  # the scheduled time


def test_a_cron_rule_fires_at_the_times_it_names(bridge: EventBridge, clock: FakeClock) -> None:
    sqs, url, queue_arn = queue()
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="weekday", ScheduleExpression="cron(15 8 ? * MON-FRI *)")
    events.put_targets(Rule="weekday", Targets=[{"Id": "q", "Arn": queue_arn, "Input": '{"job": "report"}'}])
    assert bridge.ticker.tick() == dt.datetime(2030, 1, 7, 8, 15, tzinfo=dt.UTC)
    bridge.ticker.tick(dt.datetime(2030, 1, 7, 8, 15, 1, tzinfo=dt.UTC))
    bridge.drain()
    assert bodies(sqs, url) == ['{"job": "report"}']
    # after Friday's run comes Monday's
    clock.now = dt.datetime(2030, 1, 11, 8, 15, 0, tzinfo=dt.UTC)
    assert bridge.ticker.tick() == dt.datetime(2030, 1, 14, 8, 15, tzinfo=dt.UTC)


def scheduler_client() -> Any:
    return boto3.client("scheduler", region_name="us-east-1")


def create_schedule(name: str, expression: str, target: dict[str, Any], **extra: Any) -> str:
    params = {"FlexibleTimeWindow": {"Mode": "OFF"}, **extra}
    target = {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler", **target}
    return str(
        scheduler_client().create_schedule(Name=name, ScheduleExpression=expression, Target=target, **params)[
            "ScheduleArn"
        ]
    )


def test_a_rate_schedule_fires_at_once_then_every_period_with_its_input(
    bridge: EventBridge, clock: FakeClock, recorder: tuple[str, Path]
) -> None:
    fn, out = recorder
    clock.now = dt.datetime.now(dt.UTC)  # moto stamps the schedule's creation with the real time
    arn = create_schedule(
        "job",
        "rate(1 hour)",
        {"Arn": fn, "Input": '{"task": "cleanup", "at": "<aws.scheduler.scheduled-time>"}'},
    )
    bridge.ticker.tick()
    assert bridge.ticker.fired == 1  # no StartDate: "starts invoking its target immediately"
    bridge.ticker.tick(clock.advance(minutes=59))
    assert bridge.ticker.fired == 1
    bridge.ticker.tick(clock.advance(minutes=1, seconds=1))
    assert bridge.ticker.fired == 2
    bridge.drain()
    assert wait_for(lambda: len(recorded(out)) == 2)
    payload = recorded(out)[0]
    assert payload["task"] == "cleanup" and payload["at"].endswith("Z")  # Scheduler's input, as AWS sends it
    assert arn.endswith(":schedule/default/job")


def test_a_one_time_schedule_fires_once_in_its_time_zone_and_can_delete_itself(
    bridge: EventBridge, clock: FakeClock
) -> None:
    sqs, url, queue_arn = queue()
    clock.now = dt.datetime.now(dt.UTC)
    when = (clock.now + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=9)))
    local = when.strftime("%Y-%m-%dT%H:%M:%S")
    create_schedule(
        "once",
        f"at({local})",
        {"Arn": queue_arn, "Input": "hello"},
        ScheduleExpressionTimezone="Asia/Tokyo",
        ActionAfterCompletion="DELETE",
    )
    due = bridge.ticker.tick()
    assert due == when.replace(microsecond=0).astimezone(dt.UTC)
    bridge.ticker.tick(due + dt.timedelta(seconds=1))
    bridge.ticker.tick(due + dt.timedelta(days=3))
    bridge.drain()
    assert bodies(sqs, url) == ["hello"]
    assert scheduler_client().list_schedules()["Schedules"] == []  # ActionAfterCompletion: DELETE


def test_a_flexible_window_delays_within_the_window_and_disabled_schedules_wait(
    bridge: EventBridge, clock: FakeClock
) -> None:
    sqs, url, queue_arn = queue()
    clock.now = dt.datetime.now(dt.UTC)
    start = clock.now + dt.timedelta(hours=1)
    create_schedule("flex", "rate(1 day)", {"Arn": queue_arn, "Input": "x"}, StartDate=start,
                    FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10})  # fmt: skip
    create_schedule("off", "rate(1 minute)", {"Arn": queue_arn, "Input": "never"}, State="DISABLED")
    due = bridge.ticker.tick()
    assert due is not None and start <= due < start + dt.timedelta(minutes=10)
    bridge.ticker.tick(due + dt.timedelta(seconds=1))
    bridge.drain()
    assert bodies(sqs, url) == ["x"]


def test_a_schedule_on_an_event_bus_puts_an_event_that_rules_route(
    bridge: EventBridge, clock: FakeClock
) -> None:
    sqs, url, queue_arn = queue()
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="from-scheduler", EventPattern=json.dumps({"source": ["jobs"]}))
    events.put_targets(
        Rule="from-scheduler", Targets=[{"Id": "q", "Arn": queue_arn, "InputPath": "$.detail"}]
    )
    clock.now = dt.datetime.now(dt.UTC)
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    create_schedule(
        "to-bus",
        "rate(1 hour)",
        {"Arn": bus, "Input": '{"n": 1}', "EventBridgeParameters": {"DetailType": "Tick", "Source": "jobs"}},
    )
    bridge.ticker.tick()
    bridge.drain()  # the schedule's PutEvents
    bridge.drain()  # and the rule's delivery it caused
    assert bodies(sqs, url) == ['{"n": 1}']


def test_a_state_machine_target_starts_an_execution_with_the_event(bridge: EventBridge) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    machine = sfn.create_state_machine(
        name="flow", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="start", EventPattern=json.dumps({"source": ["shop"]}))
    role = f"arn:aws:iam::{ACCOUNT}:role/events-to-sfn"
    events.put_targets(
        Rule="start", Targets=[{"Id": "m", "Arn": machine, "RoleArn": role, "InputPath": "$.detail"}]
    )
    events.put_events(Entries=[{"Source": "shop", "DetailType": "d", "Detail": '{"order": 1}'}])
    bridge.drain()
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {"order": 1}

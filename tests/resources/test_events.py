"""events.bus and events.rule on moto: create / read / update / delete, the grants each target
needs (Lambda permission, queue and topic policies, scoped to the rule), drift, sweep listing,
and clear errors for bad specs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.resources.base import REGISTRY, Context
from awslab.resources.events import EventBus, Rule, RuleProps, grant_id
from tests.resources.wiring_helpers import (
    ACCOUNT,
    created_record,
    creating_record,
    function_policy,
    make_function,
    make_queue,
    queue_policy,
)

SFN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/events-to-sfn"


def rule(ctx: Context, logical: str, **fields: Any) -> Rule:
    return Rule(ctx, logical, RuleProps.model_validate(fields))


def topic_policy(ctx: Context, arn: str) -> list[dict[str, Any]]:
    text = ctx.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
    return list(json.loads(text)["Statement"])


def test_registered() -> None:
    assert REGISTRY["events.rule"] is Rule and REGISTRY["events.bus"] is EventBus


def test_bus_create_read_adopt_delete(ctx: Context) -> None:
    bus = EventBus(ctx, "orders", EventBus.props_model())
    attrs = bus.create()
    assert attrs == {
        "name": "awslab-test-orders-abc123",
        "arn": EventBus.predict(ctx.target, bus.physical)["arn"],
    }
    tags = ctx.client("events").list_tags_for_resource(ResourceARN=attrs["arn"])["Tags"]
    assert {"Key": "awslab:stack", "Value": "abc123"} in tags
    assert bus.create() == attrs  # a retried create adopts its own bus
    record = created_record("events.bus", "orders", bus.physical, attrs)
    assert EventBus.read(ctx, record) == attrs
    EventBus.delete(ctx, record)
    assert EventBus.read(ctx, record) is None
    EventBus.delete(ctx, record)  # gone is done
    assert bus.update(record) == attrs  # deleted behind awslab's back: made again


def test_pattern_rule_grants_each_target_and_cleans_up(ctx: Context) -> None:
    fn = make_function(ctx, "handler")
    url, queue_arn = make_queue(ctx, "inbox")
    topic = ctx.client("sns").create_topic(Name="alerts")["TopicArn"]
    bus_attrs = EventBus(ctx, "orders", EventBus.props_model()).create()
    r = rule(
        ctx,
        "placed",
        bus=bus_attrs["name"],
        pattern={"source": ["shop"], "detail-type": ["OrderPlaced"]},
        targets=[
            {"arn": fn, "input_path": "$.detail"},
            {"arn": queue_arn, "input": {"fixed": True}},
            {
                "arn": topic,
                "input_transformer": {"paths": {"id": "$.detail.id"}, "template": '{"order": <id>}'},
            },
        ],
    )
    attrs = r.create()
    arn = attrs["arn"]
    assert arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{bus_attrs['name']}/{r.physical}"
    sid = grant_id(arn)
    [perm] = [s for s in function_policy(ctx, fn) if s["Sid"] == sid]
    assert perm["Principal"] == {"Service": "events.amazonaws.com"}
    assert perm["Condition"]["ArnLike"]["AWS:SourceArn"] == arn
    [qs] = [s for s in queue_policy(ctx, url)["Statement"] if s["Sid"] == sid]  # type: ignore[index]
    assert qs["Action"] == "sqs:SendMessage" and qs["Condition"]["ArnEquals"]["aws:SourceArn"] == arn
    [ts] = [s for s in topic_policy(ctx, topic) if s.get("Sid") == sid]
    assert ts["Action"] == "sns:Publish" and ts["Principal"] == {"Service": "events.amazonaws.com"}

    events = ctx.client("events")
    live = {
        t["Id"]: t
        for t in events.list_targets_by_rule(Rule=r.physical, EventBusName=bus_attrs["name"])["Targets"]
    }
    assert live["handler"]["InputPath"] == "$.detail"
    assert json.loads(live["inbox"]["Input"]) == {"fixed": True}
    assert live["alerts"]["InputTransformer"] == {
        "InputPathsMap": {"id": "$.detail.id"},
        "InputTemplate": '{"order": <id>}',
    }

    record = created_record("events.rule", "placed", r.physical, attrs)
    assert Rule.read(ctx, record) == attrs  # no drift right after create

    Rule.delete(ctx, record)
    assert Rule.read(ctx, record) is None
    assert not [s for s in function_policy(ctx, fn) if s["Sid"] == sid]
    assert queue_policy(ctx, url) is None
    assert not [s for s in topic_policy(ctx, topic) if s.get("Sid") == sid]
    Rule.delete(ctx, record)  # gone is done


def test_update_reconciles_targets_state_and_schedule(ctx: Context) -> None:
    first, second = make_function(ctx, "first"), make_function(ctx, "second")
    r = rule(ctx, "tick", schedule="rate(5 minutes)", targets=[{"arn": first}])
    record = created_record("events.rule", "tick", r.physical, r.create())
    changed = rule(
        ctx, "tick", schedule="cron(0 3 * * ? *)", enabled=False, targets=[{"arn": second, "id": "job"}]
    )
    attrs = changed.update(record)
    assert attrs["schedule"] == "cron(0 3 * * ? *)" and attrs["state"] == "DISABLED"
    assert attrs["targets"] == [{"id": "job", "arn": second}]
    sid = grant_id(attrs["arn"])
    assert not [s for s in function_policy(ctx, first) if s["Sid"] == sid]  # the old target's grant went
    assert [s for s in function_policy(ctx, second) if s["Sid"] == sid]
    record = created_record("events.rule", "tick", r.physical, attrs)
    assert Rule.read(ctx, record) == attrs


def test_drift_outside_awslab_is_reported(ctx: Context) -> None:
    fn = make_function(ctx, "worker")
    r = rule(ctx, "nightly", schedule="cron(0 3 * * ? *)", targets=[{"arn": fn}])
    record = created_record("events.rule", "nightly", r.physical, r.create())
    ctx.client("events").disable_rule(Name=r.physical)
    ctx.client("events").remove_targets(Rule=r.physical, Ids=["worker"])
    live = Rule.read(ctx, record)
    assert live is not None
    drifts = {d.key: d for d in Rule.drift(record, live)}
    assert set(drifts) == {"state", "targets"}
    assert str(drifts["state"]) == "state ENABLED -> DISABLED"
    repaired = r.update(record)
    assert Rule.drift(record, repaired) == []


@pytest.mark.parametrize("on_own_bus", [False, True])
def test_delete_of_a_record_left_creating_finds_the_rule_by_name(ctx: Context, on_own_bus: bool) -> None:
    fn = make_function(ctx, "worker")
    bus = EventBus(ctx, "bus", EventBus.props_model()).create()["name"] if on_own_bus else "default"
    r = rule(ctx, "half", bus=bus, pattern={"source": ["x"]}, targets=[{"arn": fn}])
    r.create()
    record = creating_record("events.rule", "half", r.physical)
    assert Rule.read(ctx, record) is not None
    Rule.delete(ctx, record)
    assert ctx.client("events").list_rules(EventBusName=bus)["Rules"] == []
    assert not [s for s in function_policy(ctx, fn) if s["Sid"].startswith("awslab-events-")]


def test_step_functions_target_takes_its_role(ctx: Context) -> None:
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:flow"
    r = rule(ctx, "start", pattern={"source": ["x"]}, targets=[{"arn": machine, "role": SFN_ROLE}])
    r.create()
    [target] = ctx.client("events").list_targets_by_rule(Rule=r.physical)["Targets"]
    assert target["RoleArn"] == SFN_ROLE


def test_list_made_finds_tagged_rules_and_buses_only(ctx: Context) -> None:
    fn = make_function(ctx, "worker")
    bus = EventBus(ctx, "bus", EventBus.props_model()).create()
    rule(ctx, "on-default", pattern={"source": ["x"]}, targets=[{"arn": fn}]).create()
    rule(ctx, "on-bus", bus=bus["name"], pattern={"source": ["x"]}).create()
    events = ctx.client("events")
    events.put_rule(Name="awslab-lookalike", EventPattern='{"source": ["x"]}')  # no awslab tags
    events.create_event_bus(Name="someone-elses")
    found = {m.physical: m for m in Rule.list_made(ctx.target)}
    assert set(found) == {"awslab-test-on-default-abc123", "awslab-test-on-bus-abc123"}
    assert found["awslab-test-on-bus-abc123"].attrs["bus"] == bus["name"]
    assert found["awslab-test-on-default-abc123"].tags["awslab:logical"] == "on-default"
    assert [m.physical for m in EventBus.list_made(ctx.target)] == [bus["name"]]
    for m in found.values():  # what sweep does: delete from a "creating" record with these attrs
        record = creating_record("events.rule", m.tags["awslab:logical"], m.physical)
        record.attrs.update(m.attrs)
        Rule.delete(ctx, record)
    assert not Rule.list_made(ctx.target)


BAD_RULES = [
    ({"targets": []}, "either schedule"),
    ({"schedule": "rate(5 minutes)", "pattern": {"source": ["x"]}}, "not both"),
    ({"schedule": "rate(1 minutes)"}, "rate(1 minute)"),
    ({"schedule": "cron(0 12 * * *)"}, "six fields"),
    ({"schedule": "cron(0 12 1 * MON *)"}, "exactly one of day-of-month and day-of-week"),
    ({"schedule": "at(2030-01-01T00:00:00)"}, "EventBridge Scheduler"),
    ({"schedule": "rate(5 minutes)", "bus": "orders"}, "default bus only"),
    ({"pattern": {"source": "shop"}}, 'must be a list, e.g. ["shop"]'),
    ({"pattern": {"source": []}}, "empty list"),
    ({"pattern": {}}, "empty pattern"),
    ({"pattern": {"source": ["x"]}, "targets": [{"arn": "orders-fn"}]}, "must be an ARN"),
    (
        {
            "pattern": {"source": ["x"]},
            "targets": [{"arn": "arn:aws:lambda:us-east-1:1:function:f", "input": 1, "input_path": "$"}],
        },
        "at most one of input",
    ),
    (
        {"pattern": {"source": ["x"]}, "targets": [{"arn": "arn:aws:states:us-east-1:1:stateMachine:m"}]},
        "needs `role`",
    ),
    (
        {"pattern": {"source": ["x"]}, "targets": [{"arn": "arn:aws:sqs:us-east-1:1:q.fifo"}]},
        "message_group_id",
    ),
    (
        {"pattern": {"source": ["x"]}, "targets": [{"arn": "arn:aws:dynamodb:us-east-1:1:table/t"}]},
        "targets here are",
    ),
    (
        {
            "pattern": {"source": ["x"]},
            "targets": [{"arn": "arn:aws:sqs:us-east-1:1:q"}, {"arn": "arn:aws:sqs:us-west-2:1:q"}],
        },
        "same id",
    ),
    (
        {
            "pattern": {"source": ["x"]},
            "targets": [
                {
                    "arn": "arn:aws:sqs:us-east-1:1:q",
                    "input_transformer": {"template": "<a>", "paths": {"a": "detail"}},
                }
            ],
        },
        "not a JSONPath",
    ),
    ({"pattern": {"source": ["x"]}, "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_RULES)
def test_bad_rule_specs_are_refused_with_a_reason(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        RuleProps.model_validate(fields)
    assert message in str(info.value)


def test_references_are_checked_once_resolved() -> None:
    # at validation time the ARN is a reference: what it names is checked when resolved
    RuleProps.model_validate({"pattern": {"source": ["x"]}, "targets": [{"arn": "${flow.arn}"}]})
    with pytest.raises(ValidationError, match="needs `role`"):
        RuleProps.model_validate(
            {
                "pattern": {"source": ["x"]},
                "targets": [{"arn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:m"}],
            }
        )

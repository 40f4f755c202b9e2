"""scheduler.schedule on moto: the lab's schedule group (tagged, made by the first schedule, gone
with the last), create / read / update / delete, drift, sweep listing, bad specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.errors import SpecError
from awslab.resources.base import REGISTRY, Context
from awslab.resources.scheduler import Schedule, ScheduleProps, group_name
from awslab.spec import load_spec
from tests.resources.wiring_helpers import ACCOUNT, created_record, creating_record, make_function

ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler-role"


def schedule(ctx: Context, logical: str, **fields: Any) -> Schedule:
    return Schedule(ctx, logical, ScheduleProps.model_validate(fields))


def groups(ctx: Context) -> list[str]:
    return [g["Name"] for g in ctx.client("scheduler").list_schedule_groups()["ScheduleGroups"]]


def test_registered() -> None:
    assert REGISTRY["scheduler.schedule"] is Schedule


def test_create_read_update_delete(ctx: Context) -> None:
    fn = make_function(ctx, "job")
    s = schedule(
        ctx,
        "every-minute",
        schedule_expression="rate(1 minute)",
        flexible_time_window=5,
        target={"arn": fn, "role_arn": ROLE, "input": {"task": "cleanup"}},
    )
    attrs = s.create()
    group = group_name("test", "abc123")
    assert attrs["arn"] == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/{group}/{s.physical}"
    scheduler = ctx.client("scheduler")
    live = scheduler.get_schedule(Name=s.physical, GroupName=group)
    assert live["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5}
    assert live["Target"]["RoleArn"] == ROLE and json.loads(live["Target"]["Input"]) == {"task": "cleanup"}
    group_arn = scheduler.get_schedule_group(Name=group)["Arn"]
    tags = {t["Key"]: t["Value"] for t in scheduler.list_tags_for_resource(ResourceArn=group_arn)["Tags"]}
    assert tags == {"awslab:lab": "test", "awslab:stack": "abc123"}

    record = created_record("scheduler.schedule", "every-minute", s.physical, attrs)
    assert Schedule.read(ctx, record) == attrs
    assert s.create() == attrs  # a retried create converges on the same schedule

    changed = schedule(
        ctx,
        "every-minute",
        schedule_expression="at(2030-01-01T09:00:00)",
        timezone="Europe/Paris",
        enabled=False,
        target={"arn": fn, "role_arn": ROLE, "input": "plain text"},
    )
    attrs = changed.update(record)
    live = scheduler.get_schedule(Name=s.physical, GroupName=group)
    assert live["ScheduleExpression"] == "at(2030-01-01T09:00:00)" and live["State"] == "DISABLED"
    assert live["ScheduleExpressionTimezone"] == "Europe/Paris" and live["Target"]["Input"] == "plain text"
    assert live["FlexibleTimeWindow"] == {"Mode": "OFF"}
    record = created_record("scheduler.schedule", "every-minute", s.physical, attrs)
    assert Schedule.read(ctx, record) == attrs

    Schedule.delete(ctx, record)
    assert Schedule.read(ctx, record) is None
    assert group not in groups(ctx)  # the last schedule took its group with it
    Schedule.delete(ctx, record)  # gone is done
    assert changed.update(record)["name"] == s.physical  # deleted behind awslab's back: made again


def test_the_group_stays_while_another_schedule_is_in_it(ctx: Context) -> None:
    fn = make_function(ctx, "job")
    a = schedule(ctx, "a", schedule_expression="rate(5 minutes)", target={"arn": fn, "role_arn": ROLE})
    b = schedule(ctx, "b", schedule_expression="rate(5 minutes)", target={"arn": fn, "role_arn": ROLE})
    a.create()
    b.create()
    Schedule.delete(ctx, creating_record("scheduler.schedule", "a", a.physical))
    assert group_name("test", "abc123") in groups(ctx)
    Schedule.delete(ctx, creating_record("scheduler.schedule", "b", b.physical))
    assert group_name("test", "abc123") not in groups(ctx)


def test_drift_of_expression_and_state(ctx: Context) -> None:
    fn = make_function(ctx, "job")
    s = schedule(
        ctx, "nightly", schedule_expression="cron(0 3 * * ? *)", target={"arn": fn, "role_arn": ROLE}
    )
    record = created_record("scheduler.schedule", "nightly", s.physical, s.create())
    params = {
        "Name": s.physical,
        "GroupName": group_name("test", "abc123"),
        "ScheduleExpression": "rate(1 hour)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": fn, "RoleArn": ROLE},
        "State": "DISABLED",
    }
    ctx.client("scheduler").update_schedule(**params)
    live = Schedule.read(ctx, record)
    assert live is not None
    assert sorted(str(d) for d in Schedule.drift(record, live)) == [
        "schedule expression cron(0 3 * * ? *) -> rate(1 hour)",
        "state ENABLED -> DISABLED",
    ]


def test_list_made_finds_the_schedules_of_awslab_groups(ctx: Context) -> None:
    fn = make_function(ctx, "job")
    s = schedule(ctx, "tick", schedule_expression="rate(5 minutes)", target={"arn": fn, "role_arn": ROLE})
    s.create()
    scheduler = ctx.client("scheduler")
    scheduler.create_schedule_group(Name="awslab-lookalike")  # no tags: not awslab's
    scheduler.create_schedule(
        Name="awslab-x", GroupName="awslab-lookalike", ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn, "RoleArn": ROLE},
    )  # fmt: skip
    [made] = Schedule.list_made(ctx.target)
    assert made.physical == s.physical
    assert made.tags == {"awslab:lab": "test", "awslab:stack": "abc123", "awslab:logical": "tick"}
    record = creating_record("scheduler.schedule", "tick", made.physical)
    record.attrs.update(made.attrs)
    Schedule.delete(ctx, record)
    assert Schedule.list_made(ctx.target) == []


BAD = [
    ({"schedule_expression": "rate(1 minutes)"}, "rate(1 minute)"),
    ({"schedule_expression": "every day"}, "not a schedule expression"),
    ({"schedule_expression": "at(2030-13-01T00:00:00)"}, "month must be in 1..12"),
    ({"schedule_expression": "cron(0 9 * * ? *)", "timezone": "Mars/Olympus"}, "not a time zone"),
    ({"flexible_time_window": 0}, "greater than or equal to 1"),
    ({"flexible_time_window": {"mode": "FLEXIBLE"}}, "FLEXIBLE takes maximum_window_in_minutes"),
    ({"flexible_time_window": "SOMETIMES"}, "flexible_time_window"),
    ({"target": {"arn": "arn:aws:lambda:us-east-1:1:function:f"}}, "role_arn"),
    ({"target": {"arn": "arn:aws:events:us-east-1:1:event-bus/b", "role_arn": ROLE}}, "event_bridge"),
    ({"target": {"arn": "arn:aws:s3:::bucket", "role_arn": ROLE}}, "targets here are"),
    ({"start_date": "2030-01-02T00:00:00Z", "end_date": "2030-01-01T00:00:00Z"}, "end_date must be after"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_schedule_specs_are_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "schedule_expression": "rate(5 minutes)",
        "target": {"arn": "arn:aws:lambda:us-east-1:1:function:f", "role_arn": ROLE},
        **change,
    }
    with pytest.raises(ValidationError) as info:
        ScheduleProps.model_validate(fields)
    assert message in str(info.value)


def test_a_bad_spec_names_the_line_and_key_of_each_problem(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "name: bad\n"
        "resources:\n"
        "  nightly:\n"
        "    type: events.rule\n"
        "    schedule: rate(1 minutes)\n"
        "  sched:\n"
        "    type: scheduler.schedule\n"
        "    schedule_expression: rate(5 minutes)\n"
        "    timezone: Moon/Base\n"
        "    target: {arn: 'arn:aws:lambda:us-east-1:1:function:f'}\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    problems = "\n".join(info.value.problems)
    assert "bad.yaml:5: resources.nightly.schedule: rate(1 minutes): AWS wants rate(1 minute)" in problems
    assert "bad.yaml:9: resources.sched.timezone: 'Moon/Base' is not a time zone" in problems
    assert "bad.yaml:10: resources.sched.target.role_arn: missing required field" in problems

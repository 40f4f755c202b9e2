"""Schedule expressions as AWS reads them (when each fires), and EventBridge's input transformer
templates: pure functions, no cloud."""

from __future__ import annotations

import datetime as dt

import pytest

from awslab.local.eventbridge_schedule import At, Cron, ExpressionError, Rate, parse, zone_of
from awslab.local.eventbridge_targets import fill_template, iso_time, rule_input, scheduler_input

UTC = dt.UTC
FRIDAY_NIGHT = dt.datetime(2024, 6, 7, 23, 50, tzinfo=UTC)


def cron(expression: str) -> Cron:
    parsed = parse(expression)
    assert isinstance(parsed, Cron)
    return parsed


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0/15 * ? * MON-FRI *)", FRIDAY_NIGHT, dt.datetime(2024, 6, 10, 0, 0, tzinfo=UTC)),
        ("cron(0 10 ? * 6#3 *)", FRIDAY_NIGHT, dt.datetime(2024, 6, 21, 10, 0, tzinfo=UTC)),  # third Friday
        ("cron(0 18 L * ? *)", FRIDAY_NIGHT, dt.datetime(2024, 6, 30, 18, 0, tzinfo=UTC)),  # last day
        (
            "cron(0 9 15W * ? *)",
            FRIDAY_NIGHT,
            dt.datetime(2024, 6, 14, 9, 0, tzinfo=UTC),
        ),  # 15th is a Saturday
        ("cron(30 2 1 JAN,JUL ? *)", FRIDAY_NIGHT, dt.datetime(2024, 7, 1, 2, 30, tzinfo=UTC)),
        ("cron(0 12 * * ? 2025)", FRIDAY_NIGHT, dt.datetime(2025, 1, 1, 12, 0, tzinfo=UTC)),
        ("cron(0 12 * * ? 2020)", FRIDAY_NIGHT, None),  # a past year names no later time
        ("cron(50 23 * * ? *)", FRIDAY_NIGHT, dt.datetime(2024, 6, 8, 23, 50, tzinfo=UTC)),  # strictly later
    ],
)
def test_cron_next_time(expression: str, after: dt.datetime, expected: dt.datetime | None) -> None:
    assert cron(expression).next_after(after) == expected


def test_cron_in_a_time_zone_keeps_wall_clock_time_across_daylight_saving() -> None:
    nine = cron("cron(0 9 * * ? *)")
    paris = zone_of("Europe/Paris")
    assert nine.next_after(dt.datetime(2024, 3, 30, 12, tzinfo=UTC), paris) == dt.datetime(
        2024, 3, 31, 7, tzinfo=UTC
    )
    assert nine.next_after(dt.datetime(2024, 3, 29, 12, tzinfo=UTC), paris) == dt.datetime(
        2024, 3, 30, 8, tzinfo=UTC
    )


def test_rate_counts_whole_periods_from_its_anchor() -> None:
    rate = parse("rate(5 minutes)")
    assert rate == Rate(300)
    anchor = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert isinstance(rate, Rate)
    assert rate.next_after(anchor, anchor) == anchor + dt.timedelta(minutes=5)
    assert rate.next_after(anchor, anchor + dt.timedelta(minutes=7)) == anchor + dt.timedelta(minutes=10)
    assert rate.next_after(anchor, anchor - dt.timedelta(days=1)) == anchor
    assert parse("rate(1 day)") == Rate(86400) and parse("rate(2 hours)") == Rate(7200)


def test_at_is_read_in_its_time_zone_and_only_where_allowed() -> None:
    at = parse("at(2030-01-01T09:00:00)", allow_at=True)
    assert isinstance(at, At)
    assert at.time_in(zone_of("Asia/Tokyo")) == dt.datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    with pytest.raises(ExpressionError, match="EventBridge Scheduler"):
        parse("at(2030-01-01T09:00:00)")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 minutes)", "rate(1 minute)"),
        ("rate(5 minute)", "rate(5 minutes)"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 seconds)", "not a schedule expression"),
        ("cron(0 12 * * ?)", "six fields"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 25 * * ? *)", "outside 0-23"),
        ("cron(0 12 ? * 8 *)", "outside 1-7"),
        ("cron(0 12 ? * 2#6 *)", "week must be 1-5"),
        ("cron(0 12 32W * ? *)", "outside 1-31"),
        ("cron(0 12 * FOO ? *)", "not a number"),
        ("cron(0/0 12 * * ? *)", "step"),
    ],
)
def test_expressions_aws_refuses(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(expression, allow_at=True)


def test_fill_template_quotes_as_eventbridge_does() -> None:
    values = {"id": 42, "name": 'Ada "L"', "obj": {"a": [1]}, "missing": None}
    template = '{"id": <id>, "text": "<name> has <id>", "obj": <obj>, "none": <missing>, "lit": "a<b"}'
    assert fill_template(template, values) == (
        '{"id": 42, "text": "Ada \\"L\\" has 42", "obj": {"a": [1]}, "none": null, "lit": "a<b"}'
    )
    assert fill_template('"order <id> shipped"', values) == '"order 42 shipped"'


def test_rule_input_forms() -> None:
    event = {"id": "e1", "source": "shop", "detail": {"id": 7, "items": [{"sku": "x"}]}}
    rule = "arn:aws:events:us-east-1:123456789012:rule/bus/placed"
    assert (
        rule_input({"Arn": "a"}, event, rule, "t")
        == '{"id": "e1", "source": "shop", "detail": {"id": 7, "items": [{"sku": "x"}]}}'
    )
    assert rule_input({"Arn": "a", "Input": '{"k": 1}'}, event, rule, "t") == '{"k": 1}'
    assert rule_input({"Arn": "a", "InputPath": "$.detail.items[0]"}, event, rule, "t") == '{"sku": "x"}'
    transformer = {
        "InputPathsMap": {"sku": "$.detail.items[0].sku"},
        "InputTemplate": '{"s": <sku>, "r": "<aws.events.rule-name>"}',
    }
    assert (
        rule_input({"Arn": "a", "InputTransformer": transformer}, event, rule, "t")
        == '{"s": "x", "r": "placed"}'
    )


def test_scheduler_input_fills_context_attributes() -> None:
    when = dt.datetime(2030, 1, 1, 3, tzinfo=UTC)
    target = {"Input": '{"at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>"}'}
    assert scheduler_input(target, "arn:s", when) == '{"at": "2030-01-01T03:00:00Z", "arn": "arn:s"}'
    assert scheduler_input({}, "arn:s", when) == "{}"
    assert iso_time(1893466800) == "2030-01-01T03:00:00Z"

"""The price table and the monthly estimate: every figure worked out here by hand from the table's
own prices and the stated usage, the free tier, idle cost, schedules, and kinds without a price."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from awslab.pricing import PRICERS, Usage, estimate, firings_per_month, table
from awslab.spec import builtin_labs, load_spec

SECONDS_PER_MONTH = 730 * 3600


def write_lab(tmp_path: Path, resources: str) -> Path:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "app.py").write_text("def handler(e, c):\n    return e\n")
    spec = tmp_path / "lab.yaml"
    spec.write_text("name: priced\nresources:\n" + textwrap.indent(textwrap.dedent(resources), "  "))
    return spec


def test_the_table_has_a_date_a_region_and_a_free_tier_for_each_price() -> None:
    t = table()
    assert t.region == "us-east-1" and dt.datetime.strptime(t.as_of, "%Y-%m")
    assert {p.term for p in t.prices.values()} <= {"always", "12 months", "none"}
    for p in t.prices.values():
        assert p.per > 0 and p.usd >= 0 and (p.free == 0) == (p.term == "none"), p.key
    services = {p.service for p in t.prices.values()}
    assert {"Lambda", "API Gateway", "DynamoDB", "S3", "SQS", "SNS", "Step Functions", "CloudWatch Logs",
            "EventBridge", "EventBridge Scheduler"} <= services  # fmt: skip
    assert t["lambda.requests"].shown == "$0.20 per 1M requests"
    assert t["lambda.duration"].shown == "$0.0000166667 per GB-s"


def test_a_function_month_by_hand(tmp_path: Path) -> None:
    spec = load_spec(
        write_lab(
            tmp_path,
            """
        role: {type: iam.role, service: lambda}
        fn: {type: lambda.function, code: code, role: "${role.arn}", memory: 512}
    """,
        )
    )
    usage = Usage(requests=2_000_000, duration_ms=1000, log_kb=1.0)
    e = estimate(spec, usage)
    t = table()
    gb_s = 2_000_000 * 1.0 * 0.5
    logs_gb = 2_000_000 * 1024 / 1024**3
    by_hand = (2_000_000 * t["lambda.requests"].usd / 1e6 + gb_s * t["lambda.duration"].usd
               + logs_gb * (t["logs.ingestion"].usd + t["logs.storage"].usd))  # fmt: skip
    assert e.monthly_usd == pytest.approx(by_hand)
    assert e.idle_usd == 0  # a function nobody calls costs nothing; the role never does
    # free: 1M requests, 400,000 GB-s, 5 GB of logs
    after = (1_000_000 * 0.2 / 1e6) + (gb_s - 400_000) * t["lambda.duration"].usd
    assert e.after_free_tier() == pytest.approx(after)
    assert e.so_far(dt.timedelta(hours=73)) == pytest.approx(by_hand / 10)


def test_twelve_month_free_tier_only_when_asked() -> None:
    e = estimate(load_spec(builtin_labs()["crud"]), Usage(requests=1000))  # within every allowance
    api = next(x for x in e.lines if x.price.key == "apigateway.rest_requests")
    assert api.usd == pytest.approx(1000 * 3.5 / 1e6)
    first_year = sum(x.usd for x in e.lines if x.price.term == "12 months")  # API Gateway and S3
    assert first_year > api.usd
    assert e.after_free_tier(twelve_months=True) == pytest.approx(e.after_free_tier() - first_year)


def test_idle_is_storage_only_for_crud_and_polling_for_messaging() -> None:
    crud = estimate(load_spec(builtin_labs()["crud"]))
    assert {x.price.service for x in crud.lines if x.idle} == {"DynamoDB", "S3"}
    assert crud.after_free_tier(idle=True) < 0.001  # S3's 5 GB are 12-month: the site's files remain
    messaging = estimate(load_spec(builtin_labs()["messaging"]))
    polls = [x for x in messaging.lines if x.idle and x.price.key == "sqs.requests"]
    assert [x.resource for x in polls] == ["consume-orders"]
    assert polls[0].quantity == pytest.approx(5 * SECONDS_PER_MONTH / 20)  # about 657,000 empty receives
    assert messaging.after_free_tier(idle=True) == 0  # within SQS's 1M free requests
    dlq = next(x for x in messaging.lines if x.resource == "dead-letters")
    assert dlq.quantity == 0


def test_site_files_are_priced_at_their_real_size() -> None:
    spec = load_spec(builtin_labs()["crud"])
    line = next(x for x in estimate(spec).lines if x.resource == "site-files" and x.idle)
    size = sum(p.stat().st_size for p in (spec.base_dir / "../handlers/crud/site").rglob("*") if p.is_file())
    assert line.quantity == pytest.approx(size / 1024**3)


def test_state_transitions_count_every_state_of_the_definition() -> None:
    spec = load_spec(builtin_labs()["workflow"])
    asl = json.loads((spec.base_dir / spec.resources["machine"].fields["definition"]).read_text())

    def count(machine: dict[str, object]) -> int:
        states = machine["States"]
        assert isinstance(states, dict)
        return sum(1 + sum(count(b) for b in s.get("Branches", [])) for s in states.values())

    line = next(x for x in estimate(spec, Usage(requests=1000)).lines if x.price.key == "states.transitions")
    assert line.quantity == 1000 * count(asl)


def test_schedules_cost_even_idle(tmp_path: Path) -> None:
    spec = load_spec(
        write_lab(
            tmp_path,
            """
        role: {type: iam.role, service: lambda}
        fn: {type: lambda.function, code: code, role: "${role.arn}"}
        tick:
          type: events.rule
          schedule: rate(1 minute)
          targets: [{arn: "${fn.arn}"}]
    """,
        )
    )
    e = estimate(spec, Usage(requests=0))
    invoked = [x for x in e.lines if x.idle and x.price.key == "lambda.requests"]
    assert [x.quantity for x in invoked] == [pytest.approx(43_800)]  # 730 hours of minutes
    assert e.idle_usd > 0 and e.idle_usd == e.monthly_usd


def test_firings_per_month() -> None:
    assert firings_per_month("rate(5 minutes)") == pytest.approx(8760)
    assert firings_per_month("rate(1 day)") == pytest.approx(730 / 24)
    weekdays_2026 = 261
    assert firings_per_month("cron(0 9 ? * MON-FRI *)") == pytest.approx(weekdays_2026 * 730 / 8760)
    assert firings_per_month("at(2030-01-01T00:00:00)") == 1
    assert firings_per_month("${x.expression}") == 0


def test_every_built_in_lab_is_priced_whole() -> None:
    for name, path in builtin_labs().items():
        e = estimate(load_spec(path))
        assert not e.unpriced, name
        assert {x.kind for x in e.lines} <= set(PRICERS), name
        data = e.to_dict()
        assert data["monthly_usd"] == round(e.monthly_usd, 4) and data["prices_as_of"] == table().as_of


def test_a_kind_without_a_price_is_named() -> None:
    import dataclasses

    spec = load_spec(builtin_labs()["crud"])
    items = spec.resources["items"]
    spec.resources["items"] = dataclasses.replace(items, kind="brand.new_kind")
    e = estimate(spec)
    assert e.unpriced == ("items (brand.new_kind)",)
    assert "items" not in {x.resource for x in e.lines}

"""examples/scheduled-job.yaml on the local cloud, through the real CLI: `up`, its checks (the
schedule really ran the job), `status`, `teardown`, and then no rule, schedule, schedule group or
anything else of it is left."""

from __future__ import annotations

import boto3
import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "scheduled-job.yaml")


def test_scheduled_job_example(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", SPEC, "--yes")
    report = cli("check", SPEC, "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr
    results = report.json()["results"]
    assert len(results) == 3 and all(r["passed"] for r in results), results

    status = cli("status", "scheduled-job", "--output", "json", check=False)
    assert status.code == 0, status.stdout + status.stderr

    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    session = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    )
    events = session.client("events", endpoint_url=endpoint)
    scheduler = session.client("scheduler", endpoint_url=endpoint)
    assert events.list_rules()["Rules"] == []
    assert scheduler.list_schedules()["Schedules"] == []
    assert [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]] == ["default"]

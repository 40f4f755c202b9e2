"""examples/scheduled-job.yaml on the local cloud, through the real CLI: `up`, its checks (the
schedule really ran the job), `status`, `teardown`, and then no rule, schedule, schedule group or
anything else of it is left."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.examples import local_client, status_then_teardown, up_and_check

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "scheduled-job.yaml")


def test_scheduled_job_example(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, SPEC, 3)

    endpoint = status_then_teardown(cli, "scheduled-job")
    events, scheduler = local_client(endpoint, "events"), local_client(endpoint, "scheduler")
    assert events.list_rules()["Rules"] == []
    assert scheduler.list_schedules()["Schedules"] == []
    assert [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]] == ["default"]

"""`awslab up LAB --ttl` on the local cloud, through the real CLI: the reaper's schedule really
fires (the local cloud's Scheduler clock), its Lambda deletes every resource of the lab and then
itself, and afterwards `status` finds every resource missing, `teardown --sweep` finds nothing,
and no resource of any service is left; `teardown` then forgets the lab. And the TTL's life in
between: `status` shows the time left, `up` without --ttl keeps it, a new --ttl moves the
schedule, --ttl off removes the reaper."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
REAPER = {"reaper", "reaper-role", "reaper-invoke-role", "reaper-schedule"}


def poll(what: str, probe: Any, timeout: float = 90.0) -> Any:
    """`probe()` until it returns something true; a generous deadline, no fixed sleeps."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def schedule_of(endpoint: str) -> dict[str, Any]:
    scheduler = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    ).client("scheduler", endpoint_url=endpoint)
    for group in scheduler.list_schedule_groups()["ScheduleGroups"]:
        for s in scheduler.list_schedules(GroupName=group["Name"])["Schedules"]:
            if "-reaper-schedule-" in s["Name"]:
                return dict(scheduler.get_schedule(Name=s["Name"], GroupName=group["Name"]))
    return {}


def test_a_ttl_moves_stays_and_goes(local_cli: Cli) -> None:
    cli = local_cli
    bad = cli("up", "workflow", "--ttl", "4x", "--yes", check=False)
    assert bad.code == 2 and "error: --ttl '4x' is not a duration" in bad.stderr
    assert "Traceback" not in bad.stderr and "Started the local cloud" not in bad.stderr
    up = cli("up", "workflow", "--ttl", "2h", "--yes")
    assert "TTL 2h: the lab expires in 1h 59m" in up.stderr or "TTL 2h: the lab expires in 2h" in up.stderr
    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    first = schedule_of(endpoint)
    assert first["ScheduleExpression"].startswith("at(") and first["ActionAfterCompletion"] == "DELETE"

    status = cli("status", "workflow", "--output", "json").json()["labs"]["workflow"]
    assert status["ttl"]["ttl"] == "2h" and status["ttl"]["state"] == "running"
    assert 7000 < status["ttl"]["seconds_left"] <= 7201
    assert {r["logical"] for r in status["resources"]} >= REAPER
    text = " ".join(cli("status", "workflow").stdout.split())  # in the lab's own line
    assert "Lab 'workflow' (stack " in text and "; TTL 2h, expires in 1h 59m" in text

    kept = cli("up", "workflow", "--yes")
    assert "Keeping the TTL set before" in kept.stderr
    assert schedule_of(endpoint)["ScheduleExpression"] == first["ScheduleExpression"]
    assert cli("plan", "workflow", "--output", "json").json()["counts"]["delete"] == 0

    cli("up", "workflow", "--ttl", "30m", "--yes")
    assert schedule_of(endpoint)["ScheduleExpression"] < first["ScheduleExpression"]  # moved earlier

    off = cli("up", "workflow", "--ttl", "off", "--yes")
    assert "TTL removed" in off.stderr and schedule_of(endpoint) == {}
    status = cli("status", "workflow", "--output", "json").json()["labs"]["workflow"]
    assert "ttl" not in status and not REAPER & {r["logical"] for r in status["resources"]}

    cli("up", "workflow", "--ttl", "1h", "--yes")  # teardown takes the reaper with the lab
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {} and schedule_of(endpoint) == {}


def bring_forward(endpoint: str, state_file: Path) -> None:
    """The lab's TTL to expire in two seconds, in its schedule and in its state: a short --ttl would
    have to outlast `up` itself (a schedule made after its time never fires), on a loaded machine too."""
    scheduler = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    ).client("scheduler", endpoint_url=endpoint)
    s = schedule_of(endpoint)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).replace(microsecond=0)
    scheduler.update_schedule(
        Name=s["Name"], GroupName=s["GroupName"], ScheduleExpression=f"at({soon:%Y-%m-%dT%H:%M:%S})",
        ScheduleExpressionTimezone="UTC", FlexibleTimeWindow=s["FlexibleTimeWindow"], Target=s["Target"],
        ActionAfterCompletion="DELETE", State=s["State"],
    )  # fmt: skip
    state = json.loads(state_file.read_text())
    state["labs"]["messaging"]["ttl"]["expires_at"] = f"{soon:%Y-%m-%dT%H:%M:%SZ}"
    state_file.write_text(json.dumps(state))


def test_the_reaper_fires_and_leaves_nothing(local_cli: Cli, home: Path) -> None:
    cli = local_cli
    cli("up", "messaging", "--ttl", "1h", "--yes")
    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    bring_forward(endpoint, next((home / "state" / "state").glob("local-*.json")))

    # waited for through boto (a `status` process each time costs a second of CPU): nothing of any
    # service is left, the reaper's own function and log group included, but for what AWS leaves:
    # its role, stripped of its policy (a role cannot delete itself; awslab/reaper/app.py)
    remains: dict[str, list[str]] = {}

    def only_its_role_left() -> bool:
        remains.clear()
        remains.update(inventory(endpoint))
        return set(remains) == {"roles"} and len(remains["roles"]) == 1

    poll("the reaper to delete the lab and itself", only_its_role_left)
    [role] = remains["roles"]
    assert role.startswith("awslab-messaging-reaper-role-"), remains
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    lab = cli("status", "messaging", "--output", "json", check=False).json()["labs"]["messaging"]
    assert lab["ttl"]["state"] == "reaped"
    assert {r["status"] for r in lab["resources"] if r["logical"] != "reaper-role"} == {"missing"}
    text = cli("status", "messaging", check=False).stdout
    assert "its reaper deleted the lab but its own role" in " ".join(text.split())
    sweep = cli("teardown", "--sweep", "--dry-run", "--output", "json", check=False)
    assert sweep.code == 0, sweep.stdout + sweep.stderr
    assert sweep.json()["sweep"] == [] and sweep.json()["dry_run"], sweep.stdout
    assert cli("teardown", "messaging", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    assert cli("status", "--output", "json").json()["labs"] == {}

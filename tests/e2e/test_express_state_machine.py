"""An EXPRESS state machine with logging on the local cloud, through the CLI: the spec names the
kind with `kind:` so that `type: EXPRESS` is the machine's; `up` makes it and its log group, the
check and `start-execution` run it, `status` finds no drift, `teardown` leaves nothing (the log
group included)."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
LAB = Path(__file__).parent / "express"


def test_express_state_machine(local_cli: Cli, tmp_path: Path) -> None:
    cli = local_cli
    lab = tmp_path / "express"
    shutil.copytree(LAB, lab)
    cli("up", str(lab / "express.yaml"), "--yes")
    report = cli("check", str(lab / "express.yaml"), "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr

    run = cli("start-execution", "--input", '{"n": 7}', "--output", "json").json()
    assert run["status"] == "SUCCEEDED" and run["output"] == {"n": 7, "done": True}

    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    client = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "awslab",
              "aws_secret_access_key": "awslab-local"}  # fmt: skip
    sfn, logs = boto3.client("stepfunctions", **client), boto3.client("logs", **client)
    (machine,) = sfn.list_state_machines()["stateMachines"]
    assert machine["type"] == "EXPRESS"
    group = f"/aws/vendedlogs/states/{machine['name']}"
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [
        group
    ]
    status = cli("status", "express", "--output", "json", check=False)
    assert status.code == 0, status.stdout + status.stderr

    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/vendedlogs/")["logGroups"] == []

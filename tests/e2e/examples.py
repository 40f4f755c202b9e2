"""What every test of an example spec (examples/*.yaml) does around its own part, through the
real CLI on the local cloud: `up` and the spec's checks first; `status`, `teardown` and "nothing of
it is left" last."""

from __future__ import annotations

from typing import Any

import boto3

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory


def up_and_check(cli: Cli, spec: str, checks: int) -> None:
    """`up`, then `check`: every one of the spec's `checks` checks passes."""
    cli("up", spec, "--yes")
    report = cli("check", spec, "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr
    results = report.json()["results"]
    assert len(results) == checks and all(r["passed"] for r in results), results


def status_then_teardown(cli: Cli, lab: str) -> str:
    """`status` answers; `teardown` leaves nothing of any service awslab uses. The endpoint, for
    the test's own look at what the inventory does not cover."""
    status = cli("status", lab, "--output", "json", check=False)
    assert status.code == 0, status.stdout + status.stderr
    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    return endpoint


def local_client(endpoint: str, service: str) -> Any:
    """A client of the local cloud, with the credentials it accepts."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="awslab",
        aws_secret_access_key="awslab-local",
    )

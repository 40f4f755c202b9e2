"""Every built-in lab converges on the local cloud in its AWS-like mode (issue 8, item 5): IAM
propagation windows, functions Pending, tables CREATING, API Gateway's control-plane quotas, log
groups made by invokes and left by DeleteFunction. Through the real CLI, with the mode's delays
scaled down: one `up` per lab succeeds without being run again, `check` passes, a second `up`
changes nothing, and `teardown` leaves nothing (log groups included)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
LABS = ("crud", "upload", "image", "messaging", "workflow")
SCALE = "0.1"  # IAM propagation 0.8 s, Pending 0.3 s, CREATING 0.5 s, DeleteRestApi 1 per 3 s


def test_every_lab_converges_in_the_aws_like_mode(local_cli: Cli) -> None:
    cli = local_cli
    cli.env.update(AWSLAB_LIKE_AWS="1", AWSLAB_LIKE_AWS_SCALE=SCALE)
    cli("local", "start", "--like-aws")
    status = cli("local", "status", "--output", "json").json()
    assert status["like_aws"] and status["like_aws"]["scale"] == float(SCALE), status
    endpoint = str(status["endpoint"])

    for lab in LABS:
        first = cli("up", lab, "--yes", "--output", "json").json()
        assert first["counts"]["create"] > 0 and first["counts"]["keep"] == 0, (lab, first)
        report = cli("check", lab, "--output", "json", check=False)
        assert report.code == 0, report.stdout + report.stderr
        results = report.json()["results"]
        assert results and all(r["passed"] for r in results), (lab, results)
        again = cli("up", lab, "--yes", "--output", "json").json()
        changed = {action: n for action, n in again["counts"].items() if action != "keep" and n}
        assert changed == {}, (lab, again)

    # the checks invoked every lab's functions: their log groups are there until teardown
    groups = inventory(endpoint).get("log_groups", [])
    assert groups and all(g.startswith("/aws/lambda/awslab-") for g in groups), groups
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}

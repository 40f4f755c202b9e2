"""`awslab local start --like-aws` and AWSLAB_LIKE_AWS as a user types them: the mode reaches the
server, `status` shows it, and a local cloud running in another mode is never silently reused."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def test_the_mode_from_the_flag_and_from_the_environment(local_cli: Cli) -> None:
    cli = local_cli
    cli.env["AWSLAB_LIKE_AWS_SCALE"] = "0.1"
    cli.env["AWSLAB_LIKE_AWS_IAM_SECONDS"] = "20"
    started = cli("local", "start", "--like-aws", "--output", "json").json()
    assert started["started"] is True
    assert started["like_aws"]["scale"] == 0.1 and started["like_aws"]["seconds"]["iam"] == 2.0
    assert "AWS-like mode: on (scale 0.1, " in cli("local", "status").stdout
    # the same mode asked through the environment reuses it; asking for nothing reuses it too
    cli.env["AWSLAB_LIKE_AWS"] = "1"
    assert cli("local", "start", "--output", "json").json()["started"] is False
    del cli.env["AWSLAB_LIKE_AWS"]
    assert cli("local", "start", "--output", "json").json()["started"] is False
    cli("local", "stop")

    cli("local", "start")  # without the mode
    assert "AWS-like mode: off" in cli("local", "status").stdout
    assert cli("local", "status", "--output", "json").json()["like_aws"] is None
    for asked in (("local", "start", "--like-aws"), ("up", "crud", "--yes")):
        cli.env["AWSLAB_LIKE_AWS"] = "1" if asked[0] == "up" else "0"
        refused = cli(*asked, check=False)
        assert refused.code == 1, refused
        assert "runs without the AWS-like mode" in refused.stderr and "awslab local stop" in refused.stderr
        assert "Traceback" not in refused.stderr

    cli.env["AWSLAB_LIKE_AWS"] = "sometimes"
    bad = cli("local", "start", check=False)
    assert bad.code == 2 and "AWSLAB_LIKE_AWS='sometimes' is neither 1 nor 0" in bad.stderr

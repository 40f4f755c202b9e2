"""The `aws` target, on moto's in-process mock: chosen only by name, it shows the account and
region and never changes anything without confirmation."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from awslab.cli.main import app


@pytest.fixture
def runner(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def test_up_on_aws_asks_first_and_changes_nothing_unconfirmed(runner: CliRunner) -> None:
    result = runner.invoke(app, ["up", "crud", "--target", "aws"])
    assert result.exit_code == 2, result.output
    assert "AWS account 123456789012 in us-east-1" in result.output
    assert "--yes" in result.output
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []


def test_up_and_teardown_on_aws_with_yes(runner: CliRunner, tmp_path: Path) -> None:
    up = runner.invoke(app, ["up", "crud", "--target", "aws", "--yes"])
    assert up.exit_code == 0, up.output
    assert "execute-api.us-east-1.amazonaws.com/dev" in up.output  # the real API URL form
    assert len(boto3.client("lambda").list_functions()["Functions"]) == 1
    assert (tmp_path / "state" / "state" / "aws-123456789012-us-east-1.json").is_file()
    down = runner.invoke(app, ["teardown", "--target", "aws", "--yes"])
    assert down.exit_code == 0, down.output
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_the_default_target_is_never_aws(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the environment do not make awslab use an account: local stays the default."""
    from awslab.target import Target

    assert Target.select().kind == "local"
    monkeypatch.setenv("AWSLAB_TARGET", "aws")
    assert Target.select().kind == "aws"

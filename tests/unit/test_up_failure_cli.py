"""`awslab up` when a resource fails with dependents several levels deep (issue 7, item 3): the
command names the failed resource, AWS's error, what was not attempted because of it and how to
go on, in one clear error (no traceback, no "looks like a bug"). On moto's in-process mock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from awslab.cli.main import app
from awslab.resources.iam import Role


@pytest.fixture
def runner(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def test_up_names_the_failure_what_it_held_back_and_how_to_go_on(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: Role) -> dict[str, Any]:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDenied",
                    "Message": "User: arn:aws:iam::123456789012:user/lab is not authorized to perform: "
                    "iam:CreateRole",
                }
            },
            "CreateRole",
        )

    # crud: role <- items-fn, the one resource behind the role (nothing waits for the table: the
    # role and the function name it, by ARN and name, known from its name; nor does the API, which
    # names the function by its ARN: only its invoke permission waits, in a step of its own)
    monkeypatch.setattr(Role, "create", denied)
    result = runner.invoke(app, ["up", "crud", "--target", "aws", "--yes"])
    assert result.exit_code == 1, result.output
    text = result.output
    assert "looks like a bug" not in text and "cycle" not in text and "Traceback" not in text
    lines = text.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("error: "))
    assert lines[error : error + 3] == [
        "error: up of lab 'crud' stopped: 1 resource failed, 1 not attempted",
        "  iam.role 'role' failed while creating: AccessDenied: User: "
        "arn:aws:iam::123456789012:user/lab is not authorized to perform: iam:CreateRole",
        "    not attempted because of it: items-fn",
    ]
    assert lines[error + 3].startswith("hint: fix the cause, then 'awslab up crud' resumes")
    assert "'awslab teardown crud' removes what was made" in text
    # what did not depend on the role was made, and teardown removes it
    assert len(boto3.client("s3").list_buckets()["Buckets"]) == 1
    down = runner.invoke(app, ["teardown", "crud", "--target", "aws", "--yes"])
    assert down.exit_code == 0, down.output
    assert boto3.client("s3").list_buckets()["Buckets"] == []

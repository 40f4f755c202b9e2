"""`awslab labs` shows where each lab is deployed, from every state file on this machine (the
default ones and the registered `--state` files), without starting a local cloud or calling
AWS; a lab whose local cloud stopped or restarted since is marked gone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from awslab import paths, state_files
from awslab.cli.main import app
from awslab.local.daemon import LocalCloud, LocalStatus
from awslab.resources.base import Record
from awslab.state import StateStore

PORT = 4999
LOCAL = {"kind": "local", "region": "us-east-1", "endpoint_url": f"http://127.0.0.1:{PORT}"}
AWS = {"kind": "aws", "region": "us-east-1", "account_id": "123456789012"}
ENDPOINT = {"kind": "endpoint", "region": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000"}
INSTANCE = {"pid": 4242, "started_at": "2025-01-01T10:00:00.000Z"}


def deploy(path: Path, target: dict[str, str], lab: str, *, instance: dict[str, Any] | None = None) -> None:
    store = StateStore(path, dict(target), local_cloud=instance)
    store.ensure_lab(lab, f"/specs/{lab}.yaml")
    store.put_record(lab, Record("sqs.queue", "q", f"awslab-{lab}-q-abc123", status="created"))


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))

    def forbidden(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("'awslab labs' must not start anything or call AWS")

    monkeypatch.setattr(LocalCloud, "ensure_running", forbidden)
    monkeypatch.setattr("boto3.Session", forbidden)
    monkeypatch.setattr("boto3.client", forbidden)
    return CliRunner()


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    deploy(paths.state_file(f"local-{PORT}"), LOCAL, "crud", instance=INSTANCE)
    deploy(paths.state_file("aws-123456789012-us-east-1"), AWS, "workflow")
    other = tmp_path / "mine" / "other.json"
    deploy(other, ENDPOINT, "crud")
    state_files.register(other)
    deploy(other, ENDPOINT, "my-lab")  # a lab of the user's own spec
    StateStore(paths.state_file(f"local-{PORT}"), dict(LOCAL)).ensure_lab("upload", "")  # planned only
    return other


def labs_json(runner: CliRunner) -> dict[str, dict[str, Any]]:
    result = runner.invoke(app, ["labs", "--output", "json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.output)}


def test_the_deployed_column_says_where_each_lab_is(
    runner: CliRunner, deployed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = labs_json(runner)
    crud = {(d["where"], d["default_state"], d.get("gone")) for d in rows["crud"]["deployed"]}
    # nothing runs on the port: the local cloud that held crud has stopped since
    assert crud == {(f"local:{PORT}", True, True), ("http://127.0.0.1:5000 eu-west-1", False, None)}
    assert [d["where"] for d in rows["workflow"]["deployed"]] == ["aws 123456789012 us-east-1"]
    assert rows["upload"]["deployed"] == []  # planned, nothing created
    assert rows["image"]["deployed"] == [] and rows["messaging"]["deployed"] == []
    assert rows["my-lab"]["path"] == "/specs/my-lab.yaml"
    assert [d["state_file"] for d in rows["my-lab"]["deployed"]] == [str(deployed.resolve())]

    from awslab.cli import common

    # the console's width was fixed when it was made (by whichever test used it first)
    width = common.out.width
    common.out.width = 250
    try:
        text = runner.invoke(app, ["labs"])
    finally:
        common.out.width = width
    assert text.exit_code == 0, text.output
    line = next(ln for ln in text.output.splitlines() if "│ crud" in ln)
    assert f"local:{PORT} (gone)" in line
    assert "aws 123456789012 us-east-1" in next(ln for ln in text.output.splitlines() if "│ workflow" in ln)
    assert "http://127.0.0.1:5000 eu-west-1 (other.json)" in text.output


def test_a_lab_in_the_running_local_cloud_is_not_gone(
    runner: CliRunner, deployed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def running(self: LocalCloud) -> LocalStatus:
        return LocalStatus(
            self.endpoint, INSTANCE["pid"], self.port, INSTANCE["started_at"], 1.0, Path("log")
        )

    monkeypatch.setattr(LocalCloud, "status", running)
    local = next(d for d in labs_json(runner)["crud"]["deployed"] if d["where"] == f"local:{PORT}")
    assert local["gone"] is False


def test_an_unreadable_state_file_is_a_warning_not_a_failure(runner: CliRunner, deployed: Path) -> None:
    deployed.write_text("{")
    result = runner.invoke(app, ["labs"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "other.json is unreadable" in result.output

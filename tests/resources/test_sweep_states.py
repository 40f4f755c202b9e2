"""`teardown --sweep` through the CLI on moto's in-process mock (the aws target): it spares what
any state file on this machine records, not only the current one; `--dry-run` only lists; it
never deletes unconfirmed."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from awslab.cli.main import app

AWS = ["--target", "aws"]


@pytest.fixture
def runner(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def functions() -> set[str]:
    return {f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]}


def tables() -> set[str]:
    return set(boto3.client("dynamodb").list_tables()["TableNames"])


def stack_of(state: Path, lab: str) -> str:
    return str(json.loads(state.read_text())["labs"][lab]["stack_id"])


@pytest.fixture
def two_states(runner: CliRunner, tmp_path: Path) -> tuple[Path, str, str]:
    """crud deployed twice: with --state other.json, and in the default state, whose record of
    it is then lost. Returns (other.json, its stack, the lost stack)."""
    other = tmp_path / "elsewhere" / "other.json"
    ok(runner, "up", "crud", *AWS, "--yes", "--state", str(other))
    ok(runner, "up", "crud", *AWS, "--yes")
    default = tmp_path / "state" / "state" / "aws-123456789012-us-east-1.json"
    lost = stack_of(default, "crud")
    doc = json.loads(default.read_text())
    del doc["labs"]["crud"]
    default.write_text(json.dumps(doc))
    assert functions() == {f"awslab-crud-items-fn-{s}" for s in (stack_of(other, "crud"), lost)}
    return other, stack_of(other, "crud"), lost


def test_sweep_spares_a_stack_another_state_file_records(
    runner: CliRunner, two_states: tuple[Path, str, str]
) -> None:
    other, kept, lost = two_states
    out = ok(runner, "teardown", "--sweep", *AWS, "--yes", "--output", "json")
    swept = json.loads(out)["swept"]
    assert swept["failed"] == {} and swept["deleted"]
    assert all(name.endswith(lost) for name in swept["deleted"])
    assert functions() == {f"awslab-crud-items-fn-{kept}"}
    assert tables() == {f"awslab-crud-items-{kept}"}
    # other.json's lab is still whole: status from it finds every resource
    status = runner.invoke(app, ["status", *AWS, "--state", str(other), "--output", "json"])
    assert status.exit_code == 0, status.output
    assert {r["status"] for r in json.loads(status.output)["labs"]["crud"]["resources"]} == {"present"}


def test_a_stack_of_another_state_is_spared_even_where_its_records_lag(
    runner: CliRunner, two_states: tuple[Path, str, str]
) -> None:
    """A resource being created by an `up --state other.json` right now is not recorded yet:
    the stack is other.json's, so the resource is too."""
    other, kept, _ = two_states
    doc = json.loads(other.read_text())
    del doc["labs"]["crud"]["resources"]["items"]  # the table's record not written yet
    other.write_text(json.dumps(doc))
    ok(runner, "teardown", "--sweep", *AWS, "--yes")
    assert tables() == {f"awslab-crud-items-{kept}"}


def test_dry_run_lists_and_deletes_nothing(runner: CliRunner, two_states: tuple[Path, str, str]) -> None:
    other, _, lost = two_states
    before = (functions(), tables())
    result = runner.invoke(app, ["teardown", "--sweep", "--dry-run", *AWS, "--output", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["dry_run"] is True
    assert {o["stack_id"] for o in listed["sweep"]} == {lost}
    assert f"awslab-crud-items-fn-{lost}" in {o["physical"] for o in listed["sweep"]}
    assert str(other.resolve()) in listed["state_files"]
    text = runner.invoke(app, ["teardown", "--sweep", "--dry-run", *AWS])
    assert text.exit_code == 0, text.output
    assert "Not recorded in any of the 2 state files on this machine for this target:" in text.output
    assert f"lambda.function awslab-crud-items-fn-{lost}" in text.output
    assert "Dry run: nothing was deleted." in text.output
    assert (functions(), tables()) == before


def test_sweep_without_yes_and_no_terminal_refuses(
    runner: CliRunner, two_states: tuple[Path, str, str]
) -> None:
    before = (functions(), tables())
    result = runner.invoke(app, ["teardown", "--sweep", *AWS])
    assert result.exit_code == 2, result.output
    assert (
        "error: not confirmed: Delete all this from AWS account 123456789012 in us-east-1?" in result.output
    )
    assert (functions(), tables()) == before


def test_an_unreadable_state_file_stops_the_sweep(
    runner: CliRunner, two_states: tuple[Path, str, str]
) -> None:
    other, _, _ = two_states
    other.write_text("{")
    before = (functions(), tables())
    result = runner.invoke(app, ["teardown", "--sweep", *AWS, "--yes"])
    assert result.exit_code == 1, result.output
    assert f"state file {other.resolve()} is unreadable" in result.output
    assert (functions(), tables()) == before

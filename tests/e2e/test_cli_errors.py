"""Errors a user can cause: one clear line with what to do, the right exit code, no traceback
(unless --debug)."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.conftest import Cli, clean_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli(home):  # type: ignore[no-untyped-def]
    return Cli(clean_env(home), home)


def assert_one_clear_error(result, code: int, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_the_aws_target_without_credentials(cli: Cli) -> None:
    result = cli("plan", "crud", "--target", "aws", check=False)
    assert_one_clear_error(result, 1, "no AWS credentials found", "hint:")


def test_an_unknown_profile(cli: Cli) -> None:
    result = cli("up", "crud", "--target", "aws", "--profile", "nope", "--yes", check=False)
    assert_one_clear_error(result, 1, "AWS profile 'nope' (from --profile) not found")


def test_an_unknown_profile_from_the_environment_is_named(cli: Cli) -> None:
    cli.env["AWS_PROFILE"] = "nope"
    result = cli("status", "--target", "aws", check=False)
    assert_one_clear_error(result, 1, "AWS profile 'nope' (from AWS_PROFILE) not found", "unset AWS_PROFILE")


def test_an_unreachable_sts_fails_at_once_in_one_line(cli: Cli) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli.env.update(
        AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y"
    )
    result = cli("status", "--target", "aws", check=False, timeout=60)
    assert_one_clear_error(
        result, 1, "cannot check the AWS credentials (STS): Could not connect to the endpoint URL"
    )
    assert len(result.stderr.splitlines()) == 2  # the error and its hint
    assert "RecursionError" not in result.stderr


def test_region_on_the_local_cloud_is_an_error(local_cli: Cli) -> None:
    result = local_cli("up", "crud", "--region", "eu-west-1", check=False)
    assert_one_clear_error(result, 2, "--region does not apply to the local cloud", "add --target aws")


def test_the_aws_target_refuses_an_endpoint_from_the_environment(cli: Cli) -> None:
    cli.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
    result = cli("plan", "crud", "--target", "aws", check=False)
    assert_one_clear_error(result, 2, "AWS_ENDPOINT_URL is set", "--target endpoint")


def test_an_unknown_lab_suggests_the_right_one(cli: Cli) -> None:
    result = cli("up", "crdu", check=False)
    assert_one_clear_error(result, 2, "unknown lab 'crdu'", "did you mean 'crud'")


def test_a_broken_spec_names_file_and_line(cli: Cli) -> None:
    (cli.home / "lab.yaml").write_text(
        "name: x\nresources:\n  t: {type: dynamodb.table, key: {id: S}, colour: red}\n"
    )
    result = cli("up", "./lab.yaml", check=False)
    assert_one_clear_error(result, 2, "lab.yaml:3: resources.t.colour: unknown field for dynamodb.table")


def test_the_local_cloud_port_taken_by_another_program(cli: Cli) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        cli.env["AWSLAB_LOCAL_PORT"] = str(port)
        result = cli("up", "crud", "--yes", check=False)
    assert_one_clear_error(result, 1, f"port {port} is in use", "--port")


def test_debug_shows_the_traceback(cli: Cli) -> None:
    result = cli("plan", "crud", "--target", "aws", "--debug", check=False)
    assert result.code != 0
    assert "Traceback" in result.stderr


def test_a_bad_option_value_is_exit_2(cli: Cli) -> None:
    result = cli("plan", "crud", "--output", "yaml", check=False)
    assert_one_clear_error(result, 2, "--output must be text or json")

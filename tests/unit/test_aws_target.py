"""The `aws` target, on moto's in-process mock: chosen only by name, it shows the account and
region and never changes anything without confirmation."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.config
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


# ---- the target is never ambiguous (issue 7, item 8) ---------------------------------------
@pytest.mark.parametrize(
    ("args", "option", "fix"),
    [
        (["--profile", "dev"], "--profile", "--target aws"),
        (["--region", "eu-west-1"], "--region", "--target aws"),
        (["--target", "local", "--region", "eu-west-1"], "--region", "--target aws"),
        (
            ["--endpoint-url", "http://127.0.0.1:1", "--target", "local"],
            "--endpoint-url",
            "--target endpoint",
        ),
    ],
)
def test_options_of_another_target_are_an_error_on_the_local_cloud(
    runner: CliRunner, args: list[str], option: str, fix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from awslab.local.daemon import LocalCloud

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("the options were ignored: a local cloud was to be started")

    monkeypatch.setattr(LocalCloud, "ensure_running", never)
    result = runner.invoke(app, ["status", *args])
    assert result.exit_code == 2, result.output
    assert f"error: {option} does not apply to the local cloud" in result.output
    assert f"add {fix}" in result.output


def test_region_and_profile_are_kept_on_the_endpoint_target(tmp_path: Path) -> None:
    from awslab.target import Target

    t = Target.select("endpoint", endpoint_url="http://127.0.0.1:1", region="eu-west-1", profile="dev")
    assert (t.kind, t.region, t.profile) == ("endpoint", "eu-west-1", "dev")


@pytest.mark.parametrize("how", ["--target", "AWSLAB_TARGET"])
def test_the_aws_target_with_an_endpoint_in_the_environment_is_an_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    if how == "AWSLAB_TARGET":
        monkeypatch.setenv("AWSLAB_TARGET", "aws")
    result = runner.invoke(app, ["status", *(["--target", "aws"] if how == "--target" else [])])
    assert result.exit_code == 2, result.output
    asked = "--target aws" if how == "--target" else "AWSLAB_TARGET=aws"
    assert (
        f"error: {asked} asks for a real AWS account, but AWS_ENDPOINT_URL is set (http://127.0.0.1:4566)"
        in result.output
    )
    assert "--target endpoint" in result.output
    # without a target named, the variable still means the endpoint target
    monkeypatch.delenv("AWSLAB_TARGET", raising=False)
    from awslab.target import Target

    assert Target.select().kind == "endpoint"


@pytest.mark.parametrize(
    ("env", "args", "source"),
    [
        ({"AWS_PROFILE": "nope"}, [], "AWS_PROFILE"),
        ({"AWS_DEFAULT_PROFILE": "nope"}, [], "AWS_DEFAULT_PROFILE"),
        ({"AWS_PROFILE": "other"}, ["--profile", "nope"], "--profile"),
    ],
)
def test_an_unknown_profile_is_named_with_where_it_came_from(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str], source: str
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for with_region in (True, False):  # the region comes from the profile when none is given
        if not with_region:
            monkeypatch.delenv("AWS_REGION")
            monkeypatch.delenv("AWS_DEFAULT_REGION")
        result = runner.invoke(app, ["status", "--target", "aws", *args])
        assert result.exit_code == 1, result.output
        assert f"error: AWS profile 'nope' (from {source}) not found in " in result.output
        assert "'None'" not in result.output


class _Server:
    """A TCP server on 127.0.0.1 that counts connections and either closes each at once or
    holds it open without ever answering (a black hole)."""

    def __init__(self, answer: str) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.held: list[socket.socket] = []
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.answer == "close":
                conn.close()
            else:
                self.held.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes the accept() of the serving thread
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for c in self.held:
            c.close()
        self.thread.join(timeout=5)


@pytest.fixture
def sts_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    server = _Server(request.param)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{server.port}")
    yield server
    server.close()


@pytest.mark.parametrize("sts_server", ["close"], indirect=True)
def test_sts_closing_every_connection_fails_after_two_attempts(sts_server: _Server) -> None:
    """Today: eight attempts, then the error message asks STS again (describe() needs the
    account), recursing until Python gives up."""
    from awslab.errors import TargetError
    from awslab.target import STS_IDENTITY_ATTEMPTS, Target

    target = Target.select("aws")
    with pytest.raises(TargetError) as e:
        _ = target.account_id
    assert sts_server.connections == STS_IDENTITY_ATTEMPTS == 2
    assert len(str(e.value).splitlines()) == 1
    assert f"127.0.0.1:{sts_server.port}" in str(e.value) and "(2 attempts)" in str(e.value)


@pytest.mark.parametrize("sts_server", ["hold"], indirect=True)
def test_a_silent_sts_is_asked_twice_within_the_read_timeout(
    sts_server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A black hole: each attempt waits the STS read timeout (5 s; shortened here), twice."""
    import awslab.target as target_module
    from awslab.errors import TargetError
    from awslab.target import Target

    assert (target_module._STS_CONFIG.connect_timeout, target_module._STS_CONFIG.read_timeout) == (3, 5)
    monkeypatch.setattr(
        target_module,
        "_STS_CONFIG",
        target_module._STS_CONFIG.merge(botocore.config.Config(read_timeout=0.3)),
    )
    with pytest.raises(TargetError, match="Read timeout"):
        _ = Target.select("aws").account_id
    assert sts_server.connections == 2

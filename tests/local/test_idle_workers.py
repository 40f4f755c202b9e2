"""Idle Lambda workers are retired after a while, as AWS reclaims an idle execution environment:
AWSLAB_LAMBDA_IDLE_SECONDS sets how long (300 s by default) and the next invoke is a cold start."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from awslab.errors import LocalCloudError
from awslab.local.daemon import IDLE_ENV, LocalCloud, lambda_idle_seconds
from tests.local.conftest import RunningCloud, make_cloud
from tests.local.lambda_helpers import wait_for, zip_of


@pytest.fixture
def short_idle_cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningCloud]:
    monkeypatch.setenv(IDLE_ENV, "1")  # read by the command that starts the local cloud
    cloud = make_cloud(tmp_path / "state")
    try:
        yield RunningCloud(cloud, cloud.start(timeout=60))
    finally:
        cloud.stop()


def _workers(cloud: LocalCloud) -> int:
    status = cloud.status()
    assert status is not None
    return status.lambda_workers or 0


def test_an_idle_worker_is_retired_and_the_next_invoke_is_a_cold_start(
    short_idle_cloud: RunningCloud,
) -> None:
    cloud = short_idle_cloud.cloud
    assert short_idle_cloud.status.lambda_idle_seconds == 1.0
    iam, lam = short_idle_cloud.client("iam"), short_idle_cloud.client("lambda")
    role = iam.create_role(RoleName="idle-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="idle", Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return 'ok'\n"})})  # fmt: skip

    def invoke_log() -> str:
        resp = lam.invoke(FunctionName="idle", LogType="Tail")
        assert json.loads(resp["Payload"].read()) == "ok"
        return base64.b64decode(resp["LogResult"]).decode()

    assert "Init Duration" in invoke_log()  # the first invoke: a cold start
    assert _workers(cloud) == 1
    assert wait_for(lambda: _workers(cloud) == 0, timeout=30)  # retired once idle for a second
    assert "Init Duration" in invoke_log()  # a new execution environment


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_an_idle_timeout_that_is_not_a_positive_number_is_an_error(value: str) -> None:
    with pytest.raises(LocalCloudError) as err:
        lambda_idle_seconds({IDLE_ENV: value})
    assert IDLE_ENV in str(err.value) and err.value.hint


def test_the_idle_timeout_is_optional() -> None:
    assert lambda_idle_seconds({}) is None and lambda_idle_seconds({IDLE_ENV: " 90 "}) == 90.0

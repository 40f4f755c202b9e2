"""Fixtures of the Lambda executor tests, loaded with `pytest_plugins` by test_executor, test_deps
and test_sns_events: the executor installed into moto's in-process mock, and a function factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from awslab.local.executor import LambdaExecutor
from awslab.local.moto_patches import install, uninstall
from tests.local.lambda_helpers import ENDPOINT, process_gone, zip_of


@pytest.fixture
def lambda_executor(mocked_aws: None, tmp_path: Path) -> Iterator[LambdaExecutor]:
    """The executor installed into moto's in-process mock; every worker is gone afterwards."""
    ex = install(tmp_path / "work", ENDPOINT, deps_cache=tmp_path / "deps")
    try:
        yield ex
    finally:
        pids = [w.pid for w in ex.workers()]
        uninstall()
    assert all(process_gone(pid) for pid in pids), "a worker outlived the test"


@pytest.fixture
def lambda_role(mocked_aws: None) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    return str(iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"])


@pytest.fixture
def lambda_client(mocked_aws: None) -> Any:
    return boto3.client("lambda", region_name="us-east-1")


@pytest.fixture
def make_lambda(lambda_client: Any, lambda_role: str) -> Callable[..., str]:
    """create_function(name, code or {files}, **options) with Python 3.11 and handler app.handler."""

    def make(name: str, code: str | dict[str, str | bytes], **options: Any) -> str:
        files = {"app.py": code} if isinstance(code, str) else code
        options.setdefault("Handler", "app.handler")
        resp = lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=lambda_role,
            Code={"ZipFile": zip_of(files)},
            **options,
        )
        return str(resp["FunctionArn"])

    return make

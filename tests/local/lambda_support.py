"""Shared pieces of the Lambda executor tests: the executor on moto's in-process mock, zips of
handler code, a function factory, and process checks. Imported by test_executor, test_deps and
test_sns_events (fixtures are picked up by importing them)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from awslab.local.executor import LambdaExecutor, install, uninstall

ENDPOINT = "http://127.0.0.1:9"  # nothing listens there: handlers under test make no AWS calls


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buf.getvalue()


def process_gone(pid: int) -> bool:
    """True once `pid` no longer runs (a zombie waiting for init counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll `condition` until it holds or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(0.02)
    return True


@pytest.fixture
def executor(mocked_aws: None, tmp_path: Path) -> Iterator[LambdaExecutor]:
    """The executor installed into moto's in-process mock; every worker is gone afterwards."""
    ex = install(tmp_path / "work", ENDPOINT, deps_cache=tmp_path / "deps")
    try:
        yield ex
    finally:
        pids = [w.pid for w in ex.workers()]
        uninstall()
    assert all(process_gone(pid) for pid in pids), "a worker outlived the test"


@pytest.fixture
def role_arn(mocked_aws: None) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    return str(iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"])


@pytest.fixture
def lam(mocked_aws: None) -> Any:
    return boto3.client("lambda", region_name="us-east-1")


@pytest.fixture
def make_function(lam: Any, role_arn: str) -> Callable[..., str]:
    """create_function(name, code or {files}, **options) with Python 3.11 and handler app.handler."""

    def make(name: str, code: str | dict[str, str | bytes], **options: Any) -> str:
        files = {"app.py": code} if isinstance(code, str) else code
        options.setdefault("Handler", "app.handler")
        resp = lam.create_function(
            FunctionName=name, Runtime="python3.11", Role=role_arn, Code={"ZipFile": zip_of(files)}, **options
        )
        return str(resp["FunctionArn"])

    return make


def invoke(lam: Any, name: str, event: Any = None, **options: Any) -> tuple[Any, dict[str, Any]]:
    """Invoke and return (decoded payload, raw response)."""
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **options)
    body = resp["Payload"].read()
    return (json.loads(body) if body else None), resp

"""Shared fixtures. Tests never reach the internet or a real AWS account: every AWS variable
that could point at one is replaced before each test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_STATE_DIR: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """No test reads or writes the user's own awslab state (state files, the list of state files,
    local clouds' pid files and logs): each test process gets a state directory of its own, and
    tests that need one of their own still set AWSLAB_STATE_DIR themselves."""
    global _STATE_DIR
    _STATE_DIR = Path(tempfile.mkdtemp(prefix="awslab-test-state-"))
    os.environ["AWSLAB_STATE_DIR"] = str(_STATE_DIR)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STATE_DIR is not None:
        shutil.rmtree(_STATE_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWSLAB_TARGET",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path_factory.mktemp("awsconfig")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    """moto's in-process mock for the duration of a test."""
    from moto import mock_aws

    from awslab.local import moto_fidelity

    moto_fidelity.install()  # moto answers as AWS where awslab relies on it
    with mock_aws():
        yield


@pytest.fixture
def ctx(mocked_aws: None, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A resource Context on moto's in-process mock, lab 'test', stack 'abc123'; relative paths
    resolve against the repository root (so `handlers/crud` works)."""
    from awslab.resources.base import Context
    from awslab.target import Target

    target = Target(kind="aws", region="us-east-1")
    return Context(target=target, lab="test", stack_id="abc123", base_dir=REPO, resolved={})

"""Fixtures for the local cloud's tests: a real server process on a free port, with its state
directory in a temporary directory, always stopped at the end."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest

from awslab.local.daemon import LocalCloud, LocalStatus

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_RAW_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cloud(state_dir: Path) -> LocalCloud:
    """A LocalCloud on a free port whose files live under `state_dir`."""
    with mock.patch.dict(os.environ, {"AWSLAB_STATE_DIR": str(state_dir)}):
        return LocalCloud(free_port())


@dataclass
class HttpResult:
    status: int
    headers: Any
    body: bytes


def http(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResult:
    """One HTTP request, redirects not followed, errors returned rather than raised."""
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with _RAW_OPENER.open(req, timeout=30) as resp:
            return HttpResult(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as exc:
        return HttpResult(exc.code, exc.headers, exc.read())


@dataclass
class RunningCloud:
    cloud: LocalCloud
    status: LocalStatus

    @property
    def endpoint(self) -> str:
        return self.cloud.endpoint

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="awslab",
            aws_secret_access_key="awslab-local",
        )


@pytest.fixture(scope="package")
def running_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """One local cloud shared by this package's tests that only add uniquely named resources to it
    (stopped when the package's last test is done)."""
    cloud = make_cloud(tmp_path_factory.mktemp("shared-cloud"))
    status = cloud.start(timeout=60)
    try:
        yield RunningCloud(cloud, status)
    finally:
        cloud.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    import uuid

    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"

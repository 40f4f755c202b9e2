"""The local cloud's lifecycle: real server processes on free ports, state in tmp_path."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from awslab.errors import LocalCloudError
from awslab.local import daemon
from awslab.local.daemon import LocalCloud, LocalStatus
from awslab.local.processes import command_line, group_members
from awslab.local.server import EXIT_PORT_IN_USE
from awslab.local.urls import HEALTH_PATH
from tests.local.conftest import http, make_cloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    lc = make_cloud(tmp_path / "state")
    try:
        yield lc
    finally:
        lc.stop()


def test_start_status_reuse_reset_stop(cloud: LocalCloud) -> None:
    status, started = cloud.ensure_running()
    assert started is True
    assert isinstance(status, LocalStatus)
    assert status.endpoint == f"http://127.0.0.1:{cloud.port}" and status.port == cloud.port
    assert status.pid > 0 and status.uptime >= 0 and status.log_path.exists()
    assert status.ready is True  # started and booted: moto answers (awslab.local.boot)
    assert dt.datetime.fromisoformat(status.started_at.replace("Z", "+00:00")).tzinfo is not None
    if sys.platform.startswith("linux"):
        assert status.rss_mb is not None and status.rss_mb > 10
    assert cloud.pid_path.read_text().strip() == str(status.pid)
    json.dumps(status.to_dict())

    health = json.loads(http(cloud.endpoint + HEALTH_PATH).body)
    assert (
        health["service"] == "awslab-local" and health["pid"] == status.pid and health["port"] == cloud.port
    )
    assert health["started_at"] == status.started_at and health["moto_version"] == "5.2.5"

    again, started = cloud.ensure_running()
    assert started is False and again.pid == status.pid
    assert cloud.status().pid == status.pid  # type: ignore[union-attr]

    s3 = _s3(cloud.endpoint)
    s3.create_bucket(Bucket="before-reset")
    cloud.reset()
    assert s3.list_buckets()["Buckets"] == []

    assert cloud.stop() is True
    assert group_members(status.pid) == []
    assert cloud.status() is None and not cloud.pid_path.exists()
    assert cloud.stop() is False


def test_port_in_use_by_another_program(cloud: LocalCloud) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", cloud.port))
        other.listen(1)
        with pytest.raises(LocalCloudError) as err:
            cloud.start(timeout=20)
    assert str(err.value) == f"port {cloud.port} is in use by another program"
    assert err.value.hint == "pass --port or stop it"
    assert not cloud.pid_path.exists()


def test_server_exit_code_when_the_port_is_taken() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "awslab.local.server", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == EXIT_PORT_IN_USE
    assert proc.stderr.strip().splitlines() == [f"awslab-local: port {port} is in use by another program"]


def test_stale_pid_files(cloud: LocalCloud) -> None:
    cloud.dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cloud.pid_path.write_text(f"{dead.pid}\n")
    assert cloud.status() is None and not cloud.pid_path.exists()
    # a live process that is not the server (a reused pid) is neither reported nor signalled
    cloud.pid_path.write_text(f"{os.getpid()}\n")
    assert cloud.stop() is False and not cloud.pid_path.exists()
    status, started = cloud.ensure_running()
    assert started and status.pid != os.getpid()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_a_process_that_exited_is_never_taken_for_the_server() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert command_line(gone.pid) == []  # it runs nothing (not "cannot tell", which trusts it)
    assert not daemon._is_server(gone.pid, 4580)


def test_concurrent_starts_give_one_server(cloud: LocalCloud) -> None:
    results: list[tuple[LocalStatus, bool]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(_same_dir(cloud).ensure_running())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors
    assert len({s.pid for s, _ in results}) == 1
    assert sorted(started for _, started in results) == [False, False, True]


def test_process_dying_during_start(
    cloud: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken"
    (broken / "moto").mkdir(parents=True)
    (broken / "moto" / "__init__.py").write_text("raise RuntimeError('moto is broken for this test')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))
    with pytest.raises(LocalCloudError) as err:
        cloud.start(timeout=30)
    assert "exited while starting" in str(err.value)
    assert "moto is broken for this test" in str(err.value)  # the log's last lines
    assert not cloud.pid_path.exists() and cloud.status() is None


def test_unrelated_http_server_is_not_mistaken_for_the_cloud(cloud: LocalCloud) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(cloud.port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(cloud.port, server)
        assert cloud.status() is None
        with pytest.raises(LocalCloudError, match="in use by another program"):
            cloud.start(timeout=20)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _same_dir(cloud: LocalCloud) -> LocalCloud:
    """Another LocalCloud object for the same port and files (as a second awslab command has)."""
    other = LocalCloud.__new__(LocalCloud)
    other.__dict__.update(cloud.__dict__)
    return other


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)  # the poll interval; also notices an early exit
            assert proc.poll() is None, "the http.server exited"
    raise AssertionError("the http.server did not start")


def _s3(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def test_foreground_run_is_seen_and_stopped(cloud: LocalCloud) -> None:
    script = (
        "import sys; from awslab.local.daemon import LocalCloud; "
        f"sys.exit(LocalCloud({cloud.port}).run_foreground())"
    )
    env = {**os.environ, "AWSLAB_STATE_DIR": str(cloud.dir.parent.parent)}
    fg = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status = cloud.status()
        while status is None and time.monotonic() < deadline:
            assert fg.poll() is None, "the foreground run exited early"
            with contextlib.suppress(subprocess.TimeoutExpired):
                fg.wait(timeout=0.1)  # the poll interval
            status = cloud.status()
        assert status is not None and status.pid != fg.pid
        with pytest.raises(LocalCloudError, match="already running"):
            cloud.run_foreground()
        assert cloud.stop() is True
        assert fg.wait(timeout=30) == 0
        assert not cloud.pid_path.exists()
    finally:
        if fg.poll() is None:
            fg.kill()
            fg.wait()


def test_the_server_environment_is_an_allow_list() -> None:
    from awslab.local.server_env import server_environment

    user = {"PATH": "/usr/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_ALL": "C", "AWSLAB_STATE_DIR": "/s",
            "PIP_INDEX_URL": "https://pypi.example/simple", "HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "corp",
            "AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "real", "AWS_SESSION_TOKEN": "tok",
            "AWS_PROFILE": "prod", "AWS_CONFIG_FILE": "/home/u/.aws/config", "AWS_ENDPOINT_URL": "https://x",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/creds", "AWSLAB_TARGET": "aws",
            "GITHUB_TOKEN": "ghp_x", "MOTO_PORT": "5000", "SSH_AUTH_SOCK": "/tmp/agent"}  # fmt: skip
    env = server_environment(user)
    assert env == {
        "PATH": "/usr/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_ALL": "C", "AWSLAB_STATE_DIR": "/s",
        "PIP_INDEX_URL": "https://pypi.example/simple", "HTTPS_PROXY": "http://proxy:3128",
        # moto's Step Functions reach Lambda on localhost: never through the proxy
        "NO_PROXY": "corp,127.0.0.1,localhost,::1", "no_proxy": "127.0.0.1,localhost,::1",
        "AWS_ACCESS_KEY_ID": "awslab", "AWS_SECRET_ACCESS_KEY": "awslab-local", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1",
    }  # fmt: skip

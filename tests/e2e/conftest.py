"""End-to-end fixtures: the real CLI as a subprocess, against a moto server process or the
local cloud, with a fresh HOME and state directory, and nothing left running afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
AWSLAB = [str(Path(sys.executable).parent / "awslab")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    env: dict[str, str]
    home: Path

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 240, input: str | None = None
    ) -> CliResult:
        proc = subprocess.run(
            [*AWSLAB, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"awslab {' '.join(args)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return result


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a fresh machine: no AWS variables, a new HOME and state directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSLAB_", "XDG_"))}
    env.update(
        HOME=str(home),
        AWSLAB_STATE_DIR=str(home / "state"),
        AWSLAB_CACHE_DIR=str(home / "cache"),
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        COLUMNS="200",
        # never ask the EC2 metadata service for credentials: tests stay on this machine
        AWS_EC2_METADATA_DISABLED="true",
    )
    # the local cloud installs handler requirements; share one cache across tests to save time
    env["AWSLAB_CACHE_DIR"] = str(Path(os.environ.get("AWSLAB_TEST_CACHE", "/tmp/awslab-test-cache")))
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def moto_server(tmp_path: Path) -> Iterator[str]:
    """A plain moto server process (what a user might run themselves) on a free port."""
    port = free_port()
    log = (tmp_path / "moto.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def cli_endpoint(home: Path, moto_server: str) -> Cli:
    env = clean_env(home)
    env.update(AWS_ENDPOINT_URL=moto_server)
    return Cli(env, home)


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies count as gone
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


@pytest.fixture
def local_cli(home: Path) -> Iterator[Cli]:
    """The CLI on the default (local) target, on a free port; the local cloud is stopped after
    the test and its whole process group (Lambda workers included) must be gone."""
    env = clean_env(home)
    env["AWSLAB_LOCAL_PORT"] = str(free_port())
    cli = Cli(env, home)
    try:
        yield cli
    finally:
        stop_local_cloud(cli, home)


def stop_local_cloud(cli: Cli, home: Path) -> None:
    """Stop the CLI's local cloud and check that its process group and its Lambda workers are gone."""
    status = cli("local", "status", "--output", "json", check=False)
    pid = status.json().get("pid") if status.code == 0 and status.stdout.strip() else None
    cli("local", "stop", check=False)
    deadline = time.monotonic() + 10
    while (
        (pid and process_group_alive(pid)) or processes_mentioning(str(home))
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (pid and process_group_alive(pid)), "the local cloud's process group is still alive"
    # Lambda workers run in sessions of their own; their command lines name the work dir
    assert not processes_mentioning(str(home)), "the local cloud left Lambda workers behind"


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line or working directory contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        if (text in cmdline or text in cwd) and state != "Z":
            found.append(int(entry.name))
    return found

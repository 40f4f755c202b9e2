"""Control of the local cloud process: start (in the background or the foreground), status, stop.

One instance per port. Its files live in awslab.paths.local_cloud_dir(port): `server.pid`,
`server.log`, `work/` (the executor's scratch space), `snapshot.bin` (its resources and data, kept
across restarts: awslab.local.snapshot) and `start.lock`, which serialises starts and stops so two
commands starting at once get one server.

What a lab's resources live in is named by the snapshot's `data_id` (LocalStatus.identity): a
restart that restores them keeps it, a reset (or a start that finds no snapshot) makes a new one.

The server runs in its own session (its own process group) so that stopping it also stops the
Lambda workers it started, even if the server itself no longer answers. It starts with the
environment awslab.local.server_env allows (none of the user's AWS credentials or settings), and
its files are the user's alone: the directories 0700, the pid file and the log 0600 (modes left
wider by an older awslab are narrowed on each start). The AWS-like mode (awslab.local.like_aws),
when asked for, is passed on the server's command line; a server running without it is not reused;
so is AWSLAB_LAMBDA_IDLE_SECONDS (IDLE_ENV), how long an idle Lambda worker is kept.

A new server answers its health check before moto is loaded (awslab.local.boot): `start` waits for
the boot, `ensure_running(booted=False)` does not. The process management itself (process trees,
groups, signals, memory) is awslab.local.processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import filelock

from awslab.errors import LocalCloudError
from awslab.local import processes, snapshot, urls
from awslab.local.like_aws.settings import LikeAws, check_running
from awslab.local.server import EXIT_PORT_IN_USE, SERVICE_NAME
from awslab.local.server_env import server_environment
from awslab.paths import local_cloud_dir

HOST = "127.0.0.1"
_STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
_LOG_ROTATE_BYTES = 5 * 1024 * 1024
# How long an idle Lambda execution environment is kept, in seconds (default: the executor's, 300,
# as AWS reclaims one after some minutes); read by the command that starts the local cloud.
IDLE_ENV = "AWSLAB_LAMBDA_IDLE_SECONDS"
# Health probes go straight to 127.0.0.1, never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class LocalStatus:
    endpoint: str
    pid: int
    port: int
    started_at: str  # ISO 8601, UTC
    uptime: float  # seconds
    log_path: Path
    rss_mb: float | None = None  # the server and its Lambda workers (Linux only)
    moto_version: str | None = None
    lambda_executor: bool | None = None
    lambda_workers: int | None = None  # warm Lambda execution environments
    like_aws: dict[str, Any] | None = None  # the AWS-like mode's settings (LikeAws.to_dict), None: off
    lambda_runtimes: dict[str, Any] | None = None  # runtimes.RuntimeFinder.report(): the Python of each
    lambda_idle_seconds: float | None = None  # how long an idle Lambda worker is kept
    ready: bool = True  # False while it boots (awslab.local.boot): AWS calls wait for the boot
    data_id: str | None = None  # the lineage of its resources (awslab.local.snapshot); None: not kept
    restoring: bool = False  # it boots and restores a snapshot
    restored: dict[str, Any] | None = None  # the snapshot it restored (snapshot.restore_line says it)
    snapshot: dict[str, Any] | None = None  # its snapshots so far: path, saved, last_size, last_seconds

    @property
    def identity(self) -> dict[str, Any]:
        """What a lab's state records of the instance holding its resources: the data's lineage
        (it survives a restart that restores it), or this process when nothing is kept."""
        if self.data_id:
            return {"data_id": self.data_id}
        return {"pid": self.pid, "started_at": self.started_at}

    @property
    def restored_data(self) -> bool:
        """Whether this instance started with the resources of an earlier one."""
        return bool(self.restored) and not self.restored.get("error")  # type: ignore[union-attr]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["log_path"] = str(self.log_path)
        return data


class LocalCloud:
    def __init__(self, port: int, *, like_aws: LikeAws | Literal["env"] | None = "env") -> None:
        """`like_aws`: the AWS-like mode asked for (None: not asked); "env": as AWSLAB_LIKE_AWS says."""
        self.port = port
        self._like_aws = like_aws
        self.dir = local_cloud_dir(port)
        self.endpoint = f"http://{HOST}:{port}"
        self.pid_path = self.dir / "server.pid"
        self.log_path = self.dir / "server.log"
        self.work_dir = self.dir / "work"
        self._lock_path = self.dir / "start.lock"
        self.snapshot_path = self.dir / snapshot.FILE_NAME

    # ---- status -------------------------------------------------------------------------
    def status(self) -> LocalStatus | None:
        """The running server, or None. A pid file left by a dead process is removed."""
        health = self._probe()
        pid = self._read_pid()
        if health is not None:
            if pid != health["pid"] and self.dir.exists():
                self._write_pid(health["pid"])  # e.g. the pid file was deleted by hand
            return self._status_from(health)
        if pid is not None and not _is_server(pid, self.port):
            self._remove_pid_file()
        return None

    def _status_from(self, health: dict[str, Any]) -> LocalStatus:
        started = dt.datetime.fromisoformat(health["started_at"].replace("Z", "+00:00"))
        return LocalStatus(
            endpoint=self.endpoint,
            pid=health["pid"],
            port=self.port,
            started_at=health["started_at"],
            uptime=round((dt.datetime.now(dt.UTC) - started).total_seconds(), 3),
            log_path=self.log_path,
            rss_mb=processes.tree_rss_mb(health["pid"]),
            moto_version=health.get("moto_version"),
            lambda_executor=health.get("lambda_executor"),
            lambda_workers=health.get("lambda_workers"),
            like_aws=health.get("like_aws"),
            lambda_runtimes=health.get("lambda_runtimes"),
            lambda_idle_seconds=health.get("lambda_idle_seconds"),
            ready=bool(health.get("ready", True)),
            data_id=health.get("data_id"),
            restoring=bool(health.get("restoring")),
            restored=health.get("restored"),
            snapshot=health.get("snapshot"),
        )

    def _probe(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """The health document if an awslab local cloud answers on this port."""
        try:
            with _OPENER.open(self.endpoint + urls.HEALTH_PATH, timeout=timeout) as resp:
                data = json.loads(resp.read())
        except (OSError, ValueError, http.client.HTTPException):  # refused, timed out, cut off, not ours
            return None
        if isinstance(data, dict) and data.get("service") == SERVICE_NAME and data.get("port") == self.port:
            return data
        return None

    # ---- start --------------------------------------------------------------------------
    def start(self, *, timeout: float = 30) -> LocalStatus:
        """Start the server in the background (or return the one running) once it answers."""
        return self.ensure_running(timeout=timeout)[0]

    @property
    def like_aws(self) -> LikeAws | None:
        if isinstance(self._like_aws, str):  # read when needed: a bad value fails only what starts it
            self._like_aws = LikeAws.from_env(os.environ)
        return self._like_aws

    def ensure_running(self, *, timeout: float = 30, booted: bool = True) -> tuple[LocalStatus, bool]:
        """(status, True if it was started by this call). One running without the AWS-like mode
        asked for (or with other settings) is refused, not reused. `booted=False` returns as soon as
        a new server answers, while it still boots (awslab.local.boot): for a caller whose next step
        is AWS calls, which wait for the boot, so that its own start-up overlaps the server's; but
        one that restores a snapshot is waited for: what it holds is only known once it has."""
        status, started = self._ensure_running(timeout, booted)
        check_running(self.like_aws, status.like_aws, self.port)
        return status, started

    def _ensure_running(self, timeout: float, booted: bool) -> tuple[LocalStatus, bool]:
        status = self.status()
        if status is not None:
            return status, False
        deadline = time.monotonic() + timeout
        with self._locked(timeout):
            status = self.status()  # another command may have started it while we waited
            if status is not None:
                return status, False
            pid = self._read_pid()
            if pid is not None:  # alive and ours, but not answering: still starting, or hung
                return self._wait_ready(None, pid, deadline, timeout, log_offset=None, booted=booted), False
            snapshot.check_private(self.snapshot_path)  # here too: one line, rather than a failed boot
            self._check_port_free()
            proc, offset = self._spawn()
            return self._wait_ready(proc, proc.pid, deadline, timeout, log_offset=offset, booted=booted), True

    def _spawn(self) -> tuple[subprocess.Popen[bytes], int]:
        """Start the server (under the start lock, which made the directories)."""
        if self.log_path.exists() and self.log_path.stat().st_size > _LOG_ROTATE_BYTES:
            self.log_path.replace(self.log_path.with_suffix(".log.1"))
        with _private_file(self.log_path, os.O_APPEND) as log:
            offset = log.tell()
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            log.write(f"--- awslab: starting the local cloud on port {self.port} at {now} ---\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=server_environment(os.environ),
                close_fds=True,
                **processes.detached(),
            )
        processes.children[proc.pid] = proc
        self._write_pid(proc.pid)
        return proc, offset

    def _command(self) -> list[str]:
        options = ["--port", str(self.port), "--host", HOST, "--work-dir", str(self.work_dir),
                   "--snapshot-dir", str(self.dir)]  # fmt: skip
        idle = lambda_idle_seconds(os.environ)
        if idle is not None:
            options += ["--lambda-idle-seconds", f"{idle:g}"]
        if self.like_aws is not None:
            options += ["--like-aws", self.like_aws.to_arg()]
        return [sys.executable, "-m", "awslab.local.server", *options]

    def _wait_ready(
        self,
        proc: subprocess.Popen[bytes] | None,
        pid: int,
        deadline: float,
        timeout: float,
        log_offset: int | None,
        booted: bool = True,
    ) -> LocalStatus:
        interval = 0.02
        while True:
            code = proc.poll() if proc is not None else (None if _is_server(pid, self.port) else "unknown")
            if code is not None:
                self._remove_pid_file()
                if code == EXIT_PORT_IN_USE:
                    raise self._port_in_use()
                raise LocalCloudError(
                    f"the local cloud exited while starting (exit code {code}); its log ends with:\n"
                    + self.log_tail(20, offset=log_offset),
                    hint=f"see {self.log_path}",
                )
            health = self._probe(timeout=1.0)
            waits = booted or bool(health and health.get("restoring"))
            if health is not None and health["pid"] == pid and (health.get("ready", True) or not waits):
                return self._status_from(health)
            if time.monotonic() >= deadline:
                self._terminate(pid)  # do not leave a half-started server behind
                self._remove_pid_file()
                raise LocalCloudError(
                    f"the local cloud did not answer within {timeout:g} s; its log ends with:\n"
                    + self.log_tail(20, offset=log_offset),
                    hint=f"see {self.log_path}",
                )
            if proc is not None:  # the wait doubles as the poll interval and notices an early exit
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=interval)
            else:
                time.sleep(interval)
            interval = min(interval * 2, 0.2)

    def _check_port_free(self) -> None:
        from awslab.local.server import bind

        try:
            bind(HOST, self.port).close()
        except OSError as exc:
            raise self._port_in_use() from exc

    def _port_in_use(self) -> LocalCloudError:
        return LocalCloudError(
            f"port {self.port} is in use by another program", hint="pass --port or stop it"
        )

    # ---- foreground ---------------------------------------------------------------------
    def run_foreground(self) -> int:
        """Run the server attached to this terminal until Ctrl-C; returns its exit code."""
        with self._locked(5):
            status = self.status()
            if status is not None:
                raise LocalCloudError(
                    f"the local cloud is already running on port {self.port} (pid {status.pid})",
                    hint="run 'awslab local stop' first",
                )
            snapshot.check_private(self.snapshot_path)
            self._check_port_free()
            proc = subprocess.Popen(self._command(), cwd=self.dir, env=server_environment(os.environ))
            self._write_pid(proc.pid)
        try:
            while True:
                try:
                    return proc.wait()
                except KeyboardInterrupt:  # the server got the same Ctrl-C and is stopping
                    continue
        finally:
            if self._read_pid() == proc.pid:
                self._remove_pid_file()

    # ---- stop, reset ----------------------------------------------------------------------
    def stop(self) -> bool:
        """Stop the server and its Lambda workers; False if it was not running."""
        with self._locked(_STOP_GRACE + 30):
            health = self._probe()
            pid = health["pid"] if health is not None else self._read_pid()
            if pid is None or not _is_server(pid, self.port):
                self._remove_pid_file()
                return False
            self._terminate(pid)
            self._remove_pid_file()
            return True

    def _terminate(self, pid: int) -> None:
        """SIGTERM to the server's process group, SIGKILL to what is left after a bounded wait.

        Lambda workers run in sessions of their own (so a Ctrl-C meant for the server does not
        reach them): the server stops them itself, and any it left behind are killed here."""
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True, check=False)
            return
        descendants = processes.process_tree(pid)[1:]
        processes.signal_group(pid, signal.SIGTERM)
        if not processes.wait_gone([pid], _STOP_GRACE, group=pid):
            processes.signal_group(pid, signal.SIGKILL)
            processes.wait_gone([pid], 5.0, group=pid)
        left = [p for p in descendants if processes.alive(p)]
        for child in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        processes.wait_gone(left, 5.0)

    def stored_identity(self) -> dict[str, Any] | None:
        """The identity (LocalStatus.identity) of the resources its snapshot holds, while it is
        stopped: they come back when it starts. None: no (readable) snapshot."""
        info = self.snapshot_info()
        return {"data_id": info.data_id} if info is not None else None

    def snapshot_info(self) -> snapshot.SnapshotInfo | None:
        try:
            return snapshot.read_info(self.snapshot_path)
        except (snapshot.SnapshotFormatError, OSError):
            return None

    def reset(self) -> bool:
        """Delete every resource: in the running local cloud (and its warm Lambda workers; it
        deletes its snapshot too), or in the snapshot of a stopped one. True if it was running."""
        with self._locked(_STOP_GRACE + 30):  # no start while a stopped one's snapshot goes
            if self.status() is None:
                snapshot.wipe(self.snapshot_path)
                snapshot.marker(self.snapshot_path).unlink(missing_ok=True)
                return False
        request = _signed_request("POST", self.endpoint + "/moto-api/reset")
        try:
            with _OPENER.open(request, timeout=30) as resp:
                resp.read()
        except OSError as exc:
            raise LocalCloudError(
                f"cannot reset the local cloud at {self.endpoint}: {exc}",
                hint="is it running? see 'awslab local status'",
            ) from exc
        return True

    # ---- files --------------------------------------------------------------------------
    def log_tail(self, lines: int = 50, *, offset: int | None = None) -> str:
        """The last `lines` lines of the log (from `offset` on, if given)."""
        try:
            with open(self.log_path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                start = max(offset or 0, size - 64 * 1024)
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _private_dirs(self) -> None:
        """`local/`, the local cloud's dir and its work dir, readable by the user alone; the files
        in it too, where an older awslab left them readable by others."""
        for path in (self.dir.parent, self.dir, self.work_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            _restrict(path, 0o700)
        for path in (self.log_path, self.log_path.with_suffix(".log.1"), self.pid_path, self._lock_path):
            if path.exists():
                _restrict(path, 0o600)

    @contextlib.contextmanager
    def _locked(self, timeout: float) -> Iterator[None]:
        self._private_dirs()
        lock = filelock.FileLock(str(self._lock_path), mode=0o600)
        try:
            lock.acquire(timeout=timeout + 5)
        except filelock.Timeout as exc:
            raise LocalCloudError(
                f"another awslab command is starting or stopping the local cloud on port {self.port}",
                hint="wait for it, then retry",
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _write_pid(self, pid: int) -> None:
        tmp = self.pid_path.with_suffix(".tmp")
        with _private_file(tmp, os.O_TRUNC) as f:
            f.write(f"{pid}\n".encode())
        tmp.replace(self.pid_path)

    def _remove_pid_file(self) -> None:
        self.pid_path.unlink(missing_ok=True)


def lambda_idle_seconds(env: Mapping[str, str]) -> float | None:
    """How long the local cloud keeps an idle Lambda worker, as IDLE_ENV asks (None: its default)."""
    text = env.get(IDLE_ENV, "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise LocalCloudError(
            f"{IDLE_ENV}={text!r} is not a number of seconds above 0", hint=f"e.g. {IDLE_ENV}=60, or unset it"
        )
    return seconds


# ---- files and requests -------------------------------------------------------------------------
def _private_file(path: Path, flag: int) -> Any:
    """`path` opened for writing (binary), created 0600, and 0600 if it existed with a wider mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flag, 0o600)
    try:
        _restrict(path, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab" if flag & os.O_APPEND else "wb")


def _restrict(path: Path, mode: int) -> None:
    try:
        path.chmod(mode)
    except OSError as exc:  # owned by someone else: the user must sort that out
        raise LocalCloudError(
            f"cannot make {path} private (mode {mode:o}): {exc.strerror}", hint="check who owns it"
        ) from exc


def _signed_request(method: str, url: str) -> urllib.request.Request:
    """A request the local cloud's guard lets through to its control plane: signed (SigV4) with
    the local cloud's dummy credentials, as an SDK would."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from awslab.target import DEFAULT_REGION, LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

    aws = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY), "moto", DEFAULT_REGION).add_auth(aws)
    return urllib.request.Request(url, method=method, data=b"", headers=dict(aws.headers.items()))


def _is_server(pid: int, port: int) -> bool:
    """Whether `pid` is alive and is the local cloud server for `port` (not a reused pid)."""
    if not processes.alive(pid):
        return False
    args = processes.command_line(pid)
    if args is None:  # cannot tell on this system: trust the pid file
        return True
    return "awslab.local.server" in args and any(
        a == "--port" and i + 1 < len(args) and args[i + 1] == str(port) for i, a in enumerate(args)
    )

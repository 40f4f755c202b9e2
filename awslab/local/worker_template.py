"""The parent's side of a worker template (awslab/local/worker.py, `serve_template`): one process
per Python that has imported the runtime's packages (boto3...) and forks the workers, which then
share those pages. Ten warm workers each importing boto3 cost about 45 MB apiece when spawned,
about 20 MB (proportional set size) when forked.

A worker forked here is what a spawned one is: its own process and session, the environment,
working directory and descriptors the executor gives it, the handler imported afresh. What cannot
be changed after a process started is the reason a function's workers are spawned instead
(`can_fork`): variables the interpreter or the dynamic linker read at start, and native libraries
shipped beside the code (found through LD_LIBRARY_PATH). Linux only (descriptor passing,
SOCK_SEQPACKET); elsewhere workers are spawned as before.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

# Read when a process starts: a function that sets one gets a process started with it.
_START_VARIABLES = ("PYTHON", "LD_", "LC_", "LANG", "MALLOC", "GLIBC_")
SUPPORTED = sys.platform.startswith("linux") and hasattr(socket, "send_fds")
START_TIMEOUT_S = 30.0


def can_fork(user_env: Mapping[str, str], code_dir: Path) -> bool:
    """Whether a worker of this function may be forked rather than spawned (see above)."""
    if not SUPPORTED:
        return False
    if any(k.startswith(_START_VARIABLES) and k != "PYTHONPATH" for k in user_env):
        return False
    if (code_dir / "lib").exists():
        return False
    with contextlib.suppress(OSError):
        if any(p.suffix == ".so" or ".so." in p.name for p in code_dir.iterdir()):
            return False
    return True


class ForkedProcess:
    """A worker forked by a template, with the part of subprocess.Popen's interface the executor
    uses. Its exit status comes from the template (its parent), which reaps it."""

    def __init__(
        self, pid: int, stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes], template: Template
    ) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self._template = template
        self._exited = threading.Event()

    def _ended(self, status: int) -> None:
        self.returncode = status
        self._exited.set()

    def poll(self) -> int | None:
        if self.returncode is None and not self._template.alive():
            self._orphaned()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        step = 0.5 if timeout is None else min(timeout, 0.5)
        waited = 0.0
        while not self._exited.wait(step):
            if not self._template.alive():
                self._orphaned()
                break
            waited += step
            if timeout is not None and waited >= timeout:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)

    def _orphaned(self) -> None:
        """The template died: its workers were reparented; one still running is killed."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._ended(-signal.SIGKILL)


class Template:
    """One template process (see the module docstring)."""

    def __init__(self, python: str, script: str, config: dict[str, Any], env: dict[str, str], *,
                 safe_path: bool, cwd: Path) -> None:  # fmt: skip
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        flags = ["-u", "-P"] if safe_path else ["-u"]
        try:
            self.proc = subprocess.Popen(
                [python, *flags, script, "--template", json.dumps(config)],
                stdin=theirs.fileno(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd=cwd, env=env, start_new_session=True,
            )  # fmt: skip
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()  # one fork request at a time
        self._tokens = itertools.count()
        self._answers: dict[int, int] = {}  # token -> pid
        self._children: dict[int, ForkedProcess] = {}
        self._early: dict[int, int] = {}  # pid -> status, for an exit read before its fork answer
        self._cond = threading.Condition()
        self._gone = False
        threading.Thread(target=self._read, daemon=True).start()

    def alive(self) -> bool:
        return not self._gone and self.proc.poll() is None

    def fork(self, config: dict[str, Any], cwd: Path, env: dict[str, str]) -> ForkedProcess | None:
        """A worker forked with these settings, or None when the template cannot (it died)."""
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        theirs, ours = [in_r, out_w, err_w], [in_w, out_r, err_r]
        token = next(self._tokens)
        request = {"token": token, "config": json.dumps(config), "cwd": str(cwd), "env": env}
        try:
            with self._lock:
                socket.send_fds(self._sock, [json.dumps(request).encode()], theirs)
            sent = True
        except OSError:  # the template is gone
            sent = False
        finally:
            for fd in theirs:  # the child's ends: the template holds its own copies now
                os.close(fd)
        if not sent:
            for fd in ours:
                os.close(fd)
            return None
        with self._cond:
            if not self._cond.wait_for(lambda: token in self._answers or self._gone, START_TIMEOUT_S):
                self._gone = True
            pid = self._answers.pop(token, None)
            if pid is None:
                for fd in ours:
                    os.close(fd)
                return None
            child = ForkedProcess(
                pid, os.fdopen(in_w, "wb"), os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"), self
            )
            self._children[pid] = child
            if pid in self._early:
                child._ended(self._early.pop(pid))
        return child

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self._cond:
                if "token" in message:
                    self._answers[message["token"]] = message["pid"]
                    self._cond.notify_all()
                elif "exited" in message:
                    child = self._children.pop(message["exited"], None)
                    if child is None:
                        self._early[message["exited"]] = message["status"]
                    else:
                        child._ended(message["status"])
        with self._cond:
            self._gone = True
            self._cond.notify_all()

    def stop(self) -> None:
        """End the template (its workers are the executor's to stop)."""
        self._gone = True
        with contextlib.suppress(OSError):
            self._sock.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

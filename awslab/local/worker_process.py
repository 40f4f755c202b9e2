"""The parent's side of a Lambda worker (awslab/local/worker.py, whose docstring gives the wire
protocol): its handle on one worker process, and the buffer that hands out the worker's log output
per invoke."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from awslab.local import worker
from awslab.local.worker import MARK, peak_rss

if TYPE_CHECKING:
    from awslab.local.worker_template import ForkedProcess  # a worker forked from a template

MEMORY_POLL_S = 0.02  # how often a busy worker's peak memory is read (Linux)


class OutputBuffer:
    """A worker's stderr (the handler's log output), handed out per invoke up to the worker's marker."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._closed = False

    def pump(self, stream: Any) -> None:
        while chunk := stream.read1(65536):
            with self._cond:
                self._buf += chunk
                self._cond.notify_all()
        stream.close()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, marker_id: str, timeout: float) -> str:
        marker = (MARK + marker_id + MARK).encode()
        deadline = time.monotonic() + timeout
        with self._cond:
            while marker not in self._buf and not self._closed and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            end = self._buf.find(marker)
            data = bytes(self._buf[:end] if end >= 0 else self._buf)
            del self._buf[: end + len(marker) if end >= 0 else len(self._buf)]
        return data.replace(MARK.encode(), b"").decode("utf-8", "replace")


class WorkerProcess:
    """The parent's side: its handle on one worker process (see the wire protocol above)."""

    def __init__(
        self, proc: subprocess.Popen[bytes] | ForkedProcess, stream_name: str, memory_limit: int | None = None
    ) -> None:
        self.proc = proc
        self.stream_name = stream_name
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.output = OutputBuffer()
        self.last_used = time.monotonic()
        self.invokes = 0
        self.max_rss = 0
        self.init_ms: float | None = None  # reported once, in the first REPORT line
        self.memory_limit = memory_limit  # bytes; the worker is killed above it, as Lambda does
        self._busy = threading.Event()  # between a request (or the start) and its reply
        self._busy.set()
        self._gone = False
        threading.Thread(target=self._read_replies, daemon=True).start()
        threading.Thread(target=self.output.pump, args=(proc.stderr,), daemon=True).start()
        if memory_limit and peak_rss(proc.pid) is not None:  # Linux; elsewhere checked at each reply
            threading.Thread(target=self._watch_memory, args=(memory_limit,), daemon=True).start()

    @classmethod
    def spawn(cls, config: dict[str, Any], cwd: Path, env: dict[str, str], stream_name: str, *,
              python: str | None = None, script: str | None = None, safe_path: bool = True,
              memory_limit: int | None = None) -> WorkerProcess:  # fmt: skip
        """Start `script` (default: awslab/local/worker.py) as a worker on `python` (default: this one), in its
        own session (so a timeout can kill whatever the handler started) and without the script's
        directory on its path (-P where `safe_path`, Python 3.11 and newer; else main() drops it)."""
        flags = ["-u", "-P"] if safe_path else ["-u"]
        proc = subprocess.Popen(
            [python or sys.executable, *flags, os.path.abspath(script or str(worker.__file__)), json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd, env=env, start_new_session=True,
        )  # fmt: skip
        return cls(proc, stream_name, memory_limit)

    def _read_replies(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._busy.clear()
            self.replies.put(json.loads(line))
        self.proc.stdout.close()
        self._gone = True
        self._busy.set()  # ends the memory watch
        self.replies.put(None)

    def _watch_memory(self, limit: int) -> None:
        """While the worker is busy, its peak memory; above `limit` it is killed (SIGKILL, as
        Lambda's out-of-memory killer does) and the invoke ends as AWS's does then."""
        while self._busy.wait() and not self._gone:
            peak = peak_rss(self.proc.pid)
            if peak is None:
                return
            self.max_rss = max(self.max_rss, peak)
            if peak > limit:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                return
            time.sleep(MEMORY_POLL_S)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self._busy.set()
        try:
            self.proc.stdin.write(json.dumps(message, default=str).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:  # BrokenPipeError: the worker died; its reply queue says so
            pass

    def reply(self, timeout: float) -> dict[str, Any] | bool | None:
        """The next reply, None if the worker exited, False if `timeout` passed first."""
        try:
            return self.replies.get(timeout=max(timeout, 0))
        except queue.Empty:
            return False

    def kill(self, grace_s: float = 0.0) -> None:
        """Stop the worker, after `grace_s` seconds to exit by itself."""
        if grace_s > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace_s)
        if self.proc.poll() is None:
            try:
                if os.name == "posix":  # the whole session: the handler's own children too
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
            except (ProcessLookupError, PermissionError):  # exited since poll() (macOS: EPERM)
                pass
        self.proc.wait()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):  # flushing into a dead worker's pipe
                self.proc.stdin.close()

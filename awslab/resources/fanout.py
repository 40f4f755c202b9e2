"""Calls that do not wait for each other, made at once.

A resource's create or delete often makes requests that need only what is already known (an API's
methods once its id is, a bucket's settings, a site's files, a role's policies): made one after
another they cost a round trip each, made together one. `Fanout` runs them in a few threads; a
call may start more calls (a child once its parent's id is known), and `wait` returns when every
call has, raising the first error. The number of threads bounds how many requests go out at once,
which keeps within a service's request rate (API Gateway's control plane: 10 per second, burst
40); what goes over is throttled and retried by botocore.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

WORKERS = 8


class Fanout:
    """Run calls in at most `workers` threads; use as a context manager, or call `wait`."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="awslab-call")
        self._cond = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Start `fn(*args, **kwargs)`; its result is dropped. After an error, nothing more is
        started."""
        with self._cond:
            if self._error is not None:
                return
            self._pending += 1
        # in a copy of the caller's context: its progress reports go where the caller's do
        self._pool.submit(contextvars.copy_context().run, self._run, fn, args, kwargs)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            if self._error is None:  # a call queued before another failed is not made
                fn(*args, **kwargs)
        except BaseException as exc:
            with self._cond:
                if self._error is None:
                    self._error = exc
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def wait(self) -> None:
        """Until every call started (and every call they started) has returned; then the first
        error, if any, is raised."""
        error = self._drain()
        if error is not None:
            raise error

    def _drain(self) -> BaseException | None:
        with self._cond:
            while self._pending:
                self._cond.wait()
            error = self._error
        self._pool.shutdown(wait=True)
        return error

    def __enter__(self) -> Fanout:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.wait()
            return
        with self._cond:  # the block itself failed: what is queued is not made
            if self._error is None:
                self._error = exc
        self._drain()  # the block's own error is the one raised


def together(*calls: Callable[[], Any], workers: int = WORKERS) -> None:
    """Make the calls at once and return when all have; the first error is raised."""
    if len(calls) == 1:
        calls[0]()
        return
    with Fanout(min(workers, len(calls)) or 1) as group:
        for call in calls:
            group.spawn(call)

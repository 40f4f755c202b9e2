"""The Lambda executor installed in this process (awslab/local/moto_patches.py installs it), for
the code moto calls back into: patched moto methods, SNS deliveries, EventBridge targets. Its own
module so that none of them needs to import the module that installs it."""

from __future__ import annotations

from typing import Any

from awslab.local.executor import LambdaExecutor

_active: LambdaExecutor | None = None


def get() -> LambdaExecutor:
    if _active is None:  # only reachable if moto kept a reference across uninstall()
        raise RuntimeError("awslab's Lambda executor is not installed")
    return _active


def current() -> LambdaExecutor | None:
    return _active


def set_active(executor: LambdaExecutor | None) -> None:
    global _active
    _active = executor


def invoke_async(fn: Any, event: Any, *, raw: str | None = None) -> str:
    """Queue an asynchronous invoke of the moto function `fn` (AWS's Event invocation); returns its
    request id at once. `raw`: the event's text as received (the body of a dead-letter message)."""
    return get().async_events.submit(fn, event, raw=raw)

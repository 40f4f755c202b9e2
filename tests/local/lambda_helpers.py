"""Helpers of the Lambda executor tests: handler zips, invokes, process checks."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from typing import Any

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


def invoke(lam: Any, name: str, event: Any = None, **options: Any) -> tuple[Any, dict[str, Any]]:
    """Invoke and return (decoded payload, raw response)."""
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **options)
    body = resp["Payload"].read()
    return (json.loads(body) if body else None), resp

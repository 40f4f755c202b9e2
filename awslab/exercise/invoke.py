"""`awslab invoke`: a synchronous Lambda Invoke with the last 4 KB of the function's log."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from awslab.exercise.labs import DeployedLab, function_record
from awslab.target import Target


@dataclass
class InvokeResult:
    lab: str
    function: str  # logical name
    physical: str
    status_code: int
    function_error: str | None  # "Unhandled" / "Handled" when the function failed
    payload: Any  # the response parsed as JSON, else its text
    log_tail: str
    executed_version: str
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def invoke(target: Target, lab: DeployedLab, function: str, payload: Any = None) -> InvokeResult:
    """Invoke the lab's function `function` (logical name) with `payload` (JSON-able; None sends
    an empty object, as the console does)."""
    record = function_record(lab, function)
    name = record.attrs.get("name") or record.physical
    body = json.dumps({} if payload is None else payload).encode()
    start = time.perf_counter()
    resp = target.client("lambda").invoke(
        FunctionName=name, InvocationType="RequestResponse", LogType="Tail", Payload=body
    )
    elapsed = (time.perf_counter() - start) * 1000
    raw = resp["Payload"].read() if resp.get("Payload") is not None else b""
    return InvokeResult(
        lab=lab.name,
        function=record.logical,
        physical=name,
        status_code=int(resp.get("StatusCode", 0)),
        function_error=resp.get("FunctionError"),
        payload=decode_payload(raw),
        log_tail=decode_log(resp.get("LogResult")),
        executed_version=resp.get("ExecutedVersion", ""),
        elapsed_ms=round(elapsed, 1),
    )


def decode_payload(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def decode_log(log_result: str | None) -> str:
    """LogResult is the base64 of the log's last 4 KB; a cut may split a UTF-8 character."""
    if not log_result:
        return ""
    try:
        return base64.b64decode(log_result).decode("utf-8", errors="replace")
    except ValueError:
        return ""

"""Workflow lab, Catch target: record that processing the application failed.

Input: the state with the caught error at "error" ({"Error": name, "Cause": text}; for a Lambda
error the Cause is the JSON {"errorMessage", "errorType", ...}). Writes status "failed" with
the error and its cause to the table (env TABLE_NAME) and returns the record; the state machine
then ends in a Fail state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from applications import application_id, save


def readable_cause(cause: Any) -> str:
    """A Lambda error's Cause is a JSON document; its errorMessage is what a person wants."""
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            return str(parsed["errorMessage"])
        return cause
    return "" if cause is None else json.dumps(cause, default=str)


def failure_record(event: dict[str, Any]) -> dict[str, Any]:
    application = event.get("application") if isinstance(event.get("application"), dict) else event
    execution = event.get("execution") if isinstance(event.get("execution"), str) else None
    error = event.get("error") if isinstance(event.get("error"), dict) else {}
    cause = error.get("Cause")
    record: dict[str, Any] = {
        "id": application_id({k: v for k, v in application.items() if k != "error"}, execution),
        "kind": "application",
        "name": application.get("name"),
        "address": application.get("address"),
        "status": "failed",
        "error": str(error.get("Error") or "Unknown"),
        "cause": readable_cause(cause),
        "cause_detail": cause if isinstance(cause, str) else json.dumps(cause, default=str),
        "application": {k: v for k, v in application.items() if k != "error"},
        "failed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    if execution:
        record["execution"] = execution
    return record


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return save(failure_record(event))

"""Workflow lab, step 2 (a check failed): record the application as flagged for review.

Input: the state ({"application": {...}, "execution": ..., "checks": {name_ok, name_reason,
address_ok, address_reason}}) or, invoked directly, the application with those four fields.
Writes the application to the table (env TABLE_NAME, key `id`) and returns the record.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import boto3

dynamodb = boto3.resource("dynamodb")

STATUS = "flagged_for_review"
CHECK_FIELDS = ("name_ok", "name_reason", "address_ok", "address_reason")


def application_id(application: dict[str, Any], execution: str | None) -> str:
    """Same rule as check_address: the id, else the execution name, else a content hash."""
    if application.get("id") not in (None, ""):
        return str(application["id"])
    if execution:
        return execution
    digest = hashlib.sha256(json.dumps(application, sort_keys=True, default=str).encode()).hexdigest()
    return "app-" + digest[:16]


def decision_record(event: dict[str, Any], status: str) -> dict[str, Any]:
    application = event.get("application") if isinstance(event.get("application"), dict) else event
    execution = event.get("execution") if isinstance(event.get("execution"), str) else None
    checks = event.get("checks") if isinstance(event.get("checks"), dict) else {}
    checks = {k: checks.get(k, application.get(k)) for k in CHECK_FIELDS}
    reasons = [f"{part}: {checks[f'{part}_reason']}" for part in ("name", "address")]
    if status != "approved":  # a flag lists only what needs a reviewer's look
        reasons = [r for r, part in zip(reasons, ("name", "address"), strict=True) if not checks[f"{part}_ok"]]
    record: dict[str, Any] = {
        "id": application_id(application, execution),
        "kind": "application",
        "name": application.get("name"),
        "address": application.get("address"),
        "status": status,
        "reasons": reasons,
        "checks": checks,
        "application": {k: v for k, v in application.items() if k not in CHECK_FIELDS},
        "decided_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }
    if execution:
        record["execution"] = execution
    return record


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    record = decision_record(event, STATUS)
    # DynamoDB takes Decimal, not float; the returned record stays plain JSON.
    item = json.loads(json.dumps(record), parse_float=Decimal)
    dynamodb.Table(os.environ["TABLE_NAME"]).put_item(Item=item)
    return record

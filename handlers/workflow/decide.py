"""Workflow lab, step 2: record the decision — `approve` (both checks passed) or `flag` (a check
failed: the application waits for a reviewer).

Input: the state ({"application": {...}, "execution": ..., "checks": {"name": {"ok", "reason"},
"address": {"ok", "reason"}}}) or, invoked directly, the application with the check steps'
fields (name_ok, name_reason, address_ok, address_reason).
Writes the application to the table (env TABLE_NAME, key `id`) and returns the record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from applications import application_id, save

PARTS = ("name", "address")
# Flat check results, as the check steps return them; not part of the stored application.
CHECK_FIELDS = ("name_ok", "name_reason", "address_ok", "address_reason", "checks")


def normalized_checks(event: dict[str, Any], application: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"name": {"ok", "reason"}, "address": {...}} from the state machine's `checks`, or from the
    flat fields check_name / check_address return (`name_ok`, `name_reason`, ...)."""
    checks = event.get("checks") if isinstance(event.get("checks"), dict) else {}
    result = {}
    for part in PARTS:
        nested = checks.get(part)
        if isinstance(nested, dict):
            result[part] = {"ok": nested.get("ok"), "reason": nested.get("reason")}
        else:
            flat = checks if f"{part}_ok" in checks else application
            result[part] = {"ok": flat.get(f"{part}_ok"), "reason": flat.get(f"{part}_reason")}
    return result


def decision_record(event: dict[str, Any], status: str) -> dict[str, Any]:
    application = event.get("application") if isinstance(event.get("application"), dict) else event
    execution = event.get("execution") if isinstance(event.get("execution"), str) else None
    checks = normalized_checks(event, application)
    stored = {k: v for k, v in application.items() if k not in CHECK_FIELDS}
    # A flag lists only what needs a reviewer's look; an approval lists every check.
    reasons = [
        f"{part}: {check['reason']}"
        for part, check in checks.items()
        if status == "approved" or check["ok"] is not True
    ]
    record: dict[str, Any] = {
        "id": application_id(stored, execution),
        "kind": "application",
        "name": application.get("name"),
        "address": application.get("address"),
        "status": status,
        "reasons": reasons,
        "checks": checks,
        "application": stored,
        "decided_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    if execution:
        record["execution"] = execution
    return record


def approve(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return save(decision_record(event, "approved"))


def flag(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return save(decision_record(event, "flagged_for_review"))

"""Workflow lab, step 1b: is the applicant's address acceptable?

Input: the application ({"address": ..., ...}) or the state machine's state
({"application": {...}, "execution": "<execution name>"}). Output: the input plus
"address_ok" (bool) and "address_reason" ("ok" or why not).

`"simulate_transient": N` in the application makes the first N attempts raise TransientError,
which the state machine retries. Attempts are counted in the table (env TABLE_NAME) in an item
`attempts#<application id>#<execution name>` incremented atomically, so the count survives
between the separate invocations a retry makes and a new execution starts from zero.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from applications import application_id, dynamodb

MIN_LENGTH = 5
MAX_LENGTH = 200
COUNTER_TTL_SECONDS = 24 * 3600


class TransientError(Exception):
    """A failure worth retrying. The state machine's Retry matches this class name."""


def validate_address(address: Any) -> tuple[bool, str]:
    if address is None:
        return False, "address is required"
    if not isinstance(address, str):
        return False, "address must be a string"
    address = " ".join(address.split())
    if not MIN_LENGTH <= len(address) <= MAX_LENGTH:
        return False, f"address must be {MIN_LENGTH}-{MAX_LENGTH} characters, got {len(address)}"
    if not re.search(r"\d", address):
        return False, "address needs a house number"
    if not any(sum(c.isalpha() for c in word) >= 2 for word in address.split()):
        return False, "address needs a street name"
    return True, "ok"


def count_attempt(counter_id: str) -> int:
    """Atomically increment and return the attempt counter."""
    table = dynamodb.Table(os.environ["TABLE_NAME"])
    updated = table.update_item(
        Key={"id": counter_id},
        UpdateExpression="ADD attempts :one SET kind = :kind, expires_at = :expires",
        ExpressionAttributeValues={
            ":one": 1,
            ":kind": "attempts",
            ":expires": int(time.time()) + COUNTER_TTL_SECONDS,  # for a TTL, if the table has one
        },
        ReturnValues="UPDATED_NEW",
    )
    return int(updated["Attributes"]["attempts"])


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    application = event.get("application") if isinstance(event.get("application"), dict) else event
    execution = event.get("execution") if isinstance(event.get("execution"), str) else None
    result = dict(event)
    failing = application.get("simulate_transient") or 0
    if isinstance(failing, bool) or not isinstance(failing, int) or failing < 0:
        raise ValueError("simulate_transient must be a non-negative integer")
    if failing:
        counter_id = f"attempts#{application_id(application, execution)}"
        if execution:
            counter_id += f"#{execution}"
        attempt = count_attempt(counter_id)
        if attempt <= failing:
            raise TransientError(f"simulated transient failure: attempt {attempt}, first {failing} fail")
        result["address_attempts"] = attempt
    ok, reason = validate_address(application.get("address"))
    return {**result, "address_ok": ok, "address_reason": reason}

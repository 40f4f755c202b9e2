"""Workflow lab: what every step shares (one code bundle serves all the lab's functions)."""

from __future__ import annotations

import hashlib
import json
import os
from decimal import Decimal
from typing import Any

import boto3

dynamodb = boto3.resource("dynamodb")


def application_id(application: dict[str, Any], execution: str | None) -> str:
    """The application's id, else the execution name, else a hash of its content (stable for
    the same input across invocations)."""
    if application.get("id") not in (None, ""):
        return str(application["id"])
    if execution:
        return execution
    digest = hashlib.sha256(json.dumps(application, sort_keys=True, default=str).encode()).hexdigest()
    return "app-" + digest[:16]


def save(record: dict[str, Any]) -> dict[str, Any]:
    """Write a record to the applications table (env TABLE_NAME); return it unchanged."""
    item = json.loads(json.dumps(record), parse_float=Decimal)  # DynamoDB takes no floats
    dynamodb.Table(os.environ["TABLE_NAME"]).put_item(Item=item)
    return record

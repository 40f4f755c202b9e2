"""What a consumer did: the rows it wrote to the lab's tables, found by the ids of what was sent.

A lab's tables are small, so a Scan is the simplest query that needs no knowledge of their keys.
An item is an effect when one of its top-level attributes equals one of the ids (an SQS or SNS
MessageId, an order id, an S3 key) and it is not identical to an item that was already there
before the action (the `baseline`). Polling is bounded by a timeout; when time runs out the
result says so (`complete` False) instead of raising, because the action itself did happen.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer
from botocore.exceptions import ClientError

from awslab.errors import ExerciseError
from awslab.exercise.defaults import EFFECTS_TIMEOUT as DEFAULT_TIMEOUT
from awslab.resources.base import is_not_found
from awslab.target import Target

_FIRST_DELAY = 0.1
_MAX_DELAY = 1.0
_deserializer = TypeDeserializer()


@dataclass
class Found:
    table: str  # logical name
    table_name: str  # physical name
    item: dict[str, Any]
    matched_on: str  # the attribute that holds the id
    matched_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "table_name": self.table_name,
            "matched_on": self.matched_on,
            "matched_id": self.matched_id,
            "item": self.item,
        }


@dataclass
class Effects:
    found: list[Found] = field(default_factory=list)
    complete: bool = True  # False: time ran out before every id had its items
    waited_ms: float = 0.0
    tables: list[str] = field(default_factory=list)  # logical names searched

    def for_ids(self, ids: Collection[str]) -> list[Found]:
        return [f for f in self.found if _matches(f.item, ids)]

    def items(self) -> list[dict[str, Any]]:
        return [f.item for f in self.found]

    def by_table(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for f in self.found:
            out.setdefault(f.table, []).append(f.item)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "waited_ms": self.waited_ms,
            "tables": self.tables,
            "found": [f.to_dict() for f in self.found],
        }


# ---- reading tables ---------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON: numbers as int/float, sets as sorted lists,
    binary as base64."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary | bytes | bytearray):
        raw = value.value if isinstance(value, Binary) else bytes(value)
        return base64.b64encode(raw).decode()
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=str)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def scan_table(target: Target, name: str) -> list[dict[str, Any]]:
    """Every item of a table, as plain JSON values."""
    items: list[dict[str, Any]] = []
    try:
        for page in target.client("dynamodb").get_paginator("scan").paginate(TableName=name):
            for raw in page.get("Items", []):
                items.append({k: plain(_deserializer.deserialize(v)) for k, v in raw.items()})
    except ClientError as exc:
        if is_not_found(exc):
            raise ExerciseError(
                f"table {name} does not exist any more",
                hint="'awslab status' shows what is missing; 'awslab up' recreates it",
            ) from None
        raise
    return items


def fingerprint(item: Mapping[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def snapshot(target: Target, tables: Mapping[str, str]) -> set[tuple[str, str]]:
    """(table logical, item fingerprint) of what the tables hold now: the baseline."""
    return {(logical, fingerprint(i)) for logical, name in tables.items() for i in scan_table(target, name)}


def _matches(item: Mapping[str, Any], ids: Collection[str]) -> str | None:
    """The attribute of `item` whose value is one of `ids`, or None."""
    for key, value in item.items():
        if isinstance(value, str) and value in ids:
            return key
    return None


# ---- waiting ----------------------------------------------------------------------------
def search(
    target: Target,
    tables: Mapping[str, str],
    ids: Collection[str],
    baseline: set[tuple[str, str]] | None = None,
) -> list[Found]:
    """One pass: the new items of every table that carry one of `ids`."""
    found: list[Found] = []
    for logical, name in tables.items():
        for item in scan_table(target, name):
            key = _matches(item, ids)
            if key is None or (baseline and (logical, fingerprint(item)) in baseline):
                continue
            found.append(Found(logical, name, item, key, str(item[key])))
    return found


def wait_for_effects(
    target: Target,
    tables: Mapping[str, str],
    groups: Sequence[Collection[str]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    min_items: int = 1,
    baseline: set[tuple[str, str]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Effects:
    """Poll `tables` until each group of ids (the ids of one message: its MessageId, its body's
    id...) has at least `min_items` new items, or `timeout` seconds have passed."""
    groups = [set(g) for g in groups if g]
    if not tables:  # nothing to look in: do not wait for what cannot be seen
        return Effects([], not groups, 0.0, [])
    all_ids = set().union(*groups) if groups else set()
    start = clock()
    delay = _FIRST_DELAY
    while True:
        found = search(target, tables, all_ids, baseline) if all_ids else []
        complete = all(sum(1 for f in found if _matches(f.item, g)) >= min_items for g in groups)
        elapsed = clock() - start
        if complete or elapsed >= timeout:
            return Effects(found, complete, round(elapsed * 1000, 1), list(tables))
        sleep(min(delay, max(timeout - elapsed, 0.0)))
        delay = min(delay * 1.5, _MAX_DELAY)


def ids_of_body(body: Any) -> list[str]:
    """The ids a consumer may have keyed its row on: the body's (or its JSON text's) `id`."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return []
    if isinstance(body, Mapping) and body.get("id") not in (None, ""):
        return [str(body["id"])]
    return []


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))

"""`awslab upload FILE`: through a route of the lab's API that takes files (the route a lab's
`upload` check names, or `--route`: a JSON body with the file's name, its content in base64 and
its content type), or into the bucket of the lab's S3 notification (under the notification's
prefix); then the row the Lambda wrote."""

from __future__ import annotations

import base64
import mimetypes
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.defaults import EFFECTS_TIMEOUT as DEFAULT_TIMEOUT
from awslab.exercise.defaults import HTTP_KINDS
from awslab.exercise.effects import snapshot, wait_for_effects
from awslab.exercise.http import api_record, call, is_method
from awslab.exercise.labs import DeployedLab, pick_lab, ready
from awslab.resources.base import Record
from awslab.state import StateStore
from awslab.target import Target


@dataclass
class UploadResult:
    lab: str
    mode: str  # "api" (a route of the API) or "s3" (an object into the notified bucket)
    filename: str
    size: int
    content_type: str
    key: str  # the object's key in S3
    bucket: str | None
    status: int | None  # HTTP status (api)
    response: Any  # the API's JSON answer (api)
    record: dict[str, Any] | None  # the row the Lambda wrote
    table: str | None  # its table (logical name)
    elapsed_ms: float
    route: str | None = None  # the route it was sent to (api): POST /files

    @property
    def ok(self) -> bool:
        if self.mode == "api" and (self.status is None or not 200 <= self.status < 300):
            return False
        return self.record is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- which lab, which way ---------------------------------------------------------------
def parse_route(route: str) -> tuple[str, str]:
    """'POST /files' -> ('POST', '/files'); UsageError when it is not METHOD /path."""
    method, _, path = route.strip().partition(" ")
    path = path.strip()
    if not is_method(method) or not path.startswith("/"):
        raise UsageError(f"route {route!r} is not 'METHOD /path'", hint="e.g. --route 'POST /files'")
    return method.upper(), path


def takes_uploads(lab: DeployedLab, route: str | None) -> bool:
    """Whether `upload` can send the lab a file: it has an S3 notification, or an API and a route."""
    return lab.has("s3.notification") or (route is not None and any(lab.has(k) for k in HTTP_KINDS))


def pick_upload_lab(
    store: StateStore, lab: str | None, *, where: str, route_of: Callable[[DeployedLab], str | None]
) -> DeployedLab:
    """The lab (named, or the only one) that takes uploads; `route_of` says which route of a lab's
    API takes files (from `--route`, or the lab's `upload` checks), if any."""
    return pick_lab(
        store,
        lab,
        where=where,
        what="an upload route (an upload check naming it, or --route) or an S3 notification",
        accepts=lambda d: takes_uploads(d, route_of(d)),
        suggest="upload",
    )


def notification_target(target: Target, lab: DeployedLab, record: Record) -> tuple[str, str]:
    """(bucket, key prefix) of an s3.notification: the bucket from its attrs, the prefix from the
    bucket's live notification configuration (the entry whose Id is the notification's)."""
    bucket = record.attrs.get("bucket") or record.attrs.get("bucket_name")
    if not bucket:
        raise ExerciseError(
            f"cannot tell which bucket s3.notification '{record.logical}' of lab '{lab.name}' watches",
            hint=f"run 'awslab up {lab.name}' to refresh its state",
        )
    entry_id = record.attrs.get("id") or record.physical
    try:
        conf = target.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    except ClientError:
        conf = {}
    for entry in conf.get("LambdaFunctionConfigurations", []):
        if entry.get("Id") == entry_id:
            rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            return str(bucket), next((str(r["Value"]) for r in rules if r["Name"].lower() == "prefix"), "")
    return str(bucket), str(record.attrs.get("prefix") or "")


# ---- uploading --------------------------------------------------------------------------
def upload(
    target: Target,
    lab: DeployedLab,
    file: Path,
    *,
    route: str | None = None,
    api: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] | None = None,
) -> UploadResult:
    """Upload `file` to `route` (METHOD /path) of the lab's API (the one named `api` when it has
    several), or with no route into its notified bucket; wait up to `timeout` s for its row."""
    file = Path(file).expanduser()
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    kwargs: dict[str, Any] = {"timeout": timeout, **({"sleep": sleep} if sleep else {})}
    if route is not None:
        method, path = parse_route(route)
        return _to_api(
            lab, api_record(lab, api), method, path, file.name, content, content_type, target, **kwargs
        )
    notifications = lab.records("s3.notification")
    if not notifications:
        raise UsageError(
            f"lab '{lab.name}' takes no uploads this way: no route was given and it has no S3 notification",
            hint="name the route of its API that takes files, e.g. --route 'POST /files'",
        )
    return _to_bucket(target, lab, ready(lab, notifications[0]), file.name, content, content_type, **kwargs)


def _to_api(
    lab: DeployedLab,
    api: Record,
    method: str,
    path: str,
    filename: str,
    content: bytes,
    content_type: str,
    target: Target,
    **wait: Any,
) -> UploadResult:
    start = time.perf_counter()
    resp = call(
        api.attrs.get("url", ""),
        method,
        path,
        json_body={
            "filename": filename,
            "content": base64.b64encode(content).decode(),
            "content_type": content_type,
        },
    )
    row = resp.json if isinstance(resp.json, dict) else None
    record, table = None, None
    if resp.ok and row and row.get("id"):
        # the row is returned by the function; reading it back shows it is really stored
        effects = wait_for_effects(target, lab.tables(), [[str(row["id"])]], **wait)
        if effects.found:
            record, table = effects.found[0].item, effects.found[0].table
    return UploadResult(
        lab.name,
        "api",
        filename,
        len(content),
        content_type,
        str((row or {}).get("key", "")),
        None,
        resp.status,
        resp.json if resp.json is not None else resp.body,
        record,
        table,
        round((time.perf_counter() - start) * 1000, 1),
        f"{method} {path}",
    )


def _to_bucket(
    target: Target,
    lab: DeployedLab,
    notification: Record,
    filename: str,
    content: bytes,
    content_type: str,
    **wait: Any,
) -> UploadResult:
    bucket, prefix = notification_target(target, lab, notification)
    key = prefix + filename
    tables = lab.tables()
    baseline = snapshot(target, tables)  # the same file again rewrites its row: only a new row counts
    start = time.perf_counter()
    target.client("s3").put_object(Bucket=bucket, Key=key, Body=content, ContentType=content_type)
    effects = wait_for_effects(target, tables, [[key]], baseline=baseline, **wait)
    found = effects.found[0] if effects.found else None
    return UploadResult(
        lab.name,
        "s3",
        filename,
        len(content),
        content_type,
        key,
        bucket,
        None,
        None,
        found.item if found else None,
        found.table if found else None,
        round((time.perf_counter() - start) * 1000, 1),
    )

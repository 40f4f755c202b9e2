"""`awslab upload FILE`: through the upload lab's API (`POST /files`, JSON with the content in
base64), or into the image lab's notified bucket (`uploads/<filename>`), then the row the
Lambda wrote: the file's metadata, or the thumbnail's size."""

from __future__ import annotations

import base64
import mimetypes
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from awslab.errors import ExerciseError, SpecError, UsageError
from awslab.exercise.effects import DEFAULT_TIMEOUT, snapshot, wait_for_effects
from awslab.exercise.http import call
from awslab.exercise.labs import DeployedLab, pick_lab, ready
from awslab.resources.apigateway import parse_route
from awslab.resources.base import Record
from awslab.spec import load_spec, resolve
from awslab.state import StateStore
from awslab.target import Target

UPLOAD_ROUTE = "POST /files"
UPLOAD_PREFIX = "uploads/"


@dataclass
class UploadResult:
    lab: str
    mode: str  # "api" (POST /files) or "s3" (object into the notified bucket)
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

    @property
    def ok(self) -> bool:
        if self.mode == "api" and (self.status is None or not 200 <= self.status < 300):
            return False
        return self.record is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- which lab, which way ---------------------------------------------------------------
def spec_fields(lab: DeployedLab, logical: str) -> Mapping[str, Any] | None:
    """A resource's fields in the lab's spec file; None when the spec cannot say: the file is
    gone, is invalid now, or no longer has that resource (the spec moved on since `up`)."""
    if lab.spec_path is None:
        return None
    try:
        resource = load_spec(lab.spec_path).resources.get(logical)
    except SpecError:
        return None
    return resource.fields if resource is not None else None


def api_routes(target: Target, lab: DeployedLab, api: Record) -> set[str]:
    """'METHOD /path' of every route of an API: from the lab's spec, else from API Gateway."""
    fields = spec_fields(lab, api.logical)
    if fields is not None:  # a valid spec's routes parse
        return {" ".join(parse_route(k)) for k in fields.get("routes", {})}
    api_id = api.attrs.get("id")
    if not api_id:
        return set()
    pages = (
        target.client("apigateway")
        .get_paginator("get_resources")
        .paginate(restApiId=api_id, embed=["methods"])
    )
    return {
        f"{m} {r['path']}"
        for page in pages
        for r in page.get("items", [])
        for m in r.get("resourceMethods", {})
    }


def upload_api(target: Target, lab: DeployedLab) -> Record | None:
    """The lab's API that takes `POST /files`, if any."""
    for api in lab.records("apigateway.rest_api"):
        if UPLOAD_ROUTE in api_routes(target, lab, api):
            return api
    return None


def pick_upload_lab(store: StateStore, target: Target, lab: str | None, *, where: str) -> DeployedLab:
    return pick_lab(
        store,
        lab,
        where=where,
        what=f"an upload API ({UPLOAD_ROUTE}) or an S3 notification",
        accepts=lambda d: d.has("s3.notification") or upload_api(target, d) is not None,
        suggest="upload",
    )


def notification_bucket(lab: DeployedLab, record: Record) -> str:
    """The bucket an s3.notification watches: from its attrs, else its spec field resolved."""
    for key in ("bucket", "bucket_name"):
        if record.attrs.get(key):
            return str(record.attrs[key])
    fields = spec_fields(lab, record.logical)
    if fields is not None and fields.get("bucket"):
        try:
            bucket = resolve(fields["bucket"], lab.attrs())
        except KeyError:  # it names a resource or attribute the state does not record
            bucket = None
        if isinstance(bucket, str) and bucket:
            return bucket
    raise ExerciseError(
        f"cannot tell which bucket s3.notification '{record.logical}' of lab '{lab.name}' watches",
        hint=f"run 'awslab up {lab.name}' to refresh its state",
    )


# ---- uploading --------------------------------------------------------------------------
def upload(
    target: Target,
    lab: DeployedLab,
    file: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] | None = None,
) -> UploadResult:
    """Upload `file` the way the lab takes files, and wait up to `timeout` s for its row."""
    file = Path(file).expanduser()
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    kwargs: dict[str, Any] = {"timeout": timeout, **({"sleep": sleep} if sleep else {})}
    notifications = lab.records("s3.notification")
    if notifications:
        return _to_bucket(
            target, lab, ready(lab, notifications[0]), file.name, content, content_type, **kwargs
        )
    api = upload_api(target, lab)
    if api is None:
        raise UsageError(
            f"lab '{lab.name}' takes no uploads: it has no {UPLOAD_ROUTE} route and no S3 notification"
        )
    return _to_api(target, lab, ready(lab, api), file.name, content, content_type, **kwargs)


def _to_api(
    target: Target,
    lab: DeployedLab,
    api: Record,
    filename: str,
    content: bytes,
    content_type: str,
    **wait: Any,
) -> UploadResult:
    start = time.perf_counter()
    resp = call(
        api.attrs.get("url", ""),
        "POST",
        "/files",
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
    bucket = notification_bucket(lab, notification)
    prefix = str(notification.attrs.get("prefix") or UPLOAD_PREFIX)
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

"""`upload: FILE` (a path relative to the spec): through the route of the lab's API named by
`route`, or, with no route, into the bucket of its S3 notification; then the row the Lambda wrote.

`route` and `summary` also tell `awslab upload` how this lab takes files and what to show of the
row, so that no lab's route or fields are written into the exercise code.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, field_validator

from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register
from awslab.exercise.defaults import HTTP_KINDS

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class UploadOptions(BaseModel):
    api: str | None = None  # logical name of the API when the lab has several (call, upload)
    # the route of the lab's API that takes files: JSON {filename, content (base64), content_type}
    route: str | None = None
    # a line about the row written, with its fields in braces: "thumbnail {width}x{height}"
    summary: str | None = None

    @field_validator("route")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None:
            method, _, path = value.strip().partition(" ")
            if method.upper() not in _METHODS or not path.strip().startswith("/"):
                raise ValueError(f"expected 'METHOD /path' such as 'POST /files', got {value!r}")
        return value

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
            except ValueError as exc:
                raise ValueError(f"not a summary template: {exc}") from None
            if any(not f.isidentifier() for f in fields):
                raise ValueError("each {...} names one field of the row, e.g. {width}")
        return value


def summary_fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def summaries(checks: Iterable[Check], record: Mapping[str, Any]) -> list[str]:
    """The `summary` lines of a lab's upload checks that the row has every field of, filled in."""
    out: list[str] = []
    for c in checks:
        template = c.options(UploadOptions).summary if c.handler is Upload else None
        if template and all(f in record for f in summary_fields(template)):
            line = template.format_map({k: v for k, v in record.items()})
            if line not in out:
                out.append(line)
    return out


def upload_route(checks: Iterable[Check]) -> tuple[str | None, str | None]:
    """(route, api) of the first of a lab's upload checks that names a route: how it takes files."""
    for c in checks:
        if c.handler is Upload:
            o = c.options(UploadOptions)
            if o.route:
                return o.route, o.api
    return None, None


@register
class Upload(Action):
    key = "upload"
    order = 60
    value_type = str
    Options = UploadOptions
    observes: ClassVar[frozenset[str]] = frozenset({"status", "json_", "record", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        api = check.options(UploadOptions).api
        return [] if api is None else [(api, HTTP_KINDS)]

    @classmethod
    def paths(cls, check: Check) -> dict[str, str]:
        return {"upload": "file"}

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import upload

        o = check.options(UploadOptions)
        up = upload.upload(run.target, run.lab, run.base_dir / str(check.value), route=o.route, api=o.api)
        records = [up.record] if up.record is not None else []
        seen = {
            "status": up.status,
            "json_": up.response,
            "record": records,
            "body": json.dumps(up.response, default=str),
        }
        return Observation(seen, up)

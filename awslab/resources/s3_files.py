"""The s3.files kind: the files a lab uploads into a bucket (a site's tree, rendered config)."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from awslab.errors import SpecError
from awslab.project_files import project_root, walk_files
from awslab.resources.base import (
    Context,
    Made,
    Props,
    Record,
    Resource,
    Survey,
    fingerprint_of,
    missing_ok,
    or_none,
    register,
)
from awslab.resources.fanout import together
from awslab.resources.s3_bucket import BATCH, delete_batch

if TYPE_CHECKING:
    from awslab.target import Target

# Explicit types for what websites serve: the platform's mimetypes table varies (Windows
# registries have mapped .js to text/plain) and lacks some modern formats.
CONTENT_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "text/javascript",
    ".mjs": "text/javascript", ".json": "application/json", ".map": "application/json",
    ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml", ".webp": "image/webp",
    ".avif": "image/avif", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".ico": "image/x-icon", ".txt": "text/plain", ".md": "text/markdown",
    ".csv": "text/csv", ".xml": "application/xml", ".pdf": "application/pdf", ".wasm": "application/wasm",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
}  # fmt: skip
# object metadata naming the resource that wrote an object
_OWNER_META = ("awslab-lab", "awslab-stack", "awslab-logical")


def content_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class FilesProps(Props):
    bucket: str = Field(min_length=1)
    source: str | None = None
    render: dict[str, dict[str, Any]] = Field(default_factory=dict)
    prefix: str = ""

    @field_validator("render")
    @classmethod
    def _render(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in v:
            _check_relative(name)
            if PurePosixPath(name).suffix not in (".js", ".json"):
                raise ValueError(f"render '{name}': only .js (window.AWSLAB_CONFIG = ...) or .json files")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return v.strip("/")

    @model_validator(mode="after")
    def _something(self) -> FilesProps:
        if self.source is None and not self.render:
            raise ValueError("give a source directory, files to render, or both")
        return self


def _check_relative(name: str) -> None:
    p = PurePosixPath(name)
    if not name or p.is_absolute() or ".." in p.parts or "\\" in name:
        raise ValueError(f"'{name}' must be a relative path inside the bucket")


def render_file(name: str, values: dict[str, Any]) -> bytes:
    body = json.dumps(values, indent=2, sort_keys=True)
    if name.endswith(".js"):
        return f"window.AWSLAB_CONFIG = {body};\n".encode()
    return (body + "\n").encode()


@register
class Files(Resource[FilesProps]):
    kind = "s3.files"
    attributes = ("name", "keys", "count")
    sweep_rank = 65  # before its bucket (it finds none: see list_made)

    @property
    def physical(self) -> str:
        return self.props.bucket

    @classmethod
    def delete_needs(cls, record: Record, records: Mapping[str, Record]) -> set[str]:
        # the bucket (emptied first); not what the rendered files name (an API's URL)
        bucket = record.attrs.get("name") or record.physical
        return {n for n in record.depends_on if n in records and records[n].physical == bucket}

    @classmethod
    def local_files(cls, props: FilesProps, spec_dir: Path) -> Iterable[tuple[str, Path]]:
        return _walk(spec_dir / props.source, spec_dir) if props.source is not None else ()

    def fingerprint(self) -> str:
        tree = {key: hashlib.sha256(body).hexdigest() for key, (body, _, _) in self._files().items()}
        return fingerprint_of(self.kind, self.props.model_dump(mode="json"), tree)

    def _files(self) -> dict[str, tuple[bytes, str, str | None]]:
        """key -> (body, content type, cache control): the source tree, then rendered files."""
        out: dict[str, tuple[bytes, str, str | None]] = {}
        if self.props.source is not None:
            root = self.ctx.path(self.props.source)
            if not root.is_dir():
                raise SpecError([f"{self.logical}.source: directory not found: {root}"])
            for rel, path in _walk(root, self.ctx.base_dir):
                out[self._key(rel)] = (path.read_bytes(), content_type(rel), None)
        for name, values in self.props.render.items():
            # generated from resolved values (an API URL...): browsers must not cache a stale one
            out[self._key(name)] = (render_file(name, values), content_type(name), "no-cache")
        return out

    def _key(self, rel: str) -> str:
        return f"{self.props.prefix}/{rel}" if self.props.prefix else rel

    def create(self) -> dict[str, Any]:
        files = self._files()
        self._upload(files, set(files))
        return self._attrs(files)

    def update(self, record: Record) -> dict[str, Any]:
        s3, files = self.ctx.client("s3"), self._files()
        old_bucket = record.attrs.get("name") or record.physical
        old_keys = set(record.attrs.get("keys") or [])
        if old_bucket != self.props.bucket:
            _delete_keys(s3, old_bucket, old_keys, self.logical)
            self._upload(files, set(files))
            return self._attrs(files)
        live = _etags(s3, self.props.bucket, self.props.prefix)
        changed = {k for k, (body, _, _) in files.items() if live.get(k) != _md5(body)}
        self._upload(files, changed)
        _delete_keys(s3, self.props.bucket, old_keys - set(files), self.logical)
        return self._attrs(files)

    def _upload(self, files: dict[str, tuple[bytes, str, str | None]], keys: set[str]) -> None:
        """PutObject of each key, together (S3 takes thousands a second per prefix)."""
        s3 = self.ctx.client("s3")
        # owner metadata lets a delete without recorded keys find what this resource wrote
        meta = dict(zip(_OWNER_META, (self.ctx.lab, self.ctx.stack_id, self.logical), strict=True))

        def put(key: str) -> None:
            body, ctype, cache = files[key]
            extra = {"CacheControl": cache} if cache else {}
            s3.put_object(
                Bucket=self.props.bucket, Key=key, Body=body, ContentType=ctype, Metadata=meta, **extra
            )

        together(*(lambda key=key: put(key) for key in sorted(keys)))

    def _attrs(self, files: dict[str, Any]) -> dict[str, Any]:
        keys = sorted(files)
        return {"name": self.props.bucket, "keys": keys, "count": len(keys), "prefix": self.props.prefix}

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        if not record.attrs:
            return None
        bucket = record.attrs.get("name") or record.physical
        live = or_none(lambda: _etags(ctx.client("s3"), bucket, record.attrs.get("prefix", "")))
        if live is None:
            return None
        keys = list(record.attrs.get("keys") or [])
        if any(k not in live for k in keys):
            return None
        return {"name": bucket, "keys": keys, "count": len(keys), "prefix": record.attrs.get("prefix", "")}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        s3, bucket = ctx.client("s3"), record.attrs.get("name") or record.physical
        with missing_ok():
            keys = (
                set(record.attrs["keys"])
                if "keys" in record.attrs
                else _owned_keys(ctx, bucket, record.logical)
            )
            _delete_keys(s3, bucket, keys, record.logical)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """None of its own: objects have no awslab name, and a swept bucket is emptied by its delete."""
        return []


def _walk(root: Path, spec_dir: Path) -> Iterable[tuple[str, Path]]:
    """(relative path, path) of each file of a site. Symlinks may point anywhere in the spec's
    project; one leading out of it is refused, or a website would serve what it points at."""
    return walk_files(root, project_root(spec_dir), skip=_litter)


def _litter(rel: str) -> bool:
    # editor and OS litter is not part of a site
    return any(p.startswith(".") or p == "__pycache__" for p in rel.split("/"))


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """key -> ETag (the MD5 of single-part uploads) of the objects under `prefix`."""
    args = {"Bucket": bucket, "Prefix": f"{prefix}/" if prefix else ""}
    return {
        o["Key"]: o["ETag"].strip('"')
        for page in s3.get_paginator("list_objects_v2").paginate(**args)
        for o in page.get("Contents", [])
    }


def _delete_keys(s3: Any, bucket: str, keys: set[str], logical: str) -> None:
    ordered = sorted(keys)
    for i in range(0, len(ordered), BATCH):
        objects = [{"Key": k} for k in ordered[i : i + BATCH]]
        with missing_ok():
            delete_batch(s3, bucket, objects, ("s3.files", logical))


def _owned_keys(ctx: Context, bucket: str, logical: str) -> set[str]:
    """Keys whose owner metadata names this resource: for a record whose keys were never written."""
    s3, wanted = ctx.client("s3"), (ctx.lab, ctx.stack_id, logical)
    owned = set()
    for key in _etags(s3, bucket, ""):
        head = or_none(partial(s3.head_object, Bucket=bucket, Key=key))
        if head is not None and tuple(head.get("Metadata", {}).get(m) for m in _OWNER_META) == wanted:
            owned.add(key)
    return owned

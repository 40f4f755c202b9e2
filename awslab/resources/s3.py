"""S3 buckets (optionally static websites) and the files a lab uploads into one.

Teardown is the classic trap here: a bucket with objects, old versions or delete markers cannot
be deleted, so `delete` empties every version and aborts unfinished multipart uploads first.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from awslab.errors import ProvisionError, SpecError
from awslab.project_files import project_root, walk_files
from awslab.resources.base import (
    Context,
    NameRule,
    Props,
    Record,
    Resource,
    arn_of,
    error_code,
    fingerprint_of,
    is_not_found,
    register,
)
from awslab.resources.fanout import together
from awslab.resources.retry import retry_propagation
from awslab.target import origin_of

if TYPE_CHECKING:
    from awslab.target import Target

BATCH = 1000  # DeleteObjects takes at most 1000 keys
LIST_PAGE = 1000  # what S3 returns at most per listing
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
_OWNER_META = ("awslab-lab", "awslab-stack", "awslab-logical")


def content_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _arn(ctx: Context, bucket: str) -> str:
    return arn_of(ctx.target, "s3", bucket, regional=False, account=False)


# ---- s3.bucket ---------------------------------------------------------------------------
class Website(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: str = "index.html"
    error: str | None = None


class BucketProps(Props):
    website: Website | None = None
    versioning: bool = False
    cors: list[str] | None = Field(default=None, min_length=1)

    @field_validator("cors")
    @classmethod
    def _origins(cls, v: list[str] | None) -> list[str] | None:
        # URLs become origins; "*" and unresolved "${...}" references are left alone
        return None if v is None else [origin_of(o) if "://" in o else o for o in v]


@register
class Bucket(Resource):
    kind = "s3.bucket"
    Props = BucketProps
    attributes = ("name", "arn", "domain_name", "website_url", "website_origin")
    name_rule: ClassVar[NameRule] = NameRule(max_len=63, lowercase=True, allowed="-")
    drift_keys = ("website_url",)
    predictable = frozenset({"name", "arn"})
    props: BucketProps

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "s3", physical, regional=False, account=False)}

    def create(self) -> dict[str, Any]:
        s3, name = self.ctx.client("s3"), self.physical
        args: dict[str, Any] = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
        if self.ctx.target.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.ctx.target.region}
        try:
            s3.create_bucket(**args)
        except Exception as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":  # a create that died half-way: finish it
                raise
        # CreateBucket answers once the bucket exists (S3 is strongly consistent): its tags and
        # settings go out together
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()]
        self._configure(
            name, fresh=True, also=lambda: s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        )
        return _bucket_attrs(self.ctx, name, self.props.website is not None)

    def update(self, record: Record) -> dict[str, Any]:
        name = record.attrs.get("name") or record.physical
        self._configure(name, fresh=False)
        return _bucket_attrs(self.ctx, name, self.props.website is not None)

    def _configure(self, name: str, *, fresh: bool, also: Callable[[], Any] | None = None) -> None:
        """Versioning, website (public read) and CORS, each set independently of the others."""
        calls = [self._versioning, self._website, self._cors]
        together(*(lambda call=call: call(name, fresh) for call in calls), *([also] if also else []))

    def _versioning(self, name: str, fresh: bool) -> None:
        s3, p = self.ctx.client("s3"), self.props
        if p.versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        elif not fresh and s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled":
            # a versioned bucket can only be suspended, never unversioned again
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})

    def _website(self, name: str, fresh: bool) -> None:
        s3, p = self.ctx.client("s3"), self.props
        if p.website:
            site: dict[str, Any] = {"IndexDocument": {"Suffix": p.website.index}}
            if p.website.error:
                site["ErrorDocument"] = {"Key": p.website.error}
            together(
                lambda: self._public_read(name),
                lambda: s3.put_bucket_website(Bucket=name, WebsiteConfiguration=site),
            )
        else:
            if not fresh:
                _ignore_missing(lambda: s3.delete_bucket_website(Bucket=name))
                _ignore_missing(lambda: s3.delete_bucket_policy(Bucket=name))
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )

    def _public_read(self, name: str) -> None:
        s3 = self.ctx.client("s3")
        # Only the policy blocks are lifted: ACLs stay blocked (ownership is enforced anyway).
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
        )
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AwslabPublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"{_arn(self.ctx, name)}/*",
                }
            ],
        }
        # The lifted block takes a moment to apply on AWS: AccessDenied until then.
        try:
            retry_propagation(
                lambda: s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy)),
                deadline=30.0,
                is_retryable=lambda e: error_code(e) == "AccessDenied",
            )
        except Exception as exc:
            if error_code(exc) != "AccessDenied":
                raise
            err = ProvisionError(self.kind, self.logical, "making a public website of", exc)
            err.hint = "the account's S3 Block Public Access may forbid public buckets (s3control)"
            raise err from exc

    def _cors(self, name: str, fresh: bool) -> None:
        s3, p = self.ctx.client("s3"), self.props
        if p.cors:
            rule = {
                "AllowedOrigins": list(p.cors),
                "AllowedMethods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 600,
            }
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})
        elif not fresh:
            _ignore_missing(lambda: s3.delete_bucket_cors(Bucket=name))

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        s3, name = ctx.client("s3"), record.attrs.get("name") or record.physical
        try:  # one request: a missing bucket answers NoSuchBucket here too
            s3.get_bucket_website(Bucket=name)
            website = True
        except Exception as exc:
            if error_code(exc) == "NoSuchWebsiteConfiguration":
                website = False
            elif is_not_found(exc):
                return None
            else:
                raise
        return _bucket_attrs(ctx, name, website)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """Delete the bucket; when S3 says it is not empty (objects, versions or uploads that
        no s3.files of the lab removed), empty it first. An empty bucket (its files' delete
        came first) costs one request."""
        s3, name = ctx.client("s3"), record.attrs.get("name") or record.physical
        try:
            s3.delete_bucket(Bucket=name)
            return
        except Exception as exc:
            # Names are global: a create that failed on a name another account holds left a
            # "creating" record for a bucket that was never ours.
            forbidden = error_code(exc) in ("403", "AccessDenied", "Forbidden")
            if is_not_found(exc) or (forbidden and record.status == "creating"):
                return
            if error_code(exc) != "BucketNotEmpty":
                raise
        try:
            empty_bucket(s3, name, record.logical)
            s3.delete_bucket(Bucket=name)
        except Exception as exc:
            if not is_not_found(exc):
                raise


def _bucket_attrs(ctx: Context, name: str, website: bool) -> dict[str, Any]:
    url = ctx.target.website_url(name) if website else ""
    return {
        "name": name,
        "arn": _arn(ctx, name),
        "domain_name": f"{name}.s3.amazonaws.com",
        "website_url": url,
        "website_origin": origin_of(url) if url else "",
    }


def _ignore_missing(call: Any) -> None:
    try:
        call()
    except Exception as exc:
        if not (is_not_found(exc) or error_code(exc).startswith("NoSuch")):
            raise


def empty_bucket(s3: Any, bucket: str, logical: str = "") -> int:
    """Delete every object version and delete marker, and abort multipart uploads. Returns how
    many versions and markers were deleted."""
    deleted = 0
    # The listing is complete before anything is deleted: moto (hence the local cloud) loses its
    # place when the version a page marker names is gone. A few rounds catch late writers.
    for _ in range(3):
        found = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for page in s3.get_paginator("list_object_versions").paginate(
                Bucket=bucket, PaginationConfig={"PageSize": LIST_PAGE}
            )
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if not found:
            break
        for i in range(0, len(found), BATCH):
            deleted += _delete_batch(s3, bucket, found[i : i + BATCH], ("s3.bucket", logical or bucket))
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for up in page.get("Uploads", []):
            _ignore_missing(
                lambda u=up: s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
            )
    return deleted


def _delete_batch(s3: Any, bucket: str, objects: list[dict[str, str]], owner: tuple[str, str]) -> int:
    errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True}).get("Errors", [])
    errors = [e for e in errors if e.get("Code") != "NoSuchKey"]
    if errors:
        first = errors[0]
        raise ProvisionError(
            owner[0],
            owner[1],
            "deleting objects of",
            f"{len(errors)} object(s) not deleted, e.g. {first.get('Key')}: "
            f"{first.get('Code')} {first.get('Message', '')}".strip(),
        )
    return len(objects)


# ---- s3.files ----------------------------------------------------------------------------
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
class Files(Resource):
    kind = "s3.files"
    Props = FilesProps
    attributes = ("name", "keys", "count")
    props: FilesProps

    @property
    def physical(self) -> str:
        return self.props.bucket

    @classmethod
    def delete_needs(cls, record: Record, records: Mapping[str, Record]) -> set[str]:
        # the bucket (emptied first); not what the rendered files name (an API's URL)
        bucket = record.attrs.get("name") or record.physical
        return {n for n in record.depends_on if n in records and records[n].physical == bucket}

    @classmethod
    def local_files(cls, props: Props, spec_dir: Path) -> Iterable[tuple[str, Path]]:
        source = cast(FilesProps, props).source
        return _walk(spec_dir / source, spec_dir) if source is not None else ()

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
        try:
            live = _etags(ctx.client("s3"), bucket, record.attrs.get("prefix", ""))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        keys = list(record.attrs.get("keys") or [])
        if any(k not in live for k in keys):
            return None
        return {"name": bucket, "keys": keys, "count": len(keys), "prefix": record.attrs.get("prefix", "")}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        s3, bucket = ctx.client("s3"), record.attrs.get("name") or record.physical
        try:
            keys = (
                set(record.attrs["keys"])
                if "keys" in record.attrs
                else _owned_keys(ctx, bucket, record.logical)
            )
            _delete_keys(s3, bucket, keys, record.logical)
        except Exception as exc:
            if not is_not_found(exc):
                raise


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
        try:
            _delete_batch(s3, bucket, objects, ("s3.files", logical))
        except Exception as exc:
            if not is_not_found(exc):
                raise


def _owned_keys(ctx: Context, bucket: str, logical: str) -> set[str]:
    """Keys whose owner metadata names this resource: for a record whose keys were never written."""
    s3, wanted = ctx.client("s3"), (ctx.lab, ctx.stack_id, logical)
    owned = set()
    for key in _etags(s3, bucket, ""):
        try:
            meta = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        except Exception as exc:
            if is_not_found(exc):
                continue
            raise
        if tuple(meta.get(m) for m in _OWNER_META) == wanted:
            owned.add(key)
    return owned

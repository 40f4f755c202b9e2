"""The s3.bucket kind: an S3 bucket, optionally a static website.

Teardown is the classic trap here: a bucket with objects, old versions or delete markers cannot
be deleted, so `delete` empties every version and aborts unfinished multipart uploads first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from awslab.errors import ProvisionError
from awslab.resources.base import (
    NAME_PREFIX,
    TAG_LAB,
    TAG_STACK,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    arn_of,
    error_code,
    ignore_missing,
    is_not_found,
    missing_ok,
    pages,
    read_tags,
    register,
)
from awslab.resources.fanout import together
from awslab.resources.idempotent import tag_map
from awslab.resources.retry import retry_propagation
from awslab.target import origin_of

if TYPE_CHECKING:
    from awslab.target import Target

BATCH = 1000  # DeleteObjects takes at most 1000 keys
LIST_PAGE = 1000  # what S3 returns at most per listing


def _arn(ctx: Context, bucket: str) -> str:
    return arn_of(ctx.target, "s3", bucket, regional=False, account=False)


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
class Bucket(Resource[BucketProps]):
    kind = "s3.bucket"
    attributes = ("name", "arn", "domain_name", "website_url", "website_origin")
    name_rule: ClassVar[NameRule] = NameRule(max_len=63, lowercase=True, allowed="-")
    drift_keys = ("website_url",)
    predictable = frozenset({"name", "arn"})
    sweep_rank = 70  # after the functions and notifications that use it

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
                ignore_missing(lambda: s3.delete_bucket_website(Bucket=name))
                ignore_missing(lambda: s3.delete_bucket_policy(Bucket=name))
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
            ignore_missing(lambda: s3.delete_bucket_cors(Bucket=name))

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
        with missing_ok():
            empty_bucket(s3, name, record.logical)
            s3.delete_bucket(Bucket=name)

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        """PutBucketTagging replaces the whole set: what is there, less the dropped, plus the spec's."""
        from botocore.exceptions import ClientError

        s3, name = ctx.client("s3"), str(record.attrs.get("name") or record.physical)
        try:
            have = tag_map(s3.get_bucket_tagging(Bucket=name).get("TagSet", []))
        except ClientError as exc:
            if error_code(exc) != "NoSuchTagSet":
                raise
            have = {}
        wanted = {**{k: v for k, v in have.items() if k not in dropped}, **tags}
        if wanted != have:
            s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in wanted.items()]}
            )

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        survey = survey or Survey(target)
        buckets = awslab_buckets(survey).items()
        return [Made(name, tags) for name, tags in buckets if not survey.known(cls.kind, name)]


def awslab_buckets(survey: Survey) -> dict[str, dict[str, str]]:
    """The buckets named awslab-... in the survey's region whose tags say awslab made them, known
    or not (their notifications are looked for too), with those tags; read once per sweep."""

    def read() -> dict[str, dict[str, str]]:
        s3, region = survey.target.client("s3"), survey.target.region
        out: dict[str, dict[str, str]] = {}
        prefix, page = f"{NAME_PREFIX}-", {"PageSize": 1000}
        listing = pages(
            s3, "list_buckets", "Buckets", Prefix=prefix, BucketRegion=region, PaginationConfig=page
        )
        for b in listing:
            name = str(b["Name"])
            if not name.startswith(prefix):
                continue
            tags = read_tags(partial(_bucket_tags, s3, name), "NoSuchTagSet")
            # names are global: a bucket of another region belongs to that region's state
            if tags and tags.get(TAG_LAB) and tags.get(TAG_STACK) and _bucket_region(s3, b) == region:
                out[name] = tags
        return out

    return survey.once("s3.buckets", read)


def _bucket_tags(s3: Any, name: str) -> dict[str, str]:
    return tag_map(s3.get_bucket_tagging(Bucket=name).get("TagSet", []))


def _bucket_region(s3: Any, bucket: dict[str, Any]) -> str:
    if bucket.get("BucketRegion"):
        return str(bucket["BucketRegion"])
    location = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
    # S3's legacy answers: none for us-east-1, "EU" for eu-west-1
    return str({None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location))


def _bucket_attrs(ctx: Context, name: str, website: bool) -> dict[str, Any]:
    url = ctx.target.website_url(name) if website else ""
    return {
        "name": name,
        "arn": _arn(ctx, name),
        "domain_name": f"{name}.s3.amazonaws.com",
        "website_url": url,
        "website_origin": origin_of(url) if url else "",
    }


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
            deleted += delete_batch(s3, bucket, found[i : i + BATCH], ("s3.bucket", logical or bucket))
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for up in page.get("Uploads", []):
            ignore_missing(
                lambda u=up: s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
            )
    return deleted


def delete_batch(s3: Any, bucket: str, objects: list[dict[str, str]], owner: tuple[str, str]) -> int:
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

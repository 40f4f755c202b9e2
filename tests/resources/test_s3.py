"""s3.bucket and s3.files on moto: websites and their public policy, versioned teardown, uploads
with the right content types, rendered config, in-place updates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from awslab.errors import ProvisionError, SpecError
from awslab.resources import s3_bucket as s3mod
from awslab.resources.base import TAG_LOGICAL, TAG_STACK, Context, Record, kind_class
from awslab.resources.s3_bucket import Bucket, BucketProps
from awslab.resources.s3_files import Files, FilesProps, content_type


def record_of(res: Bucket | Files, attrs: dict[str, Any] | None = None, status: str = "created") -> Record:
    return Record(
        kind=res.kind,
        logical=res.logical,
        physical=res.physical,
        status=status,  # type: ignore[arg-type]
        attrs=dict(attrs or {}),
    )


def bucket(ctx: Context, logical: str = "site", **props: Any) -> Bucket:
    return Bucket(ctx, logical, BucketProps(**props))


def policy_of(ctx: Context, name: str) -> dict[str, Any] | None:
    try:
        return json.loads(ctx.client("s3").get_bucket_policy(Bucket=name)["Policy"])
    except ctx.client("s3").exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def block_of(ctx: Context, name: str) -> dict[str, bool]:
    return ctx.client("s3").get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]


def bucket_exists(ctx: Context, name: str) -> bool:
    return name in {b["Name"] for b in ctx.client("s3").list_buckets()["Buckets"]}


@pytest.fixture
def s3_calls(ctx: Context) -> Iterator[list[str]]:
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = ctx.client("s3")
    client.meta.events.register("before-call.s3", record)
    yield calls
    client.meta.events.unregister("before-call.s3", record)


# ---- s3.bucket ---------------------------------------------------------------------------
def test_registered() -> None:
    assert kind_class("s3.bucket") is Bucket
    assert kind_class("s3.files") is Files


def test_bucket_props_validation() -> None:
    with pytest.raises(ValidationError):
        BucketProps(website={"index": "index.html", "nope": 1})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        BucketProps(versioned=True)  # type: ignore[call-arg]
    p = BucketProps(cors=["http://localhost:4580/_aws/s3-website/b/", "*", "${site.website_origin}"])
    assert p.cors == ["http://localhost:4580", "*", "${site.website_origin}"]


def test_private_bucket_cycle(ctx: Context) -> None:
    res = bucket(ctx, "Data_Store")
    name = res.physical
    assert name == name.lower() and 3 <= len(name) <= 63
    attrs = res.create()
    assert attrs == {
        "name": name,
        "arn": f"arn:aws:s3:::{name}",
        "domain_name": f"{name}.s3.amazonaws.com",
        "website_url": "",
        "website_origin": "",
    }
    s3 = ctx.client("s3")
    assert all(block_of(ctx, name).values())
    assert policy_of(ctx, name) is None
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags[TAG_STACK] == "abc123" and tags[TAG_LOGICAL] == "Data_Store"
    rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=name).get("Status") is None

    rec = record_of(res, attrs)
    assert Bucket.read(ctx, rec) == attrs
    s3.put_object(Bucket=name, Key="a.txt", Body=b"x")
    Bucket.delete(ctx, rec)
    assert not bucket_exists(ctx, name)
    assert Bucket.read(ctx, rec) is None
    Bucket.delete(ctx, rec)  # already gone: a no-op


def test_website_bucket_is_public_and_configured(ctx: Context) -> None:
    res = bucket(ctx, website={"index": "index.html", "error": "error.html"}, cors=["http://localhost:3000"])
    attrs = res.create()
    name = res.physical
    assert attrs["website_url"] == ctx.target.website_url(name)
    assert attrs["website_origin"] == f"http://{name}.s3-website-us-east-1.amazonaws.com"
    block = block_of(ctx, name)
    assert block["BlockPublicAcls"] and block["IgnorePublicAcls"]
    assert not block["BlockPublicPolicy"] and not block["RestrictPublicBuckets"]
    policy = policy_of(ctx, name)
    assert policy is not None
    [stmt] = policy["Statement"]
    assert (stmt["Effect"], stmt["Principal"], stmt["Action"]) == ("Allow", "*", "s3:GetObject")
    assert stmt["Resource"] == f"arn:aws:s3:::{name}/*"
    site = ctx.client("s3").get_bucket_website(Bucket=name)
    assert site["IndexDocument"] == {"Suffix": "index.html"}
    assert site["ErrorDocument"] == {"Key": "error.html"}
    [rule] = ctx.client("s3").get_bucket_cors(Bucket=name)["CORSRules"]
    assert rule["AllowedOrigins"] == ["http://localhost:3000"]
    assert Bucket.read(ctx, record_of(res, attrs)) == attrs


def test_update_in_place_both_ways(ctx: Context) -> None:
    plain = bucket(ctx)
    attrs = plain.create()
    name = plain.physical
    site = bucket(ctx, website={"index": "main.html"}, versioning=True, cors=["https://example.org/app"])
    attrs = site.update(record_of(plain, attrs))
    s3 = ctx.client("s3")
    assert attrs["website_url"] == ctx.target.website_url(name)
    assert policy_of(ctx, name) is not None
    assert s3.get_bucket_website(Bucket=name)["IndexDocument"] == {"Suffix": "main.html"}
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"][0]["AllowedOrigins"] == ["https://example.org"]

    attrs = bucket(ctx).update(record_of(site, attrs))
    assert attrs["website_url"] == "" and attrs["website_origin"] == ""
    assert policy_of(ctx, name) is None
    assert all(block_of(ctx, name).values())
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchWebsiteConfiguration"):
        s3.get_bucket_website(Bucket=name)
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchCORSConfiguration"):
        s3.get_bucket_cors(Bucket=name)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    assert Bucket.read(ctx, record_of(plain, attrs)) == attrs


def test_versioned_bucket_is_emptied_and_deleted(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, s3_calls: list[str]
) -> None:
    # several listing pages and delete batches, without 1000s of objects
    monkeypatch.setattr(s3mod, "BATCH", 30)  # equal, as in production (1000 and 1000)
    monkeypatch.setattr(s3mod, "LIST_PAGE", 30)
    res = bucket(ctx, versioning=True)
    attrs = res.create()
    name = res.physical
    s3 = ctx.client("s3")
    keys = [f"k{i:02d}" for i in range(38)] + ["b/c.txt", "a.txt"]
    for i in range(3):
        for key in keys:
            s3.put_object(Bucket=name, Key=key, Body=f"{key} v{i}".encode())
    s3.delete_object(Bucket=name, Key="a.txt")  # a delete marker
    s3.delete_object(Bucket=name, Key="b/c.txt")
    s3.create_multipart_upload(Bucket=name, Key="big.bin")
    pages = list(
        s3.get_paginator("list_object_versions").paginate(Bucket=name, PaginationConfig={"PageSize": 30})
    )
    assert len(pages) == 5
    assert sum(len(p.get("Versions", [])) for p in pages) == 120
    assert sum(len(p.get("DeleteMarkers", [])) for p in pages) == 2
    s3_calls.clear()

    Bucket.delete(ctx, record_of(res, attrs))
    assert not bucket_exists(ctx, name)
    assert s3_calls.count("DeleteObjects") == 5  # 122 versions and markers in batches of 30
    assert "AbortMultipartUpload" in s3_calls
    Bucket.delete(ctx, record_of(res, attrs))


def test_delete_from_creating_record_without_attrs(ctx: Context) -> None:
    res = bucket(ctx, website={"index": "index.html"})
    res.create()
    ctx.client("s3").put_object(Bucket=res.physical, Key="index.html", Body=b"<p>hi</p>")
    rec = record_of(res, status="creating")
    assert Bucket.read(ctx, rec) is not None
    Bucket.delete(ctx, rec)
    assert not bucket_exists(ctx, res.physical)
    Bucket.delete(ctx, rec)


def test_delete_leaves_a_bucket_another_account_holds(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    res = bucket(ctx)
    s3 = ctx.client("s3")

    def forbidden(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "DeleteBucket")

    monkeypatch.setattr(s3, "delete_bucket", forbidden)
    Bucket.delete(ctx, record_of(res, status="creating"))  # never ours: nothing to do
    with pytest.raises(ClientError):
        Bucket.delete(ctx, record_of(res, {"name": res.physical}))  # ours, yet refused: say so


def test_public_policy_waits_for_the_lifted_block_then_explains(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = ctx.client("s3")
    real = s3.put_bucket_policy
    denials = [1]  # the first call is denied, as while a lifted block propagates

    def put_policy(**kw: Any) -> Any:
        if denials:
            denials.pop()
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutBucketPolicy"
            )
        return real(**kw)

    sleeps: list[float] = []
    original = s3mod.retry_propagation
    monkeypatch.setattr(s3mod, "retry_propagation", lambda fn, **kw: original(fn, **kw, sleep=sleeps.append))
    monkeypatch.setattr(s3, "put_bucket_policy", put_policy)
    res = bucket(ctx, website={"index": "index.html"})
    res.create()
    assert len(sleeps) == 1 and policy_of(ctx, res.physical) is not None

    denials[:] = [1] * 1000  # denied for good: account-level Block Public Access
    monkeypatch.setattr(s3mod, "retry_propagation", lambda fn, **kw: original(fn, **{**kw, "deadline": 0.0}))
    with pytest.raises(ProvisionError, match="AccessDenied") as info:
        bucket(ctx, "site2", website={"index": "index.html"}).create()
    assert info.value.hint and "Block Public Access" in info.value.hint


def test_create_finishes_a_half_created_bucket(ctx: Context) -> None:
    res = bucket(ctx, website={"index": "index.html"})
    ctx.client("s3").create_bucket(Bucket=res.physical)  # the call went through, the rest did not
    attrs = res.create()
    assert attrs["website_url"] and policy_of(ctx, res.physical) is not None


# ---- s3.files ----------------------------------------------------------------------------
@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    d = tmp_path / "site"
    (d / "img").mkdir(parents=True)
    (d / "index.html").write_text("<!doctype html><script src='config.js'></script><p>items</p>")
    (d / "app.js").write_text("console.log(window.AWSLAB_CONFIG.API_URL);")
    (d / "style.css").write_text("body { color: black }")
    (d / "data.json").write_text('{"a": 1}')
    (d / "img" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (d / "img" / "photo.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBP")
    (d / ".DS_Store").write_bytes(b"junk")
    return d


@pytest.fixture
def site_bucket(ctx: Context) -> str:
    res = bucket(ctx, website={"index": "index.html"})
    res.create()
    return res.physical


def files(ctx: Context, site_dir: Path, name: str, **props: Any) -> Files:
    props.setdefault("render", {"config.js": {"API_URL": "https://api.example/dev", "STAGE": "dev"}})
    return Files(ctx, "site-files", FilesProps(bucket=name, source=str(site_dir), **props))


def objects(ctx: Context, name: str) -> dict[str, dict[str, Any]]:
    s3 = ctx.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
    return {k: s3.get_object(Bucket=name, Key=k) for k in keys}


def test_files_props_validation(site_dir: Path) -> None:
    with pytest.raises(ValidationError, match=r"only \.js"):
        FilesProps(bucket="b", source=str(site_dir), render={"config.yaml": {"a": 1}})
    with pytest.raises(ValidationError, match="relative"):
        FilesProps(bucket="b", render={"../x.js": {"a": 1}})
    with pytest.raises(ValidationError):
        FilesProps(bucket="b")
    with pytest.raises(ValidationError):
        FilesProps(bucket="b", source="x", sync=True)  # type: ignore[call-arg]
    assert FilesProps(bucket="b", render={"c.json": {}}, prefix="/web/").prefix == "web"


def test_content_types() -> None:
    expected = {
        "index.html": "text/html",
        "a.js": "text/javascript",
        "a.json": "application/json",
        "a.svg": "image/svg+xml",
        "a.webp": "image/webp",
        "a.css": "text/css",
        "a.PNG": "image/png",
        "a.woff2": "font/woff2",
        "a.unknownext": "application/octet-stream",
    }
    assert {k: content_type(k) for k in expected} == expected


def test_files_cycle(ctx: Context, site_dir: Path, site_bucket: str) -> None:
    res = files(
        ctx,
        site_dir,
        site_bucket,
        render={"config.js": {"API_URL": "https://api.example/dev", "N": 3}, "settings.json": {"a": [1]}},
    )
    assert res.physical == site_bucket
    attrs = res.create()
    want = [
        "app.js",
        "config.js",
        "data.json",
        "img/logo.svg",
        "img/photo.webp",
        "index.html",
        "settings.json",
        "style.css",
    ]
    assert attrs == {"name": site_bucket, "keys": want, "count": 8, "prefix": ""}
    live = objects(ctx, site_bucket)
    assert sorted(live) == want
    types = {k: o["ContentType"] for k, o in live.items()}
    assert types == {
        "app.js": "text/javascript",
        "config.js": "text/javascript",
        "data.json": "application/json",
        "img/logo.svg": "image/svg+xml",
        "img/photo.webp": "image/webp",
        "index.html": "text/html",
        "settings.json": "application/json",
        "style.css": "text/css",
    }
    config = live["config.js"]["Body"].read().decode()
    assert config.startswith("window.AWSLAB_CONFIG = ") and config.rstrip().endswith(";")
    assert json.loads(config.split("=", 1)[1].strip().rstrip(";")) == {
        "API_URL": "https://api.example/dev",
        "N": 3,
    }
    assert json.loads(live["settings.json"]["Body"].read()) == {"a": [1]}
    assert live["config.js"].get("CacheControl") == "no-cache"
    assert live["settings.json"].get("CacheControl") == "no-cache"
    assert live["index.html"].get("CacheControl") is None
    assert live["img/photo.webp"]["Body"].read() == (site_dir / "img" / "photo.webp").read_bytes()

    rec = record_of(res, attrs)
    assert Files.read(ctx, rec) == attrs
    ctx.client("s3").put_object(Bucket=site_bucket, Key="uploads/user.txt", Body=b"not ours")
    Files.delete(ctx, rec)
    assert sorted(objects(ctx, site_bucket)) == ["uploads/user.txt"]
    assert Files.read(ctx, rec) is None
    Files.delete(ctx, rec)


def test_update_uploads_changes_and_removes_stale_keys(
    ctx: Context, site_dir: Path, site_bucket: str, s3_calls: list[str]
) -> None:
    res = files(ctx, site_dir, site_bucket)
    before = res.fingerprint()
    attrs = res.create()
    ctx.client("s3").put_object(Bucket=site_bucket, Key="uploads/user.txt", Body=b"not ours")
    (site_dir / "style.css").write_text("body { color: red }")
    (site_dir / "data.json").unlink()
    (site_dir / "img" / "new.png").write_bytes(b"\x89PNG")
    res2 = files(ctx, site_dir, site_bucket, render={"config.js": {"API_URL": "https://api.example/v2"}})
    assert res2.fingerprint() != before
    s3_calls.clear()
    attrs = res2.update(record_of(res, attrs))
    assert s3_calls.count("PutObject") == 3  # style.css, new.png, config.js: nothing else re-sent
    assert "data.json" not in attrs["keys"] and "img/new.png" in attrs["keys"]
    live = objects(ctx, site_bucket)
    assert sorted(live) == sorted([*attrs["keys"], "uploads/user.txt"])
    assert live["style.css"]["Body"].read() == b"body { color: red }"
    assert live["img/new.png"]["ContentType"] == "image/png"
    assert b"https://api.example/v2" in live["config.js"]["Body"].read()
    assert (
        files(
            ctx, site_dir, site_bucket, render={"config.js": {"API_URL": "https://api.example/v2"}}
        ).fingerprint()
        == res2.fingerprint()
    )


def test_prefix_and_delete_when_bucket_is_gone(ctx: Context, site_dir: Path) -> None:
    b = bucket(ctx, "store")
    battrs = b.create()
    res = files(ctx, site_dir, b.physical, prefix="web/")
    attrs = res.create()
    assert all(k.startswith("web/") for k in attrs["keys"]) and "web/config.js" in attrs["keys"]
    rec = record_of(res, attrs)
    assert Files.read(ctx, rec) == attrs
    Bucket.delete(ctx, record_of(b, battrs))
    assert Files.read(ctx, rec) is None
    Files.delete(ctx, rec)  # bucket gone: done


def test_delete_from_creating_record_finds_owned_keys(ctx: Context, site_dir: Path, site_bucket: str) -> None:
    res = files(ctx, site_dir, site_bucket)
    res.create()
    ctx.client("s3").put_object(Bucket=site_bucket, Key="foreign.txt", Body=b"someone else's")
    rec = record_of(res, status="creating")
    assert Files.read(ctx, rec) is None
    Files.delete(ctx, rec)
    assert sorted(objects(ctx, site_bucket)) == ["foreign.txt"]


def test_missing_source_is_a_spec_error(ctx: Context, tmp_path: Path) -> None:
    res = Files(ctx, "site-files", FilesProps(bucket="b", source=str(tmp_path / "nope")))
    with pytest.raises(SpecError, match="nope"):
        res.fingerprint()

"""S3 static website hosting, against a real local cloud process driven with boto3."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from awslab.local.urls import website_url
from awslab.local.website import parse_website_configuration, public_read_allowed
from tests.local.conftest import RunningCloud, http

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def public_policy(bucket: str, resource: str = "*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{resource}",
                }
            ],
        }
    )


@pytest.fixture
def site(running_cloud: RunningCloud, unique: Callable[[str], str]) -> tuple[str, str]:
    """A website bucket with an index, an error document, a stylesheet, an image and a sub-folder;
    public only if the test adds a policy. Returns (bucket, base URL)."""
    s3 = running_cloud.client("s3")
    bucket = unique("site")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"},
        },
    )
    files = {
        "index.html": (b"<h1>home</h1>", "text/html"),
        "error.html": (b"<h1>oops</h1>", "text/html"),
        "css/site.css": (b"body{}", "text/css"),
        "img/logo.png": (PNG, "image/png"),
        "docs/index.html": (b"<h1>docs</h1>", "text/html; charset=utf-8"),
        "caf\u00e9.txt": ("\u00e9t\u00e9".encode(), "text/plain; charset=utf-8"),
    }
    for key, (body, ctype) in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)
    return bucket, website_url(running_cloud.endpoint, bucket)


def test_forbidden_without_a_public_policy(running_cloud: RunningCloud, site: tuple[str, str]) -> None:
    bucket, url = site
    res = http(url)
    assert res.status == 403
    assert b"AccessDenied" in res.body and res.headers["Content-Type"].startswith("text/html")
    running_cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    assert http(url).status == 200


def test_index_documents_and_content_types(running_cloud: RunningCloud, site: tuple[str, str]) -> None:
    bucket, url = site
    running_cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    res = http(url)
    assert (res.status, res.body, res.headers["Content-Type"]) == (200, b"<h1>home</h1>", "text/html")
    res = http(url + "docs/")
    assert (res.status, res.body) == (200, b"<h1>docs</h1>")
    assert res.headers["Content-Type"] == "text/html; charset=utf-8"
    assert http(url + "css/site.css").headers["Content-Type"] == "text/css"
    res = http(url + "img/logo.png")
    assert res.body == PNG and res.headers["Content-Type"] == "image/png"
    res = http(url + "caf%C3%A9.txt")
    assert res.status == 200 and res.body.decode() == "\u00e9t\u00e9"
    assert res.headers["ETag"]


def test_folder_without_slash_redirects(running_cloud: RunningCloud, site: tuple[str, str]) -> None:
    bucket, url = site
    running_cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    res = http(url + "docs")
    assert res.status == 302 and res.headers["Location"].endswith(f"/{bucket}/docs/")


def test_error_document_with_404(running_cloud: RunningCloud, site: tuple[str, str]) -> None:
    bucket, url = site
    running_cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    res = http(url + "missing/page.html")
    assert (res.status, res.body, res.headers["Content-Type"]) == (404, b"<h1>oops</h1>", "text/html")


def test_not_found_page_without_error_document(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    s3 = running_cloud.client("s3")
    bucket = unique("plain")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    res = http(website_url(running_cloud.endpoint, bucket) + "nope.html")
    assert res.status == 404 and b"NoSuchKey" in res.body


def test_only_the_public_prefix_is_readable(running_cloud: RunningCloud, site: tuple[str, str]) -> None:
    bucket, url = site
    running_cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket, "css/*"))
    assert http(url + "css/site.css").status == 200
    res = http(url + "img/logo.png")
    assert res.status == 403 and b"AccessDenied" in res.body  # the error document is not public either


def test_head_and_methods(running_cloud: RunningCloud, site: tuple[str, str]) -> None:
    bucket, url = site
    running_cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    res = http(url + "img/logo.png", method="HEAD")
    assert res.status == 200 and res.body == b"" and res.headers["Content-Length"] == str(len(PNG))
    assert http(url + "index.html", method="POST", body=b"x").status == 405


def test_bucket_without_website_or_missing(running_cloud: RunningCloud, unique: Callable[[str], str]) -> None:
    s3 = running_cloud.client("s3")
    bucket = unique("nosite")
    s3.create_bucket(Bucket=bucket)
    res = http(website_url(running_cloud.endpoint, bucket))
    assert res.status == 404 and b"NoSuchWebsiteConfiguration" in res.body
    res = http(website_url(running_cloud.endpoint, unique("absent")))
    assert res.status == 404 and b"NoSuchBucket" in res.body


def test_policy_evaluation() -> None:
    allow = public_policy("b")
    assert public_read_allowed(allow, "b", "index.html") is True
    assert public_read_allowed(allow, "other", "index.html") is None
    assert public_read_allowed(None, "b", "k") is None
    deny = json.dumps(
        {
            "Statement": [
                json.loads(allow)["Statement"][0],
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::b/secret/*",
                },
            ]
        }
    )
    assert public_read_allowed(deny, "b", "secret/x") is False
    assert public_read_allowed(deny, "b", "public/x") is True
    named = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::1:root"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::b/*",
                }
            ]
        }
    )
    assert public_read_allowed(named, "b", "x") is None  # not anonymous


def test_website_configuration_parsing() -> None:
    ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    cfg = parse_website_configuration(
        f"<WebsiteConfiguration {ns}><IndexDocument><Suffix>home.html</Suffix></IndexDocument>"
        "<ErrorDocument><Key>404.html</Key></ErrorDocument></WebsiteConfiguration>"
    )
    assert (cfg.index_suffix, cfg.error_key, cfg.redirect_host) == ("home.html", "404.html", None)
    cfg = parse_website_configuration(
        "<WebsiteConfiguration><RedirectAllRequestsTo><HostName>example.com</HostName>"
        "</RedirectAllRequestsTo></WebsiteConfiguration>"
    )
    assert cfg.redirect_host == "example.com" and cfg.index_suffix is None


def test_policy_resources_are_in_the_buckets_partition() -> None:
    # a bucket in China names its objects arn:aws-cn:s3:::...; a policy written so must be read so
    cn = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws-cn:s3:::b/*",
                }
            ]
        }
    )
    assert public_read_allowed(cn, "b", "index.html", "aws-cn") is True
    assert public_read_allowed(cn, "b", "index.html") is None  # the default partition is aws

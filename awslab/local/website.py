"""S3 static website hosting for the local cloud: `urls.WEBSITE_PREFIX/<bucket>/<key>`.

moto stores a bucket's website configuration but does not serve it. This WSGI app behaves like
the website endpoint (http://<bucket>.s3-website-<region>.amazonaws.com): anonymous GET/HEAD
only, index document for "" and keys ending in "/", a redirect to "key/" when only
"key/<index>" exists, the error document for 4xx with the original status, objects readable
only where the bucket policy (or the object's ACL) makes them public, and HTML error pages.
Routing rules are not applied.
"""

from __future__ import annotations

import html
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from awslab.local import iam_match
from awslab.local.apigw_proxy import Headers, HttpResponse
from awslab.local.urls import WEBSITE_PREFIX, parse_website_path

# Object metadata the website endpoint returns as response headers.
_PASSED_HEADERS = (
    "content-type",
    "cache-control",
    "content-encoding",
    "content-disposition",
    "content-language",
    "expires",
)


@dataclass(frozen=True)
class WebsiteConfig:
    index_suffix: str | None = None
    error_key: str | None = None
    redirect_host: str | None = None
    redirect_protocol: str | None = None


def parse_website_configuration(document: bytes | str) -> WebsiteConfig:
    """The parts of a stored <WebsiteConfiguration> this endpoint applies."""
    root = ET.fromstring(document)

    def text(path: str) -> str | None:
        # Stored with or without S3's XML namespace, depending on the client.
        for node in root.iter():
            if node.tag.rsplit("}", 1)[-1] == path.split("/")[0]:
                for child in node.iter():
                    if child.tag.rsplit("}", 1)[-1] == path.split("/")[1] and child.text:
                        return child.text.strip()
        return None

    return WebsiteConfig(
        index_suffix=text("IndexDocument/Suffix"),
        error_key=text("ErrorDocument/Key"),
        redirect_host=text("RedirectAllRequestsTo/HostName"),
        redirect_protocol=text("RedirectAllRequestsTo/Protocol"),
    )


def _is_anonymous_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in iam_match.listed(principal.get("AWS"))
    return False


def public_read_allowed(
    policy: bytes | str | None, bucket: str, key: str, partition: str = "aws"
) -> bool | None:
    """Whether a bucket policy lets anyone s3:GetObject `key`: True (allowed), False (an explicit
    Deny applies) or None (the policy says nothing). Statements with conditions are not
    evaluated; they count as not granting (their conditions cannot be met by an anonymous
    local request in general)."""
    if not policy:
        return None
    try:
        doc = json.loads(policy)
    except ValueError:
        return None
    if not isinstance(doc, dict):  # not a policy document: says nothing
        return None
    resource = f"arn:{partition}:s3:::{bucket}/{key}"
    allowed: bool | None = None
    for st in iam_match.statements(doc):
        if not _is_anonymous_principal(st.get("Principal")):
            continue
        if not iam_match.names_action(st.get("Action"), "s3:GetObject"):
            continue
        if not iam_match.names_resource(st.get("Resource"), resource):
            continue
        if st.get("Effect") == "Deny":
            return False
        if st.get("Effect") == "Allow" and not st.get("Condition"):
            allowed = True
    return allowed


def error_page(status: int, code: str, message: str, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    """The HTML error page the website endpoint shows."""
    from http import HTTPStatus

    title = f"{status} {HTTPStatus(status).phrase}"
    items = [("Code", code), ("Message", message), *extra, ("RequestId", uuid.uuid4().hex[:16].upper())]
    lis = "\n".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in items)
    return (
        f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n{lis}\n</ul>\n"
        "<hr/>\n</body>\n</html>\n"
    ).encode()


def _html(status: int, body: bytes) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/html; charset=utf-8")], body)


def _find_bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    for _ in range(3):  # another thread may create a backend while we look
        try:
            for _account, _partition, backend in list(s3_backends.iter_backends()):
                bucket = backend.buckets.get(name)  # type: ignore[attr-defined]
                if bucket is not None:
                    return bucket
            return None
        except RuntimeError:
            continue
    return None


def _readable(bucket: Any, key_obj: Any, key: str) -> bool:
    block = getattr(bucket, "public_access_block", None)
    if block is not None and block.restrict_public_buckets:
        return False
    from moto.utilities.utils import get_partition

    verdict = public_read_allowed(bucket.policy, bucket.name, key, get_partition(bucket.region_name))
    if verdict is not None:
        return verdict
    acl = getattr(key_obj, "acl", None)
    return bool(acl is not None and acl.public_read and not (block is not None and block.ignore_public_acls))


def _lookup(bucket: Any, key: str) -> Any:
    obj = bucket.keys.get(key) if key else None
    return (
        obj
        if obj is not None and hasattr(obj, "value") and not getattr(obj, "is_delete_marker", False)
        else None
    )


def serve(bucket_name: str, key: str, method: str, request_headers: dict[str, str]) -> HttpResponse:
    """The website endpoint's answer for one request (key already URL-decoded)."""
    if method not in ("GET", "HEAD"):
        return _html(
            405,
            error_page(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                [("Method", method), ("ResourceType", "OBJECT")],
            ),
        )
    bucket = _find_bucket(bucket_name)
    if bucket is None:
        return _html(
            404,
            error_page(
                404, "NoSuchBucket", "The specified bucket does not exist", [("BucketName", bucket_name)]
            ),
        )
    if not bucket.website_configuration:
        return _html(
            404,
            error_page(
                404,
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration",
                [("BucketName", bucket_name)],
            ),
        )
    config = parse_website_configuration(bucket.website_configuration)
    if config.redirect_host:
        location = f"{config.redirect_protocol or 'http'}://{config.redirect_host}/{key}"
        return HttpResponse(301, [("Location", location)], b"")
    index = config.index_suffix or "index.html"
    target = key + index if key == "" or key.endswith("/") else key
    obj = _lookup(bucket, target)
    if obj is None and not key.endswith("/") and key and _lookup(bucket, f"{key}/{index}") is not None:
        return HttpResponse(302, [("Location", f"{WEBSITE_PREFIX}/{bucket_name}/{key}/")], b"")
    if obj is None:
        return _error(
            bucket, config, 404, "NoSuchKey", "The specified key does not exist.", [("Key", target)]
        )
    if not _readable(bucket, obj, target):
        return _error(bucket, config, 403, "AccessDenied", "Access Denied", [])
    return _object_response(obj, request_headers)


def _object_response(obj: Any, request_headers: dict[str, str], status: int = 200) -> HttpResponse:
    meta = obj.metadata
    headers: Headers = [(name.title(), str(meta[name])) for name in _PASSED_HEADERS if meta.get(name)]
    headers += [(k, str(v)) for k, v in meta.items() if k.lower().startswith("x-amz-meta-")]
    headers += [("ETag", obj.etag), ("Last-Modified", obj.last_modified_RFC1123)]
    if status == 200 and request_headers.get("if-none-match") == obj.etag:
        return HttpResponse(304, headers, b"")
    return HttpResponse(status, headers, obj.value)


def _error(
    bucket: Any, config: WebsiteConfig, status: int, code: str, message: str, extra: list[tuple[str, str]]
) -> HttpResponse:
    # The error document is served, with the original status, when it is itself readable.
    if config.error_key:
        doc = _lookup(bucket, config.error_key)
        if doc is not None and _readable(bucket, doc, config.error_key):
            return _object_response(doc, {}, status)
    return _html(status, error_page(status, code, message, extra))


class WebsiteFront:
    """WSGI app for `urls.WEBSITE_PREFIX/<bucket>/<key>`."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # WSGI hands the decoded path as latin-1; S3 keys are UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        parsed = parse_website_path(path)
        method = environ["REQUEST_METHOD"].upper()
        if parsed is None:
            response = _html(
                404,
                error_page(404, "NoSuchBucket", "The specified bucket does not exist", [("BucketName", "")]),
            )
        else:
            request_headers = {
                k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
            }
            response = serve(parsed[0], parsed[1], method, request_headers)
        body = b"" if method == "HEAD" else response.body
        length = str(len(response.body))
        headers = [h for h in response.headers if h[0].lower() != "content-length"]
        start_response(
            f"{response.status} {_reason(response.status)}", [*headers, ("Content-Length", length)]
        )
        return [body]


def _reason(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase

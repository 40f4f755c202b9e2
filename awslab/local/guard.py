"""Who may drive the local cloud: the check in front of every request on its port.

Listening on 127.0.0.1 keeps other machines out, not web pages: any page the user opens can send
requests to 127.0.0.1 (a `no-cors` fetch reaches the server even though the page cannot read the
answer), and a DNS-rebinding page talks to it under its own host name and reads the answers too.
So every request passes `route` first:

1. Host. `Host` must name the local cloud itself: 127.0.0.1:PORT, localhost:PORT or [::1]:PORT
   (without the port only when it is 80, the one case where clients omit it). A rebound name
   (evil.example:PORT) is refused on every path, the health document and the fronts included.
2. Control plane: everything moto answers (every AWS API and /moto-api). It needs an AWS
   `Authorization` header (SigV4, SigV4a or S3's SigV2), as every SDK and the AWS CLI send. A page
   on another origin cannot add that header without a CORS preflight, and the control plane
   answers no preflight (OPTIONS is refused, with no CORS headers). Requests carrying a browser's
   marks (an `Origin` or `Sec-Fetch-Site` header) are refused too: SDKs send neither, and it
   keeps pages the local cloud serves itself (a website on localhost:PORT, an API answer on
   127.0.0.1:PORT, both same-origin with the control plane) from driving it.
3. The browser-facing parts stay open, with the CORS the lab configured: API Gateway stages
   (urls.API_PREFIX), Lambda function URLs (urls.LAMBDA_URL_PREFIX), S3 websites
   (urls.WEBSITE_PREFIX), the health document, and presigned S3 URLs (a query signature scoped to S3: X-Amz-Credential .../s3/... with X-Amz-Signature, or
   S3's SigV2 AWSAccessKeyId + Signature + Expires) for GET, HEAD, PUT and their OPTIONS preflight.
   Those always go to moto's S3 (never to another service picked by moto from the path or the
   body); POST and DELETE are refused: a page sends a POST without any preflight (POST ?delete
   removes objects) and no lab hands out such URLs.

Signatures are not verified. The local cloud's credentials are fixed and public
(awslab.target.LOCAL_ACCESS_KEY; moto accepts any), so whoever can send a header can also
compute a valid signature: checking it would protect nothing and would break clients set up
with other dummy keys. What protects the user is what a browser cannot do: add a header
cross-origin without a preflight, or choose the Host header. Two consequences, both bounded by
what the lab configured: a page can forge a presigned S3 URL, so it can read or PUT objects of a
bucket whose CORS admits its origin for that method; and other local users of the same machine
can reach the port, as with any loopback service (moto_server, LocalStack).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import parse_qs

from awslab.local import urls

log = logging.getLogger("awslab.local.guard")

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# What the SDKs put first in Authorization: SigV4, SigV4a (multi-region); S3's SigV2 is "AWS key:sig".
_SIGV4_SCHEMES = ("AWS4-HMAC-SHA256 ", "AWS4-ECDSA-P256-SHA256 ")
_PRESIGNED_METHODS = frozenset({"GET", "HEAD", "PUT", "OPTIONS"})


class Route(Enum):
    HEALTH = "health"
    API = "api"  # API Gateway stages
    WEBSITE = "website"  # S3 websites
    PRESIGNED_S3 = "presigned-s3"  # to moto's S3, whatever the path or body suggest
    CONTROL = "control"  # to moto's dispatcher: a signed AWS API call or /moto-api


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused (the one line the 403 body carries)."""

    message: str


def allowed_hosts(port: int) -> frozenset[str]:
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:  # the default port: HTTP clients leave it out of Host
        names |= set(LOOPBACK_NAMES)
    return frozenset(names)


def route(environ: dict[str, Any], port: int) -> Route | Refusal:
    """Where a request goes, or why it is refused (see the module doc)."""
    host = environ.get("HTTP_HOST", "")
    if host.lower() not in allowed_hosts(port):
        shown = repr(host) if host else "missing"
        return Refusal(
            f"Host {shown} is not this local cloud: use 127.0.0.1:{port}, localhost:{port} or [::1]:{port}"
        )
    path = environ.get("PATH_INFO", "")
    if path == urls.HEALTH_PATH:
        return Route.HEALTH
    if path.startswith((urls.API_PREFIX + "/", urls.LAMBDA_URL_PREFIX + "/")):  # function URLs too
        return Route.API
    if path.startswith(urls.WEBSITE_PREFIX + "/"):
        return Route.WEBSITE
    method = environ.get("REQUEST_METHOD", "").upper()
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if not authorization and presigned_s3(environ.get("QUERY_STRING", "")):
        if method not in _PRESIGNED_METHODS:
            return Refusal(f"a presigned S3 URL serves GET, HEAD, PUT and OPTIONS here, not {method}")
        return Route.PRESIGNED_S3
    if method == "OPTIONS":
        return Refusal("the local cloud's AWS APIs answer no CORS preflight: browsers cannot call them")
    if environ.get("HTTP_ORIGIN") is not None or environ.get("HTTP_SEC_FETCH_SITE") is not None:
        return Refusal(
            "the local cloud's AWS APIs do not answer browsers (the request has Origin or Sec-Fetch-Site)"
        )
    if not signed(authorization):
        return Refusal(
            "AWS API calls to the local cloud must be signed (AWS SigV4, as the SDKs and the AWS CLI do); "
            "browsers use API stages, websites and presigned S3 URLs"
        )
    return Route.CONTROL


def signed(authorization: str) -> bool:
    """Whether an Authorization header is an AWS signature (by its form; see the module doc)."""
    if authorization.startswith(_SIGV4_SCHEMES):
        return "Credential=" in authorization
    if authorization.startswith("AWS "):
        key, _, signature = authorization[4:].partition(":")
        return bool(key.strip() and signature.strip())
    return False


def presigned_s3(query_string: str) -> bool:
    """Whether a query string carries an S3 query signature (SigV4/SigV4a scoped to s3, or SigV2)."""
    if "Signature" not in query_string:  # the common case: no parsing
        return False
    query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
    if query.get("X-Amz-Signature") and query.get("X-Amz-Credential"):
        scope = query["X-Amz-Credential"].split("/")
        # key/date/region/s3/aws4_request (SigV4) or key/date/s3/aws4_request (SigV4a)
        return len(scope) in (4, 5) and scope[-2] == "s3" and scope[-1] == "aws4_request"
    return bool(query.get("AWSAccessKeyId") and query.get("Signature") and query.get("Expires"))


def refuse(environ: dict[str, Any], start_response: Any, refusal: Refusal) -> Iterable[bytes]:
    """403 with a one-line JSON body and no CORS headers, so a browser learns nothing from it."""
    log.warning(
        "refused %s %r (Host %r): %s",  # repr: a crafted path or Host cannot forge log lines
        environ.get("REQUEST_METHOD", "?"),
        environ.get("PATH_INFO", ""),
        environ.get("HTTP_HOST", ""),
        refusal.message,
    )
    body = json.dumps({"code": "AccessDenied", "message": refusal.message}).encode() + b"\n"
    start_response(
        "403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]

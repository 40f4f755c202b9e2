"""The request guard of the local cloud (awslab/local/guard.py) without a server: which requests
reach moto, which reach the browser-facing fronts, and which are refused, with requests built the
way botocore, the AWS CLI and browsers build them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from awslab.local import guard
from awslab.local.guard import Refusal, Route
from awslab.local.server import LocalCloudApp
from awslab.local.urls import API_PREFIX, HEALTH_PATH, WEBSITE_PREFIX

PORT = 4591
HOST = f"127.0.0.1:{PORT}"


def environ(
    method: str = "GET", path: str = "/", *, query: str = "", host: str | None = HOST, **headers: str
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(b""),
    }
    if host is not None:
        env["HTTP_HOST"] = host
    for name, value in headers.items():
        env[f"HTTP_{name.upper()}"] = value
    return env


def sigv4_header(service: str, url: str = f"http://{HOST}/", method: str = "POST") -> str:
    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(Credentials("awslab", "awslab-local"), service, "us-east-1").add_auth(request)
    return str(request.headers["Authorization"])


def presigned(
    signature_version: str, client_method: str = "get_object", service: str = "s3"
) -> tuple[str, str]:
    """(path, query) of a URL presigned by boto3."""
    client = boto3.client(service, endpoint_url=f"http://{HOST}", region_name="us-east-1",
                          aws_access_key_id="awslab", aws_secret_access_key="awslab-local",
                          config=Config(signature_version=signature_version))  # fmt: skip
    params = {"Bucket": "photos", "Key": "cat.jpg"} if service == "s3" else {"QueueUrl": f"http://{HOST}/q"}
    parts = urlsplit(client.generate_presigned_url(client_method, Params=params))
    return parts.path, parts.query


# ---- Host --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [HEALTH_PATH, f"{API_PREFIX}/abc/dev/items", f"{WEBSITE_PREFIX}/site/", "/"])
@pytest.mark.parametrize(
    "host", ["evil.example:4591", "evil.example", "127.0.0.1:80", "127.0.0.1", "localhost", "10.0.0.5:4591",
             f"{HOST},evil.example", "127.0.0.1.nip.io:4591", "", None]
)  # fmt: skip
def test_a_foreign_host_is_refused_on_every_path(path: str, host: str | None) -> None:
    env = environ(path=path, host=host, authorization=sigv4_header("s3"))
    where = guard.route(env, PORT)
    assert isinstance(where, Refusal) and "is not this local cloud" in where.message


@pytest.mark.parametrize("host", [HOST, f"localhost:{PORT}", f"[::1]:{PORT}", f"LocalHost:{PORT}"])
def test_the_local_cloud_own_names_pass(host: str) -> None:
    assert guard.route(environ(path=HEALTH_PATH, host=host), PORT) is Route.HEALTH


def test_a_host_without_port_passes_only_on_port_80() -> None:
    assert guard.route(environ(path=HEALTH_PATH, host="localhost"), 80) is Route.HEALTH
    assert isinstance(guard.route(environ(path=HEALTH_PATH, host="localhost"), PORT), Refusal)


# ---- the control plane ---------------------------------------------------------------------------
@pytest.mark.parametrize("service", ["s3", "sqs", "dynamodb", "lambda", "sts"])
def test_sigv4_signed_calls_reach_moto(service: str) -> None:
    env = environ("POST", "/", authorization=sigv4_header(service))
    assert guard.route(env, PORT) is Route.CONTROL


def test_s3_sigv2_and_sigv4a_headers_count_as_signed() -> None:
    assert guard.signed("AWS awslab:c2lnbmF0dXJl")
    assert guard.signed("AWS4-ECDSA-P256-SHA256 Credential=awslab/20260101/s3/aws4_request, Signature=ab")
    for junk in (
        "",
        "Bearer abc",
        "Basic YTpi",
        "AWS4-HMAC-SHA256",
        "AWS ",
        "AWS awslab:",
        "AWS4-HMAC-SHA256x",
    ):
        assert not guard.signed(junk), junk


@pytest.mark.parametrize(
    "method,path,query",
    [("POST", "/moto-api/reset", ""), ("GET", "/moto-api/", ""), ("POST", "/", "Action=CreateQueue&QueueName=x"),
     ("GET", "/", "Action=DeleteQueue&QueueUrl=x"), ("POST", "/2015-03-31/functions/f/invocations", ""),
     ("PUT", "/bucket/key", ""), ("GET", "/bucket/key", ""), ("DELETE", "/bucket", "")],
)  # fmt: skip
def test_unsigned_calls_are_refused(method: str, path: str, query: str) -> None:
    where = guard.route(environ(method, path, query=query), PORT)
    assert isinstance(where, Refusal) and "must be signed" in where.message


def test_the_control_plane_answers_no_preflight() -> None:
    preflight = environ("OPTIONS", "/moto-api/reset", origin="http://evil.example",
                        access_control_request_method="POST",
                        access_control_request_headers="authorization")  # fmt: skip
    where = guard.route(preflight, PORT)
    assert isinstance(where, Refusal) and "preflight" in where.message
    # also when it carries a signature: no AWS API is called with OPTIONS
    assert isinstance(guard.route(environ("OPTIONS", "/", authorization=sigv4_header("s3")), PORT), Refusal)


@pytest.mark.parametrize("mark", [{"origin": "http://localhost:4591"}, {"sec_fetch_site": "same-origin"},
                                  {"origin": "null"}, {"sec_fetch_site": "none"}])  # fmt: skip
def test_a_signed_looking_request_from_a_browser_is_refused(mark: dict[str, str]) -> None:
    """A page the local cloud serves itself (a website on localhost:PORT) is same-origin with the
    control plane and could add Authorization without a preflight; browsers mark their requests."""
    env = environ("POST", "/moto-api/reset", authorization=sigv4_header("s3"), **mark)
    where = guard.route(env, PORT)
    assert isinstance(where, Refusal) and "browsers" in where.message


# ---- presigned S3 URLs ---------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["s3v4", "s3"])  # SigV4 (the upload lab's) and SigV2 (boto3's default)
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "OPTIONS"])
def test_presigned_s3_urls_go_to_s3(version: str, method: str) -> None:
    path, query = presigned(version, "put_object" if method == "PUT" else "get_object")
    env = environ(method, path, query=query, origin="http://localhost:4591", sec_fetch_site="cross-site")
    assert guard.route(env, PORT) is Route.PRESIGNED_S3


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
def test_presigned_s3_urls_serve_no_post_or_delete(method: str) -> None:
    """POST needs no preflight from a page (POST ?delete would remove objects with a forged URL)."""
    _, query = presigned("s3v4", "delete_object")
    where = guard.route(environ(method, "/photos", query=query + "&delete"), PORT)
    assert isinstance(where, Refusal) and "presigned" in where.message


def test_presigned_urls_of_other_services_are_not_a_way_in() -> None:
    path, query = presigned("v4", "delete_queue", service="sqs")
    where = guard.route(environ("GET", path, query=query), PORT)
    assert isinstance(where, Refusal) and "must be signed" in where.message
    forged = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20260101%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Signature=00"
    assert isinstance(guard.route(environ("GET", "/", query=forged), PORT), Refusal)
    assert not guard.presigned_s3("Signature=x&AWSAccessKeyId=a")  # SigV2 of S3 has Expires


# ---- the browser-facing fronts -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "OPTIONS"])
def test_api_stages_and_websites_are_open_to_browsers(method: str) -> None:
    marks = {"origin": "http://localhost:4591", "sec_fetch_site": "cross-site"}
    assert guard.route(environ(method, f"{API_PREFIX}/abc/dev/items", **marks), PORT) is Route.API
    assert guard.route(environ(method, f"{WEBSITE_PREFIX}/site/index.html", **marks), PORT) is Route.WEBSITE


# ---- the WSGI layer ------------------------------------------------------------------------------
class FakeMoto:
    """Stands in for moto_dispatcher(): records what reached it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def _answer(self, kind: str, env: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls.append((kind, env["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"moto"]

    def __call__(self, env: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self._answer("dispatch", env, start_response)

    def s3(self, env: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self._answer("s3", env, start_response)


def call(app: LocalCloudApp, env: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=headers)

    body = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], body


def test_refused_requests_never_reach_moto_and_get_one_json_line() -> None:
    moto = FakeMoto()
    app = LocalCloudApp(moto, port=PORT)
    for env in (environ("POST", "/moto-api/reset"), environ("POST", "/moto-api/reset", host="evil.example:4591",
                authorization=sigv4_header("s3")), environ("OPTIONS", "/", origin="http://evil.example")):  # fmt: skip
        status, headers, body = call(app, env)
        assert status == "403 Forbidden"
        assert not [h for h, _ in headers if h.lower().startswith("access-control-")]
        assert body.count(b"\n") == 1 and body.endswith(b"\n")
        assert json.loads(body)["code"] == "AccessDenied"
    assert moto.calls == []


def test_signed_calls_go_to_moto_and_presigned_ones_to_s3() -> None:
    moto = FakeMoto()
    app = LocalCloudApp(moto, port=PORT)
    assert call(app, environ("POST", "/moto-api/reset", authorization=sigv4_header("s3")))[0] == "200 OK"
    # a forged presigned URL whose path moto would route to Lambda ends up in S3 all the same
    _, query = presigned("s3v4")
    call(app, environ("GET", "/lambda_us-east-1/2015-03-31/functions/f/invocations", query=query))
    assert moto.calls == [
        ("dispatch", "/moto-api/reset"),
        ("s3", "/lambda_us-east-1/2015-03-31/functions/f/invocations"),
    ]

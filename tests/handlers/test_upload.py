"""The upload lab's handler (handlers/upload/app.py) on moto's in-process S3 and DynamoDB."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
import requests

from tests.handlers.events import LambdaContext, body_json, load_handler, proxy_event

TABLE = "awslab-upload-files-test"
BUCKET = "awslab-upload-files-bucket-test"
ROW_FIELDS = {"id", "key", "filename", "size", "content_type", "sha256", "uploaded_at"}


@pytest.fixture
def app(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    for var in ("ALLOW_ORIGIN", "MAX_UPLOAD_BYTES", "SCAN_PAGE_SIZE"):
        monkeypatch.delenv(var, raising=False)
    return load_handler("upload")


def call(app: ModuleType, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    if "path_params" not in kwargs and path.startswith("/files/"):
        kwargs["path_params"] = {"id": path.split("/", 2)[2]}
    response = app.handler(proxy_event(method, path, **kwargs), LambdaContext())
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    assert set(headers["Access-Control-Allow-Methods"].split(",")) >= {"GET", "POST", "OPTIONS"}
    return response


def upload_json(app: ModuleType, filename: str, data: bytes, **extra: Any) -> dict[str, Any]:
    body = {"filename": filename, "content": base64.b64encode(data).decode(), **extra}
    return call(app, "POST", "/files", body=body)


def message(response: dict[str, Any]) -> str:
    body = body_json(response)
    assert set(body) == {"message"}, body
    return str(body["message"])


def objects() -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def rows() -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(TABLE).scan()["Items"]


# --- POST /files -------------------------------------------------------------------------------


def test_json_upload_stores_object_and_row(app: ModuleType) -> None:
    data = b"hello, upload lab\n"
    before = datetime.now(UTC)
    response = upload_json(app, "notes.txt", data)
    assert response["statusCode"] == 201
    row = body_json(response)
    assert set(row) == ROW_FIELDS
    assert uuid.UUID(row["id"]).version == 4
    assert row["key"] == f"uploads/{row['id']}/notes.txt"
    assert row["filename"] == "notes.txt"
    assert row["size"] == len(data)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["content_type"] == "text/plain"  # guessed from the name
    assert row["uploaded_at"].endswith("Z")
    uploaded = datetime.fromisoformat(row["uploaded_at"].replace("Z", "+00:00"))
    assert before <= uploaded <= datetime.now(UTC)

    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=row["key"])
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "text/plain"
    assert obj["Metadata"] == {"sha256": row["sha256"]}
    assert rows() == [row]  # the table holds exactly what the API answered


def test_json_upload_with_explicit_content_type_and_wrapped_base64(app: ModuleType) -> None:
    data = bytes(range(256)) * 4
    wrapped = base64.encodebytes(data).decode()  # 76-character lines, as `base64` prints them
    response = call(
        app, "POST", "/files", body={"filename": "blob", "content": wrapped, "content_type": "x/y"}
    )
    assert response["statusCode"] == 201
    row = body_json(response)
    assert (row["size"], row["content_type"]) == (1024, "x/y")
    assert row["sha256"] == hashlib.sha256(data).hexdigest()


def test_raw_binary_upload_with_name_query(app: ModuleType) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    response = call(
        app,
        "POST",
        "/files",
        query={"name": "photo.png"},
        body=data,
        is_base64=True,
        headers={"content-type": "image/png"},
    )
    assert response["statusCode"] == 201
    row = body_json(response)
    assert (row["filename"], row["size"], row["content_type"]) == ("photo.png", len(data), "image/png")
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key=row["key"])["Body"].read() == data


def test_raw_text_upload_without_base64(app: ModuleType) -> None:
    response = call(app, "POST", "/files", query={"name": "data.csv"}, body="a,b\n1,é\n")
    assert response["statusCode"] == 201
    row = body_json(response)
    assert row["size"] == len("a,b\n1,é\n".encode())
    assert row["content_type"] == "text/csv"


def test_raw_upload_without_type_defaults_to_octet_stream(app: ModuleType) -> None:
    response = call(app, "POST", "/files", query={"name": "unknown"}, body=b"\x00\x01", is_base64=True)
    assert body_json(response)["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report final.pdf", "report final.pdf"),
        ("résumé.txt", "résumé.txt"),
    ],
)
def test_filenames_keep_only_the_last_component(app: ModuleType, given: str, stored: str) -> None:
    row = body_json(upload_json(app, given, b"x"))
    assert row["filename"] == stored
    assert row["key"] == f"uploads/{row['id']}/{stored}"
    assert objects() == [row["key"]]


def test_over_the_limit_is_413_and_stores_nothing(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "10")
    assert upload_json(app, "ten.bin", b"0123456789")["statusCode"] == 201  # the limit itself is allowed
    for response in (
        upload_json(app, "eleven.bin", b"0123456789A"),
        upload_json(app, "big.bin", b"x" * 1000),  # refused before decoding
        call(app, "POST", "/files", query={"name": "r.bin"}, body=b"0123456789A", is_base64=True),
        call(app, "POST", "/files", query={"name": "r.txt"}, body="0123456789A"),
    ):
        assert response["statusCode"] == 413
        assert "limited to 10 bytes" in message(response)
    assert len(objects()) == 1 and len(rows()) == 1


def test_default_limit_is_5_mib(app: ModuleType) -> None:
    limit = 5 * 1024 * 1024
    response = upload_json(app, "big.bin", b"\0" * (limit + 1))
    assert response["statusCode"] == 413
    assert f"the file is {limit + 1} bytes" in message(response)
    assert "5.00 MiB" in message(response)
    assert upload_json(app, "max.bin", b"\0" * limit)["statusCode"] == 201


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "body is empty"),
        ({"body": "just text"}, "not JSON"),
        ({"body": ["a"]}, "must be a JSON object"),
        ({"body": {"content": "eA=="}}, "filename is required"),
        ({"body": {"filename": "", "content": "eA=="}}, "filename must be a non-empty string"),
        ({"body": {"filename": 3, "content": "eA=="}}, "filename must be a non-empty string"),
        ({"body": {"filename": "a/..", "content": "eA=="}}, "does not name a file"),
        ({"body": {"filename": "a\x00b", "content": "eA=="}}, "control characters"),
        ({"body": {"filename": "é" * 128, "content": "eA=="}}, "longer than 255 bytes"),
        ({"body": {"filename": "a.txt"}}, "content is required"),
        ({"body": {"filename": "a.txt", "content": 12}}, "content must be a base64 string"),
        ({"body": {"filename": "a.txt", "content": "not base64!"}}, "content is not valid base64"),
        ({"body": {"filename": "a.txt", "content": "eA"}}, "content is not valid base64"),
        ({"body": {"filename": "a.txt", "content": ""}}, "the file is empty"),
        (
            {"body": {"filename": "a.txt", "content": "eA==", "content_type": 5}},
            "content_type must be a string",
        ),
        ({"body": {"filename": "a.txt", "content": "eA==", "content_type": "text"}}, "not a media type"),
        ({"body": "%%%", "is_base64": True}, "not valid base64"),
        ({"query": {"name": ""}, "body": "x"}, "the name parameter must be a non-empty string"),
        ({"query": {"name": "a.txt"}}, "body is empty"),
        (
            {"query": {"name": "a.txt"}, "body": "@@", "is_base64": True},
            "the request body is not valid base64",
        ),
        ({"query": {"name": "a.txt"}, "body": "x", "headers": {"Content-Type": "bogus"}}, "not a media type"),
    ],
)
def test_bad_uploads_are_400_and_store_nothing(
    app: ModuleType, kwargs: dict[str, Any], fragment: str
) -> None:
    response = call(app, "POST", "/files", **kwargs)
    assert response["statusCode"] == 400
    assert fragment in message(response)
    assert objects() == [] and rows() == []


def test_json_body_sent_base64_encoded_is_accepted(app: ModuleType) -> None:
    # An API whose binary media types include */* base64-encodes JSON bodies too.
    raw = b'{"filename": "a.txt", "content": "aGk="}'
    response = call(app, "POST", "/files", body=raw, is_base64=True)
    assert response["statusCode"] == 201
    assert body_json(response)["sha256"] == hashlib.sha256(b"hi").hexdigest()


def test_metadata_failure_removes_the_object(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    response = upload_json(app, "a.txt", b"data")
    assert response["statusCode"] == 500
    assert message(response) == "PutItem failed: ResourceNotFoundException"
    assert objects() == []


@pytest.mark.parametrize(
    ("var", "value"), [("BUCKET_NAME", None), ("TABLE_NAME", None), ("MAX_UPLOAD_BYTES", "lots")]
)
def test_misconfiguration_is_a_clear_500(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, var: str, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(var)
    else:
        monkeypatch.setenv(var, value)
    response = upload_json(app, "a.txt", b"data")
    assert response["statusCode"] == 500
    assert var in message(response)


# --- GET /files, GET /files/{id} ---------------------------------------------------------------


def test_list_is_newest_first(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    ids = []
    for i, name in enumerate(["first.txt", "second.txt", "third.txt"]):
        monkeypatch.setattr(app, "_now", lambda i=i: start + timedelta(seconds=i))
        ids.append(body_json(upload_json(app, name, name.encode()))["id"])
    response = call(app, "GET", "/files")
    assert response["statusCode"] == 200
    body = body_json(response)
    assert body["count"] == 3
    assert [f["id"] for f in body["files"]] == ids[::-1]
    assert body["files"][0]["uploaded_at"] == "2024-05-01T12:00:02.000000Z"
    assert all(set(f) == ROW_FIELDS and isinstance(f["size"], int) for f in body["files"])


def test_list_follows_scan_pages(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        upload_json(app, f"f{i}.txt", b"x")
    monkeypatch.setenv("SCAN_PAGE_SIZE", "2")
    scans: list[dict[str, Any]] = []
    app._dynamodb.meta.client.meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda params, **_: scans.append(dict(params))
    )
    assert body_json(call(app, "GET", "/files"))["count"] == 5
    assert len(scans) >= 3 and all(s["Limit"] == 2 for s in scans)


def test_list_empty(app: ModuleType) -> None:
    assert body_json(call(app, "GET", "/files")) == {"files": [], "count": 0}


def test_get_returns_row_and_a_working_presigned_url(app: ModuleType) -> None:
    data = b"download me \xe2\x9c\x93"
    row = body_json(upload_json(app, "my file ✓.txt", data))
    response = call(app, "GET", f"/files/{row['id']}")
    assert response["statusCode"] == 200
    body = body_json(response)
    url = body.pop("download_url")
    assert body.pop("download_expires_in") == 300
    assert body == row

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert BUCKET in parts.netloc + parts.path
    assert unquote(parts.path).endswith(row["key"])
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"]
    assert "filename*=UTF-8''my%20file%20%E2%9C%93.txt" in query["response-content-disposition"][0]
    download = requests.get(url, timeout=10)  # answered by moto's mock, not the network
    assert download.status_code == 200
    assert download.content == data


def test_get_missing_is_404(app: ModuleType) -> None:
    response = call(app, "GET", "/files/nope")
    assert response["statusCode"] == 404
    assert message(response) == "file 'nope' not found"


# --- routing and CORS --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("OPTIONS", "/files", 204),
        ("OPTIONS", "/files/x", 204),
        ("DELETE", "/files/x", 405),
        ("PUT", "/files", 405),
        ("GET", "/other", 404),
    ],
)
def test_routing(app: ModuleType, method: str, path: str, status: int) -> None:
    response = call(app, method, path)
    assert response["statusCode"] == status
    if status == 405:
        assert response["headers"]["Allow"] == ("GET" if path == "/files/x" else "GET,POST")
    if status == 204:
        assert response["body"] == ""


def test_cors_echoes_a_listed_origin_on_success_and_error(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_ORIGIN", "http://localhost:4566,http://site.example")
    for event in (
        proxy_event("GET", "/files", headers={"Origin": "http://site.example"}),
        proxy_event("POST", "/files", headers={"Origin": "http://site.example"}, body="nope"),
    ):
        response = app.handler(event, LambdaContext())
        assert response["headers"]["Access-Control-Allow-Origin"] == "http://site.example"
        assert response["headers"]["Vary"] == "Origin"

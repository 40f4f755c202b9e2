"""upload: through an API's POST /files (a local server plays the upload Lambda) or into an
image lab's notified bucket (a thread plays the resize Lambda), then the row written."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.upload import api_routes, notification_bucket, pick_upload_lab, upload, upload_api
from awslab.state import StateStore
from awslab.target import Target

from .conftest import Api, add_lab, api_rec, background, make_table, put_item, rec

WHERE = "the test cloud"


def _live_api(target: Target, routes: list[tuple[str, str]]) -> str:
    """A REST API on moto with these (method, path) routes; returns its id."""
    apigw = target.client("apigateway")
    api_id = apigw.create_rest_api(name="x")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    ids = {"/": root}
    for method, path in routes:
        if path not in ids:
            ids[path] = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=path.strip("/"))["id"]
        apigw.put_method(restApiId=api_id, resourceId=ids[path], httpMethod=method, authorizationType="NONE")
    return api_id


def _upload_lab(target: Target, store: StateStore, api: Api, name: str = "upload") -> Any:
    table = make_table(target, "files", name)
    api_id = _live_api(target, [("POST", "/files"), ("GET", "/files")])

    def post_files(req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(req["body"])
        content = base64.b64decode(body["content"])
        file_id = uuid.uuid4().hex
        row = {
            "id": file_id,
            "key": f"uploads/{file_id}/{body['filename']}",
            "filename": body["filename"],
            "size": len(content),
            "content_type": body["content_type"],
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        put_item(target, table.physical, row)
        return 201, {"Content-Type": "application/json"}, json.dumps(row).encode()

    api.routes[("POST", "/files")] = post_files
    return add_lab(store, name, table, _with_id(api_rec("api", api.url), api_id))


def _with_id(record: Any, api_id: str) -> Any:
    record.attrs["id"] = api_id
    return record


def test_upload_through_the_api(target: Target, store: StateStore, api: Api, tmp_path: Path) -> None:
    lab = _upload_lab(target, store, api)
    f = tmp_path / "notes.txt"
    f.write_text("hello upload")
    res = upload(target, lab, f, timeout=5)
    assert res.ok and res.mode == "api" and res.status == 201
    assert res.content_type == "text/plain" and res.size == 12
    sent = json.loads(api.requests[-1]["body"])
    assert sent["filename"] == "notes.txt" and base64.b64decode(sent["content"]) == b"hello upload"
    assert sent["content_type"] == "text/plain"
    assert res.record is not None and res.table == "files"
    assert res.record["sha256"] == hashlib.sha256(b"hello upload").hexdigest()
    assert res.record == res.response  # the stored row is the one returned
    assert res.key.startswith("uploads/") and res.key.endswith("/notes.txt")


def test_an_api_refusal_is_not_ok(target: Target, store: StateStore, api: Api, tmp_path: Path) -> None:
    lab = _upload_lab(target, store, api)
    api.routes[("POST", "/files")] = lambda req: (
        413,
        {"Content-Type": "application/json"},
        b'{"message": "too large"}',
    )
    f = tmp_path / "big.bin"
    f.write_bytes(b"\x00" * 10)
    res = upload(target, lab, f, timeout=1)
    assert (
        not res.ok and res.status == 413 and res.response == {"message": "too large"} and res.record is None
    )
    assert res.content_type == "application/octet-stream"


def _image_lab(target: Target, store: StateStore, attrs: dict[str, Any] | None = None) -> Any:
    s3 = target.client("s3")
    s3.create_bucket(Bucket="awslab-image-input-abc123")
    table = make_table(target, "images", "image")
    note = rec(
        "s3.notification",
        "on-upload",
        **(attrs if attrs is not None else {"bucket": "awslab-image-input-abc123", "prefix": "uploads/"}),
    )
    return add_lab(store, "image", table, note), table


def resizer(target: Target, table: str):  # type: ignore[no-untyped-def]
    """What handlers/image/app.py records for each new object under uploads/."""

    def run(stop: threading.Event) -> None:
        s3, done = target.client("s3"), set()
        while not stop.is_set():
            for obj in s3.list_objects_v2(Bucket="awslab-image-input-abc123", Prefix="uploads/").get(
                "Contents", []
            ):
                if obj["Key"] not in done:
                    done.add(obj["Key"])
                    put_item(
                        target,
                        table,
                        {
                            "id": obj["Key"],
                            "source_size": obj["Size"],
                            "status": "done",
                            "width": 800,
                            "height": 600,
                            "thumbnail_width": 256,
                            "thumbnail_height": 192,
                            "thumbnail_size": 9000,
                            "thumbnail_key": "thumbnails/" + obj["Key"][8:],
                        },
                    )
            stop.wait(0.02)

    return run


def test_upload_to_the_image_bucket_waits_for_the_thumbnail_record(
    target: Target, store: StateStore, tmp_path: Path
) -> None:
    lab, table = _image_lab(target, store)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg")
    with background(resizer(target, table.physical)):
        res = upload(target, lab, photo, timeout=10)
    assert res.ok and res.mode == "s3" and res.key == "uploads/photo.jpg"
    assert res.bucket == "awslab-image-input-abc123" and res.content_type == "image/jpeg"
    head = target.client("s3").head_object(Bucket=res.bucket, Key=res.key)
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == photo.stat().st_size
    assert res.record is not None
    assert (res.record["thumbnail_width"], res.record["thumbnail_height"], res.record["thumbnail_size"]) == (
        256,
        192,
        9000,
    )


def test_same_file_again_waits_for_a_new_record(target: Target, store: StateStore, tmp_path: Path) -> None:
    lab, table = _image_lab(target, store)
    put_item(target, table.physical, {"id": "uploads/photo.jpg", "status": "done", "processed_at": "before"})
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"x")
    res = upload(target, lab, photo, timeout=0.3)  # no resizer: the old row must not count
    assert res.record is None and not res.ok


def test_bucket_unknown(store: StateStore) -> None:
    lab = add_lab(store, "image", rec("s3.notification", "on-upload"))
    with pytest.raises(ExerciseError, match="cannot tell which bucket"):
        notification_bucket(lab, lab.records("s3.notification")[0])
    lab = add_lab(store, "image", rec("s3.notification", "on-upload", bucket_name="b1"))
    assert notification_bucket(lab, lab.records("s3.notification")[0]) == "b1"


def test_bucket_from_the_spec_when_attrs_lack_it(store: StateStore, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    spec = tmp_path / "image.yaml"
    spec.write_text(
        "name: image\nresources:\n"
        "  input: {type: s3.bucket}\n"
        "  fn: {type: lambda.function, code: code, role: 'arn:aws:iam::123456789012:role/r'}\n"
        "  on-upload: {type: s3.notification, bucket: '${input.name}', function: '${fn.arn}'}\n"
    )
    lab = add_lab(
        store,
        "image",
        rec("s3.bucket", "input", name="awslab-image-input-abc123"),
        rec("s3.notification", "on-upload"),
        spec=str(spec),
    )
    assert notification_bucket(lab, lab.records("s3.notification")[0]) == "awslab-image-input-abc123"


def test_picking_the_upload_lab(target: Target, store: StateStore, api: Api) -> None:
    crud_api = _with_id(api_rec("api", "http://crud"), _live_api(target, [("GET", "/items")]))
    add_lab(store, "crud", crud_api)
    with pytest.raises(UsageError) as e:
        pick_upload_lab(store, target, None, where=WHERE)
    assert "no lab deployed on the test cloud has an upload API (POST /files) or an S3 notification" in str(
        e.value
    )
    assert e.value.hint == "run 'awslab up upload' first"
    _upload_lab(target, store, api)
    assert pick_upload_lab(store, target, None, where=WHERE).name == "upload"
    _image_lab(target, store)
    with pytest.raises(UsageError, match=r"several deployed labs have .*: image, upload"):
        pick_upload_lab(store, target, None, where=WHERE)
    assert pick_upload_lab(store, target, "image", where=WHERE).name == "image"
    with pytest.raises(UsageError, match="lab 'crud' does not have an upload API"):
        pick_upload_lab(store, target, "crud", where=WHERE)


def test_routes_from_the_spec(target: Target, store: StateStore, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    spec = tmp_path / "up.yaml"
    spec.write_text(
        "name: up\nresources:\n"
        "  fn: {type: lambda.function, code: code, role: 'arn:aws:iam::123456789012:role/r'}\n"
        "  api: {type: apigateway.rest_api, routes: {'post /files': fn, 'GET /files/{id}': fn}}\n"
    )
    api = rec("apigateway.rest_api", "api", id="not-on-moto", url="http://x")
    lab = add_lab(store, "up", api, spec=str(spec))
    assert api_routes(target, lab, api) == {"POST /files", "GET /files/{id}"}
    assert upload_api(target, lab) is api


def test_missing_file(target: Target, store: StateStore, tmp_path: Path) -> None:
    lab, _ = _image_lab(target, store)
    with pytest.raises(UsageError, match="cannot read"):
        upload(target, lab, tmp_path / "nope.jpg")

"""upload: through the API route a lab's upload check names (a local server plays the upload
Lambda) or into an image lab's notified bucket under the notification's prefix (a thread plays the
resize Lambda), then the row written."""

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
from awslab.exercise.actions.upload import summaries, upload_route
from awslab.exercise.upload import notification_target, parse_route, pick_upload_lab, upload
from awslab.spec import load_spec
from awslab.state import StateStore
from awslab.target import Target

from .conftest import Api, add_lab, api_rec, background, make_table, put_item, rec

WHERE = "the test cloud"
REPO = Path(__file__).resolve().parents[2]


def _upload_lab(target: Target, store: StateStore, api: Api, name: str = "upload") -> Any:
    table = make_table(target, "files", name)

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
    return add_lab(store, name, table, api_rec("api", api.url))


def test_upload_through_the_api(target: Target, store: StateStore, api: Api, tmp_path: Path) -> None:
    lab = _upload_lab(target, store, api)
    f = tmp_path / "notes.txt"
    f.write_text("hello upload")
    res = upload(target, lab, f, route="POST /files", timeout=5)
    assert res.ok and res.mode == "api" and res.status == 201 and res.route == "POST /files"
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
    res = upload(target, lab, f, route="post /files", timeout=1)
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


def test_bucket_unknown(target: Target, store: StateStore) -> None:
    lab = add_lab(store, "image", rec("s3.notification", "on-upload"))
    with pytest.raises(ExerciseError, match="cannot tell which bucket"):
        notification_target(target, lab, lab.records("s3.notification")[0])
    lab = add_lab(store, "image", rec("s3.notification", "on-upload", bucket_name="b1"))
    assert notification_target(target, lab, lab.records("s3.notification")[0]) == ("b1", "")


def test_the_prefix_is_the_notification_s_own(target: Target, store: StateStore, tmp_path: Path) -> None:
    """Not a prefix the exercise code knows for one lab: the one in the bucket's live configuration
    under the notification's id."""
    lab, _ = _image_lab(
        target, store, {"id": "awslab-image-on-upload-abc123", "bucket": "awslab-image-input-abc123"}
    )
    s3 = target.client("s3")
    fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    rules = [{"Name": "prefix", "Value": "incoming/"}]
    s3.put_bucket_notification_configuration(
        Bucket="awslab-image-input-abc123",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"Id": "another", "LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:*"]},
                {
                    "Id": "awslab-image-on-upload-abc123",
                    "LambdaFunctionArn": fn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": rules}},
                },
            ]
        },
    )
    note = lab.records("s3.notification")[0]
    assert notification_target(target, lab, note) == ("awslab-image-input-abc123", "incoming/")
    f = tmp_path / "a.png"
    f.write_bytes(b"png")
    res = upload(target, lab, f, timeout=0)
    assert res.key == "incoming/a.png" and res.mode == "s3"


def test_picking_the_upload_lab(target: Target, store: StateStore, api: Api) -> None:
    add_lab(store, "crud", api_rec("api", "http://crud"))
    routes = {"upload": "POST /files"}

    def route_of(lab: Any) -> str | None:
        return routes.get(lab.name)

    with pytest.raises(UsageError) as e:
        pick_upload_lab(store, None, where=WHERE, route_of=route_of)
    assert "no lab deployed on the test cloud has an upload route" in str(e.value)
    assert e.value.hint == "run 'awslab up upload' first"
    _upload_lab(target, store, api)
    assert pick_upload_lab(store, None, where=WHERE, route_of=route_of).name == "upload"
    _image_lab(target, store)
    with pytest.raises(UsageError, match=r"several deployed labs have .*: image, upload"):
        pick_upload_lab(store, None, where=WHERE, route_of=route_of)
    assert pick_upload_lab(store, "image", where=WHERE, route_of=route_of).name == "image"
    with pytest.raises(UsageError, match="lab 'crud' does not have an upload route"):
        pick_upload_lab(store, "crud", where=WHERE, route_of=route_of)
    routes["crud"] = "POST /items"  # given with --route, any lab with an API takes files
    assert pick_upload_lab(store, "crud", where=WHERE, route_of=route_of).name == "crud"


def test_a_lab_without_a_route_or_notification_takes_no_upload(
    target: Target, store: StateStore, api: Api, tmp_path: Path
) -> None:
    lab = add_lab(store, "crud", api_rec("api", api.url))
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(UsageError, match="no route was given and it has no S3 notification") as e:
        upload(target, lab, f)
    assert e.value.hint is not None and "--route 'POST /files'" in e.value.hint
    with pytest.raises(UsageError, match="route 'FETCH files' is not 'METHOD /path'"):
        parse_route("FETCH files")
    assert not api.requests


def test_the_route_and_the_summary_come_from_the_lab_s_yaml() -> None:
    """The upload lab's route and the image lab's thumbnail line are in their specs' upload
    checks, not in the exercise code."""
    upload_spec, image_spec = (
        load_spec(REPO / "configs" / "upload.yaml"),
        load_spec(REPO / "configs" / "image.yaml"),
    )
    assert upload_route(upload_spec.checks) == ("POST /files", None)
    assert upload_route(image_spec.checks) == (None, None)  # the notified bucket, then
    row = {"status": "done", "width": 640, "height": 480, "thumbnail_width": 256, "thumbnail_height": 192,
           "thumbnail_size": 9000, "thumbnail_bucket": "out", "thumbnail_key": "thumbnails/p.jpg"}  # fmt: skip
    assert summaries(image_spec.checks, row) == [
        "thumbnail 256x192 (9000 bytes) at s3://out/thumbnails/p.jpg from 640x480"
    ]
    assert summaries(image_spec.checks, {"status": "rejected", "reason": "not an image"}) == [
        "rejected: not an image"
    ]
    assert summaries(upload_spec.checks, row) == []


def test_missing_file(target: Target, store: StateStore, tmp_path: Path) -> None:
    lab, _ = _image_lab(target, store)
    with pytest.raises(UsageError, match="cannot read"):
        upload(target, lab, tmp_path / "nope.jpg")

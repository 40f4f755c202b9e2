"""The image lab's resize handler against moto's in-process S3 and DynamoDB, with real images
drawn by Pillow."""

from __future__ import annotations

import io
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from PIL import Image

from tests.handlers.events import load_handler

IN, OUT, TABLE = "lab-in", "lab-out", "lab-images"


@pytest.fixture
def lab(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=IN)
    s3.create_bucket(Bucket=OUT)
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("OUTPUT_BUCKET", OUT)
    return load_handler("image", "app")


def picture(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: Any) -> bytes:
    img = Image.new("RGB", size, (200, 120, 40))
    # Some content, so encoders have something to compress.
    for x in range(0, size[0], 7):
        img.putpixel((x, (x * 3) % size[1]), (x % 256, 30, 220))
    if mode == "RGBA":
        img.putalpha(128)
    elif mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def upload(key: str, body: bytes) -> dict[str, Any]:
    """Put the object and return the S3 notification event AWS would send for it."""
    boto3.client("s3").put_object(Bucket=IN, Key=key, Body=body)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": IN, "arn": f"arn:aws:s3:::{IN}"},
                    "object": {"key": quote_plus(key), "size": len(body)},
                },
            }
        ]
    }


def record(key: str) -> dict[str, Any]:
    return boto3.resource("dynamodb").Table(TABLE).get_item(Key={"id": key})["Item"]


def thumbnail(key: str) -> tuple[Image.Image, str]:
    obj = boto3.client("s3").get_object(Bucket=OUT, Key=key)
    img = Image.open(io.BytesIO(obj["Body"].read()))
    img.load()
    return img, obj["ContentType"]


def test_landscape_jpeg_fits_256_keeping_aspect(lab: ModuleType) -> None:
    summary = lab.handler(upload("uploads/cat.jpg", picture("JPEG", (800, 600))), None)
    assert (summary["processed"], summary["rejected"], summary["skipped"]) == (1, 0, 0)
    rec = record("uploads/cat.jpg")
    assert rec["status"] == "done"
    assert (rec["source_bucket"], rec["source_key"]) == (IN, "uploads/cat.jpg")
    assert (rec["width"], rec["height"]) == (800, 600)
    assert (rec["thumbnail_width"], rec["thumbnail_height"]) == (256, 192)
    assert rec["thumbnail_key"] == "thumbnails/cat.jpg"
    assert rec["processed_at"]
    img, content_type = thumbnail("thumbnails/cat.jpg")
    assert (img.format, img.size, content_type) == ("JPEG", (256, 192), "image/jpeg")
    head = boto3.client("s3").head_object(Bucket=OUT, Key="thumbnails/cat.jpg")
    assert rec["thumbnail_size"] == head["ContentLength"]


def test_portrait_png_keeps_format_and_alpha(lab: ModuleType) -> None:
    lab.handler(upload("uploads/tall.png", picture("PNG", (300, 1000), "RGBA")), None)
    rec = record("uploads/tall.png")
    img, content_type = thumbnail("thumbnails/tall.png")
    assert (img.format, img.mode, content_type) == ("PNG", "RGBA", "image/png")
    assert img.height == 256 and abs(img.width - 300 * 256 / 1000) <= 1
    assert (rec["thumbnail_width"], rec["thumbnail_height"]) == img.size


@pytest.mark.parametrize(("fmt", "ext", "mode"), [("WEBP", "webp", "RGB"), ("GIF", "gif", "P")])
def test_webp_and_gif_keep_their_format(lab: ModuleType, fmt: str, ext: str, mode: str) -> None:
    lab.handler(upload(f"uploads/pic.{ext}", picture(fmt, (512, 512), mode)), None)
    img, _ = thumbnail(f"thumbnails/pic.{ext}")
    assert (img.format, img.size) == (fmt, (256, 256))


def test_small_image_is_not_enlarged(lab: ModuleType) -> None:
    lab.handler(upload("uploads/icon.png", picture("PNG", (100, 40))), None)
    assert thumbnail("thumbnails/icon.png")[0].size == (100, 40)


def test_other_formats_become_jpeg_flattened(lab: ModuleType) -> None:
    lab.handler(upload("uploads/scan.tiff", picture("TIFF", (1024, 512), "RGBA")), None)
    rec = record("uploads/scan.tiff")
    assert rec["format"] == "TIFF" and rec["thumbnail_key"] == "thumbnails/scan.jpg"
    img, content_type = thumbnail("thumbnails/scan.jpg")
    assert (img.format, img.mode, img.size, content_type) == ("JPEG", "RGB", (256, 128), "image/jpeg")


def test_exif_rotation_is_applied(lab: ModuleType) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees to display
    lab.handler(upload("uploads/phone.jpg", picture("JPEG", (400, 200), exif=exif)), None)
    rec = record("uploads/phone.jpg")
    assert (rec["width"], rec["height"]) == (400, 200)  # as stored
    assert thumbnail("thumbnails/phone.jpg")[0].size == (128, 256)  # as displayed


def test_url_encoded_key_with_spaces_and_unicode(lab: ModuleType) -> None:
    key = "uploads/my holiday/ảnh (1)+x.jpg"
    event = upload(key, picture("JPEG", (640, 480)))
    assert "+" in event["Records"][0]["s3"]["object"]["key"]  # spaces arrive as '+'
    lab.handler(event, None)
    rec = record(key)
    assert rec["source_key"] == key and rec["status"] == "done"
    assert rec["thumbnail_key"] == "thumbnails/my holiday/ảnh (1)+x.jpg"
    assert thumbnail(rec["thumbnail_key"])[0].size == (256, 192)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"hello, this is not a picture\n", "not a readable image"), (None, "corrupt image")],
)
def test_non_image_is_rejected_not_crashing(lab: ModuleType, body: bytes | None, reason: str) -> None:
    if body is None:  # a JPEG cut in half
        whole = picture("JPEG", (600, 600))
        body = whole[: len(whole) // 2]
    summary = lab.handler(upload("uploads/notes.jpg", body), None)
    assert (summary["processed"], summary["rejected"]) == (0, 1)
    rec = record("uploads/notes.jpg")
    assert rec["status"] == "rejected" and reason in rec["reason"]
    assert rec["source_size"] == len(body)
    assert "thumbnail_key" not in rec
    assert boto3.client("s3").list_objects_v2(Bucket=OUT).get("KeyCount") == 0


def test_too_large_is_rejected(lab: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_IMAGE_BYTES", "100")
    lab.handler(upload("uploads/big.png", picture("PNG", (300, 300))), None)
    rec = record("uploads/big.png")
    assert rec["status"] == "rejected" and "too large" in rec["reason"]


def test_keys_outside_uploads_and_other_events_are_skipped(lab: ModuleType) -> None:
    event = upload("thumbnails/cat.jpg", picture("JPEG", (300, 300)))
    removed = upload("uploads/gone.jpg", b"x")["Records"][0] | {"eventName": "ObjectRemoved:Delete"}
    event["Records"].append(removed)
    summary = lab.handler(event, None)
    assert (summary["processed"], summary["rejected"], summary["skipped"]) == (0, 0, 2)
    assert boto3.client("dynamodb").scan(TableName=TABLE)["Count"] == 0
    assert lab.handler({"Event": "s3:TestEvent"}, None)["skipped"] == 0


def test_several_records_in_one_event(lab: ModuleType) -> None:
    a = upload("uploads/a.png", picture("PNG", (512, 256)))
    b = upload("uploads/b.txt", b"text")
    summary = lab.handler({"Records": a["Records"] + b["Records"]}, None)
    assert (summary["processed"], summary["rejected"]) == (1, 1)
    assert [r["status"] for r in summary["results"]] == ["done", "rejected"]

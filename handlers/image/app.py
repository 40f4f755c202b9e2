"""Image lab: S3 ObjectCreated -> thumbnail in the output bucket + a record in DynamoDB.

Environment: OUTPUT_BUCKET (where thumbnails go), TABLE_NAME (records, key `id` = the source
key), optional MAX_IMAGE_BYTES (default 20 MiB) and THUMBNAIL_SIZE (default 256).

Only keys under `uploads/` are handled, so the output bucket may be the input bucket without
the function triggering itself on its own thumbnails.
"""

from __future__ import annotations

import io
import os
import posixpath
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3
from PIL import Image, ImageOps, UnidentifiedImageError

s3 = boto3.client("s3")
dynamodb = boto3.resource("dynamodb")

UPLOAD_PREFIX = "uploads/"
THUMBNAIL_PREFIX = "thumbnails/"
# Formats whose thumbnail keeps the source format; everything else becomes JPEG.
KEPT_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}


class RejectedUpload(Exception):
    """The object is not something we can make a thumbnail of (recorded, not retried)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def thumbnail_key(source_key: str, out_format: str, source_format: str | None) -> str:
    """`uploads/a/b.png` -> `thumbnails/a/b.png`; the extension changes only when the format
    does (a BMP becomes `.jpg`)."""
    name = source_key[len(UPLOAD_PREFIX) :] if source_key.startswith(UPLOAD_PREFIX) else source_key
    if out_format != source_format:
        stem, _ = posixpath.splitext(name)
        name = (stem or name) + EXTENSIONS[out_format]
    return THUMBNAIL_PREFIX + name


def _for_jpeg(img: Image.Image) -> Image.Image:
    """JPEG has no alpha or palette: flatten onto white."""
    if img.mode in ("RGB", "L", "CMYK"):
        return img
    rgba = img.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def make_thumbnail(data: bytes, max_size: int) -> dict[str, Any]:
    """Decode `data`, shrink it to fit `max_size` x `max_size` (aspect ratio kept, never
    enlarged) and encode it. Raises RejectedUpload for anything Pillow cannot read."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            source_format = opened.format
            width, height = opened.size
            opened.load()
            # Phone photos carry their rotation in EXIF; the thumbnail should be upright.
            img = ImageOps.exif_transpose(opened) or opened
            img.thumbnail((max_size, max_size))
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise RejectedUpload(f"not a readable image: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt files
        raise RejectedUpload(f"corrupt image: {exc}") from exc

    out_format = source_format if source_format in KEPT_FORMATS else "JPEG"
    options: dict[str, Any] = {}
    if out_format == "JPEG":
        img = _for_jpeg(img)
        options = {"quality": 85, "optimize": True}
    elif out_format == "PNG":
        options = {"optimize": True}
    buf = io.BytesIO()
    img.save(buf, format=out_format, **options)
    return {
        "source_format": source_format,
        "width": width,
        "height": height,
        "format": out_format,
        "content_type": KEPT_FORMATS[out_format],
        "thumbnail_width": img.width,
        "thumbnail_height": img.height,
        "body": buf.getvalue(),
    }


def process_object(bucket: str, key: str) -> dict[str, Any]:
    """Make and store the thumbnail of one uploaded object and record it; returns the record."""
    table = dynamodb.Table(os.environ["TABLE_NAME"])
    output_bucket = os.environ["OUTPUT_BUCKET"]
    max_bytes = _int_env("MAX_IMAGE_BYTES", 20 * 1024 * 1024)
    record: dict[str, Any] = {"id": key, "source_bucket": bucket, "source_key": key}
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
        record["source_size"] = int(obj["ContentLength"])
        if record["source_size"] > max_bytes:
            obj["Body"].close()
            raise RejectedUpload(f"too large: {record['source_size']} bytes (limit {max_bytes})")
        thumb = make_thumbnail(obj["Body"].read(), _int_env("THUMBNAIL_SIZE", 256))
    except RejectedUpload as exc:
        record.update(status="rejected", reason=str(exc), processed_at=_now())
        table.put_item(Item=record)
        return record

    out_key = thumbnail_key(key, thumb["format"], thumb["source_format"])
    s3.put_object(Bucket=output_bucket, Key=out_key, Body=thumb["body"], ContentType=thumb["content_type"])
    record.update(
        format=thumb["source_format"],
        width=thumb["width"],
        height=thumb["height"],
        thumbnail_bucket=output_bucket,
        thumbnail_key=out_key,
        thumbnail_format=thumb["format"],
        thumbnail_width=thumb["thumbnail_width"],
        thumbnail_height=thumb["thumbnail_height"],
        thumbnail_size=len(thumb["body"]),
        status="done",
        processed_at=_now(),
    )
    table.put_item(Item=record)
    return record


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """S3 notification handler. Records outside `uploads/` or not ObjectCreated are skipped;
    non-images are recorded as rejected; other errors propagate so Lambda retries."""
    summary: dict[str, Any] = {"processed": 0, "rejected": 0, "skipped": 0, "results": []}
    # S3 sends {"Event": "s3:TestEvent"} (no Records) when a notification is configured.
    for rec in event.get("Records") or []:
        s3_part = rec.get("s3") or {}
        bucket = (s3_part.get("bucket") or {}).get("name", "")
        # Keys arrive URL-encoded the way quote_plus does it ("my photo.jpg" -> "my+photo.jpg").
        key = unquote_plus((s3_part.get("object") or {}).get("key", ""))
        if not str(rec.get("eventName", "")).startswith("ObjectCreated") or not key.startswith(UPLOAD_PREFIX):
            summary["skipped"] += 1
            summary["results"].append({"key": key, "status": "skipped"})
            continue
        result = process_object(bucket, key)
        summary["processed" if result["status"] == "done" else "rejected"] += 1
        summary["results"].append(
            {k: v for k, v in result.items() if k in ("id", "status", "reason", "thumbnail_key")}
            | {"key": key}
        )
    return summary

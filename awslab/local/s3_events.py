"""S3 event notification records as AWS writes them, for moto's notifications.

moto's records lack userIdentity, requestParameters, responseElements, the bucket's ownerIdentity
and the object's sequencer, and encode `/` in keys as `%2F`: Powertools' S3Model rejects them and
handlers that split keys on `/` break. awslab/local/moto_patches.py puts `s3_event` in place of
moto's builder, so Lambda, SQS and SNS destinations all get this shape (event structure:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote_plus

# Every client of the local cloud is on this machine (awslab.local.guard refuses the others).
SOURCE_IP = "127.0.0.1"

_sequencer_lock = threading.Lock()
_last_sequencer = 0


def event_key(name: str) -> str:
    """An object key as S3 event records carry it: URL-encoded with `+` for a space, `/` kept."""
    return quote_plus(name, safe="/")


def next_sequencer() -> str:
    """18 upper-case hex digits, increasing across events, as S3's sequencers (e.g. 0055AED6DCD90281E5)
    let a consumer order the events of one key."""
    global _last_sequencer
    with _sequencer_lock:
        _last_sequencer = max(_last_sequencer + 1, time.time_ns())
        return f"{_last_sequencer:018X}"


def _now_iso() -> str:
    """2024-05-01T12:00:00.123Z: S3's eventTime, with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _principal(account_id: str, prefix: str, size: int) -> str:
    """A stable upper-case alphanumeric id for the account, shaped like AWS's obfuscated ones."""
    digest = base64.b32encode(hashlib.sha256(f"{prefix}:{account_id}".encode()).digest()).decode()
    return prefix + digest.replace("=", "")[: size - len(prefix)]


def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, list[dict[str, Any]]]:
    """The event for one notification: moto's `_get_s3_event` signature, AWS's record (version 2.1).
    `event_name` is moto's "s3:ObjectCreated:Put" form; removals carry no size and eTag, as on AWS."""
    name = event_name.removeprefix("s3:")
    obj: dict[str, Any] = {"key": event_key(key.name)}
    if not name.startswith(("ObjectRemoved", "LifecycleExpiration")):
        obj["size"] = key.size
        obj["eTag"] = key.etag.replace('"', "")
    if getattr(bucket, "is_versioned", False) and getattr(key, "version_id", None):
        obj["versionId"] = key.version_id
    obj["sequencer"] = next_sequencer()
    account_id = bucket.account_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": bucket.region_name,
                "eventTime": _now_iso(),
                "eventName": name,
                "userIdentity": {"principalId": "AWS:" + _principal(account_id, "AIDA", 21)},
                "requestParameters": {"sourceIPAddress": SOURCE_IP},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": base64.b64encode(secrets.token_bytes(56)).decode("ascii"),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": notification_id,
                    "bucket": {
                        "name": bucket.name,
                        "ownerIdentity": {"principalId": _principal(account_id, "A", 14)},
                        "arn": bucket.arn,
                    },
                    "object": obj,
                },
            }
        ]
    }

"""`awslab event KIND`: a sample event of each source awslab's labs use, shaped as AWS sends it to a
Lambda function (the same shapes the local cloud delivers), for `awslab invoke LAB FN --payload @-`
and for handler tests. Pure data: no AWS calls.

Each event has fresh ids and the current time; `body` goes where the source carries a payload
(the request body, the message, the item, the event's detail).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from awslab.errors import UsageError
from awslab.resources.base import partition_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
SAMPLE = '{"id": "1", "item": "book", "quantity": 1}'


@dataclass(frozen=True)
class EventParams:
    body: str | None = None
    method: str = "GET"
    path: str = "/items"
    bucket: str = "awslab-sample-bucket"
    key: str = "uploads/photo.jpg"
    region: str = REGION
    account: str = ACCOUNT
    now: datetime | None = None

    @property
    def time(self) -> datetime:
        return self.now or datetime.now(UTC)

    def json_body(self, default: Any) -> Any:
        """The body as JSON; text that is not JSON stays text."""
        if self.body is None:
            return default
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body


def _iso(t: datetime, ms: bool = True) -> str:
    text = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{t.microsecond // 1000:03d}Z" if ms else "Z")


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


# ---- API Gateway ------------------------------------------------------------------------
def _headers(p: EventParams) -> dict[str, str]:
    headers = {
        "Accept": "*/*",
        "Host": f"a1b2c3d4e5.execute-api.{p.region}.amazonaws.com",
        "User-Agent": "awslab-sample",
        "X-Amzn-Trace-Id": f"Root=1-{int(p.time.timestamp()):08x}-{secrets.token_hex(12)}",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if p.body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def api_v1(p: EventParams) -> dict[str, Any]:
    """API Gateway REST API, Lambda proxy integration (payload format 1.0)."""
    headers = _headers(p)
    method, t = p.method.upper(), p.time
    request_id = str(uuid.uuid4())
    return {
        "resource": p.path,
        "path": p.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": secrets.token_hex(3),
            "resourcePath": p.path,
            "httpMethod": method,
            "extendedRequestId": base64.b64encode(secrets.token_bytes(11)).decode().rstrip("=") + "=",
            "requestTime": t.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/dev{p.path}",
            "accountId": p.account,
            "protocol": "HTTP/1.1",
            "stage": "dev",
            "domainPrefix": "a1b2c3d4e5",
            "requestTimeEpoch": _ms(t),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "203.0.113.10",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "awslab-sample",
                "user": None,
            },
            "domainName": f"a1b2c3d4e5.execute-api.{p.region}.amazonaws.com",
            "apiId": "a1b2c3d4e5",
        },
        "body": p.body,
        "isBase64Encoded": False,
    }


def api_v2(p: EventParams) -> dict[str, Any]:
    """API Gateway HTTP API, payload format 2.0."""
    headers = {k.lower(): v for k, v in _headers(p).items()}
    method, t = p.method.upper(), p.time
    return {
        "version": "2.0",
        "routeKey": f"{method} {p.path}",
        "rawPath": p.path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": p.account,
            "apiId": "a1b2c3d4e5",
            "domainName": f"a1b2c3d4e5.execute-api.{p.region}.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": p.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "awslab-sample",
            },
            "requestId": base64.b64encode(secrets.token_bytes(11)).decode().rstrip("=") + "=",
            "routeKey": f"{method} {p.path}",
            "stage": "$default",
            "time": t.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": _ms(t),
        },
        **({"body": p.body} if p.body is not None else {}),
        "isBase64Encoded": False,
    }


# ---- messages ---------------------------------------------------------------------------
def sqs(p: EventParams) -> dict[str, Any]:
    """An SQS queue's batch of one message, as an event source mapping delivers it."""
    body = SAMPLE if p.body is None else p.body
    t = p.time
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": base64.b64encode(secrets.token_bytes(96)).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(_ms(t)),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": str(_ms(t) + 3),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # SQS's checksum is MD5
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:{partition_of(p.region)}:sqs:{p.region}:{p.account}:awslab-sample-queue",
                "awsRegion": p.region,
            }
        ]
    }


def sns(p: EventParams) -> dict[str, Any]:
    """A topic's notification to a subscribed function."""
    topic = f"arn:{partition_of(p.region)}:sns:{p.region}:{p.account}:awslab-sample-topic"
    subscription = f"{topic}:{uuid.uuid4()}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": SAMPLE if p.body is None else p.body,
                    "Timestamp": _iso(p.time),
                    "SignatureVersion": "1",
                    "Signature": base64.b64encode(secrets.token_bytes(256)).decode(),
                    "SigningCertUrl": f"https://sns.{p.region}.amazonaws.com/SimpleNotificationService-sample.pem",
                    "UnsubscribeUrl": f"https://sns.{p.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}",
                    "MessageAttributes": {},
                },
            }
        ]
    }


# ---- S3 ---------------------------------------------------------------------------------
def _s3(p: EventParams, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": quote_plus(p.key, safe="/"), "sequencer": f"{_ms(p.time):016X}"[-16:]}
    if name.startswith("ObjectCreated"):
        size = len((p.body or "").encode()) or 1024
        obj = {**obj, "size": size, "eTag": hashlib.md5(str(size).encode()).hexdigest()}
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": p.region,
                "eventTime": _iso(p.time),
                "eventName": name,
                "userIdentity": {"principalId": "AWS:AIDAIENQZJOLO23YVJ4VO"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "awslab-sample-notification",
                    "bucket": {
                        "name": p.bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:{partition_of(p.region)}:s3:::{p.bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def s3_put(p: EventParams) -> dict[str, Any]:
    """An object created in a notified bucket (s3:ObjectCreated:Put)."""
    return _s3(p, "ObjectCreated:Put")


def s3_delete(p: EventParams) -> dict[str, Any]:
    """An object deleted from a notified bucket (s3:ObjectRemoved:Delete)."""
    return _s3(p, "ObjectRemoved:Delete")


# ---- DynamoDB streams -------------------------------------------------------------------
def attribute_value(value: Any) -> dict[str, Any]:
    """A JSON value in DynamoDB's attribute-value form."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [attribute_value(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {str(k): attribute_value(v) for k, v in value.items()}}
    return {"S": str(value)}


def dynamodb_stream(p: EventParams) -> dict[str, Any]:
    """A new item in a table with a stream (INSERT, NEW_AND_OLD_IMAGES), as a stream event source
    mapping delivers it. The item is the body (a JSON object); its key is its `id`."""
    item = p.json_body(json.loads(SAMPLE))
    if not isinstance(item, dict) or not item:
        raise UsageError(
            'a DynamoDB stream event\'s --body is the new item, a JSON object such as \'{"id": "1"}\''
        )
    key_name = "id" if "id" in item else next(iter(item))
    image = {str(k): attribute_value(v) for k, v in item.items()}
    table = f"arn:{partition_of(p.region)}:dynamodb:{p.region}:{p.account}:table/awslab-sample-table"
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": p.region,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(p.time.timestamp()),
                    "Keys": {key_name: image[key_name]},
                    "NewImage": image,
                    "SequenceNumber": str(secrets.randbelow(10**20) + 10**20),
                    "SizeBytes": len(json.dumps(image)),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": f"{table}/stream/{_iso(p.time).removesuffix('Z')}",
            }
        ]
    }


# ---- EventBridge ------------------------------------------------------------------------
def _envelope(
    p: EventParams, detail_type: str, source: str, resources: list[str], detail: Any
) -> dict[str, Any]:
    """EventBridge's event, as a rule's target receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": p.account,
        "time": _iso(p.time, ms=False),
        "region": p.region,
        "resources": resources,
        "detail": detail,
    }


def eventbridge(p: EventParams) -> dict[str, Any]:
    """An event a rule matched (PutEvents on the default bus); its detail is the body."""
    return _envelope(p, "OrderPlaced", "awslab.sample", [], p.json_body(json.loads(SAMPLE)))


def schedule(p: EventParams) -> dict[str, Any]:
    """What a scheduled EventBridge rule sends its target function."""
    rule = f"arn:{partition_of(p.region)}:events:{p.region}:{p.account}:rule/awslab-sample-schedule"
    return _envelope(p, "Scheduled Event", "aws.events", [rule], {})


KINDS: dict[str, Callable[[EventParams], dict[str, Any]]] = {
    "api": api_v1,
    "api-v2": api_v2,
    "sqs": sqs,
    "sns": sns,
    "s3-put": s3_put,
    "s3-delete": s3_delete,
    "dynamodb-stream": dynamodb_stream,
    "eventbridge": eventbridge,
    "schedule": schedule,
}
ALIASES = {
    "apigateway": "api",
    "api-v1": "api",
    "http-api": "api-v2",
    "events": "eventbridge",
    "s3": "s3-put",
}


def describe() -> dict[str, str]:
    """Kind -> the first line of its builder's docstring."""
    return {name: (fn.__doc__ or "").strip().splitlines()[0] for name, fn in KINDS.items()}


def sample_event(kind: str, params: EventParams | None = None) -> dict[str, Any]:
    """The sample event of `kind` (a name of KINDS or an alias); UsageError for another."""
    name = ALIASES.get(kind.lower(), kind.lower())
    builder = KINDS.get(name)
    if builder is None:
        import difflib

        close = difflib.get_close_matches(name, [*KINDS, *ALIASES], n=1)
        raise UsageError(
            f"unknown event kind '{kind}'",
            hint=(f"did you mean '{close[0]}'? " if close else "") + f"kinds: {', '.join(KINDS)}",
        )
    return builder(params or EventParams())

"""HTTP answers of the AWS-like layer: moto's response captured so it can be rewritten, and AWS's
errors in each protocol's wire format, as botocore parses them (botocore/parsers.py).

- rest-json (Lambda, API Gateway): the code in `x-amzn-ErrorType`, `{"message": ...}` in the body
  (Lambda adds `"Type": "User"`).
- JSON 1.0 (DynamoDB, Step Functions, SQS): `{"__type": "<namespace>#<Code>", "message": ...}`;
  SQS, a former query service, also sends `x-amzn-query-error: <query code>;Sender`, from which
  botocore takes the code (e.g. AWS.SimpleQueueService.QueueDeletedRecently).
- query (SQS called by an older SDK): `<ErrorResponse><Error><Code>...`.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

from awslab.local.like_aws.calls import Call


@dataclass
class Answer:
    """A complete HTTP response: moto's, captured, or one made here."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.body) if self.body else {}
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def with_json(self, doc: dict[str, Any]) -> Answer:
        body = json.dumps(doc).encode()
        headers = [(k, v) for k, v in self.headers if k.lower() not in ("content-length", "x-amz-crc32")]
        if any(k.lower() == "x-amz-crc32" for k, _ in self.headers):  # DynamoDB's, checked by botocore
            headers.append(("x-amz-crc32", str(zlib.crc32(body))))
        return Answer(self.status, [*headers, ("Content-Length", str(len(body)))], body)

    def send(self, start_response: Any) -> Iterable[bytes]:
        start_response(f"{self.status} {_reason(self.status)}", self.headers)
        return [self.body]


Forward = Callable[[dict[str, Any]], Answer]  # runs an environ through moto, captures the answer


def capture(app: Any, environ: dict[str, Any]) -> Answer:
    """Run `environ` through the WSGI `app` and keep the whole response."""
    seen: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, list(headers)
        return chunks.append  # the legacy write() callable

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Answer(int(seen["status"].split(" ", 1)[0]), seen["headers"], b"".join(chunks))


def rest_json_error(status: int, code: str, message: str, *, lambda_type: bool = False,
                    extra_headers: Iterable[tuple[str, str]] = ()) -> Answer:  # fmt: skip
    doc: dict[str, Any] = {"Type": "User", "message": message} if lambda_type else {"message": message}
    headers = [("x-amzn-ErrorType", code), *_request_id(), *extra_headers]
    return _json(status, doc, "application/json", headers)


def json_error(code: str, message: str, *, namespace: str = "", query_code: str | None = None,
               status: int = 400) -> Answer:  # fmt: skip
    headers = list(_request_id())
    if query_code is not None:
        headers.append(("x-amzn-query-error", f"{query_code};Sender"))
    doc = {"__type": f"{namespace}#{code}" if namespace else code, "message": message}
    return _json(status, doc, "application/x-amz-json-1.0", headers)


def query_error(code: str, message: str, *, status: int = 400) -> Answer:
    request_id = str(uuid.uuid4())
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}"
            f"</Message><Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()  # fmt: skip
    headers = [
        ("Content-Type", "text/xml"),
        ("x-amzn-RequestId", request_id),
        ("Content-Length", str(len(body))),
    ]
    return Answer(status, headers, body)


def protocol_error(call: Call, code: str, message: str, *, namespace: str, query_code: str) -> Answer:
    """An error of a JSON service that used to speak query (SQS), in the protocol of the request."""
    if "x-www-form-urlencoded" in str(call.environ.get("CONTENT_TYPE", "")):
        return query_error(query_code, message)
    return json_error(code, message, namespace=namespace, query_code=query_code)


def _json(status: int, doc: dict[str, Any], content_type: str, headers: list[tuple[str, str]]) -> Answer:
    body = json.dumps(doc).encode()
    return Answer(
        status, [("Content-Type", content_type), *headers, ("Content-Length", str(len(body)))], body
    )


def _request_id() -> list[tuple[str, str]]:
    return [("x-amzn-RequestId", str(uuid.uuid4()))]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

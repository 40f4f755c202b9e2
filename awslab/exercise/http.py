"""`awslab call`: one HTTP request to a lab's API (the `url` attribute of a REST API, an HTTP API or a
function URL), the way Postman or curl would send it, with urllib only."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.defaults import HTTP_KINDS
from awslab.exercise.labs import DeployedLab, pick_resource
from awslab.resources.base import Record

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_TIMEOUT = 30.0
# Characters kept as they are in a path the user typed (query string and %-escapes included).
_PATH_SAFE = "/?&=%:@!$'()*+,;~[]"
_UNSET: Any = object()


@dataclass
class CallResult:
    method: str
    url: str
    status: int
    reason: str
    headers: dict[str, str]
    body: str
    json: Any = None  # the body parsed, when it is JSON
    elapsed_ms: float = 0.0
    request_headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_method(word: str) -> bool:
    return word.upper() in METHODS


def parse_headers(values: list[str] | None) -> dict[str, str]:
    """`-H 'K: V'` options -> {K: V}; a header given twice keeps the last value."""
    headers: dict[str, str] = {}
    for raw in values or []:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError(f"-H '{raw}' is not a header", hint="write it as -H 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def api_record(lab: DeployedLab, api: str | None = None) -> Record:
    """The lab's API or function URL (the one named `api` when it has several) with a url."""
    record = pick_resource(lab, HTTP_KINDS, api, option="--api")
    if not record.attrs.get("url"):
        raise ExerciseError(
            f"API '{record.logical}' of lab '{lab.name}' has no stage URL",
            hint=f"run 'awslab up {lab.name}' to deploy its stage",
        )
    return record


def request_url(base_url: str, path: str) -> str:
    """The stage URL + the path (and query) the user typed."""
    if not path.startswith("/"):
        path = "/" + path
    return base_url.rstrip("/") + quote(path, safe=_PATH_SAFE)


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    json_body: Any = _UNSET,
    data: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> CallResult:
    """Send one request; any HTTP status is a result, only an unreachable API is an error.

    `json_body` is sent as JSON (Content-Type application/json unless given); `data` as is,
    or the bytes of a file when it starts with '@' (as with curl).
    """
    method = method.upper()
    if method not in METHODS:
        raise UsageError(f"unknown HTTP method '{method}'", hint=f"use one of {', '.join(METHODS)}")
    if json_body is not _UNSET and data is not None:
        raise UsageError("give --json or --data, not both")
    sent = dict(headers or {})
    has = {k.lower() for k in sent}
    body: bytes | None = None
    if json_body is not _UNSET:
        body = json.dumps(json_body).encode()
        if "content-type" not in has:
            sent["Content-Type"] = "application/json"
    elif data is not None:
        if data.startswith("@"):
            try:
                body = Path(data[1:]).expanduser().read_bytes()
            except OSError as exc:
                raise UsageError(f"--data {data}: cannot read the file: {exc.strerror}") from None
            default_type = "application/octet-stream"
        else:
            body = data.encode()
            default_type = "text/plain; charset=utf-8"
        if "content-type" not in has:
            sent["Content-Type"] = default_type
    url = request_url(base_url, path)
    req = urllib.request.Request(url, data=body, method=method, headers=sent)
    start = time.perf_counter()
    try:
        with _opener(url).open(req, timeout=timeout) as resp:
            status, reason, raw_headers, raw = resp.status, resp.reason, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:  # 4xx/5xx: a response like any other
        status, reason, raw_headers = exc.code, str(exc.reason), exc.headers
        raw = exc.read()
        exc.close()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason_text = getattr(exc, "reason", None) or exc
        raise ExerciseError(
            f"{method} {url} failed: {reason_text}",
            hint="is the lab up and its target reachable? 'awslab status' checks it",
        ) from None
    elapsed = (time.perf_counter() - start) * 1000
    text = raw.decode("utf-8", errors="replace")
    return CallResult(
        method=method,
        url=url,
        status=status,
        reason=reason,
        headers=_headers(raw_headers),
        body=text,
        json=_maybe_json(text),
        elapsed_ms=round(elapsed, 1),
        request_headers=sent,
    )


def _opener(url: str) -> urllib.request.OpenerDirector:
    # A proxy from the environment must not capture requests to the local cloud.
    if urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _headers(msg: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in msg.items() if msg is not None else []:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _maybe_json(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in '{["0123456789-tfn':
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None

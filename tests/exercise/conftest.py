"""Fixtures for the exercise commands: a target on moto's in-process mock, a state file in
tmp_path whose lab records are written by hand (with the attrs the real kinds record), and a
local HTTP server on 127.0.0.1 standing in for a lab's API."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from awslab.exercise.labs import DeployedLab
from awslab.resources.base import Record
from awslab.state import LabState, StateStore
from awslab.target import Target

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def target(mocked_aws: None) -> Target:
    return Target(kind="aws", region=REGION)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.json", {"kind": "aws", "region": REGION})


def rec(kind: str, logical: str, physical: str = "", status: str = "created", **attrs: Any) -> Record:
    return Record(
        kind=kind,
        logical=logical,
        physical=physical or f"awslab-lab-{logical}-abc123",
        status=status,
        attrs=attrs,
    )  # type: ignore[arg-type]


def add_lab(store: StateStore, name: str, *records: Record, spec: str = "") -> DeployedLab:
    state = LabState(stack_id="abc123", spec=spec, resources={r.logical: r for r in records})
    store.labs[name] = state
    store.save()
    return DeployedLab(name, state)


def api_rec(logical: str, url: str) -> Record:
    return rec(
        "apigateway.rest_api",
        logical,
        id="a1b2c3",
        url=url,
        stage="dev",
        arn=f"arn:aws:apigateway:{REGION}::/restapis/a1b2c3",
        name=f"awslab-lab-{logical}-abc123",
        execution_arn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3",
    )


def make_table(target: Target, logical: str = "items", lab: str = "lab") -> Record:
    name = f"awslab-{lab}-{logical}-abc123"
    desc = target.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]
    return rec("dynamodb.table", logical, name, name=name, arn=desc["TableArn"], stream_arn="")


def make_queue(target: Target, logical: str, lab: str = "lab", dlq_arn: str | None = None) -> Record:
    name = f"awslab-{lab}-{logical}-abc123"
    sqs = target.client("sqs")
    attributes = (
        {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})}
        if dlq_arn
        else {}
    )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return rec(
        "sqs.queue",
        logical,
        name,
        name=name,
        arn=arn,
        url=url,
        visibility_timeout=30,
        retention_seconds=345600,
        dead_letter_target=dlq_arn,
        max_receive_count=3 if dlq_arn else None,
    )


def fn_rec(logical: str, lab: str = "lab") -> Record:
    name = f"awslab-{lab}-{logical}-abc123"
    return rec(
        "lambda.function",
        logical,
        name,
        name=name,
        code_sha256="x",
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
    )


def event_source_rec(logical: str, function: Record, queue: Record) -> Record:
    return rec(
        "lambda.event_source",
        logical,
        "",
        uuid="u-1",
        arn="arn:aws:lambda:es",
        function=function.attrs["arn"],
        source=queue.attrs["arn"],
        batch_size=10,
        enabled=True,
    )


def put_item(target: Target, table: str, item: dict[str, Any]) -> None:
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    target.client("dynamodb").put_item(TableName=table, Item={k: ser.serialize(v) for k, v in item.items()})


@contextlib.contextmanager
def background(fn: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """Run `fn(stop)` in a thread for the duration of a with-block; the thread is told to stop
    and joined at the end."""
    stop = threading.Event()
    t = threading.Thread(target=fn, args=(stop,), daemon=True)
    t.start()
    try:
        yield stop
    finally:
        stop.set()
        t.join(10)


# ---- a stand-in API ----------------------------------------------------------------------
class Api:
    """Records requests; answers by path: /echo (JSON of the request), /status/<n>, /text, and
    whatever `routes[(method, path)]` says."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.routes: dict[tuple[str, str], Callable[[dict[str, Any]], tuple[int, dict[str, str], bytes]]] = {}
        self.url = ""
        # answers every request when set: (method, path without the stage, request) -> response
        self.app: Callable[[str, str, dict[str, Any]], tuple[int, dict[str, str], bytes]] | None = None


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            req = {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", errors="replace"),
            }
            api.requests.append(req)
            bare = self.path.split("?")[0]
            route = api.routes.get((self.command, bare.removeprefix("/dev")))
            if api.app is not None:
                status, headers, out = api.app(self.command, bare.removeprefix("/dev"), req)
            elif route:
                status, headers, out = route(req)
            elif bare.endswith("/text"):
                status, headers, out = 200, {"Content-Type": "text/plain"}, b"plain words"
            elif "/status/" in bare:
                status = int(bare.rsplit("/", 1)[1])
                headers, out = {"Content-Type": "application/json"}, json.dumps({"status": status}).encode()
            else:
                status, headers, out = (
                    200,
                    {"Content-Type": "application/json", "X-Seen": "1"},
                    json.dumps(req).encode(),
                )
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _any

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[Api]:
    state = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/dev"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

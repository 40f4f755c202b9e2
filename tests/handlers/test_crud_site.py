"""The CRUD lab's frontend (handlers/crud/site) run under Node: its pure helpers, its API client and
its page logic (on a small fake DOM built from index.html) against the real handler, served on
127.0.0.1 by a tiny stand-in for API Gateway over moto's in-process DynamoDB."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import pytest

from tests.handlers.events import HANDLERS, LambdaContext, load_handler, proxy_event

SITE = HANDLERS / "crud" / "site"
DRIVER = Path(__file__).with_name("crud_site_driver.js")
NODE = shutil.which("node")
STAGE = "/test"

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_driver(mode: str, api_url: str = "-") -> Any:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(DRIVER), mode, str(SITE), api_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class _Gateway(BaseHTTPRequestHandler):
    """HTTP -> REST proxy event -> handler -> HTTP, the way API Gateway's proxy integration does."""

    app: ModuleType

    def _serve(self) -> None:
        url = urlsplit(self.path)
        path = url.path[len(STAGE) :] if url.path.startswith(STAGE + "/") else url.path
        match = re.fullmatch(r"/items/([^/]+)", path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        event = proxy_event(
            self.command,
            path,
            resource="/items/{id}" if match else path,
            path_params={"id": unquote(match.group(1))} if match else None,
            query=dict(parse_qsl(url.query)) or None,
            headers=dict(self.headers.items()),
            body=body,
        )
        response = self.app.handler(event, LambdaContext())
        payload = response["body"].encode()
        self.send_response(response["statusCode"])
        for name, value in response["headers"].items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@pytest.fixture
def api_url(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    table = f"items-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.delenv("ALLOW_ORIGIN", raising=False)
    gateway = type("Gateway", (_Gateway,), {"app": load_handler("crud")})
    server = ThreadingHTTPServer(("127.0.0.1", 0), gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{STAGE}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_page_references_its_local_files_only() -> None:
    html = (SITE / "index.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources == ["style.css", "config.js", "app.js"]
    assert html.index('src="config.js"') < html.index('src="app.js"')  # config first
    css, js = (SITE / "style.css").read_text(), (SITE / "app.js").read_text()
    assert "@import" not in css and "url(" not in css
    assert 'createElement("script")' not in js and "import(" not in js
    assert not (SITE / "config.js").exists()  # generated at deploy, never shipped


def test_documented_ids_exist_in_the_page() -> None:
    header = (SITE / "app.js").read_text().split("*/", 1)[0]
    documented = set(re.findall(r"#([a-z][a-z-]+)", header))
    ids = set(re.findall(r'\bid="([^"]+)"', (SITE / "index.html").read_text()))
    assert documented >= {"status", "create-form", "edit-form", "items", "items-body", "config-error"}
    assert documented <= ids, documented - ids


@needs_node
def test_helpers() -> None:
    out = run_driver("helpers")
    missing, empty, blank, ftp, good = out["config"]
    assert "config.js was not loaded" in missing["error"] and "awslab up crud" in missing["error"]
    assert "no usable API_URL" in empty["error"] and "no usable API_URL" in blank["error"]
    assert "no usable API_URL" in ftp["error"]
    assert good == {"apiUrl": "http://127.0.0.1:4566/_aws/execute-api/abc/prod"}
    assert out["urls"] == [
        "https://api.example/prod/items",
        "https://api.example/prod/items?sort=name",
        "https://api.example/prod/items/a%20b%2Fc%3Fd",
    ]
    assert out["extra"][:3] == [
        {"fields": {}},
        {"fields": {}},
        {"fields": {"price": 1.5, "ok": True, "n": None}},
    ]
    assert [e.get("error", "")[:40] for e in out["extra"][3:]] == [
        "Other fields must be a JSON object, e.g.",
        'Other fields must be JSON, e.g. {"price"',
        "Put name in its own box, not in other fi",
        'Field "a" must be a string, number, true',
    ]
    assert out["build"] == [
        {"item": {"id": "1", "name": "apple", "price": 2}},
        {"item": {"name": "pear"}},
        {"error": "Name is required."},
        {"error": "Id must not contain '/'."},
        {"error": 'Other fields must be a JSON object, e.g. {"price": 1.5}.'},
    ]
    assert out["extraText"] == ["", '{\n  "p": 1,\n  "s": "t"\n}']
    assert out["describe"] == "colour: red, note: null, price: 1.5, ripe: true"
    assert out["errors"] == [
        "HTTP 409: item '1' already exists",
        "HTTP 502: <html>Bad Gateway</html>",
        "HTTP 500",
        "HTTP 400",
    ]


@needs_node
def test_client_drives_every_operation_against_the_handler(api_url: str) -> None:
    out = run_driver("client", api_url)  # with its trailing slash: the client must cope
    assert out["created"] == {"ok": {"id": "k 1", "name": "kiwi", "price": 2.5}}
    assert out["duplicate"]["error"] == {
        "name": "ApiError",
        "status": 409,
        "message": "HTTP 409: item 'k 1' already exists",
        "isError": True,
    }
    generated = out["generated"]["ok"]
    assert uuid.UUID(generated["id"]).version == 4
    assert out["listed"] == {"ok": [{"id": "k 1", "name": "kiwi", "price": 2.5}, generated]}
    assert out["got"] == {"ok": {"id": "k 1", "name": "kiwi", "price": 2.5}}
    assert out["updated"] == {"ok": {"id": "k 1", "name": "gold kiwi"}}
    assert out["removed"] == {"ok": None}
    assert out["missing"]["error"]["message"] == "HTTP 404: item 'k 1' not found"
    assert out["removedAgain"]["error"]["status"] == 404
    assert out["invalid"]["error"]["message"] == "HTTP 400: name must be a string, not a number"
    unreachable = out["unreachable"]["error"]
    assert unreachable["status"] == 0
    assert "could not reach the API at http://127.0.0.1:9" in unreachable["message"]
    remaining = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]).scan()["Items"]
    assert [it["id"] for it in remaining] == [generated["id"]]


@needs_node
def test_page_lists_creates_edits_and_deletes(api_url: str) -> None:
    shots = {s["step"]: s for s in run_driver("page", api_url)}

    loaded = shots["loaded"]
    assert loaded["state"] == "ready" and loaded["status"] == {"kind": "ok", "text": "0 items."}
    assert loaded["rows"] == [] and loaded["tableHidden"] and not loaded["emptyHidden"]
    assert loaded["configError"] is None and loaded["apiUrl"] == api_url.rstrip("/")
    assert loaded["editHidden"] and loaded["disabled"] == 0

    created = shots["created"]
    assert created["status"] == {"kind": "ok", "text": "Created item '1'."}
    assert created["rows"][0] == {
        "id": "1",
        "cells": {"item-id": "1", "item-name": "apple", "item-extra": "price: 1.5"},
        "actions": [["edit", "Edit item 1"], ["delete", "Delete item 1"]],
    }
    assert not created["tableHidden"] and created["emptyHidden"]
    assert created["createName"] == "" and created["focused"] == "create-name"

    generated = shots["generated"]
    new_id = generated["status"]["text"].removeprefix("Created item '").removesuffix("'.")
    assert uuid.UUID(new_id).version == 4
    assert [r["id"] for r in generated["rows"]] == ["1", new_id]

    duplicate = shots["duplicate"]
    assert duplicate["status"] == {
        "kind": "error",
        "text": "Creating item failed: HTTP 409: item '1' already exists",
    }
    assert duplicate["state"] == "error" and duplicate["createName"] == "again"  # kept for correction
    assert duplicate["disabled"] == 0

    bad = shots["bad-extra"]
    assert bad["status"]["kind"] == "error" and "must be a JSON object" in bad["status"]["text"]

    opened = shots["edit-open"]
    assert not opened["editHidden"] and opened["focused"] == "edit-name"
    assert opened["edit"] == {"id": "1", "name": "apple", "extra": '{\n  "price": 1.5\n}'}

    saved = shots["edit-saved"]
    assert saved["status"] == {"kind": "ok", "text": "Saved item '1'."} and saved["editHidden"]
    assert saved["rows"][0]["cells"] == {
        "item-id": "1",
        "item-name": "Zucchini",
        "item-extra": "colour: green",
    }

    assert [r["cells"]["item-name"] for r in shots["sorted-by-name"]["rows"]] == ["banana", "Zucchini"]
    assert shots["edit-cancelled"]["editHidden"]
    assert shots["edit-cancelled"]["status"] == {"kind": "info", "text": "Edit cancelled."}

    deleted = shots["deleted"]
    assert deleted["status"] == {"kind": "ok", "text": "Deleted item '1'."}
    assert [r["id"] for r in deleted["rows"]] == [new_id]

    missing = shots["save-missing"]
    assert missing["status"] == {
        "kind": "error",
        "text": f"Saving item '{new_id}' failed: HTTP 404: item '{new_id}' not found",
    }
    assert not missing["editHidden"]  # the user's edit is not thrown away
    refreshed = shots["refreshed"]
    assert refreshed["rows"] == [] and refreshed["status"] == {"kind": "ok", "text": "0 items."}


@needs_node
def test_page_without_config_says_so() -> None:
    (shot,) = run_driver("page", "-")
    assert shot["state"] == "error"
    assert shot["configError"].startswith("config.js was not loaded")
    assert shot["status"] == {"kind": "error", "text": "Not connected: config.js is missing or incomplete."}
    assert shot["disabled"] > 0 and shot["apiUrl"] == "(not configured)"


@needs_node
def test_page_with_unreachable_api_reports_it() -> None:
    (shot,) = run_driver("page", "http://127.0.0.1:9/prod")
    assert shot["state"] == "error"
    assert shot["status"]["kind"] == "error"
    assert shot["status"]["text"].startswith(
        "Loading items failed: could not reach the API at http://127.0.0.1:9/prod"
    )
